package runtime

import "time"

// ContainerSpec is everything a container is created from: what an ECS
// container definition (plus its task's network, pid and ipc modes)
// translates to on one host. Sizes are in MiB as in ECS; zero values mean
// "not set" and leave the engine's or the image's default.
type ContainerSpec struct {
	Name   string            // engine-level container name; empty lets the engine choose
	Image  string            // image reference; must be local (EnsureImage)
	Labels map[string]string // LabelManaged is added by the runtime

	EntryPoint []string          // replaces the image's entrypoint when set
	Command    []string          // replaces the image's command when set
	Env        map[string]string // environment, on top of the image's
	WorkingDir string
	User       string // user, uid, user:group or uid:gid
	Hostname   string

	CPUShares            int64    // ECS cpu units → CPU shares; values below 2 are raised to 2
	MemoryMiB            int64    // hard limit: the container is killed above it
	MemoryReservationMiB int64    // soft limit
	MaxSwapMiB           *int64   // swap on top of MemoryMiB; needs MemoryMiB; nil keeps the host's setting
	Swappiness           *int64   // 0–100; nil keeps the host's setting
	Ulimits              []Ulimit // e.g. nofile

	ReadonlyRootFilesystem bool
	Privileged             bool
	Init                   bool     // run an init process as PID 1 (ECS initProcessEnabled)
	CapAdd                 []string // e.g. "NET_ADMIN" or "CAP_NET_ADMIN"
	CapDrop                []string
	Devices                []Device
	Tmpfs                  []Tmpfs
	SharedMemoryMiB        int64 // size of /dev/shm
	Mounts                 []Mount
	VolumesFrom            []VolumeFrom
	SecurityOptions        []string          // ECS dockerSecurityOptions, e.g. "no-new-privileges"
	Sysctls                map[string]string // ECS systemControls

	// NetworkMode is "bridge" (also when empty), "host", "none",
	// "container:<id>" to join another container's network namespace (the
	// pause container of an awsvpc task), or the name of an engine network.
	// With "container:<id>", Hostname, DNS, ExtraHosts, Links and Ports
	// belong on the other container; the engine rejects them here.
	NetworkMode string
	Ports       []PortMapping // published only in bridge and named-network modes
	Links       []string      // "container" or "container:alias" (bridge mode)
	ExtraHosts  []HostEntry
	DNS         []string // DNS server IP addresses
	DNSSearch   []string
	PidMode     string // "", "host" or "container:<id>"
	IpcMode     string // "", "host", "none", "shareable" or "container:<id>"

	Interactive    bool // keep stdin open
	PseudoTerminal bool // allocate a TTY

	HealthCheck *HealthCheck
	StopTimeout time.Duration // default grace between SIGTERM and SIGKILL; whole seconds
	Log         LogConfig
}

// Network modes besides named networks.
const (
	NetworkBridge = "bridge"
	NetworkHost   = "host"
	NetworkNone   = "none"
)

// NetworkContainer is the network mode that joins the network namespace of
// the container with the given ID.
func NetworkContainer(id string) string { return "container:" + id }

// Protocol is a transport protocol for port mappings.
type Protocol string

// Protocols.
const (
	TCP Protocol = "tcp"
	UDP Protocol = "udp"
)

// PortMapping publishes a container port on the host.
type PortMapping struct {
	ContainerPort uint16
	HostPort      uint16   // 0 = a dynamic port chosen by the runtime
	Protocol      Protocol // "" means TCP
	HostIP        string   // "" = all interfaces
}

// Ulimit is a resource limit (setrlimit) by name, e.g. "nofile".
type Ulimit struct {
	Name       string
	Soft, Hard int64
}

// Device maps a host device into the container.
type Device struct {
	HostPath      string
	ContainerPath string // "" = same as HostPath
	Permissions   string // cgroup permissions from "rwm"; "" = "rwm"
}

// Tmpfs mounts a tmpfs.
type Tmpfs struct {
	ContainerPath string
	SizeMiB       int64    // 0 = the engine's default
	Options       []string // mount options, e.g. "noexec"
}

// MountType says what a Mount's Source is.
type MountType string

// Mount types.
const (
	// MountBind: Source is a path on the host, created when missing.
	MountBind MountType = "bind"
	// MountVolume: Source names an engine volume, created on first use with
	// the Volume* settings; an empty Source is an anonymous volume removed
	// with the container.
	MountVolume MountType = "volume"
)

// Mount mounts a host path or a volume into the container.
type Mount struct {
	Type     MountType
	Source   string
	Target   string
	ReadOnly bool

	// For MountVolume: used when the volume does not exist yet.
	VolumeDriver     string // "" = the engine's default ("local")
	VolumeDriverOpts map[string]string
	VolumeLabels     map[string]string
}

// VolumeFrom mounts every volume of another container.
type VolumeFrom struct {
	Container string // ID or name
	ReadOnly  bool
}

// HostEntry is a line added to /etc/hosts.
type HostEntry struct {
	Hostname  string
	IPAddress string
}

// HealthCheck runs a command in the container to decide its health.
// Command is ["CMD", exe, args…] or ["CMD-SHELL", "script"]; zero durations
// and retries take the engine's defaults (30 s, 30 s, 0 s, 3).
type HealthCheck struct {
	Command     []string
	Interval    time.Duration
	Timeout     time.Duration
	Retries     int
	StartPeriod time.Duration
	// StartInterval is the interval during StartPeriod. Engines older than
	// Docker API 1.44 ignore it.
	StartInterval time.Duration
}

// LogConfig selects the engine's log driver for the container.
type LogConfig struct {
	Driver  string // "" = the engine's default
	Options map[string]string
}
