package controller

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/placement"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/store/storetest"
)

// schedLauncher launches service tasks straight through a scheduler, as
// the API does, with minimal task records.
type schedLauncher struct{ sched *Scheduler }

func (l schedLauncher) LaunchServiceTasks(ctx context.Context, svc *store.ServiceRecord, dep *ecs.Deployment, count int, hosts []string) (*Result, error) {
	req := placement.Request{Count: count, CPU: 10, Memory: 10, Group: "service:" + svc.Service.ServiceName}
	build := build(svc.Cluster, req)
	return l.sched.Place(ctx, &Placement{Cluster: svc.Cluster, Request: req, Hosts: hosts,
		Build: func(h *store.InstanceRecord) *store.TaskRecord {
			rec := build(h)
			rec.Service = store.ServiceKey(svc.Cluster, svc.Service.ServiceName)
			rec.Task.StartedBy, rec.Task.TaskDefinitionArn = dep.Id, dep.TaskDefinition
			rec.Task.CreatedAt = ecs.At(time.Now())
			return rec
		}})
}

// clock is a settable time for the controller.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type servicesEnv struct {
	t     *testing.T
	st    *store.Store
	clock *clock
	key   string
}

func startServices(t *testing.T) *servicesEnv {
	st := storetest.New(t)
	for i, zone := range []string{"a", "b", "c"} {
		addInstance(t, st, "c", string(rune('1'+i)), 1024, 1024, zone)
	}
	sched := startScheduler(t, st)
	clk := &clock{t: time.Now()}
	svcs := NewServices(ServicesOptions{Store: st, Launcher: schedLauncher{sched}, Now: clk.Now,
		Resync: 50 * time.Millisecond, RetryPlacement: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); svcs.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return &servicesEnv{t: t, st: st, clock: clk, key: store.ServiceKey("c", "web")}
}

func (e *servicesEnv) create(desired int32, breaker bool) {
	e.t.Helper()
	rec := &store.ServiceRecord{Cluster: "c", Service: ecs.Service{
		ServiceName: "web", Status: "ACTIVE", DesiredCount: desired, SchedulingStrategy: ecs.SchedulingStrategyREPLICA,
		DeploymentConfiguration: &ecs.DeploymentConfiguration{
			DeploymentCircuitBreaker: &ecs.DeploymentCircuitBreaker{Enable: breaker, Rollback: breaker}},
		Deployments: []ecs.Deployment{deployment("ecs-svc/1", "td:1", desired)},
	}}
	if _, err := e.st.Commit(context.Background(), e.st.Services.Create(e.key, rec)); err != nil {
		e.t.Fatal(err)
	}
}

func deployment(id, td string, desired int32) ecs.Deployment {
	return ecs.Deployment{Id: id, Status: "PRIMARY", TaskDefinition: td, DesiredCount: desired,
		RolloutState: ecs.DeploymentRolloutStateINPROGRESS}
}

// deploy starts a new deployment, as UpdateService does.
func (e *servicesEnv) deploy(id, td string) {
	e.t.Helper()
	_, err := e.st.Services.Update(context.Background(), e.key, func(r *store.ServiceRecord) error {
		for i := range r.Service.Deployments {
			r.Service.Deployments[i].Status = "ACTIVE"
		}
		r.Service.Deployments = append([]ecs.Deployment{deployment(id, td, r.Service.DesiredCount)}, r.Service.Deployments...)
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// world plays the agents: every pending task runs, every task told to
// stop stops, and a task of a crashing deployment exits after it runs.
func (e *servicesEnv) world(crashing string) {
	for _, it := range e.st.Tasks.By(store.ByService, e.key) {
		t := it.Value.Task
		if t.LastStatus == ecs.TaskStopped {
			continue
		}
		_, _ = e.st.Tasks.Update(context.Background(), it.Key, func(r *store.TaskRecord) error {
			t := &r.Task
			switch {
			case t.DesiredStatus == ecs.TaskStopped || t.StartedBy == crashing && t.LastStatus == ecs.TaskRunning:
				if t.DesiredStatus != ecs.TaskStopped {
					t.StopCode = ecs.TaskStopCodeEssentialContainerExited
				}
				t.LastStatus, t.StoppedAt = ecs.TaskStopped, ecs.At(e.clock.Now())
			case t.LastStatus != ecs.TaskRunning:
				t.LastStatus, t.StartedAt = ecs.TaskRunning, ecs.At(e.clock.Now())
			}
			return nil
		})
	}
}

// until plays the world and moves the clock past warm-ups until cond
// holds of the service.
func (e *servicesEnv) until(what, crashing string, cond func(*store.ServiceRecord, []*store.TaskRecord) bool) *store.ServiceRecord {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		it, _ := e.st.Services.Get(e.key)
		var tasks []*store.TaskRecord
		for _, t := range e.st.Tasks.By(store.ByService, e.key) {
			tasks = append(tasks, t.Value)
		}
		if cond(it.Value, tasks) {
			return it.Value
		}
		e.world(crashing)
		e.clock.Add(15 * time.Second)
		time.Sleep(30 * time.Millisecond)
	}
	it, _ := e.st.Services.Get(e.key)
	e.t.Fatalf("%s: not reached; service %+v", what, it.Value.Service)
	return nil
}

func steady(r *store.ServiceRecord, tasks []*store.TaskRecord) bool {
	running := 0
	for _, t := range tasks {
		if t.Task.LastStatus == ecs.TaskRunning && t.Task.DesiredStatus == ecs.TaskRunning {
			running++
		}
	}
	s := &r.Service
	return len(s.Deployments) == 1 && s.Deployments[0].RolloutState == ecs.DeploymentRolloutStateCOMPLETED &&
		running == int(s.DesiredCount) && len(s.Events) > 0 && strings.HasSuffix(s.Events[0].Message, steadyEvent)
}

func TestServiceKeepsCountAndRolls(t *testing.T) {
	e := startServices(t)
	e.create(3, false)
	e.until("steady at 3", "", steady)

	// A task that exits is replaced.
	var victim string
	for _, it := range e.st.Tasks.By(store.ByService, e.key) {
		if it.Value.Task.LastStatus == ecs.TaskRunning {
			victim = it.Key
			break
		}
	}
	_, _ = e.st.Tasks.Update(context.Background(), victim, func(r *store.TaskRecord) error {
		r.Task.LastStatus, r.Task.StopCode = ecs.TaskStopped, ecs.TaskStopCodeEssentialContainerExited
		return nil
	})
	rec := e.until("replaced", "", func(r *store.ServiceRecord, tasks []*store.TaskRecord) bool {
		return len(tasks) == 4 && steady(r, tasks)
	})
	if !strings.Contains(eventText(rec), "has started 1 tasks") {
		t.Errorf("no start event for the replacement:\n%s", eventText(rec))
	}

	// A new deployment replaces every task.
	e.deploy("ecs-svc/2", "td:2")
	rec = e.until("rolled to td:2", "", func(r *store.ServiceRecord, tasks []*store.TaskRecord) bool {
		for _, t := range tasks {
			if t.Task.StartedBy != "ecs-svc/2" && t.Task.LastStatus != ecs.TaskStopped {
				return false
			}
		}
		return steady(r, tasks) && r.Service.Deployments[0].Id == "ecs-svc/2"
	})
	if !strings.Contains(eventText(rec), "(deployment ecs-svc/2) deployment completed.") {
		t.Errorf("no completion event:\n%s", eventText(rec))
	}
	if rec.Completed == nil || rec.Completed.Id != "ecs-svc/2" {
		t.Errorf("completed deployment = %+v, want ecs-svc/2", rec.Completed)
	}
}

func TestServiceCircuitBreakerRollsBack(t *testing.T) {
	e := startServices(t)
	e.create(2, true)
	e.until("steady on v1", "", steady)
	e.deploy("ecs-svc/2", "td:2")
	rec := e.until("rolled back", "ecs-svc/2", func(r *store.ServiceRecord, tasks []*store.TaskRecord) bool {
		return steady(r, tasks) && r.Service.Deployments[0].TaskDefinition == "td:1"
	})
	if !strings.Contains(eventText(rec), "(deployment ecs-svc/2) deployment failed") {
		t.Errorf("no failure event:\n%s", eventText(rec))
	}
	if !strings.Contains(eventText(rec), "rolling back to deployment ecs-svc/1") {
		t.Errorf("no rollback event:\n%s", eventText(rec))
	}
}

func TestServiceDeleteDrains(t *testing.T) {
	e := startServices(t)
	e.create(2, false)
	e.until("steady", "", steady)
	_, err := e.st.Services.Update(context.Background(), e.key, func(r *store.ServiceRecord) error {
		r.Service.Status, r.Service.DesiredCount = statusDraining, 0
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e.until("inactive", "", func(r *store.ServiceRecord, tasks []*store.TaskRecord) bool {
		return r.Service.Status == statusInactive
	})
	for _, it := range e.st.Tasks.By(store.ByService, e.key) {
		if it.Value.Task.LastStatus != ecs.TaskStopped {
			t.Errorf("task %s is %s after the service went INACTIVE", it.Key, it.Value.Task.LastStatus)
		}
	}
}

func eventText(r *store.ServiceRecord) string {
	var b strings.Builder
	for _, e := range r.Service.Events {
		b.WriteString(e.Message + "\n")
	}
	return b.String()
}
