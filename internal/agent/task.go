package agent

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/internal/agentproto"
	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/runtime"
)

// taskConfig is what every task runner of an agent shares.
type taskConfig struct {
	Runtime    runtime.Runtime
	InstanceID string // LabelInstance on every container, so agents sharing an engine keep apart
	// Labels go on every container, volume and network the runner creates
	// (tests pass the gantry.test label).
	Labels map[string]string
	// TaskNetwork is the engine network of awsvpc tasks whose first subnet
	// names none (default runtime.DefaultTaskNetwork).
	TaskNetwork string
	// CleanupWait is how long a stopped task's containers are kept (for
	// their logs) before they are removed.
	CleanupWait time.Duration
	// StopTimeout is the SIGTERM→SIGKILL grace for containers when neither
	// the container nor the task sets one (default 30 s, as ECS).
	StopTimeout time.Duration
	// Notify is called whenever State changes. It must not block.
	Notify func()
	Now    func() time.Time // default time.Now
	Logger *slog.Logger
}

// Retry pacing for runtime errors that may pass (runtime.ErrUnavailable).
const (
	minRetry = 100 * time.Millisecond
	maxRetry = 10 * time.Second
)

// errInterrupted: a start step was cut short because the task is to stop.
var errInterrupted = errors.New("task start interrupted by a stop")

// taskRunner makes one ECS task real on this host and reports what it
// observes. One goroutine (run) owns the task's state and does every
// runtime call except container stops, which run alongside it so that one
// container's grace period does not hold up the others. Desire and
// HandleEvent only record their input and wake that goroutine, so they
// never block and may race freely: every step is idempotent and decided
// from the state observed, not from the order of inputs.
type taskRunner struct {
	cfg  taskConfig
	rt   runtime.Runtime
	plan *taskPlan
	log  *slog.Logger
	ctx  context.Context

	// startCtx bounds the steps that start the task; a stop cancels it so
	// that a long pull does not delay the stop.
	startCtx    context.Context
	cancelStart context.CancelFunc

	mu        sync.Mutex // guards the inbox and published
	desired   string
	inDirty   map[string]bool  // container IDs an event named
	inDied    map[string]int   // exit codes from die events, by container ID
	inResync  bool             // events may have been lost
	inStops   map[string]error // container IDs whose Stop call returned
	published agentproto.TaskState
	version   int // counts changes to published

	kick   chan struct{} // capacity 1: "look at the inbox"
	done   chan struct{} // closed once the task is stopped and cleaned up
	exited chan struct{} // closed when run has returned

	// Owned by run.
	status        string
	stopping      bool
	wantStop      bool
	stopCode      ecs.TaskStopCode
	stoppedReason string
	containers    []*taskContainer // in task definition order
	byName        map[string]*taskContainer
	byID          map[string]*taskContainer
	createOrder   []*taskContainer
	pause         taskPause
	times         taskTimes
	pending       map[string]bool // container IDs to inspect
	resync        bool
	cleanupAt     time.Time
	finished      bool
	retry         time.Duration
	retryAt       time.Time
	stops         sync.WaitGroup
}

type taskTimes struct {
	pullStarted, pullStopped, started, stopping, executionStopped, stopped time.Time
}

// taskPause is the task's pause container, when it needs one.
type taskPause struct {
	id      string
	network string // the engine network it was attached to
	running bool
	gone    bool // it exited or vanished after it ran
	removed bool
	ip      string
	ports   []runtime.PortBinding
}

// Container states as the runner tracks them.
type containerStatus int

const (
	containerNone    containerStatus = iota // not created yet
	containerCreated                        // created, not started
	containerRunning
	containerStopped // exited after running, or will never run
)

// taskContainer is what the runner knows of one of the task's containers.
type taskContainer struct {
	plan   *containerPlan
	id     string
	status containerStatus
	ran    bool // it started at some point
	// failed: it never ran and never will (pull, create, start or a
	// dependency failed).
	failed     bool
	exitCode   *int32
	reason     string
	health     runtime.HealthStatus
	healthy    bool      // it was HEALTHY at some point
	startedAt  time.Time // on the agent's clock, for dependency timeouts
	engineAt   time.Time // when the engine says it started
	finishedAt time.Time
	ports      []runtime.PortBinding
	imageReady bool
	digest     string
	stopping   bool      // a Stop call is under way
	stopAgain  time.Time // when a stop may be sent again
	removed    bool      // cleaned up, or removed by someone else
	// diedWith is the exit code a die event reported: what is known of a
	// container removed before it could be inspected.
	diedWith *int32
}

// startTask starts a runner for t. adopted are the task's containers that
// already exist (runtime.List after an agent restart): the runner takes
// them over as they are. The runner ends when the task is stopped and
// cleaned up (Done), or when ctx ends, which leaves every container as it
// is.
func startTask(ctx context.Context, cfg taskConfig, t agentproto.Task, adopted []runtime.Container) *taskRunner {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.TaskNetwork == "" {
		cfg.TaskNetwork = runtime.DefaultTaskNetwork
	}
	r := &taskRunner{
		cfg:     cfg,
		rt:      cfg.Runtime,
		plan:    newTaskPlan(&cfg, &t),
		log:     cfg.Logger.With("task", t.TaskArn),
		ctx:     ctx,
		desired: t.DesiredStatus,
		inDirty: make(map[string]bool),
		inDied:  make(map[string]int),
		inStops: make(map[string]error),
		kick:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		exited:  make(chan struct{}),
		status:  ecs.TaskProvisioning,
		byName:  make(map[string]*taskContainer),
		byID:    make(map[string]*taskContainer),
		pending: make(map[string]bool),
	}
	r.startCtx, r.cancelStart = context.WithCancel(ctx)
	for _, cp := range r.plan.containers {
		c := &taskContainer{plan: cp}
		r.containers = append(r.containers, c)
		r.byName[cp.name] = c
	}
	r.createOrder = r.dependencyOrder()
	if r.desired == ecs.TaskStopped {
		r.cancelStart()
	}
	r.adopt(adopted)
	r.published = r.buildState()
	go r.run()
	return r
}

// Desire sets the status the server wants: RUNNING or STOPPED. STOPPED is
// final; anything after it is ignored.
func (r *taskRunner) Desire(status string) {
	r.mu.Lock()
	if status == ecs.TaskStopped && r.desired != ecs.TaskStopped {
		r.desired = ecs.TaskStopped
		r.cancelStart()
	}
	r.mu.Unlock()
	r.wake()
}

// HandleEvent takes a runtime event about one of the task's containers,
// or an EventResync, after which the runner inspects them all again.
func (r *taskRunner) HandleEvent(ev runtime.Event) {
	r.mu.Lock()
	if ev.Type == runtime.EventResync {
		r.inResync = true
	} else if ev.ContainerID != "" {
		r.inDirty[ev.ContainerID] = true
		if ev.Type == runtime.EventDie {
			r.inDied[ev.ContainerID] = ev.ExitCode
		}
	}
	r.mu.Unlock()
	r.wake()
}

// State is the task as the runner last observed it; the caller owns the
// copy.
func (r *taskRunner) State() agentproto.TaskState {
	st, _ := r.StateVersion()
	return st
}

// StateVersion is State with a number that grows with every change, so
// the agent can tell which states the server has not heard yet.
func (r *taskRunner) StateVersion() (agentproto.TaskState, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return cloneState(r.published), r.version
}

// Done is closed once the task is STOPPED and its containers, pause
// container and task-scoped volumes are removed.
func (r *taskRunner) Done() <-chan struct{} { return r.done }

// Exited is closed once the runner's goroutines have all returned: after
// Done, or after the context given to startTask ended.
func (r *taskRunner) Exited() <-chan struct{} { return r.exited }

func (r *taskRunner) wake() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func (r *taskRunner) now() time.Time { return r.cfg.Now() }

func (r *taskRunner) run() {
	defer close(r.exited)
	defer r.stops.Wait()
	for {
		r.drain()
		if r.ctx.Err() != nil {
			return
		}
		r.advance()
		r.publish()
		if r.finished {
			close(r.done)
			return
		}
		if !r.sleep() {
			return
		}
	}
}

// sleep waits for input or the next deadline; false when ctx ended.
func (r *taskRunner) sleep() bool {
	var timer <-chan time.Time
	if d, ok := r.nextWake(); ok {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-r.ctx.Done():
		return false
	case <-r.kick:
	case <-timer:
	}
	return true
}

// drain moves the inbox into the runner's own state.
func (r *taskRunner) drain() {
	r.mu.Lock()
	for id := range r.inDirty {
		r.pending[id] = true
	}
	clear(r.inDirty)
	for id, code := range r.inDied {
		if c := r.byID[id]; c != nil {
			c.diedWith = ptr(int32(code))
		}
	}
	clear(r.inDied)
	if r.inResync {
		r.resync, r.inResync = true, false
	}
	stops := r.inStops
	r.inStops = make(map[string]error)
	if r.desired == ecs.TaskStopped {
		r.wantStop = true
	}
	r.mu.Unlock()
	for id, err := range stops {
		r.pending[id] = true
		if c := r.byID[id]; c != nil {
			// Should it still run, the next stop waits a moment.
			c.stopping, c.stopAgain = false, r.now().Add(time.Second)
		}
		if err != nil && !errors.Is(err, runtime.ErrNotFound) && r.ctx.Err() == nil {
			r.log.Warn("stopping a container failed; retrying", "container", id, "err", err)
			r.backOff()
		}
	}
}

// advance takes every step the observed state allows. A runtime error that
// may pass holds the runner back for a while; then it tries again.
func (r *taskRunner) advance() {
	if r.now().Before(r.retryAt) {
		return
	}
	err := r.step()
	switch {
	case err == nil:
		r.retry, r.retryAt = 0, time.Time{}
	case r.ctx.Err() != nil:
	case errors.Is(err, errInterrupted):
		r.wake() // the stop that interrupted it is in the inbox
	default:
		r.log.Warn("runtime call failed; retrying", "err", err)
		r.backOff()
	}
}

func (r *taskRunner) backOff() {
	r.retry = min(max(2*r.retry, minRetry), maxRetry)
	r.retryAt = r.now().Add(r.retry)
}

func (r *taskRunner) step() error {
	if err := r.refresh(); err != nil {
		return err
	}
	r.checkRunning()
	r.checkStop()
	if !r.stopping {
		if err := r.provision(); err != nil {
			return err
		}
		if err := r.prepare(); err != nil {
			return err
		}
		if err := r.startReady(); err != nil {
			return err
		}
		r.checkRunning()
		r.checkStop()
	}
	if r.stopping {
		if err := r.stopContainers(); err != nil {
			return err
		}
		if err := r.deprovision(); err != nil {
			return err
		}
	}
	if r.status == ecs.TaskStopped {
		return r.cleanup()
	}
	return nil
}

// nextWake is how long the runner may sleep when nothing arrives: until a
// retry, the end of the cleanup wait, or a dependency's start timeout.
func (r *taskRunner) nextWake() (time.Duration, bool) {
	// Deadlines already passed were acted on, or wait for a retry.
	now, next := r.now(), time.Time{}
	earliest := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	earliest(r.retryAt)
	if r.status == ecs.TaskStopped {
		earliest(r.cleanupAt)
	} else if r.stopping {
		for _, c := range r.containers {
			if c.status == containerRunning && !c.stopping {
				earliest(c.stopAgain)
			}
		}
	} else {
		for _, c := range r.containers {
			if !c.ran && !c.failed {
				for _, d := range c.plan.deps {
					earliest(r.dependencyDeadline(d))
				}
			}
		}
	}
	if next.IsZero() {
		return 0, false
	}
	return next.Sub(now), true
}

// publish makes the current state what State returns, and tells the agent
// when it changed.
func (r *taskRunner) publish() {
	st := r.buildState()
	r.mu.Lock()
	changed := !reflect.DeepEqual(st, r.published)
	if changed {
		r.published = st
		r.version++
	}
	r.mu.Unlock()
	if changed && r.cfg.Notify != nil {
		r.cfg.Notify()
	}
}

// setStatus moves the task's lastStatus forward, never back.
func (r *taskRunner) setStatus(s string) {
	if ecs.TaskStatusRank(s) > ecs.TaskStatusRank(r.status) {
		r.log.Debug("task status", "from", r.status, "to", s)
		r.status = s
	}
}

func (r *taskRunner) reached(s string) bool {
	return ecs.TaskStatusRank(r.status) >= ecs.TaskStatusRank(s)
}

// dependencyOrder lists the containers so that each comes after those it
// depends on (dependsOn, links, volumesFrom), keeping definition order
// otherwise. A cycle, which validation refuses, falls back to definition
// order for the containers on it.
func (r *taskRunner) dependencyOrder() []*taskContainer {
	var out []*taskContainer
	state := make(map[*taskContainer]int) // 1 visiting, 2 done
	var visit func(c *taskContainer)
	visit = func(c *taskContainer) {
		if state[c] != 0 {
			return
		}
		state[c] = 1
		for _, d := range c.plan.deps {
			if dc := r.byName[d.container]; dc != nil {
				visit(dc)
			}
		}
		state[c] = 2
		out = append(out, c)
	}
	for _, c := range r.containers {
		visit(c)
	}
	return out
}

func cloneState(st agentproto.TaskState) agentproto.TaskState {
	st.Containers = slices.Clone(st.Containers)
	for i := range st.Containers {
		c := &st.Containers[i]
		if c.ExitCode != nil {
			code := *c.ExitCode
			c.ExitCode = &code
		}
		c.NetworkBindings = slices.Clone(c.NetworkBindings)
		for j := range c.NetworkBindings {
			b := &c.NetworkBindings[j]
			b.ContainerPort, b.HostPort = clonePtr(b.ContainerPort), clonePtr(b.HostPort)
		}
		c.NetworkInterfaces = slices.Clone(c.NetworkInterfaces)
	}
	return st
}

func ptr[T any](v T) *T { return &v }

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func labelsFor(base map[string]string, extra ...string) map[string]string {
	out := maps.Clone(base)
	if out == nil {
		out = make(map[string]string)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		out[extra[i]] = extra[i+1]
	}
	return out
}
