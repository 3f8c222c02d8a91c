package runtime

import "time"

// Container is a container's observed state.
type Container struct {
	ID          string
	Name        string
	Image       string // the reference it was created from
	ImageID     string
	Labels      map[string]string // the spec's, LabelManaged, and any the image carries
	NetworkMode string

	State     State
	ExitCode  int    // meaningful once State is StateExited
	OOMKilled bool   // the kernel killed it for exceeding its memory limit
	Error     string // the engine's error, e.g. why it could not start
	Health    HealthStatus

	CreatedAt  time.Time
	StartedAt  time.Time // zero until started
	FinishedAt time.Time // zero until exited

	Resources Resources
	Ports     []PortBinding       // host ports actually bound, dynamic ones resolved; empty unless running
	Networks  []NetworkAttachment // by network name; empty unless running
}

// Resources are the limits a container was created with, in bytes.
type Resources struct {
	CPUShares              int64
	MemoryBytes            int64
	MemoryReservationBytes int64
}

// PortBinding is a container port bound on the host.
type PortBinding struct {
	ContainerPort uint16
	HostPort      uint16
	Protocol      Protocol
	HostIP        string // "0.0.0.0", "::", or a specific address
}

// NetworkAttachment is the container's address on one network.
type NetworkAttachment struct {
	Network     string
	IPv4Address string
	IPv6Address string
	MACAddress  string
}

// State is a container's lifecycle state. States are ordered: a container
// only moves forward, except that Start runs an exited container again.
type State int

// States.
const (
	StateUnknown State = iota
	StateCreated
	StateRunning // also paused and restarting
	StateExited  // also dead and being removed
)

func (s State) String() string {
	switch s {
	case StateCreated:
		return "created"
	case StateRunning:
		return "running"
	case StateExited:
		return "exited"
	}
	return "unknown"
}

// HealthStatus is the result of a container's health check.
type HealthStatus int

// Health statuses.
const (
	HealthNone      HealthStatus = iota // no health check
	HealthStarting                      // not decided yet
	HealthHealthy                       // the last check passed
	HealthUnhealthy                     // Retries checks in a row failed
)

func (h HealthStatus) String() string {
	switch h {
	case HealthStarting:
		return "starting"
	case HealthHealthy:
		return "healthy"
	case HealthUnhealthy:
		return "unhealthy"
	}
	return "none"
}

// EventType is what happened to a container.
type EventType int

// Event types.
const (
	// EventResync says events may have been lost or repeated (the stream
	// reconnected); the consumer should re-read state with List.
	EventResync EventType = iota
	EventStart
	EventDie     // ExitCode is set
	EventOOM     // the kernel killed a process for memory; EventDie follows if it was PID 1
	EventHealth  // Health is set
	EventDestroy // the container was removed
)

func (t EventType) String() string {
	switch t {
	case EventStart:
		return "start"
	case EventDie:
		return "die"
	case EventOOM:
		return "oom"
	case EventHealth:
		return "health"
	case EventDestroy:
		return "destroy"
	}
	return "resync"
}

// Event reports a change of a managed container.
type Event struct {
	Type        EventType
	ContainerID string // empty for EventResync
	Name        string
	Labels      map[string]string
	ExitCode    int          // EventDie
	Health      HealthStatus // EventHealth
	Time        time.Time
}

// HostInfo describes the host and its container engine.
type HostInfo struct {
	CPUs            int
	MemoryBytes     int64
	RuntimeName     string // "docker", "sim"
	RuntimeVersion  string // the engine's version, e.g. "20.10.24"
	APIVersion      string // the negotiated engine API version, e.g. "1.41"
	OS              string // "linux"
	Arch            string // as the engine reports it, e.g. "x86_64"
	KernelVersion   string
	OperatingSystem string // e.g. "Debian GNU/Linux 12 (bookworm)"
}

// ImageInfo describes a local image.
type ImageInfo struct {
	ID          string // content-addressed ID, e.g. "sha256:…"
	Ref         string // the reference asked for
	RepoTags    []string
	RepoDigests []string // empty for images that never came from a registry
	OS          string
	Arch        string
	Labels      map[string]string
	Pulled      bool // EnsureImage pulled it (false: it was already local)
}
