package docker

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"

	"github.com/gantry-dev/gantry/internal/runtime"
)

var cmpDocker = cmp.Options{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b network.Port) bool { return a == b }),
	cmpopts.EquateEmpty(),
}

func ptr[T any](v T) *T { return &v }

func TestCreateOptionsFullSpec(t *testing.T) {
	spec := runtime.ContainerSpec{
		Name:                 "web",
		Image:                "nginx:1",
		Labels:               map[string]string{runtime.LabelTaskARN: "arn:task"},
		EntryPoint:           []string{"/bin/sh", "-c"},
		Command:              []string{"exec nginx"},
		Env:                  map[string]string{"B": "2", "A": "1"},
		WorkingDir:           "/srv",
		User:                 "nobody",
		Hostname:             "web-1",
		CPUShares:            256,
		MemoryMiB:            512,
		MemoryReservationMiB: 128,
		MaxSwapMiB:           ptr[int64](64),
		Swappiness:           ptr[int64](10),
		Ulimits:              []runtime.Ulimit{{Name: "nofile", Soft: 1024, Hard: 4096}},

		ReadonlyRootFilesystem: true,
		Privileged:             true,
		Init:                   true,
		CapAdd:                 []string{"NET_ADMIN"},
		CapDrop:                []string{"MKNOD"},
		Devices:                []runtime.Device{{HostPath: "/dev/fuse"}, {HostPath: "/dev/sda", ContainerPath: "/dev/xvda", Permissions: "r"}},
		Tmpfs:                  []runtime.Tmpfs{{ContainerPath: "/run", SizeMiB: 64, Options: []string{"noexec"}}, {ContainerPath: "/scratch"}},
		SharedMemoryMiB:        128,
		Mounts: []runtime.Mount{
			{Type: runtime.MountBind, Source: "/data", Target: "/data", ReadOnly: true},
			{Type: runtime.MountVolume, Source: "cache", Target: "/cache",
				VolumeDriver: "local", VolumeDriverOpts: map[string]string{"type": "tmpfs"}, VolumeLabels: map[string]string{"k": "v"}},
			{Type: runtime.MountVolume, Target: "/anon"},
		},
		VolumesFrom:     []runtime.VolumeFrom{{Container: "side", ReadOnly: true}, {Container: "other"}},
		SecurityOptions: []string{"no-new-privileges"},
		Sysctls:         map[string]string{"net.core.somaxconn": "1024"},

		Ports: []runtime.PortMapping{
			{ContainerPort: 80},
			{ContainerPort: 53, HostPort: 5353, Protocol: runtime.UDP, HostIP: "127.0.0.1"},
		},
		Links:      []string{"db:database"},
		ExtraHosts: []runtime.HostEntry{{Hostname: "db.internal", IPAddress: "10.0.0.5"}},
		DNS:        []string{"10.0.0.2"},
		DNSSearch:  []string{"corp"},
		PidMode:    "host",
		IpcMode:    "shareable",

		Interactive:    true,
		PseudoTerminal: true,
		HealthCheck: &runtime.HealthCheck{
			Command:  []string{"CMD-SHELL", "curl -f localhost"},
			Interval: 5 * time.Second, Timeout: 2 * time.Second, Retries: 4, StartPeriod: 10 * time.Second,
		},
		StopTimeout: 1500 * time.Millisecond,
		Log:         runtime.LogConfig{Driver: "json-file", Options: map[string]string{"max-size": "10m"}},
	}
	got, err := createOptions(spec, "1.41")
	if err != nil {
		t.Fatal(err)
	}
	p80, udp53 := network.MustParsePort("80/tcp"), network.MustParsePort("53/udp")
	wantConfig := &container.Config{
		Image:        "nginx:1",
		Hostname:     "web-1",
		User:         "nobody",
		Env:          []string{"A=1", "B=2"},
		Entrypoint:   []string{"/bin/sh", "-c"},
		Cmd:          []string{"exec nginx"},
		WorkingDir:   "/srv",
		Labels:       map[string]string{runtime.LabelTaskARN: "arn:task", runtime.LabelManaged: "true"},
		OpenStdin:    true,
		Tty:          true,
		StopTimeout:  ptr(2),
		ExposedPorts: network.PortSet{p80: {}, udp53: {}},
		Healthcheck: &container.HealthConfig{
			Test:     []string{"CMD-SHELL", "curl -f localhost"},
			Interval: 5 * time.Second, Timeout: 2 * time.Second, Retries: 4, StartPeriod: 10 * time.Second,
		},
	}
	wantHost := &container.HostConfig{
		Binds:       []string{"/data:/data:ro"},
		LogConfig:   container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "10m"}},
		NetworkMode: "bridge",
		PortBindings: network.PortMap{
			p80:   {{}},
			udp53: {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "5353"}},
		},
		VolumesFrom:    []string{"side:ro", "other"},
		CapAdd:         []string{"NET_ADMIN"},
		CapDrop:        []string{"MKNOD"},
		DNS:            []netip.Addr{netip.MustParseAddr("10.0.0.2")},
		DNSSearch:      []string{"corp"},
		ExtraHosts:     []string{"db.internal:10.0.0.5"},
		IpcMode:        "shareable",
		Links:          []string{"db:database"},
		PidMode:        "host",
		Privileged:     true,
		ReadonlyRootfs: true,
		SecurityOpt:    []string{"no-new-privileges"},
		Tmpfs:          map[string]string{"/run": "size=64m,noexec", "/scratch": ""},
		ShmSize:        128 << 20,
		Sysctls:        map[string]string{"net.core.somaxconn": "1024"},
		Init:           ptr(true),
		Resources: container.Resources{
			CPUShares:         256,
			Memory:            512 << 20,
			MemoryReservation: 128 << 20,
			MemorySwap:        576 << 20,
			MemorySwappiness:  ptr[int64](10),
			Ulimits:           []*container.Ulimit{{Name: "nofile", Soft: 1024, Hard: 4096}},
			Devices: []container.DeviceMapping{
				{PathOnHost: "/dev/fuse", PathInContainer: "/dev/fuse", CgroupPermissions: "rwm"},
				{PathOnHost: "/dev/sda", PathInContainer: "/dev/xvda", CgroupPermissions: "r"},
			},
		},
		Mounts: []mount.Mount{
			{Type: mount.TypeVolume, Source: "cache", Target: "/cache", VolumeOptions: &mount.VolumeOptions{
				Labels:       map[string]string{"k": "v"},
				DriverConfig: &mount.Driver{Name: "local", Options: map[string]string{"type": "tmpfs"}},
			}},
			{Type: mount.TypeVolume, Target: "/anon"},
		},
	}
	if got.Name != "web" {
		t.Errorf("name = %q", got.Name)
	}
	if diff := cmp.Diff(wantConfig, got.Config, cmpDocker); diff != "" {
		t.Errorf("Config (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantHost, got.HostConfig, cmpDocker); diff != "" {
		t.Errorf("HostConfig (-want +got):\n%s", diff)
	}
}

func TestCreateOptionsRules(t *testing.T) {
	health := &runtime.HealthCheck{Command: []string{"CMD", "true"}, StartInterval: time.Second}
	tests := []struct {
		name    string
		spec    runtime.ContainerSpec
		version string
		check   func(*container.Config, *container.HostConfig) bool
	}{
		{"cpu shares below 2 are raised", runtime.ContainerSpec{CPUShares: 1}, "1.41",
			func(_ *container.Config, hc *container.HostConfig) bool { return hc.CPUShares == 2 }},
		{"zero cpu stays unset", runtime.ContainerSpec{}, "1.41",
			func(_ *container.Config, hc *container.HostConfig) bool { return hc.CPUShares == 0 }},
		{"empty network mode is bridge", runtime.ContainerSpec{}, "1.41",
			func(_ *container.Config, hc *container.HostConfig) bool { return hc.NetworkMode == "bridge" }},
		{"host mode exposes but does not publish", runtime.ContainerSpec{NetworkMode: "host", Ports: []runtime.PortMapping{{ContainerPort: 80}}}, "1.41",
			func(cfg *container.Config, hc *container.HostConfig) bool {
				return len(cfg.ExposedPorts) == 1 && len(hc.PortBindings) == 0
			}},
		{"swap needs a hard limit", runtime.ContainerSpec{MemoryReservationMiB: 64, MaxSwapMiB: ptr[int64](0)}, "1.41",
			func(_ *container.Config, hc *container.HostConfig) bool { return hc.MemorySwap == 0 }},
		{"no swap", runtime.ContainerSpec{MemoryMiB: 64, MaxSwapMiB: ptr[int64](0)}, "1.41",
			func(_ *container.Config, hc *container.HostConfig) bool { return hc.MemorySwap == 64<<20 }},
		{"start interval dropped before API 1.44", runtime.ContainerSpec{HealthCheck: health}, "1.41",
			func(cfg *container.Config, _ *container.HostConfig) bool { return cfg.Healthcheck.StartInterval == 0 }},
		{"start interval kept from API 1.44", runtime.ContainerSpec{HealthCheck: health}, "1.44",
			func(cfg *container.Config, _ *container.HostConfig) bool {
				return cfg.Healthcheck.StartInterval == time.Second
			}},
		{"init off stays unset", runtime.ContainerSpec{}, "1.41",
			func(_ *container.Config, hc *container.HostConfig) bool { return hc.Init == nil }},
		{"labels always carry managed", runtime.ContainerSpec{}, "1.41",
			func(cfg *container.Config, _ *container.HostConfig) bool {
				return cfg.Labels[runtime.LabelManaged] == "true"
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := createOptions(tt.spec, tt.version)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(got.Config, got.HostConfig) {
				t.Errorf("Config %+v\nHostConfig %+v", got.Config, got.HostConfig)
			}
		})
	}
}

func TestCreateOptionsInvalid(t *testing.T) {
	for name, spec := range map[string]runtime.ContainerSpec{
		"dns":           {DNS: []string{"dns.example"}},
		"protocol":      {Ports: []runtime.PortMapping{{ContainerPort: 80, Protocol: "sctp"}}},
		"port zero":     {Ports: []runtime.PortMapping{{}}},
		"host ip":       {Ports: []runtime.PortMapping{{ContainerPort: 80, HostIP: "localhost"}}},
		"mount type":    {Mounts: []runtime.Mount{{Type: "efs", Target: "/x"}}},
		"bind w/o path": {Mounts: []runtime.Mount{{Type: runtime.MountBind, Target: "/x"}}},
	} {
		if _, err := createOptions(spec, "1.41"); !errors.Is(err, runtime.ErrInvalidSpec) {
			t.Errorf("%s: err = %v, want ErrInvalidSpec", name, err)
		}
	}
}
