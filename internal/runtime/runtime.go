package runtime

import (
	"context"
	"errors"
	"time"
)

// Runtime runs containers on one host. Implementations are safe for
// concurrent use. Every method takes a context and returns when it ends;
// errors wrap the kinds below, so callers test them with errors.Is.
type Runtime interface {
	// EnsureImage makes ref available locally: it uses the local image when
	// present and pulls only otherwise. A failed pull returns an error
	// wrapping ErrCannotPull whose message reads like an ECS stoppedReason
	// ("CannotPullContainerError: …") and names the image.
	EnsureImage(ctx context.Context, ref string) (ImageInfo, error)

	// Create creates a container from spec without starting it and returns
	// its ID. The image must be local (see EnsureImage). The container
	// carries spec.Labels plus LabelManaged. Failures wrap ErrCannotCreate;
	// a name already in use also wraps ErrConflict.
	Create(ctx context.Context, spec ContainerSpec) (id string, err error)

	// Start starts a created or exited container. Starting a running
	// container does nothing. Failures wrap ErrCannotStart.
	Start(ctx context.Context, id string) error

	// Stop sends SIGTERM (or the image's stop signal) and SIGKILL once
	// timeout has passed; it returns when the container has exited. A zero
	// timeout uses the container's ContainerSpec.StopTimeout, or the
	// engine's default when that is zero too. Stopping a container that is
	// not running does nothing.
	Stop(ctx context.Context, id string, timeout time.Duration) error

	// Remove removes a container, killing it first if it runs, together
	// with its anonymous volumes. Named volumes stay (see RemoveVolume).
	Remove(ctx context.Context, id string) error

	// Inspect reports a container's current state.
	Inspect(ctx context.Context, id string) (Container, error)

	// List reports every managed container, running or not, that carries
	// all of labels (an empty map matches every managed container). It is
	// how a restarted agent re-adopts its containers.
	List(ctx context.Context, labels map[string]string) ([]Container, error)

	// Events streams start, die, oom, health-status and destroy events of
	// managed containers from now on. The channel closes when ctx ends.
	// When the stream breaks (the engine restarted, the connection
	// dropped) the runtime reconnects by itself and then sends an
	// EventResync: events may have been lost or repeated, and the consumer
	// should re-read what it cares about with List. Consumers must drain
	// the channel promptly.
	Events(ctx context.Context) <-chan Event

	// Info describes the host and the container engine.
	Info(ctx context.Context) (HostInfo, error)

	// RemoveVolume removes a named volume, such as the task-scoped volumes
	// that Mount.Volume* fields create on first use. A volume still used by
	// a container wraps ErrConflict.
	RemoveVolume(ctx context.Context, name string) error

	// EnsureNetwork returns the engine network called name, creating it as
	// a bridge network carrying labels plus LabelManaged when it is
	// missing. An existing network is returned as it is, whatever its
	// labels. Concurrent callers for one name all succeed and get the same
	// network. Containers join it with ContainerSpec.NetworkMode = name.
	EnsureNetwork(ctx context.Context, name string, labels map[string]string) (Network, error)

	// InspectNetwork describes the network called name; a missing network
	// wraps ErrNotFound.
	InspectNetwork(ctx context.Context, name string) (Network, error)

	// RemoveNetwork removes the network called name. A missing network is
	// not an error; one that running containers are attached to (or one
	// the engine predefines, such as "bridge") wraps ErrConflict.
	// Containers created on it but not running do not prevent removal;
	// they then fail to start.
	RemoveNetwork(ctx context.Context, name string) error

	// PauseImage makes the pause image local and returns its reference.
	// A pause container only holds a network namespace (awsvpc tasks: the
	// task's other containers join it with NetworkContainer); its process
	// blocks until killed: as PID 1 it ignores SIGTERM, so Stop waits out
	// its timeout, while Remove kills it at once. The image is made on the
	// host, without a registry.
	PauseImage(ctx context.Context) (ref string, err error)
}

// Error kinds. Implementations wrap them (with %w) around their own errors,
// which keep the engine's message.
var (
	// ErrNotFound: no such container, image, volume or network.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the name is in use, or the object is in use or busy.
	ErrConflict = errors.New("conflict")
	// ErrInvalidSpec: the engine rejected the request as malformed; retrying
	// it unchanged cannot succeed.
	ErrInvalidSpec = errors.New("invalid container spec")
	// ErrUnavailable: the engine could not be reached; retrying later may
	// succeed.
	ErrUnavailable = errors.New("container engine unavailable")
)

// Failure kinds for the steps that start a task. Their texts are the
// prefixes ECS uses in a task's stoppedReason, so err.Error() can go there
// as is.
var (
	ErrCannotPull   = errors.New("CannotPullContainerError")
	ErrCannotCreate = errors.New("CannotCreateContainerError")
	ErrCannotStart  = errors.New("CannotStartContainerError")
)
