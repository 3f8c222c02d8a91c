package docker

import (
	"fmt"
	"maps"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/versions"

	"github.com/gantry-dev/gantry/internal/runtime"
)

const mib = 1 << 20

// minCPUShares is the smallest CPU weight the kernel accepts; ECS agents
// raise smaller cpu values to it.
const minCPUShares = 2

// createOptions maps a ContainerSpec onto the engine's create request for
// the negotiated API version.
func createOptions(spec runtime.ContainerSpec, apiVersion string) (client.ContainerCreateOptions, error) {
	hc, err := hostConfig(spec)
	if err != nil {
		return client.ContainerCreateOptions{}, err
	}
	cfg := &container.Config{
		Image:      spec.Image,
		Hostname:   spec.Hostname,
		User:       spec.User,
		Env:        envList(spec.Env),
		Entrypoint: spec.EntryPoint,
		Cmd:        spec.Command,
		WorkingDir: spec.WorkingDir,
		Labels:     labels(spec.Labels),
		OpenStdin:  spec.Interactive,
		Tty:        spec.PseudoTerminal,
	}
	if spec.StopTimeout > 0 {
		secs := seconds(spec.StopTimeout)
		cfg.StopTimeout = &secs
	}
	cfg.Healthcheck = healthConfig(spec.HealthCheck, apiVersion)
	if err := ports(spec, cfg, hc); err != nil {
		return client.ContainerCreateOptions{}, err
	}
	return client.ContainerCreateOptions{Name: spec.Name, Config: cfg, HostConfig: hc}, nil
}

func hostConfig(spec runtime.ContainerSpec) (*container.HostConfig, error) {
	hc := &container.HostConfig{
		NetworkMode:    container.NetworkMode(spec.NetworkMode),
		Privileged:     spec.Privileged,
		ReadonlyRootfs: spec.ReadonlyRootFilesystem,
		CapAdd:         spec.CapAdd,
		CapDrop:        spec.CapDrop,
		SecurityOpt:    spec.SecurityOptions,
		Sysctls:        spec.Sysctls,
		Links:          spec.Links,
		DNSSearch:      spec.DNSSearch,
		PidMode:        container.PidMode(spec.PidMode),
		IpcMode:        container.IpcMode(spec.IpcMode),
		ShmSize:        spec.SharedMemoryMiB * mib,
		LogConfig:      container.LogConfig{Type: spec.Log.Driver, Config: spec.Log.Options},
		Resources:      resources(spec),
	}
	if hc.NetworkMode == "" {
		hc.NetworkMode = runtime.NetworkBridge
	}
	if spec.Init {
		hc.Init = &spec.Init
	}
	for _, h := range spec.ExtraHosts {
		hc.ExtraHosts = append(hc.ExtraHosts, h.Hostname+":"+h.IPAddress)
	}
	for _, s := range spec.DNS {
		addr, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%w: DNS server %q is not an IP address", runtime.ErrInvalidSpec, s)
		}
		hc.DNS = append(hc.DNS, addr)
	}
	for _, v := range spec.VolumesFrom {
		hc.VolumesFrom = append(hc.VolumesFrom, v.Container+readOnlySuffix(v.ReadOnly))
	}
	for _, t := range spec.Tmpfs {
		if hc.Tmpfs == nil {
			hc.Tmpfs = make(map[string]string)
		}
		opts := slices.Clone(t.Options)
		if t.SizeMiB > 0 {
			opts = append([]string{fmt.Sprintf("size=%dm", t.SizeMiB)}, opts...)
		}
		hc.Tmpfs[t.ContainerPath] = strings.Join(opts, ",")
	}
	if err := mounts(spec.Mounts, hc); err != nil {
		return nil, err
	}
	return hc, nil
}

func resources(spec runtime.ContainerSpec) container.Resources {
	res := container.Resources{
		CPUShares:         spec.CPUShares,
		Memory:            spec.MemoryMiB * mib,
		MemoryReservation: spec.MemoryReservationMiB * mib,
		MemorySwappiness:  spec.Swappiness,
	}
	if res.CPUShares > 0 && res.CPUShares < minCPUShares {
		res.CPUShares = minCPUShares
	}
	if spec.MaxSwapMiB != nil && spec.MemoryMiB > 0 {
		res.MemorySwap = res.Memory + *spec.MaxSwapMiB*mib
	}
	for _, u := range spec.Ulimits {
		res.Ulimits = append(res.Ulimits, &container.Ulimit{Name: u.Name, Soft: u.Soft, Hard: u.Hard})
	}
	for _, d := range spec.Devices {
		dm := container.DeviceMapping{PathOnHost: d.HostPath, PathInContainer: d.ContainerPath, CgroupPermissions: d.Permissions}
		if dm.PathInContainer == "" {
			dm.PathInContainer = d.HostPath
		}
		if dm.CgroupPermissions == "" {
			dm.CgroupPermissions = "rwm"
		}
		res.Devices = append(res.Devices, dm)
	}
	return res
}

// mounts maps bind mounts onto Binds, which create a missing host path as
// ECS host volumes do, and volumes onto Mounts, which carry the options a
// volume is created with.
func mounts(ms []runtime.Mount, hc *container.HostConfig) error {
	for _, m := range ms {
		switch m.Type {
		case runtime.MountBind:
			if m.Source == "" {
				return fmt.Errorf("%w: bind mount of %q has no host path", runtime.ErrInvalidSpec, m.Target)
			}
			hc.Binds = append(hc.Binds, m.Source+":"+m.Target+readOnlySuffix(m.ReadOnly))
		case runtime.MountVolume:
			mt := mount.Mount{Type: mount.TypeVolume, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly}
			if m.VolumeDriver != "" || len(m.VolumeDriverOpts) > 0 || len(m.VolumeLabels) > 0 {
				mt.VolumeOptions = &mount.VolumeOptions{Labels: m.VolumeLabels}
				if m.VolumeDriver != "" || len(m.VolumeDriverOpts) > 0 {
					mt.VolumeOptions.DriverConfig = &mount.Driver{Name: m.VolumeDriver, Options: m.VolumeDriverOpts}
				}
			}
			hc.Mounts = append(hc.Mounts, mt)
		default:
			return fmt.Errorf("%w: mount of %q has unknown type %q", runtime.ErrInvalidSpec, m.Target, m.Type)
		}
	}
	return nil
}

// ports exposes every mapped container port and publishes it, except in
// host mode, where the container's ports are the host's and the engine
// would discard the bindings with a warning.
func ports(spec runtime.ContainerSpec, cfg *container.Config, hc *container.HostConfig) error {
	for _, pm := range spec.Ports {
		proto := pm.Protocol
		if proto == "" {
			proto = runtime.TCP
		}
		if proto != runtime.TCP && proto != runtime.UDP {
			return fmt.Errorf("%w: port %d has unknown protocol %q", runtime.ErrInvalidSpec, pm.ContainerPort, pm.Protocol)
		}
		port, ok := network.PortFrom(pm.ContainerPort, network.IPProtocol(proto))
		if !ok || pm.ContainerPort == 0 {
			return fmt.Errorf("%w: invalid container port %d", runtime.ErrInvalidSpec, pm.ContainerPort)
		}
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = make(network.PortSet)
		}
		cfg.ExposedPorts[port] = struct{}{}
		if hc.NetworkMode == runtime.NetworkHost {
			continue
		}
		b := network.PortBinding{}
		if pm.HostPort != 0 {
			b.HostPort = strconv.Itoa(int(pm.HostPort))
		}
		if pm.HostIP != "" {
			addr, err := netip.ParseAddr(pm.HostIP)
			if err != nil {
				return fmt.Errorf("%w: host IP %q of port %d is not an IP address", runtime.ErrInvalidSpec, pm.HostIP, pm.ContainerPort)
			}
			b.HostIP = addr
		}
		if hc.PortBindings == nil {
			hc.PortBindings = make(network.PortMap)
		}
		hc.PortBindings[port] = append(hc.PortBindings[port], b)
	}
	return nil
}

// healthConfig maps a health check; StartInterval needs API 1.44.
func healthConfig(h *runtime.HealthCheck, apiVersion string) *container.HealthConfig {
	if h == nil || len(h.Command) == 0 {
		return nil
	}
	hc := &container.HealthConfig{
		Test:        h.Command,
		Interval:    h.Interval,
		Timeout:     h.Timeout,
		StartPeriod: h.StartPeriod,
		Retries:     h.Retries,
	}
	if h.StartInterval > 0 && !versions.LessThan(apiVersion, "1.44") {
		hc.StartInterval = h.StartInterval
	}
	return hc
}

// labels returns the spec's labels plus LabelManaged.
func labels(in map[string]string) map[string]string {
	out := make(map[string]string, len(in)+1)
	maps.Copy(out, in)
	out[runtime.LabelManaged] = "true"
	return out
}

// envList turns the environment into sorted NAME=value pairs, so the same
// spec always makes the same request.
func envList(env map[string]string) []string {
	if len(env) == 0 {
		return nil
	}
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

func readOnlySuffix(ro bool) string {
	if ro {
		return ":ro"
	}
	return ""
}

// seconds rounds d up to whole seconds, as the engine counts stop timeouts.
func seconds(d time.Duration) int {
	return int(math.Ceil(d.Seconds()))
}
