package sim

import (
	"fmt"
	"strings"

	"github.com/gantry-dev/gantry/internal/runtime"
)

// portAllocator hands out dynamic host ports from a counter, skipping ports
// that running containers hold, as the engine's ephemeral range does.
type portAllocator struct {
	first, next uint16
}

type hostPort struct {
	port  uint16
	proto runtime.Protocol
}

// bind binds spec's ports, given the running containers; r.mu is held.
func (p *portAllocator) bind(spec runtime.ContainerSpec, running []*simContainer) ([]runtime.PortBinding, error) {
	mode := networkMode(spec)
	if len(spec.Ports) == 0 || mode == runtime.NetworkHost || mode == runtime.NetworkNone || strings.HasPrefix(mode, "container:") {
		return nil, nil
	}
	used := make(map[hostPort]bool)
	for _, c := range running {
		for _, b := range c.c.Ports {
			used[hostPort{b.HostPort, b.Protocol}] = true
		}
	}
	var out []runtime.PortBinding
	for _, pm := range spec.Ports {
		b := runtime.PortBinding{ContainerPort: pm.ContainerPort, HostPort: pm.HostPort, Protocol: pm.Protocol, HostIP: pm.HostIP}
		if b.Protocol == "" {
			b.Protocol = runtime.TCP
		}
		if b.HostIP == "" {
			b.HostIP = "0.0.0.0"
		}
		if b.HostPort == 0 {
			port, ok := p.dynamic(b.Protocol, used)
			if !ok {
				return nil, fmt.Errorf("no free host port for %d/%s: %w", b.ContainerPort, b.Protocol, runtime.ErrConflict)
			}
			b.HostPort = port
		} else if used[hostPort{b.HostPort, b.Protocol}] {
			return nil, fmt.Errorf("Bind for %s:%d failed: port is already allocated: %w", b.HostIP, b.HostPort, runtime.ErrConflict)
		}
		used[hostPort{b.HostPort, b.Protocol}] = true
		out = append(out, b)
	}
	return out, nil
}

func (p *portAllocator) dynamic(proto runtime.Protocol, used map[hostPort]bool) (uint16, bool) {
	if p.first == 0 {
		p.first = 49153
	}
	for range int(^uint16(0)-p.first) + 1 {
		if p.next < p.first {
			p.next = p.first
		}
		port := p.next
		p.next++ // wraps to 0 after 65535, and so back to first
		if !used[hostPort{port, proto}] {
			return port, true
		}
	}
	return 0, false
}
