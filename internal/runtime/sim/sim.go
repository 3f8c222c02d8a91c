// Package sim is an in-memory runtime.Runtime: containers "run" without
// processes, so thousands of simulated agents fit in one process for scale
// runs and agent tests.
//
// A started container runs until it is stopped, removed, told to exit (Exit,
// OOMKill), or until its scripted Behavior makes it exit. Health checks
// pass unless scripted to fail. Published ports get dynamic host ports from
// a counter; containers get addresses from their network's subnet (bridge:
// 172.17.0.0/16; networks EnsureNetwork makes: 172.18.0.0/16 on), and a
// missing network fails Start as the engine does. PauseImage provides
// PauseRef. Every change is reported on Events as the Docker runtime would.
// Time comes from an injected Clock, so tests can run under testing/synctest
// or a fake clock.
//
// The package imports only the runtime package and the standard library.
package sim

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/internal/runtime"
)

var _ runtime.Runtime = (*Runtime)(nil)

// Clock is where a Runtime reads time and schedules scripted exits.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// Options configure a Runtime. The zero value works.
type Options struct {
	Clock Clock            // default: the real clock
	Host  runtime.HostInfo // what Info reports; zero fields get defaults
	// Images are present from the start.
	Images []string
	// PullError decides whether pulling ref fails; nil lets every pull
	// succeed.
	PullError func(ref string) error
	// Behavior scripts a container from its spec; nil means ParseBehavior.
	Behavior func(runtime.ContainerSpec) Behavior
	// FirstHostPort is the first dynamic host port (default 49153).
	FirstHostPort uint16
}

// Runtime is an in-memory container engine for one simulated host.
type Runtime struct {
	clock    Clock
	host     runtime.HostInfo
	pullErr  func(string) error
	behavior func(runtime.ContainerSpec) Behavior

	mu         sync.Mutex // guards everything below
	ports      portAllocator
	images     map[string]runtime.ImageInfo
	containers map[string]*simContainer
	names      map[string]string // name → ID
	volumes    map[string]map[string]string
	networks   map[string]*simNetwork // by name
	subnets    int                    // counts the subnets handed to new networks
	subs       map[*subscriber]struct{}
}

type simContainer struct {
	c        runtime.Container
	spec     runtime.ContainerSpec
	behavior Behavior
	timers   []func() bool
	run      int           // counts runs, so a late timer cannot touch a later run
	exited   chan struct{} // closed when a run ends
}

// New returns an empty simulated host.
func New(opts Options) *Runtime {
	r := &Runtime{
		clock:      opts.Clock,
		host:       opts.Host,
		pullErr:    opts.PullError,
		behavior:   opts.Behavior,
		ports:      portAllocator{first: opts.FirstHostPort},
		images:     make(map[string]runtime.ImageInfo),
		containers: make(map[string]*simContainer),
		names:      make(map[string]string),
		volumes:    make(map[string]map[string]string),
		networks:   predefinedNetworks(),
		subs:       make(map[*subscriber]struct{}),
	}
	if r.clock == nil {
		r.clock = realClock{}
	}
	if r.behavior == nil {
		r.behavior = ParseBehavior
	}
	r.host = hostDefaults(r.host)
	for _, ref := range opts.Images {
		r.images[ref] = imageInfo(ref)
	}
	return r
}

func hostDefaults(h runtime.HostInfo) runtime.HostInfo {
	if h.CPUs == 0 {
		h.CPUs = 2
	}
	if h.MemoryBytes == 0 {
		h.MemoryBytes = 4 << 30
	}
	if h.RuntimeName == "" {
		h.RuntimeName, h.RuntimeVersion, h.APIVersion = "sim", "1", "1.41"
	}
	if h.OS == "" {
		h.OS, h.Arch = "linux", "x86_64"
	}
	return h
}

func imageInfo(ref string) runtime.ImageInfo {
	return runtime.ImageInfo{ID: "sha256:" + newID(), Ref: ref, RepoTags: []string{ref}, OS: "linux", Arch: "amd64"}
}

func newID() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Info reports the simulated host.
func (r *Runtime) Info(ctx context.Context) (runtime.HostInfo, error) { return r.host, ctx.Err() }

// EnsureImage "pulls" ref unless it is present or PullError refuses it.
func (r *Runtime) EnsureImage(ctx context.Context, ref string) (runtime.ImageInfo, error) {
	if err := ctx.Err(); err != nil {
		return runtime.ImageInfo{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if info, ok := r.images[ref]; ok {
		return info, nil
	}
	if r.pullErr != nil {
		if err := r.pullErr(ref); err != nil {
			return runtime.ImageInfo{}, fmt.Errorf("%w: pull image %q: %w", runtime.ErrCannotPull, ref, err)
		}
	}
	info := imageInfo(ref)
	r.images[ref] = info
	info.Pulled = true
	return info, nil
}

// Create records a container in the created state.
func (r *Runtime) Create(ctx context.Context, spec runtime.ContainerSpec) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	what := "create container"
	if spec.Name != "" {
		what += fmt.Sprintf(" %q", spec.Name)
	}
	if err := r.checkCreate(spec); err != nil {
		return "", fmt.Errorf("%w: %s: %w", runtime.ErrCannotCreate, what, err)
	}
	id := newID()
	name := spec.Name
	if name == "" {
		name = "sim_" + id[:12]
	}
	labels := maps.Clone(spec.Labels)
	if labels == nil {
		labels = make(map[string]string)
	}
	labels[runtime.LabelManaged] = "true"
	c := &simContainer{spec: spec, behavior: r.behaviorOf(spec), c: runtime.Container{
		ID: id, Name: name, Image: spec.Image, ImageID: r.images[spec.Image].ID,
		Labels: labels, NetworkMode: networkMode(spec), State: runtime.StateCreated,
		CreatedAt: r.clock.Now(), Resources: resources(spec),
	}}
	r.containers[id] = c
	r.names[name] = id
	for _, m := range spec.Mounts {
		if m.Type == runtime.MountVolume && m.Source != "" {
			if _, ok := r.volumes[m.Source]; !ok {
				r.volumes[m.Source] = maps.Clone(m.VolumeLabels)
			}
		}
	}
	return id, nil
}

func (r *Runtime) checkCreate(spec runtime.ContainerSpec) error {
	if _, ok := r.images[spec.Image]; !ok {
		return fmt.Errorf("no such image: %s: %w", spec.Image, runtime.ErrNotFound)
	}
	if _, taken := r.names[spec.Name]; taken && spec.Name != "" {
		return fmt.Errorf("the container name %q is already in use: %w", spec.Name, runtime.ErrConflict)
	}
	var refs []string
	for _, mode := range []string{spec.NetworkMode, spec.PidMode, spec.IpcMode} {
		if id, ok := strings.CutPrefix(mode, "container:"); ok {
			refs = append(refs, id)
		}
	}
	for _, v := range spec.VolumesFrom {
		refs = append(refs, v.Container)
	}
	for _, ref := range refs {
		if r.lookup(ref) == nil {
			return fmt.Errorf("no such container: %s: %w", ref, runtime.ErrNotFound)
		}
	}
	return nil
}

// Start runs a created or exited container.
func (r *Runtime) Start(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.lookup(id)
	if c == nil {
		return fmt.Errorf("%w: start container %s: %w", runtime.ErrCannotStart, id, runtime.ErrNotFound)
	}
	if c.c.State == runtime.StateRunning {
		return nil
	}
	if id, ok := strings.CutPrefix(c.spec.NetworkMode, "container:"); ok {
		if other := r.lookup(id); other == nil || other.c.State != runtime.StateRunning {
			return fmt.Errorf("%w: start container %q: cannot join network of a non running container: %s",
				runtime.ErrCannotStart, c.c.Name, id)
		}
	}
	networks, err := r.attach(c)
	if err != nil {
		return fmt.Errorf("%w: start container %q: %w", runtime.ErrCannotStart, c.c.Name, err)
	}
	bindings, err := r.ports.bind(c.spec, r.running())
	if err != nil {
		return fmt.Errorf("%w: start container %q: %w", runtime.ErrCannotStart, c.c.Name, err)
	}
	r.run(c, bindings, networks)
	return nil
}

// run moves c to running and schedules what its behaviour scripts.
func (r *Runtime) run(c *simContainer, bindings []runtime.PortBinding, networks []runtime.NetworkAttachment) {
	now := r.clock.Now()
	c.c.State, c.c.ExitCode, c.c.OOMKilled, c.c.Error = runtime.StateRunning, 0, false, ""
	c.c.StartedAt, c.c.FinishedAt = now, time.Time{}
	c.c.Ports = bindings
	c.c.Networks = networks
	c.exited = make(chan struct{})
	c.run++
	r.emit(c, runtime.Event{Type: runtime.EventStart})
	b := c.behavior
	if b.Exits {
		r.after(c, b.RunFor, func() { r.exit(c, b.ExitCode, false) })
	}
	if hc := c.spec.HealthCheck; hc != nil && len(hc.Command) > 0 && hc.Command[0] != "NONE" {
		c.c.Health = runtime.HealthStarting
		status, after := runtime.HealthHealthy, interval(hc)
		if b.Unhealthy {
			status, after = runtime.HealthUnhealthy, max(after*time.Duration(retries(hc)), hc.StartPeriod+after)
		}
		r.after(c, after, func() { r.setHealth(c, status) })
	} else {
		c.c.Health = runtime.HealthNone
	}
}

// after runs f with r.mu held once d has passed, unless c's run ended.
func (r *Runtime) after(c *simContainer, d time.Duration, f func()) {
	run := c.run
	c.timers = append(c.timers, r.clock.AfterFunc(d, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if c.run == run && c.c.State == runtime.StateRunning {
			f()
		}
	}))
}

// behaviorOf scripts a new container. The pause image's program, run
// without a command, ignores SIGTERM whatever the script says.
func (r *Runtime) behaviorOf(spec runtime.ContainerSpec) Behavior {
	b := r.behavior(spec)
	if spec.Image == PauseRef && len(spec.EntryPoint) == 0 && len(spec.Command) == 0 {
		b.IgnoreTerm = true
	}
	return b
}

// Stop ends a running container: at once unless its behaviour ignores
// SIGTERM, then after timeout with exit code 137.
func (r *Runtime) Stop(ctx context.Context, id string, timeout time.Duration) error {
	r.mu.Lock()
	c := r.lookup(id)
	if c == nil {
		r.mu.Unlock()
		return fmt.Errorf("stop container %s: %w", id, runtime.ErrNotFound)
	}
	if c.c.State != runtime.StateRunning {
		r.mu.Unlock()
		return nil
	}
	if !c.behavior.IgnoreTerm {
		r.exit(c, c.behavior.TermExitCode, false)
		r.mu.Unlock()
		return nil
	}
	if timeout <= 0 {
		timeout = c.spec.StopTimeout
	}
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	exited := c.exited
	r.mu.Unlock()

	expired := make(chan struct{})
	stop := r.clock.AfterFunc(timeout, func() { close(expired) })
	defer stop()
	select {
	case <-exited:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop container %q: %w", c.c.Name, ctx.Err())
	case <-expired:
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.c.State == runtime.StateRunning {
		r.exit(c, 137, false)
	}
	return nil
}

// Remove kills the container if it runs and forgets it.
func (r *Runtime) Remove(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.lookup(id)
	if c == nil {
		return fmt.Errorf("remove container %s: %w", id, runtime.ErrNotFound)
	}
	if c.c.State == runtime.StateRunning {
		r.exit(c, 137, false)
	}
	delete(r.containers, c.c.ID)
	delete(r.names, c.c.Name)
	r.emit(c, runtime.Event{Type: runtime.EventDestroy})
	return nil
}

// Inspect reports a container.
func (r *Runtime) Inspect(ctx context.Context, id string) (runtime.Container, error) {
	if err := ctx.Err(); err != nil {
		return runtime.Container{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.lookup(id)
	if c == nil {
		return runtime.Container{}, fmt.Errorf("inspect container %s: %w", id, runtime.ErrNotFound)
	}
	return snapshot(c), nil
}

// List reports the containers carrying all of labels, oldest first.
func (r *Runtime) List(ctx context.Context, labels map[string]string) ([]runtime.Container, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []runtime.Container
	for _, c := range r.containers {
		if hasLabels(c.c.Labels, labels) {
			out = append(out, snapshot(c))
		}
	}
	slices.SortFunc(out, func(a, b runtime.Container) int {
		if n := a.CreatedAt.Compare(b.CreatedAt); n != 0 {
			return n
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// RemoveVolume forgets a named volume no container uses.
func (r *Runtime) RemoveVolume(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.volumes[name]; !ok {
		return fmt.Errorf("remove volume %q: %w", name, runtime.ErrNotFound)
	}
	for _, c := range r.containers {
		for _, m := range c.spec.Mounts {
			if m.Type == runtime.MountVolume && m.Source == name {
				return fmt.Errorf("remove volume %q: volume is in use by %s: %w", name, c.c.ID[:12], runtime.ErrConflict)
			}
		}
	}
	delete(r.volumes, name)
	return nil
}

// Exit makes a running container exit with code, as if its process ended.
func (r *Runtime) Exit(id string, code int) error {
	return r.end(id, code, false)
}

// OOMKill makes a running container exit as if the kernel killed it for
// exceeding its memory limit: an oom event, then die with code 137.
func (r *Runtime) OOMKill(id string) error {
	return r.end(id, 137, true)
}

func (r *Runtime) end(id string, code int, oom bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.lookup(id)
	if c == nil {
		return fmt.Errorf("container %s: %w", id, runtime.ErrNotFound)
	}
	if c.c.State == runtime.StateRunning {
		r.exit(c, code, oom)
	}
	return nil
}

// SetHealth sets a running container's health status, emitting an event
// when it changes.
func (r *Runtime) SetHealth(id string, h runtime.HealthStatus) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.lookup(id)
	if c == nil {
		return fmt.Errorf("container %s: %w", id, runtime.ErrNotFound)
	}
	if c.c.State == runtime.StateRunning {
		r.setHealth(c, h)
	}
	return nil
}

func (r *Runtime) setHealth(c *simContainer, h runtime.HealthStatus) {
	if c.c.Health != h {
		c.c.Health = h
		r.emit(c, runtime.Event{Type: runtime.EventHealth, Health: h})
	}
}

// exit ends c's run; r.mu is held.
func (r *Runtime) exit(c *simContainer, code int, oom bool) {
	for _, stop := range c.timers {
		stop()
	}
	c.timers = nil
	if oom {
		r.emit(c, runtime.Event{Type: runtime.EventOOM})
	}
	c.c.State, c.c.ExitCode, c.c.OOMKilled = runtime.StateExited, code, oom
	c.c.FinishedAt = r.clock.Now()
	c.c.Ports, c.c.Networks = nil, nil
	close(c.exited)
	r.emit(c, runtime.Event{Type: runtime.EventDie, ExitCode: code})
}

// lookup finds a container by ID, unique ID prefix or name; r.mu is held.
func (r *Runtime) lookup(ref string) *simContainer {
	if c, ok := r.containers[ref]; ok {
		return c
	}
	if id, ok := r.names[ref]; ok {
		return r.containers[id]
	}
	var found *simContainer
	for id, c := range r.containers {
		if len(ref) >= 4 && strings.HasPrefix(id, ref) {
			if found != nil {
				return nil
			}
			found = c
		}
	}
	return found
}

// running lists running containers; r.mu is held.
func (r *Runtime) running() []*simContainer {
	var out []*simContainer
	for _, c := range r.containers {
		if c.c.State == runtime.StateRunning {
			out = append(out, c)
		}
	}
	return out
}

func snapshot(c *simContainer) runtime.Container {
	out := c.c
	out.Labels = maps.Clone(c.c.Labels)
	out.Ports = slices.Clone(c.c.Ports)
	out.Networks = slices.Clone(c.c.Networks)
	return out
}

func networkMode(spec runtime.ContainerSpec) string {
	if spec.NetworkMode == "" {
		return runtime.NetworkBridge
	}
	return spec.NetworkMode
}

func resources(spec runtime.ContainerSpec) runtime.Resources {
	shares := spec.CPUShares
	if shares > 0 && shares < 2 {
		shares = 2
	}
	return runtime.Resources{
		CPUShares:              shares,
		MemoryBytes:            spec.MemoryMiB << 20,
		MemoryReservationBytes: spec.MemoryReservationMiB << 20,
	}
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func interval(hc *runtime.HealthCheck) time.Duration {
	if hc.Interval > 0 {
		return hc.Interval
	}
	return 30 * time.Second
}

func retries(hc *runtime.HealthCheck) int {
	if hc.Retries > 0 {
		return hc.Retries
	}
	return 3
}
