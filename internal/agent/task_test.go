package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/runtime"
	"github.com/gantry-dev/gantry/internal/runtime/sim"
)

func TestTaskHappyPath(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newSim(sim.Options{})
		h := newHarness(t, rt)
		web := container("web")
		web.PortMappings = []ecs.PortMapping{{ContainerPort: ptr(int32(80))}}
		task := newTask("", web, nonEssential(container("sidecar")))
		begin := time.Now()
		r := h.start(nil, task, nil)
		st := waitStatus(t, r, ecs.TaskRunning, time.Second)

		// The first state may be published before the harness looks.
		got := h.statuses(task.TaskArn)
		if got[0] == ecs.TaskProvisioning {
			got = got[1:]
		}
		if want := []string{ecs.TaskPending, ecs.TaskRunning}; !slices.Equal(got, want) {
			t.Errorf("statuses = %v, want %v", got, want)
		}
		if st.StopCode != "" || st.HealthStatus != ecs.HealthStatusUNKNOWN || st.PrivateIPv4Address != "" {
			t.Errorf("running task: %s", describe(st))
		}
		for _, ts := range []ecs.Timestamp{st.PullStartedAt, st.PullStoppedAt, st.StartedAt} {
			if !ts.Equal(begin) {
				t.Errorf("timestamps pull %v–%v, started %v; want all %v (no time passes)", st.PullStartedAt, st.PullStoppedAt, st.StartedAt, begin)
				break
			}
		}
		w := containerState(t, st, "web")
		wantBinding := []ecs.NetworkBinding{{BindIP: "0.0.0.0", ContainerPort: ptr(int32(80)), HostPort: ptr(int32(49153)), Protocol: "tcp"}}
		if diff := cmp.Diff(wantBinding, w.NetworkBindings); diff != "" {
			t.Errorf("web bindings (-want +got):\n%s", diff)
		}
		if w.LastStatus != ecs.TaskRunning || w.RuntimeId == "" || w.HealthStatus != ecs.HealthStatusUNKNOWN || w.ExitCode != nil {
			t.Errorf("web: %+v", w)
		}

		cs := taskContainers(t, rt, task.TaskArn)
		if len(cs) != 2 {
			t.Fatalf("%d containers, want 2", len(cs))
		}
		short := arnID(task.TaskArn)[:12]
		for _, c := range cs {
			name := c.Labels[runtime.LabelContainerName]
			want := map[string]string{
				runtime.LabelManaged: "true", runtime.LabelCluster: "test", runtime.LabelTaskARN: task.TaskArn,
				runtime.LabelContainerName: name, runtime.LabelTaskDefinition: task.Definition.TaskDefinitionArn,
				LabelInstance: testInstance, "gantry.test": "unit",
			}
			if diff := cmp.Diff(want, c.Labels); diff != "" {
				t.Errorf("labels of %s (-want +got):\n%s", name, diff)
			}
			if c.Name != "ecs-web-3-"+name+"-"+short {
				t.Errorf("engine name %q", c.Name)
			}
		}

		time.Sleep(time.Hour) // nothing changes by itself
		synctest.Wait()
		if got := r.State(); got.LastStatus != ecs.TaskRunning {
			t.Fatalf("after an hour: %s", describe(got))
		}

		stopAt := time.Now()
		r.Desire(ecs.TaskStopped)
		st = waitStatus(t, r, ecs.TaskStopped, time.Second)
		if st.StopCode != "" || st.StoppedReason != "" {
			t.Errorf("server-requested stop reports %q %q", st.StopCode, st.StoppedReason)
		}
		for _, c := range st.Containers {
			if c.LastStatus != ecs.TaskStopped || exitCode(c) != "143" {
				t.Errorf("container after stop: %+v", c)
			}
		}
		if !st.StoppingAt.Equal(stopAt) || !st.ExecutionStoppedAt.Equal(stopAt) || !st.StoppedAt.Equal(stopAt) {
			t.Errorf("stop timestamps %v %v %v, want %v", st.StoppingAt, st.ExecutionStoppedAt, st.StoppedAt, stopAt)
		}
		if got, want := h.statuses(task.TaskArn), []string{ecs.TaskRunning, ecs.TaskStopping, ecs.TaskStopped}; !slices.Equal(got[len(got)-3:], want) {
			t.Errorf("statuses after RUNNING = %v, want %v", got, want)
		}

		// Containers stay for CleanupWait, then go.
		time.Sleep(time.Minute - time.Millisecond)
		synctest.Wait()
		if n := len(taskContainers(t, rt, task.TaskArn)); n != 2 {
			t.Errorf("%d containers just before the cleanup wait passed, want 2", n)
		}
		select {
		case <-r.Done():
			t.Fatal("Done before the cleanup wait passed")
		default:
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		<-r.Done()
		if n := len(taskContainers(t, rt, task.TaskArn)); n != 0 {
			t.Errorf("%d containers left after cleanup", n)
		}
		h.checkForward(task.TaskArn)
	})
}

func TestTaskPullFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newSim(sim.Options{PullError: func(ref string) error {
			return errors.New("pull access denied for " + ref)
		}})
		h := newHarness(t, rt)
		bad := container("app")
		bad.Image = "private/missing:1"
		task := newTask("", nonEssential(container("sidecar")), bad)
		r := h.start(nil, task, nil)
		st := waitStatus(t, r, ecs.TaskStopped, time.Second)

		if st.StopCode != ecs.TaskStopCodeTaskFailedToStart || !strings.HasPrefix(st.StoppedReason, "CannotPullContainerError:") ||
			!strings.Contains(st.StoppedReason, "private/missing:1") {
			t.Errorf("stopped: %s", describe(st))
		}
		app := containerState(t, st, "app")
		if app.LastStatus != ecs.TaskStopped || app.ExitCode != nil || app.Reason != st.StoppedReason || app.RuntimeId != "" {
			t.Errorf("app: %+v", app)
		}
		if !st.StartedAt.IsZero() || st.PullStartedAt.IsZero() || st.PullStoppedAt.IsZero() || st.StoppedAt.IsZero() {
			t.Errorf("timestamps: %+v", st)
		}
		if slices.Contains(h.statuses(task.TaskArn), ecs.TaskRunning) {
			t.Errorf("a task that never started was RUNNING: %v", h.statuses(task.TaskArn))
		}
		if n := len(taskContainers(t, rt, task.TaskArn)); n != 0 {
			t.Errorf("%d containers created for a task whose pull failed", n)
		}
		h.checkForward(task.TaskArn)
		time.Sleep(time.Minute)
		<-r.Done()
	})
}

func TestTaskCreateFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newSim(sim.Options{})
		h := newHarness(t, rt)
		task := newTask("", container("app"))
		// Someone else's container holds the name the task needs.
		plan := newTaskPlan(&h.cfg, &task)
		if _, err := rt.Create(t.Context(), runtime.ContainerSpec{Name: plan.containers[0].engineName, Image: testImage}); err != nil {
			t.Fatal(err)
		}
		r := h.start(nil, task, nil)
		st := waitStatus(t, r, ecs.TaskStopped, time.Second)
		if st.StopCode != ecs.TaskStopCodeTaskFailedToStart || !strings.HasPrefix(st.StoppedReason, "CannotCreateContainerError:") {
			t.Errorf("stopped: %s", describe(st))
		}
		if app := containerState(t, st, "app"); app.Reason != st.StoppedReason || app.LastStatus != ecs.TaskStopped {
			t.Errorf("app: %+v", app)
		}
	})
}

func TestTaskStartFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newSim(sim.Options{})
		h := newHarness(t, rt)
		// Another container holds host port 8080.
		id, err := rt.Create(t.Context(), runtime.ContainerSpec{Image: testImage, Ports: []runtime.PortMapping{{ContainerPort: 80, HostPort: 8080}}})
		if err == nil {
			err = rt.Start(t.Context(), id)
		}
		if err != nil {
			t.Fatal(err)
		}
		app := container("app")
		app.PortMappings = []ecs.PortMapping{{ContainerPort: ptr(int32(80)), HostPort: ptr(int32(8080))}}
		task := newTask(ecs.NetworkModeBridge, nonEssential(container("sidecar")), app)
		r := h.start(nil, task, nil)
		st := waitStatus(t, r, ecs.TaskStopped, time.Second)
		if st.StopCode != ecs.TaskStopCodeTaskFailedToStart || !strings.HasPrefix(st.StoppedReason, "CannotStartContainerError:") ||
			!strings.Contains(st.StoppedReason, "already allocated") {
			t.Errorf("stopped: %s", describe(st))
		}
		a, s := containerState(t, st, "app"), containerState(t, st, "sidecar")
		if a.RuntimeId == "" || a.ExitCode != nil || a.Reason != st.StoppedReason {
			t.Errorf("app: %+v", a)
		}
		// The sidecar started first; it is stopped with the task.
		if s.LastStatus != ecs.TaskStopped || exitCode(s) != "143" {
			t.Errorf("sidecar: %+v", s)
		}
		if slices.Contains(h.statuses(task.TaskArn), ecs.TaskRunning) {
			t.Errorf("statuses %v include RUNNING", h.statuses(task.TaskArn))
		}
	})
}

func TestTaskEssentialExit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newSim(sim.Options{})
		h := newHarness(t, rt)
		task := newTask("", container("app", "sh", "-c", "sleep 5; exit 3"), nonEssential(container("sidecar")))
		r := h.start(nil, task, nil)
		begin := time.Now()
		waitStatus(t, r, ecs.TaskRunning, time.Second)
		st := waitStatus(t, r, ecs.TaskStopped, 6*time.Second)
		if st.StopCode != ecs.TaskStopCodeEssentialContainerExited || st.StoppedReason != "Essential container in task exited" {
			t.Errorf("stopped: %s", describe(st))
		}
		if a := containerState(t, st, "app"); exitCode(a) != "3" || a.Reason != "" {
			t.Errorf("app: %+v", a)
		}
		if s := containerState(t, st, "sidecar"); exitCode(s) != "143" {
			t.Errorf("sidecar: %+v", s)
		}
		if want := begin.Add(5 * time.Second); !st.StoppingAt.Equal(want) || !st.ExecutionStoppedAt.Equal(want) {
			t.Errorf("stoppingAt %v executionStoppedAt %v, want %v", st.StoppingAt, st.ExecutionStoppedAt, want)
		}
		h.checkForward(task.TaskArn)
	})
}

func TestTaskNonEssentialExit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newSim(sim.Options{})
		h := newHarness(t, rt)
		task := newTask("", container("app"), nonEssential(container("job", "sh", "-c", "sleep 2; exit 2")))
		r := h.start(nil, task, nil)
		waitFor(t, "the job to exit", 3*time.Second, func() bool {
			return containerState(t, r.State(), "job").LastStatus == ecs.TaskStopped
		})
		time.Sleep(time.Minute)
		synctest.Wait()
		st := r.State()
		if st.LastStatus != ecs.TaskRunning || st.StopCode != "" {
			t.Errorf("task after a non-essential exit: %s", describe(st))
		}
		if j := containerState(t, st, "job"); exitCode(j) != "2" {
			t.Errorf("job: %+v", j)
		}
	})
}

func TestTaskOutOfMemory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newSim(sim.Options{})
		h := newHarness(t, rt)
		task := newTask("", container("app"))
		r := h.start(nil, task, nil)
		st := waitStatus(t, r, ecs.TaskRunning, time.Second)
		if err := rt.OOMKill(st.Containers[0].RuntimeId); err != nil {
			t.Fatal(err)
		}
		st = waitStatus(t, r, ecs.TaskStopped, time.Second)
		a := containerState(t, st, "app")
		if exitCode(a) != "137" || a.Reason != "OutOfMemoryError: Container killed due to memory usage" ||
			st.StopCode != ecs.TaskStopCodeEssentialContainerExited {
			t.Errorf("after OOM: %s", describe(st))
		}
	})
}

func TestTaskStopTimeout(t *testing.T) {
	for _, tt := range []struct {
		name      string
		container *int32
		task      int
		want      time.Duration
	}{
		{"container", ptr(int32(7)), 20, 7 * time.Second},
		{"task", nil, 12, 12 * time.Second},
		{"agent default", nil, 0, 30 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rt := newSim(sim.Options{})
				h := newHarness(t, rt)
				stubborn := container("stubborn", ignoresTerm...)
				stubborn.StopTimeout = tt.container
				task := newTask("", stubborn, nonEssential(container("polite")))
				task.StopTimeoutSeconds = tt.task
				r := h.start(nil, task, nil)
				waitStatus(t, r, ecs.TaskRunning, time.Second)
				begin := time.Now()
				r.Desire(ecs.TaskStopped)
				synctest.Wait()
				st := r.State()
				if st.LastStatus != ecs.TaskStopping || exitCode(containerState(t, st, "polite")) != "143" {
					t.Fatalf("just after the stop: %s", describe(st))
				}
				time.Sleep(tt.want - time.Millisecond)
				synctest.Wait()
				if st := r.State(); st.LastStatus != ecs.TaskStopping {
					t.Fatalf("before the stop timeout: %s", describe(st))
				}
				time.Sleep(time.Millisecond)
				synctest.Wait()
				st = r.State()
				if st.LastStatus != ecs.TaskStopped || exitCode(containerState(t, st, "stubborn")) != "137" {
					t.Fatalf("at the stop timeout: %s", describe(st))
				}
				if !st.ExecutionStoppedAt.Equal(begin.Add(tt.want)) || !st.StoppingAt.Equal(begin) {
					t.Errorf("stoppingAt %v executionStoppedAt %v; stopped at %v", st.StoppingAt, st.ExecutionStoppedAt, begin)
				}
			})
		})
	}
}

func TestTaskDependsOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newSim(sim.Options{})
		h := newHarness(t, rt)
		// init runs 3 s; db waits for it to complete; db's health check
		// passes after its 5 s interval; app waits for db to be healthy and
		// for migrate to succeed; web waits for app to start.
		db := dependsOn(container("db"), "init", ecs.ContainerConditionCOMPLETE)
		db.HealthCheck = &ecs.HealthCheck{Command: []string{"CMD", "true"}, Interval: ptr(int32(5))}
		app := dependsOn(container("app"), "db", ecs.ContainerConditionHEALTHY)
		app = dependsOn(app, "migrate", ecs.ContainerConditionSUCCESS)
		task := newTask("",
			dependsOn(container("web"), "app", ecs.ContainerConditionSTART),
			app, db,
			nonEssential(container("init", "sleep", "3")),
			nonEssential(dependsOn(container("migrate", "exit", "0"), "init", ecs.ContainerConditionSTART)),
		)
		r := h.start(nil, task, nil)
		status := func() string {
			var parts []string
			for _, c := range r.State().Containers {
				parts = append(parts, c.Name+"="+c.LastStatus)
			}
			return strings.Join(parts, " ")
		}
		synctest.Wait()
		if got, want := status(), "web=PENDING app=PENDING db=PENDING init=RUNNING migrate=STOPPED"; got != want {
			t.Errorf("at 0 s: %s, want %s", got, want)
		}
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if got, want := status(), "web=PENDING app=PENDING db=RUNNING init=STOPPED migrate=STOPPED"; got != want {
			t.Errorf("at 3 s: %s, want %s", got, want)
		}
		time.Sleep(5*time.Second - time.Millisecond)
		synctest.Wait()
		if r.State().LastStatus != ecs.TaskPending {
			t.Errorf("before db is healthy: %s", describe(r.State()))
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if got, want := status(), "web=RUNNING app=RUNNING db=RUNNING init=STOPPED migrate=STOPPED"; got != want {
			t.Errorf("at 8 s: %s, want %s", got, want)
		}
		st := r.State()
		if st.LastStatus != ecs.TaskRunning || st.HealthStatus != ecs.HealthStatusHEALTHY {
			t.Errorf("at 8 s: %s", describe(st))
		}
		// The dependency order is the stop order in reverse: web, then app,
		// then db, each once those depending on it have exited.
		r.Desire(ecs.TaskStopped)
		waitStatus(t, r, ecs.TaskStopped, time.Second)
	})
}

func TestTaskDependencyNeverHolds(t *testing.T) {
	for _, tt := range []struct {
		name   string
		dep    ecs.ContainerDefinition
		cond   ecs.ContainerCondition
		after  time.Duration
		reason string
	}{
		{"SUCCESS exited non-zero", container("dep", "exit", "1"), ecs.ContainerConditionSUCCESS, 0, "it exited with exit code 1"},
		{"COMPLETE start timeout", func() ecs.ContainerDefinition {
			cd := container("dep", "sleep", "100")
			cd.StartTimeout = ptr(int32(10))
			return cd
		}(), ecs.ContainerConditionCOMPLETE, 10 * time.Second, "startTimeout of 10s"},
		{"HEALTHY without health check", container("dep"), ecs.ContainerConditionHEALTHY, 0, "it has no health check"},
		{"HEALTHY exited first", func() ecs.ContainerDefinition {
			cd := container("dep", "sleep", "2")
			cd.HealthCheck = &ecs.HealthCheck{Command: []string{"CMD", "true"}, Interval: ptr(int32(5))}
			return cd
		}(), ecs.ContainerConditionHEALTHY, 2 * time.Second, "it exited before it was healthy"},
		{"HEALTHY start timeout", func() ecs.ContainerDefinition {
			cd := container("dep")
			cd.HealthCheck = &ecs.HealthCheck{Command: []string{"CMD-SHELL", "exit 1"}, Interval: ptr(int32(5))}
			cd.StartTimeout = ptr(int32(8))
			return cd
		}(), ecs.ContainerConditionHEALTHY, 8 * time.Second, "startTimeout of 8s"},
		{"START dependency failed", func() ecs.ContainerDefinition {
			cd := container("dep")
			cd.Image = "missing:1"
			return cd
		}(), ecs.ContainerConditionSTART, 0, "it did not start (CannotPullContainerError"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rt := newSim(sim.Options{PullError: func(string) error { return errors.New("not found") }})
				h := newHarness(t, rt)
				task := newTask("", dependsOn(container("app"), "dep", tt.cond), nonEssential(tt.dep))
				r := h.start(nil, task, nil)
				if tt.after > 0 {
					time.Sleep(tt.after - time.Millisecond)
					synctest.Wait()
					if st := r.State(); st.LastStatus != ecs.TaskPending {
						t.Fatalf("before %v: %s", tt.after, describe(st))
					}
				}
				st := waitStatus(t, r, ecs.TaskStopped, time.Second)
				app := containerState(t, st, "app")
				if st.StopCode != ecs.TaskStopCodeTaskFailedToStart || st.StoppedReason != app.Reason ||
					!strings.HasPrefix(app.Reason, "CannotStartContainerError: container app depends on dep reaching "+string(tt.cond)) ||
					!strings.Contains(app.Reason, tt.reason) || app.ExitCode != nil {
					t.Errorf("stopped: %s", describe(st))
				}
			})
		})
	}
}

func TestTaskHealth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newSim(sim.Options{})
		h := newHarness(t, rt)
		checked := func(cd ecs.ContainerDefinition) ecs.ContainerDefinition {
			cd.HealthCheck = &ecs.HealthCheck{Command: []string{"CMD-SHELL", "curl -f http://localhost/"}, Interval: ptr(int32(5))}
			return cd
		}
		task := newTask("", checked(container("a")), checked(container("b")), container("plain"), nonEssential(checked(container("side"))))
		r := h.start(nil, task, nil)
		health := func() string {
			st := r.State()
			parts := []string{string(st.HealthStatus)}
			for _, c := range st.Containers {
				parts = append(parts, c.Name+"="+string(c.HealthStatus))
			}
			return strings.Join(parts, " ")
		}
		ids := map[string]string{}
		for _, c := range waitStatus(t, r, ecs.TaskRunning, time.Second).Containers {
			ids[c.Name] = c.RuntimeId
		}
		if got, want := health(), "UNKNOWN a=UNKNOWN b=UNKNOWN plain=UNKNOWN side=UNKNOWN"; got != want {
			t.Errorf("starting: %s, want %s", got, want)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if got, want := health(), "HEALTHY a=HEALTHY b=HEALTHY plain=UNKNOWN side=HEALTHY"; got != want {
			t.Errorf("checks passed: %s, want %s", got, want)
		}
		for _, step := range []struct {
			container string
			health    runtime.HealthStatus
			want      string
		}{
			{"side", runtime.HealthUnhealthy, "HEALTHY a=HEALTHY b=HEALTHY plain=UNKNOWN side=UNHEALTHY"},
			{"b", runtime.HealthUnhealthy, "UNHEALTHY a=HEALTHY b=UNHEALTHY plain=UNKNOWN side=UNHEALTHY"},
			{"b", runtime.HealthStarting, "UNKNOWN a=HEALTHY b=UNKNOWN plain=UNKNOWN side=UNHEALTHY"},
			{"a", runtime.HealthUnhealthy, "UNHEALTHY a=UNHEALTHY b=UNKNOWN plain=UNKNOWN side=UNHEALTHY"},
		} {
			if err := rt.SetHealth(ids[step.container], step.health); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			if got := health(); got != step.want {
				t.Errorf("%s %v: %s, want %s", step.container, step.health, got, step.want)
			}
		}
		// Unhealthy does not stop a standalone task.
		time.Sleep(time.Hour)
		synctest.Wait()
		if st := r.State(); st.LastStatus != ecs.TaskRunning {
			t.Errorf("unhealthy task: %s", describe(st))
		}
	})
}

func TestTaskStopOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newSim(sim.Options{})
		h := newHarness(t, rt)
		front := dependsOn(container("front", ignoresTerm...), "back", ecs.ContainerConditionSTART)
		front.StopTimeout = ptr(int32(5))
		task := newTask("", front, container("back"))
		r := h.start(nil, task, nil)
		waitStatus(t, r, ecs.TaskRunning, time.Second)
		r.Desire(ecs.TaskStopped)
		time.Sleep(5*time.Second - time.Millisecond)
		synctest.Wait()
		st := r.State()
		if containerState(t, st, "back").LastStatus != ecs.TaskRunning {
			t.Errorf("back was stopped before front, which depends on it: %s", describe(st))
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		st = r.State()
		if st.LastStatus != ecs.TaskStopped || exitCode(containerState(t, st, "front")) != "137" || exitCode(containerState(t, st, "back")) != "143" {
			t.Errorf("after front's stop timeout: %s", describe(st))
		}
	})
}

func TestTaskAdoptRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newSim(sim.Options{})
		h := newHarness(t, rt)
		web := container("web")
		web.PortMappings = []ecs.PortMapping{{ContainerPort: ptr(int32(80))}}
		web.HealthCheck = &ecs.HealthCheck{Command: []string{"CMD", "true"}, Interval: ptr(int32(5))}
		task := newTask("", web, nonEssential(container("job", "exit", "4")))
		ctx, cancel := context.WithCancel(context.Background())
		first := h.start(ctx, task, nil)
		before := waitStatus(t, first, ecs.TaskRunning, time.Second)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		before = first.State()

		// The agent goes away: its runner ends and leaves the containers.
		cancel()
		<-first.Exited()
		select {
		case <-first.Done():
			t.Fatal("Done after an agent shutdown")
		default:
		}
		time.Sleep(time.Hour)
		listed := taskContainers(t, rt, task.TaskArn)
		if len(listed) != 2 {
			t.Fatalf("%d containers after the agent went away, want 2", len(listed))
		}

		second := h.start(nil, task, listed)
		if got := second.State().LastStatus; got != ecs.TaskRunning {
			t.Errorf("first state after adoption: %s, want RUNNING", got)
		}
		synctest.Wait()
		after := second.State()
		if diff := cmp.Diff(before, after); diff != "" {
			t.Errorf("adopted state differs (-before +after):\n%s", diff)
		}
		if n := len(taskContainers(t, rt, task.TaskArn)); n != 2 {
			t.Errorf("%d containers after adoption, want 2", n)
		}
		second.Desire(ecs.TaskStopped)
		st := waitStatus(t, second, ecs.TaskStopped, time.Second)
		if exitCode(containerState(t, st, "web")) != "143" || st.StopCode != "" {
			t.Errorf("stopped after adoption: %s", describe(st))
		}
	})
}

func TestTaskAdoptExitedWhileAway(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newSim(sim.Options{})
		h := newHarness(t, rt)
		task := newTask("", container("app"), nonEssential(container("sidecar")))
		ctx, cancel := context.WithCancel(context.Background())
		first := h.start(ctx, task, nil)
		before := waitStatus(t, first, ecs.TaskRunning, time.Second)
		cancel()
		<-first.Exited()

		time.Sleep(time.Minute)
		if err := rt.Exit(containerState(t, before, "app").RuntimeId, 5); err != nil {
			t.Fatal(err)
		}
		diedAt := time.Now()
		time.Sleep(time.Minute)

		second := h.start(nil, task, taskContainers(t, rt, task.TaskArn))
		st := waitStatus(t, second, ecs.TaskStopped, time.Second)
		app := containerState(t, st, "app")
		if st.StopCode != ecs.TaskStopCodeEssentialContainerExited || exitCode(app) != "5" || app.RuntimeId != containerState(t, before, "app").RuntimeId {
			t.Errorf("after adoption: %s", describe(st))
		}
		if s := containerState(t, st, "sidecar"); exitCode(s) != "143" || s.RuntimeId != containerState(t, before, "sidecar").RuntimeId {
			t.Errorf("sidecar: %+v", s)
		}
		if !st.StartedAt.Equal(before.StartedAt.Time) || !st.PullStoppedAt.Equal(before.PullStoppedAt.Time) {
			t.Errorf("startedAt %v pullStoppedAt %v, want %v %v", st.StartedAt, st.PullStoppedAt, before.StartedAt, before.PullStoppedAt)
		}
		if st.StoppingAt.Before(diedAt) {
			t.Errorf("stoppingAt %v before the container died at %v", st.StoppingAt, diedAt)
		}
	})
}

func TestTaskAdoptStopped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The task was stopped while the agent was away and the server
		// wants it stopped: the runner reports it and cleans up.
		rt := newSim(sim.Options{})
		h := newHarness(t, rt)
		task := newTask("", container("app", "exit", "0"))
		ctx, cancel := context.WithCancel(context.Background())
		first := h.start(ctx, task, nil)
		waitFor(t, "the app to exit", time.Second, func() bool { return first.State().Containers[0].LastStatus == ecs.TaskStopped })
		cancel()
		<-first.Exited()
		task.DesiredStatus = ecs.TaskStopped
		second := h.start(nil, task, taskContainers(t, rt, task.TaskArn))
		st := waitStatus(t, second, ecs.TaskStopped, time.Second)
		if exitCode(st.Containers[0]) != "0" {
			t.Errorf("adopted stopped task: %s", describe(st))
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		<-second.Done()
		if n := len(taskContainers(t, rt, task.TaskArn)); n != 0 {
			t.Errorf("%d containers left", n)
		}
	})
}

func TestTaskCleanupVolumes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newSim(sim.Options{})
		h := newHarness(t, rt)
		app := container("app")
		app.MountPoints = []ecs.MountPoint{
			{SourceVolume: "scratch", ContainerPath: "/scratch"},
			{SourceVolume: "cache", ContainerPath: "/cache"},
			{SourceVolume: "shared", ContainerPath: "/shared"},
		}
		reader := container("reader")
		reader.VolumesFrom = []ecs.VolumeFrom{{SourceContainer: "app", ReadOnly: ptr(true)}}
		task := newTask("", app, reader)
		task.Definition.Volumes = []ecs.Volume{
			{Name: "scratch"},
			{Name: "cache", DockerVolumeConfiguration: &ecs.DockerVolumeConfiguration{Scope: ecs.ScopeTask}},
			{Name: "shared", DockerVolumeConfiguration: &ecs.DockerVolumeConfiguration{Scope: ecs.ScopeShared, Autoprovision: ptr(true)}},
		}
		r := h.start(nil, task, nil)
		waitStatus(t, r, ecs.TaskRunning, time.Second)
		r.Desire(ecs.TaskStopped)
		waitStatus(t, r, ecs.TaskStopped, time.Second)
		time.Sleep(time.Minute)
		synctest.Wait()
		<-r.Done()
		short := arnID(task.TaskArn)[:12]
		for name, want := range map[string]error{
			"ecs-web-3-scratch-" + short: runtime.ErrNotFound,
			"ecs-web-3-cache-" + short:   runtime.ErrNotFound,
			"shared":                     nil,
		} {
			if err := rt.RemoveVolume(context.Background(), name); !errors.Is(err, want) {
				t.Errorf("removing volume %s after cleanup: %v, want %v", name, err, want)
			}
		}
	})
}

// flakyRuntime fails chosen calls with runtime.ErrUnavailable a number of
// times, and can hold image pulls until their context ends.
type flakyRuntime struct {
	runtime.Runtime
	mu        sync.Mutex
	failures  map[string]int // method → failures left
	calls     map[string]int
	holdPulls bool
}

func (f *flakyRuntime) fail(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = make(map[string]int)
	}
	f.calls[method]++
	if f.failures[method] > 0 {
		f.failures[method]--
		return fmt.Errorf("%s: connection refused: %w", method, runtime.ErrUnavailable)
	}
	return nil
}

func (f *flakyRuntime) EnsureImage(ctx context.Context, ref string) (runtime.ImageInfo, error) {
	if err := f.fail("EnsureImage"); err != nil {
		return runtime.ImageInfo{}, fmt.Errorf("%w: %w", runtime.ErrCannotPull, err)
	}
	f.mu.Lock()
	hold := f.holdPulls
	f.mu.Unlock()
	if hold {
		<-ctx.Done()
		return runtime.ImageInfo{}, fmt.Errorf("%w: pull %s: %w", runtime.ErrCannotPull, ref, ctx.Err())
	}
	return f.Runtime.EnsureImage(ctx, ref)
}

func (f *flakyRuntime) Create(ctx context.Context, spec runtime.ContainerSpec) (string, error) {
	if err := f.fail("Create"); err != nil {
		return "", fmt.Errorf("%w: %w", runtime.ErrCannotCreate, err)
	}
	return f.Runtime.Create(ctx, spec)
}

func (f *flakyRuntime) Start(ctx context.Context, id string) error {
	if err := f.fail("Start"); err != nil {
		return fmt.Errorf("%w: %w", runtime.ErrCannotStart, err)
	}
	return f.Runtime.Start(ctx, id)
}

func (f *flakyRuntime) Inspect(ctx context.Context, id string) (runtime.Container, error) {
	if err := f.fail("Inspect"); err != nil {
		return runtime.Container{}, err
	}
	return f.Runtime.Inspect(ctx, id)
}

func (f *flakyRuntime) Stop(ctx context.Context, id string, timeout time.Duration) error {
	if err := f.fail("Stop"); err != nil {
		return err
	}
	return f.Runtime.Stop(ctx, id, timeout)
}

func (f *flakyRuntime) Remove(ctx context.Context, id string) error {
	if err := f.fail("Remove"); err != nil {
		return err
	}
	return f.Runtime.Remove(ctx, id)
}

func TestTaskRetriesUnavailableRuntime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &flakyRuntime{Runtime: newSim(sim.Options{}), failures: map[string]int{
			"EnsureImage": 2, "Create": 2, "Start": 2, "Inspect": 2, "Stop": 2, "Remove": 2,
		}}
		h := newHarness(t, rt)
		task := newTask("", container("app"))
		r := h.start(nil, task, nil)
		st := waitStatus(t, r, ecs.TaskRunning, 10*time.Second)
		if st.StopCode != "" || st.Containers[0].Reason != "" {
			t.Errorf("running: %s", describe(st))
		}
		r.HandleEvent(runtime.Event{Type: runtime.EventResync})
		r.Desire(ecs.TaskStopped)
		waitStatus(t, r, ecs.TaskStopped, 10*time.Second)
		time.Sleep(time.Minute)
		waitFor(t, "cleanup", 10*time.Second, func() bool {
			select {
			case <-r.Done():
				return true
			default:
				return false
			}
		})
		if n := len(taskContainers(t, rt, task.TaskArn)); n != 0 {
			t.Errorf("%d containers left", n)
		}
		rt.mu.Lock()
		defer rt.mu.Unlock()
		for method, left := range rt.failures {
			if left != 0 {
				t.Errorf("%s: %d failures not used (%d calls)", method, left, rt.calls[method])
			}
		}
	})
}

func TestTaskStopDuringPull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &flakyRuntime{Runtime: newSim(sim.Options{}), holdPulls: true}
		h := newHarness(t, rt)
		task := newTask("", container("app"))
		r := h.start(nil, task, nil)
		time.Sleep(time.Minute)
		synctest.Wait()
		if st := r.State(); st.LastStatus != ecs.TaskPending || st.PullStartedAt.IsZero() {
			t.Fatalf("pulling: %s", describe(st))
		}
		r.Desire(ecs.TaskStopped)
		st := waitStatus(t, r, ecs.TaskStopped, time.Second)
		if st.StopCode != "" || st.StoppedReason != "" || st.Containers[0].Reason != "" || st.PullStoppedAt.IsZero() {
			t.Errorf("stopped during the pull: %s", describe(st))
		}
	})
}

func TestTaskStoppedBeforeStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newSim(sim.Options{})
		h := newHarness(t, rt)
		task := newTask("", container("app"))
		task.DesiredStatus = ecs.TaskStopped
		r := h.start(nil, task, nil)
		st := waitStatus(t, r, ecs.TaskStopped, time.Second)
		if st.StopCode != "" || st.Containers[0].LastStatus != ecs.TaskStopped || !st.PullStartedAt.IsZero() {
			t.Errorf("stopped before start: %s", describe(st))
		}
		if n := len(taskContainers(t, rt, task.TaskArn)); n != 0 {
			t.Errorf("%d containers created", n)
		}
	})
}

func TestTaskContainerRemovedBehindItsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newSim(sim.Options{})
		h := newHarness(t, rt)
		task := newTask("", container("app"))
		r := h.start(nil, task, nil)
		st := waitStatus(t, r, ecs.TaskRunning, time.Second)
		if err := rt.Remove(context.Background(), st.Containers[0].RuntimeId); err != nil {
			t.Fatal(err)
		}
		st = waitStatus(t, r, ecs.TaskStopped, time.Second)
		if st.StopCode != ecs.TaskStopCodeEssentialContainerExited || exitCode(st.Containers[0]) != "137" {
			t.Errorf("after removal: %s", describe(st))
		}
	})
}

func TestTaskShutdownLeavesContainers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newSim(sim.Options{})
		h := newHarness(t, rt)
		stubborn := container("app", ignoresTerm...)
		task := newTask("", stubborn)
		ctx, cancel := context.WithCancel(context.Background())
		r := h.start(ctx, task, nil)
		waitStatus(t, r, ecs.TaskRunning, time.Second)
		r.Desire(ecs.TaskStopped) // a stop is under way when the agent shuts down
		synctest.Wait()
		cancel()
		<-r.Exited()
		cs := taskContainers(t, rt, task.TaskArn)
		if len(cs) != 1 || cs[0].State != runtime.StateRunning {
			t.Errorf("after shutdown: %+v", cs)
		}
	})
}

func TestTaskConcurrentInputs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newSim(sim.Options{})
		h := newHarness(t, rt)
		task := newTask("", container("app"), nonEssential(container("job", "sleep", "1")))
		r := h.start(nil, task, nil)
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				for j := range 50 {
					switch (i + j) % 4 {
					case 0:
						r.Desire(ecs.TaskRunning)
					case 1:
						r.HandleEvent(runtime.Event{Type: runtime.EventResync})
					case 2:
						_ = r.State()
					case 3:
						r.HandleEvent(runtime.Event{Type: runtime.EventDie, ContainerID: "not-ours"})
					}
					if i == 7 && j == 25 {
						r.Desire(ecs.TaskStopped)
					}
					time.Sleep(time.Millisecond)
				}
			})
		}
		wg.Wait()
		st := waitStatus(t, r, ecs.TaskStopped, time.Second)
		if st.StopCode != "" {
			t.Errorf("stopped: %s", describe(st))
		}
		r.Desire(ecs.TaskRunning) // STOPPED is final
		synctest.Wait()
		if got := r.State().LastStatus; got != ecs.TaskStopped {
			t.Errorf("after RUNNING was desired again: %s", got)
		}
		h.checkForward(task.TaskArn)
	})
}

func TestTaskAwsvpc(t *testing.T) {
	for _, tt := range []struct {
		name        string
		subnetExist bool
		wantNetwork string
	}{
		{"task network", false, "gantry-task-unit"},
		{"subnet network", true, "subnet-0abc"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rt := newSim(sim.Options{})
				h := newHarness(t, rt)
				h.cfg.TaskNetwork = "gantry-task-unit"
				if tt.subnetExist {
					if _, err := rt.EnsureNetwork(context.Background(), "subnet-0abc", nil); err != nil {
						t.Fatal(err)
					}
				}
				web := container("web")
				web.PortMappings = []ecs.PortMapping{{ContainerPort: ptr(int32(8080))}}
				web.Hostname = "web.local"
				task := newTask(ecs.NetworkModeAwsvpc, web, container("proxy"))
				task.Network = &ecs.NetworkConfiguration{AwsvpcConfiguration: &ecs.AwsVpcConfiguration{Subnets: []string{"subnet-0abc"}}}
				r := h.start(nil, task, nil)
				st := waitStatus(t, r, ecs.TaskRunning, time.Second)

				cs := taskContainers(t, rt, task.TaskArn)
				var pause runtime.Container
				for _, c := range cs {
					if c.Labels[runtime.LabelContainerName] == pauseContainerName {
						pause = c
					}
				}
				if pause.ID == "" || len(pause.Networks) != 1 || pause.Networks[0].Network != tt.wantNetwork {
					t.Fatalf("pause container: %+v", pause)
				}
				ip := pause.Networks[0].IPv4Address
				if st.PrivateIPv4Address != ip || ip == "" {
					t.Errorf("task address %q, pause has %q", st.PrivateIPv4Address, ip)
				}
				for _, c := range cs {
					if c.ID != pause.ID && c.NetworkMode != runtime.NetworkContainer(pause.ID) {
						t.Errorf("%s has network mode %q", c.Name, c.NetworkMode)
					}
				}
				w := containerState(t, st, "web")
				wantIf := []ecs.NetworkInterface{{AttachmentId: newTaskPlan(&h.cfg, &task).attachmentID(), PrivateIpv4Address: ip}}
				if diff := cmp.Diff(wantIf, w.NetworkInterfaces); diff != "" {
					t.Errorf("web interfaces (-want +got):\n%s", diff)
				}
				if len(w.NetworkBindings) != 1 || *w.NetworkBindings[0].ContainerPort != 8080 || *w.NetworkBindings[0].HostPort == 0 {
					t.Errorf("web bindings %+v", w.NetworkBindings)
				}
				if p := containerState(t, st, "proxy"); len(p.NetworkBindings) != 0 || len(p.NetworkInterfaces) != 1 {
					t.Errorf("proxy: %+v", p)
				}

				r.Desire(ecs.TaskStopped)
				st = waitStatus(t, r, ecs.TaskStopped, time.Second)
				if st.PrivateIPv4Address != ip {
					t.Errorf("stopped task address %q", st.PrivateIPv4Address)
				}
				if _, err := rt.Inspect(context.Background(), pause.ID); !errors.Is(err, runtime.ErrNotFound) {
					t.Errorf("pause container after DEPROVISIONING: %v", err)
				}
				if n := len(taskContainers(t, rt, task.TaskArn)); n != 2 {
					t.Errorf("%d containers kept for the cleanup wait, want 2", n)
				}
			})
		})
	}
}

func TestTaskPauseDies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newSim(sim.Options{})
		h := newHarness(t, rt)
		task := newTask(ecs.NetworkModeBridge, container("app"))
		task.Definition.PidMode = ecs.PidModeTask
		r := h.start(nil, task, nil)
		waitStatus(t, r, ecs.TaskRunning, time.Second)
		var pauseID string
		for _, c := range taskContainers(t, rt, task.TaskArn) {
			if c.Labels[runtime.LabelContainerName] == pauseContainerName {
				pauseID = c.ID
				if c.NetworkMode != runtime.NetworkNone {
					t.Errorf("pause of a bridge task has network %q", c.NetworkMode)
				}
			} else if c.NetworkMode != runtime.NetworkBridge {
				t.Errorf("app has network %q", c.NetworkMode)
			}
		}
		if err := rt.Exit(pauseID, 137); err != nil {
			t.Fatal(err)
		}
		st := waitStatus(t, r, ecs.TaskStopped, time.Second)
		if st.StopCode != ecs.TaskStopCodeEssentialContainerExited {
			t.Errorf("after the pause container died: %s", describe(st))
		}
	})
}
