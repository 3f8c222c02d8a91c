package agent

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gantry-dev/gantry/internal/agentproto"
	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/runtime"
	"github.com/gantry-dev/gantry/internal/runtime/sim"
)

const (
	testImage    = "app:1"
	testCluster  = "arn:aws:ecs:us-east-1:123456789012:cluster/test"
	testInstance = "i-test"
)

// newTask is a task of the given containers, desired RUNNING.
func newTask(network ecs.NetworkMode, cds ...ecs.ContainerDefinition) agentproto.Task {
	return agentproto.Task{
		TaskArn:       "arn:aws:ecs:us-east-1:123456789012:task/test/" + ecs.NewID(),
		ClusterArn:    testCluster,
		DesiredStatus: ecs.TaskRunning,
		Definition: ecs.TaskDefinition{
			TaskDefinitionArn:    "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3",
			Family:               "web",
			Revision:             3,
			NetworkMode:          network,
			ContainerDefinitions: cds,
		},
	}
}

// container is an essential container of the test image running cmd
// (interpreted by the simulated runtime: "exit N", "sleep N", sh -c …).
func container(name string, cmd ...string) ecs.ContainerDefinition {
	return ecs.ContainerDefinition{Name: name, Image: testImage, Command: cmd, Memory: ptr(int32(64))}
}

func nonEssential(cd ecs.ContainerDefinition) ecs.ContainerDefinition {
	cd.Essential = ptr(false)
	return cd
}

func dependsOn(cd ecs.ContainerDefinition, name string, cond ecs.ContainerCondition) ecs.ContainerDefinition {
	cd.DependsOn = append(cd.DependsOn, ecs.ContainerDependency{ContainerName: name, Condition: cond})
	return cd
}

// ignoresTerm is a command the simulated runtime runs until SIGKILL.
var ignoresTerm = []string{"sh", "-c", "trap '' TERM; sleep infinity"}

// harness runs task runners against a runtime and feeds them its events,
// as the agent does, recording every state each runner publishes.
type harness struct {
	t      *testing.T
	rt     runtime.Runtime
	cfg    taskConfig
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	runners map[string]*taskRunner
	history map[string][]agentproto.TaskState
}

func newHarness(t *testing.T, rt runtime.Runtime) *harness {
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{
		t: t, rt: rt, ctx: ctx, cancel: cancel,
		runners: make(map[string]*taskRunner),
		history: make(map[string][]agentproto.TaskState),
		cfg: taskConfig{
			Runtime:     rt,
			InstanceID:  testInstance,
			Labels:      map[string]string{"gantry.test": "unit"},
			CleanupWait: time.Minute,
			StopTimeout: 30 * time.Second,
			Now:         time.Now,
		},
	}
	events := rt.Events(ctx)
	pumped := make(chan struct{})
	go func() {
		defer close(pumped)
		for ev := range events {
			h.mu.Lock()
			var targets []*taskRunner
			for arn, r := range h.runners {
				if ev.Type == runtime.EventResync || ev.Labels[runtime.LabelTaskARN] == arn {
					targets = append(targets, r)
				}
			}
			h.mu.Unlock()
			for _, r := range targets {
				r.HandleEvent(ev)
			}
		}
	}()
	t.Cleanup(func() {
		h.stopAll()
		<-pumped
	})
	return h
}

// stopAll ends every runner as an agent shutdown does and waits for them.
func (h *harness) stopAll() {
	h.cancel()
	h.mu.Lock()
	runners := slices.Collect(func(yield func(*taskRunner) bool) {
		for _, r := range h.runners {
			if !yield(r) {
				return
			}
		}
	})
	h.mu.Unlock()
	for _, r := range runners {
		<-r.Exited()
	}
}

// start starts a runner for task under ctx (the harness's when nil).
func (h *harness) start(ctx context.Context, task agentproto.Task, adopted []runtime.Container) *taskRunner {
	if ctx == nil {
		ctx = h.ctx
	}
	cfg := h.cfg
	ready := make(chan struct{})
	var r *taskRunner
	cfg.Notify = func() {
		<-ready
		h.mu.Lock()
		h.history[task.TaskArn] = append(h.history[task.TaskArn], r.State())
		h.mu.Unlock()
	}
	r = startTask(ctx, cfg, task, adopted)
	h.mu.Lock()
	h.runners[task.TaskArn] = r
	h.history[task.TaskArn] = append(h.history[task.TaskArn], r.State())
	h.mu.Unlock()
	close(ready)
	return r
}

// statuses lists the distinct lastStatus values the runner published.
func (h *harness) statuses(arn string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, st := range h.history[arn] {
		if len(out) == 0 || out[len(out)-1] != st.LastStatus {
			out = append(out, st.LastStatus)
		}
	}
	return out
}

// checkForward fails when the published lastStatus ever moved back.
func (h *harness) checkForward(arn string) {
	h.t.Helper()
	got := h.statuses(arn)
	for i := 1; i < len(got); i++ {
		if ecs.TaskStatusRank(got[i]) < ecs.TaskStatusRank(got[i-1]) {
			h.t.Errorf("lastStatus moved back: %v", got)
		}
	}
}

// waitFor polls cond, letting simulated time pass in 10 ms steps, for up
// to limit of it.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		synctest.Wait()
		if cond() {
			return
		}
		if !time.Now().Before(deadline) {
			t.Fatalf("gave up after %v waiting for %s", limit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitStatus(t *testing.T, r *taskRunner, status string, limit time.Duration) agentproto.TaskState {
	t.Helper()
	waitFor(t, "task "+status, limit, func() bool { return r.State().LastStatus == status })
	return r.State()
}

func containerState(t *testing.T, st agentproto.TaskState, name string) ecs.Container {
	t.Helper()
	for _, c := range st.Containers {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no container %q in %s", name, describe(st))
	return ecs.Container{}
}

// describe renders a state for failure messages.
func describe(st agentproto.TaskState) string {
	var b strings.Builder
	fmt.Fprintf(&b, "task %s health=%s stopCode=%q reason=%q ip=%s", st.LastStatus, st.HealthStatus, st.StopCode, st.StoppedReason, st.PrivateIPv4Address)
	for _, c := range st.Containers {
		code := "-"
		if c.ExitCode != nil {
			code = fmt.Sprint(*c.ExitCode)
		}
		fmt.Fprintf(&b, "\n  %s %s exit=%s health=%s reason=%q id=%.12s", c.Name, c.LastStatus, code, c.HealthStatus, c.Reason, c.RuntimeId)
	}
	return b.String()
}

func exitCode(c ecs.Container) string {
	if c.ExitCode == nil {
		return "none"
	}
	return fmt.Sprint(*c.ExitCode)
}

// newSim is a simulated host with the test image.
func newSim(opts sim.Options) *sim.Runtime {
	opts.Images = append(opts.Images, testImage)
	return sim.New(opts)
}

// taskContainers lists the containers of a task on the runtime.
func taskContainers(t *testing.T, rt runtime.Runtime, arn string) []runtime.Container {
	t.Helper()
	cs, err := rt.List(context.Background(), map[string]string{runtime.LabelTaskARN: arn})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}
