package sim

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/gantry-dev/gantry/internal/runtime"
)

// PauseRef is the pause image the simulated host has; containers from it
// run until stopped, ignoring SIGTERM as the real pause program does.
const PauseRef = "gantry/pause:1"

// simNetwork is a network and its address counter.
type simNetwork struct {
	net        runtime.Network
	subnet     netip.Prefix // zero for host and none
	next       uint32       // counts the addresses handed out
	predefined bool
}

// predefinedNetworks are the networks every engine starts with.
func predefinedNetworks() map[string]*simNetwork {
	bridge := netip.MustParsePrefix("172.17.0.0/16")
	return map[string]*simNetwork{
		runtime.NetworkBridge: {predefined: true, subnet: bridge, net: runtime.Network{
			ID: newID(), Name: runtime.NetworkBridge, Driver: "bridge", Subnets: []string{bridge.String()}, Gateway: "172.17.0.1",
		}},
		runtime.NetworkHost: {predefined: true, net: runtime.Network{ID: newID(), Name: runtime.NetworkHost, Driver: "host"}},
		runtime.NetworkNone: {predefined: true, net: runtime.Network{ID: newID(), Name: runtime.NetworkNone, Driver: "null"}},
	}
}

// subnet returns the n-th subnet handed to a new network, as the engine
// does: 172.18.0.0/16 to 172.31.0.0/16, then /24s from 10.200.0.0.
func subnet(n int) netip.Prefix {
	if n < 14 {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{172, byte(18 + n), 0, 0}), 16)
	}
	n -= 14
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(200 + n/256%56), byte(n % 256), 0}), 24)
}

// address hands out the network's next container address, from .2 of
// each /24 on; after the last one it starts again.
func (n *simNetwork) address() string {
	base := n.subnet.Addr().As4()
	i := n.next
	n.next++
	if n.subnet.Bits() <= 16 {
		i %= 256 * 254
		base[2], base[3] = byte(i/254), byte(2+i%254)
	} else {
		base[3] = byte(2 + i%253)
	}
	return netip.AddrFrom4(base).String()
}

// EnsureNetwork returns the named network, creating it when missing.
func (r *Runtime) EnsureNetwork(ctx context.Context, name string, labels map[string]string) (runtime.Network, error) {
	if err := ctx.Err(); err != nil {
		return runtime.Network{}, err
	}
	if name == "" {
		return runtime.Network{}, fmt.Errorf("ensure network: %w: no name given", runtime.ErrInvalidSpec)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := r.network(name); n != nil {
		return cloneNetwork(n.net), nil
	}
	sub := subnet(r.subnets)
	r.subnets++
	gateway := sub.Addr().As4()
	gateway[3] = 1
	nl := maps.Clone(labels)
	if nl == nil {
		nl = make(map[string]string)
	}
	nl[runtime.LabelManaged] = "true"
	n := &simNetwork{subnet: sub, net: runtime.Network{
		ID: newID(), Name: name, Driver: "bridge", Subnets: []string{sub.String()},
		Gateway: netip.AddrFrom4(gateway).String(), Labels: nl,
	}}
	r.networks[name] = n
	return cloneNetwork(n.net), nil
}

// InspectNetwork describes a network by name or ID.
func (r *Runtime) InspectNetwork(ctx context.Context, name string) (runtime.Network, error) {
	if err := ctx.Err(); err != nil {
		return runtime.Network{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.network(name)
	if n == nil {
		return runtime.Network{}, fmt.Errorf("inspect network %q: %w", name, runtime.ErrNotFound)
	}
	return cloneNetwork(n.net), nil
}

// RemoveNetwork forgets a network no running container is attached to.
func (r *Runtime) RemoveNetwork(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.network(name)
	if n == nil {
		return nil
	}
	if n.predefined {
		return fmt.Errorf("remove network %q: %s is a pre-defined network and cannot be removed: %w", name, n.net.Name, runtime.ErrConflict)
	}
	for _, c := range r.running() {
		for _, a := range c.c.Networks {
			if a.Network == n.net.Name {
				return fmt.Errorf("remove network %q: network has active endpoints (%s): %w", name, c.c.ID[:12], runtime.ErrConflict)
			}
		}
	}
	delete(r.networks, n.net.Name)
	return nil
}

// PauseImage makes PauseRef present and returns it.
func (r *Runtime) PauseImage(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.images[PauseRef]; !ok {
		r.images[PauseRef] = imageInfo(PauseRef)
	}
	return PauseRef, nil
}

// network finds a network by name or ID; r.mu is held.
func (r *Runtime) network(ref string) *simNetwork {
	if n, ok := r.networks[ref]; ok {
		return n
	}
	for _, n := range r.networks {
		if n.net.ID == ref {
			return n
		}
	}
	return nil
}

// attach connects a starting container to its network: it gets an
// address unless it uses the host's, none, or another container's
// network. r.mu is held.
func (r *Runtime) attach(c *simContainer) ([]runtime.NetworkAttachment, error) {
	mode := c.c.NetworkMode
	if mode == runtime.NetworkHost || mode == runtime.NetworkNone || strings.HasPrefix(mode, "container:") {
		return nil, nil
	}
	n := r.network(mode)
	if n == nil {
		return nil, fmt.Errorf("network %s not found: %w", mode, runtime.ErrNotFound)
	}
	return []runtime.NetworkAttachment{{Network: n.net.Name, IPv4Address: n.address()}}, nil
}

func cloneNetwork(n runtime.Network) runtime.Network {
	n.Subnets = slices.Clone(n.Subnets)
	n.Labels = maps.Clone(n.Labels)
	return n
}
