package docker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/gantry-dev/gantry/internal/runtime"
)

// Engines before API 1.44 do not refuse a second network with a name in
// use: two creators racing for one name can both succeed, and the name then
// resolves to nothing ("ambiguous"). So networks are looked up by listing
// them, and when a name has several, the oldest is the network: every
// caller picks the same one, and EnsureNetwork removes the others that
// Gantry made and no container uses.

// EnsureNetwork returns the network called name, creating a bridge network
// when it is missing.
func (r *Runtime) EnsureNetwork(ctx context.Context, name string, netLabels map[string]string) (runtime.Network, error) {
	found, err := r.findNetworks(ctx, name)
	if err != nil {
		return runtime.Network{}, fmt.Errorf("ensure network: %w", err)
	}
	if len(found) == 0 {
		if found, err = r.createNetwork(ctx, name, netLabels); err != nil {
			return runtime.Network{}, err
		}
	}
	for _, dup := range found[1:] {
		r.removeDuplicate(ctx, dup)
	}
	return fromNetwork(found[0]), nil
}

// createNetwork creates the network unless someone else has, and returns
// what is then called name. Creators in this process take turns; those in
// others are reconciled by keeping the oldest network.
func (r *Runtime) createNetwork(ctx context.Context, name string, netLabels map[string]string) ([]network.Network, error) {
	r.netMu.Lock()
	defer r.netMu.Unlock()
	if found, err := r.findNetworks(ctx, name); err != nil || len(found) > 0 {
		return found, err
	}
	cctx, cancel := r.call(ctx)
	_, err := r.c.NetworkCreate(cctx, name, client.NetworkCreateOptions{Driver: runtime.NetworkBridge, Labels: labels(netLabels)})
	cancel()
	if err := classify(err); err != nil && !errors.Is(err, runtime.ErrConflict) {
		return nil, fmt.Errorf("create network %q: %w", name, err)
	}
	// Created, or someone else created it first (a conflict).
	found, err := r.findNetworks(ctx, name)
	if err == nil && len(found) == 0 {
		err = fmt.Errorf("network %q vanished as it was created: %w", name, runtime.ErrConflict)
	}
	if err != nil {
		return nil, fmt.Errorf("create network: %w", err)
	}
	return found, nil
}

// removeDuplicate removes a younger network of the same name that Gantry
// created, unless containers are attached to it already.
func (r *Runtime) removeDuplicate(ctx context.Context, n network.Network) {
	if n.Labels[runtime.LabelManaged] != "true" {
		return
	}
	rctx, cancel := r.call(ctx)
	defer cancel()
	_, err := r.c.NetworkRemove(rctx, n.ID, client.NetworkRemoveOptions{})
	if err != nil && !cerrdefs.IsNotFound(err) {
		r.log.WarnContext(ctx, "cannot remove a duplicate network", "network", n.Name, "id", n.ID, "err", err)
	}
}

// InspectNetwork describes the network called name.
func (r *Runtime) InspectNetwork(ctx context.Context, name string) (runtime.Network, error) {
	found, err := r.findNetworks(ctx, name)
	if err != nil {
		return runtime.Network{}, err
	}
	if len(found) == 0 {
		return runtime.Network{}, fmt.Errorf("inspect network %q: %w", name, runtime.ErrNotFound)
	}
	return fromNetwork(found[0]), nil
}

// RemoveNetwork removes the network called name (every one, should there
// be several).
func (r *Runtime) RemoveNetwork(ctx context.Context, name string) error {
	found, err := r.findNetworks(ctx, name)
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range found {
		rctx, cancel := r.call(ctx)
		_, err := r.c.NetworkRemove(rctx, n.ID, client.NetworkRemoveOptions{})
		cancel()
		switch {
		case err == nil, cerrdefs.IsNotFound(err):
		case cerrdefs.IsPermissionDenied(err): // 20.10: "has active endpoints", or predefined
			errs = append(errs, fmt.Errorf("remove network %q: %w", name, kindError{kind: runtime.ErrConflict, err: err}))
		default:
			errs = append(errs, fmt.Errorf("remove network %q: %w", name, classify(err)))
		}
	}
	return errors.Join(errs...)
}

// findNetworks lists the networks called name, oldest first.
func (r *Runtime) findNetworks(ctx context.Context, name string) ([]network.Network, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: no network name given", runtime.ErrInvalidSpec)
	}
	ctx, cancel := r.call(ctx)
	defer cancel()
	// The name filter matches substrings; keep exact matches only.
	res, err := r.c.NetworkList(ctx, client.NetworkListOptions{Filters: make(client.Filters).Add("name", name)})
	if err != nil {
		return nil, fmt.Errorf("list networks called %q: %w", name, classify(err))
	}
	var out []network.Network
	for _, s := range res.Items {
		if s.Name == name {
			out = append(out, s.Network)
		}
	}
	slices.SortFunc(out, func(a, b network.Network) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

func fromNetwork(n network.Network) runtime.Network {
	out := runtime.Network{ID: n.ID, Name: n.Name, Driver: n.Driver, Labels: n.Labels}
	for _, c := range n.IPAM.Config {
		if c.Subnet.IsValid() {
			out.Subnets = append(out.Subnets, c.Subnet.String())
		}
		if out.Gateway == "" && c.Gateway.Is4() {
			out.Gateway = c.Gateway.String()
		}
	}
	return out
}
