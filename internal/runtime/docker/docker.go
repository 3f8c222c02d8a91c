// Package docker implements runtime.Runtime over the Docker Engine API. It is
// the only package in Gantry that imports the Docker SDK
// (github.com/moby/moby/client); nothing of its types leaks out.
//
// Every call is bounded by a timeout, negotiates the API version with the
// engine on first use, and wraps the engine's errors with the operation, the
// container and one of the runtime package's error kinds.
package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/jsonstream"
	"github.com/moby/moby/client"

	"github.com/gantry-dev/gantry/internal/runtime"
)

var _ runtime.Runtime = (*Runtime)(nil)

// Options configure a Runtime. The zero value works.
type Options struct {
	// Host is the engine's address, e.g. "unix:///var/run/docker.sock";
	// empty uses DOCKER_HOST and the other DOCKER_* variables, or the
	// platform's default socket.
	Host string
	// CallTimeout bounds each engine call (default 30 s). Stop adds its
	// grace period; pulls use PullTimeout; the event stream has none.
	CallTimeout time.Duration
	// PullTimeout bounds an image pull (default 10 min).
	PullTimeout time.Duration
	Logger      *slog.Logger // default: discard
}

// Runtime runs containers on a Docker Engine.
type Runtime struct {
	c           *client.Client
	log         *slog.Logger
	callTimeout time.Duration
	pullTimeout time.Duration

	mu      sync.Mutex
	version string            // negotiated API version, once known
	names   map[string]string // container ID → name, for error messages

	netMu    sync.Mutex // serializes network creation (see EnsureNetwork)
	pauseMu  sync.Mutex // serializes PauseImage
	pause    *pauseImage
	pauseRef string // PauseRef, except in tests
}

// New returns a Runtime for the engine that opts (or the environment) name.
// It does not contact the engine; the first call does.
func New(opts Options) (*Runtime, error) {
	clientOpts := []client.Opt{client.FromEnv}
	if opts.Host != "" {
		clientOpts = append(clientOpts, client.WithHost(opts.Host))
	}
	c, err := client.New(clientOpts...)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	r := &Runtime{
		c:           c,
		log:         opts.Logger,
		callTimeout: opts.CallTimeout,
		pullTimeout: opts.PullTimeout,
		names:       make(map[string]string),
		pauseRef:    PauseRef,
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.callTimeout <= 0 {
		r.callTimeout = 30 * time.Second
	}
	if r.pullTimeout <= 0 {
		r.pullTimeout = 10 * time.Minute
	}
	return r, nil
}

// Close releases the client's connections.
func (r *Runtime) Close() error { return r.c.Close() }

// Ping checks that the engine answers and negotiates the API version.
func (r *Runtime) Ping(ctx context.Context) error {
	_, err := r.apiVersion(ctx)
	return err
}

// apiVersion negotiates the API version once and remembers it.
func (r *Runtime) apiVersion(ctx context.Context) (string, error) {
	r.mu.Lock()
	v := r.version
	r.mu.Unlock()
	if v != "" {
		return v, nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.callTimeout)
	defer cancel()
	if _, err := r.c.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return "", fmt.Errorf("ping docker engine: %w", classify(err))
	}
	v = r.c.ClientVersion()
	r.mu.Lock()
	r.version = v
	r.mu.Unlock()
	return v, nil
}

// call bounds one engine call by the call timeout.
func (r *Runtime) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.callTimeout)
}

// Info describes the host and the engine.
func (r *Runtime) Info(ctx context.Context) (runtime.HostInfo, error) {
	version, err := r.apiVersion(ctx)
	if err != nil {
		return runtime.HostInfo{}, err
	}
	ctx, cancel := r.call(ctx)
	defer cancel()
	res, err := r.c.Info(ctx, client.InfoOptions{})
	if err != nil {
		return runtime.HostInfo{}, fmt.Errorf("docker info: %w", classify(err))
	}
	info := res.Info
	return runtime.HostInfo{
		CPUs:            info.NCPU,
		MemoryBytes:     info.MemTotal,
		RuntimeName:     "docker",
		RuntimeVersion:  info.ServerVersion,
		APIVersion:      version,
		OS:              info.OSType,
		Arch:            info.Architecture,
		KernelVersion:   info.KernelVersion,
		OperatingSystem: info.OperatingSystem,
	}, nil
}

// EnsureImage uses the local image when present and pulls it otherwise.
func (r *Runtime) EnsureImage(ctx context.Context, ref string) (runtime.ImageInfo, error) {
	info, err := r.InspectImage(ctx, ref)
	if err == nil || !errors.Is(err, runtime.ErrNotFound) {
		return info, err
	}
	if err := r.pull(ctx, ref); err != nil {
		return runtime.ImageInfo{}, fmt.Errorf("%w: pull image %q: %w", runtime.ErrCannotPull, ref, classify(err))
	}
	info, err = r.InspectImage(ctx, ref)
	if err != nil {
		return runtime.ImageInfo{}, fmt.Errorf("%w: %w", runtime.ErrCannotPull, err)
	}
	info.Pulled = true
	return info, nil
}

func (r *Runtime) pull(ctx context.Context, ref string) error {
	ctx, cancel := context.WithTimeout(ctx, r.pullTimeout)
	defer cancel()
	r.log.InfoContext(ctx, "pulling image", "image", ref)
	resp, err := r.c.ImagePull(ctx, ref, client.ImagePullOptions{})
	if err != nil {
		return err
	}
	defer resp.Close()
	return resp.Wait(ctx)
}

// InspectImage describes a local image without pulling it; a missing image
// wraps runtime.ErrNotFound.
func (r *Runtime) InspectImage(ctx context.Context, ref string) (runtime.ImageInfo, error) {
	ctx, cancel := r.call(ctx)
	defer cancel()
	res, err := r.c.ImageInspect(ctx, ref)
	if err != nil {
		return runtime.ImageInfo{}, fmt.Errorf("inspect image %q: %w", ref, classify(err))
	}
	info := runtime.ImageInfo{
		ID:          res.ID,
		Ref:         ref,
		RepoTags:    res.RepoTags,
		RepoDigests: res.RepoDigests,
		OS:          res.Os,
		Arch:        res.Architecture,
	}
	if res.Config != nil {
		info.Labels = res.Config.Labels
	}
	return info, nil
}

// ImportImage creates the image ref from a root filesystem tar, applying
// Dockerfile-style changes such as `CMD ["/bin/sh"]`. It is how images are
// made where no registry is reachable.
func (r *Runtime) ImportImage(ctx context.Context, ref string, rootfs io.Reader, changes []string) error {
	ctx, cancel := context.WithTimeout(ctx, r.pullTimeout)
	defer cancel()
	res, err := r.c.ImageImport(ctx, client.ImageImportSource{Source: rootfs, SourceName: "-"}, ref,
		client.ImageImportOptions{Changes: changes})
	if err != nil {
		return fmt.Errorf("import image %q: %w", ref, classify(err))
	}
	defer res.Close()
	dec := json.NewDecoder(res)
	for {
		var msg jsonstream.Message
		if err := dec.Decode(&msg); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("import image %q: %w", ref, err)
		}
		if msg.Error != nil {
			return fmt.Errorf("import image %q: %s", ref, msg.Error.Message)
		}
	}
}

// kindError gives an engine error one of the runtime's error kinds while
// keeping the engine's message.
type kindError struct{ kind, err error }

func (e kindError) Error() string   { return e.err.Error() }
func (e kindError) Unwrap() []error { return []error{e.kind, e.err} }

// classify wraps err with the runtime error kind it belongs to, if any.
func classify(err error) error {
	var kind error
	switch {
	case err == nil:
		return nil
	case cerrdefs.IsNotFound(err):
		kind = runtime.ErrNotFound
	case cerrdefs.IsConflict(err), cerrdefs.IsAlreadyExists(err):
		kind = runtime.ErrConflict
	case cerrdefs.IsInvalidArgument(err):
		kind = runtime.ErrInvalidSpec
	case client.IsErrConnectionFailed(err), cerrdefs.IsUnavailable(err):
		kind = runtime.ErrUnavailable
	default:
		return err
	}
	return kindError{kind: kind, err: err}
}

// maxNames bounds the name cache, which only makes errors easier to read.
const maxNames = 4096

// rememberName records a container's name for error messages.
func (r *Runtime) rememberName(id, name string) {
	if id == "" || name == "" {
		return
	}
	r.mu.Lock()
	if len(r.names) >= maxNames { // containers removed behind our back
		clear(r.names)
	}
	r.names[id] = name
	r.mu.Unlock()
}

func (r *Runtime) forgetName(id string) {
	r.mu.Lock()
	delete(r.names, id)
	r.mu.Unlock()
}

// describe names a container in error messages: `"web" (0123456789ab)`.
func (r *Runtime) describe(id string) string {
	r.mu.Lock()
	name := r.names[id]
	r.mu.Unlock()
	short := id
	if len(short) > 12 {
		short = short[:12]
	}
	if name == "" {
		return short
	}
	return fmt.Sprintf("%q (%s)", name, short)
}

func trimName(name string) string { return strings.TrimPrefix(name, "/") }
