package reconcile

import (
	"slices"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var now = t0.Add(time.Hour)

// task builds a RUNNING task of a deployment started age ago.
func task(id, dep string, age time.Duration, opts ...func(*Task)) Task {
	t := Task{
		ID: id, Deployment: dep, Instance: "i1", Zone: "zone-a",
		Last: ecs.TaskRunning, Desired: ecs.TaskRunning, Health: ecs.HealthStatusUNKNOWN,
		CreatedAt: now.Add(-age - time.Second), StartedAt: now.Add(-age),
	}
	for _, o := range opts {
		o(&t)
	}
	return t
}

func health(h ecs.HealthStatus) func(*Task) { return func(t *Task) { t.Health = h } }

func on(instance, zone string) func(*Task) {
	return func(t *Task) { t.Instance, t.Zone = instance, zone }
}

func pending(t *Task) { t.Last, t.StartedAt, t.Health = ecs.TaskPending, time.Time{}, "" }

func draining(t *Task) { t.Draining = true }

// failedToStart: the task stopped at stopped before reaching RUNNING.
func failedToStart(created, stopped time.Time) func(*Task) {
	return func(t *Task) {
		t.Last, t.Desired, t.StartedAt, t.Health = ecs.TaskStopped, ecs.TaskStopped, time.Time{}, ""
		t.CreatedAt, t.StoppedAt, t.StopCode = created, stopped, ecs.TaskStopCodeTaskFailedToStart
	}
}

func stopped(t *Task) {
	t.Last, t.Desired, t.StoppedAt, t.StopCode = ecs.TaskStopped, ecs.TaskStopped, now.Add(-time.Minute), ecs.TaskStopCodeServiceSchedulerInitiated
}

func dep(id string, state ecs.DeploymentRolloutState, hc bool) Deployment {
	return Deployment{ID: id, State: state, HealthCheck: hc}
}

var (
	inProgress = ecs.DeploymentRolloutStateINPROGRESS
	completed  = ecs.DeploymentRolloutStateCOMPLETED
	failedDep  = ecs.DeploymentRolloutStateFAILED
)

// rollingService is a REPLICA service rolling "new" over "old".
func rollingService(desired, minPct, maxPct int, newHC bool) *Service {
	return &Service{
		Name: "web", Desired: desired, MinHealthyPercent: minPct, MaxPercent: maxPct,
		Deployments: []Deployment{dep("new", inProgress, newHC), dep("old", completed, false)},
	}
}

func oldTasks(n int) []Task {
	var out []Task
	for i := range n {
		out = append(out, task("old"+string(rune('a'+i)), "old", time.Hour))
	}
	return out
}

func stops(p *Plan) []string {
	var out []string
	for _, s := range p.Stop {
		out = append(out, s.Task)
	}
	slices.Sort(out)
	return out
}

const newReason = "Scaling activity initiated by (deployment new)"

func TestNext(t *testing.T) {
	grace := func(s *Service) *Service { s.GracePeriod = time.Minute; return s }
	completedService := func(desired int, hc bool) *Service {
		return &Service{Name: "web", Desired: desired, MinHealthyPercent: 100, MaxPercent: 200,
			Deployments: []Deployment{dep("new", completed, hc)}}
	}
	breaker := func(s *Service, rollback, can bool) *Service {
		s.CircuitBreaker, s.Rollback, s.CanRollBack = true, rollback, can
		return s
	}
	daemon := func(minPct int, deps ...Deployment) *Service {
		return &Service{Name: "agent", Daemon: true, MinHealthyPercent: minPct, MaxPercent: 100, Deployments: deps}
	}
	three := []Instance{{ID: "i1", Zone: "zone-a", Eligible: true}, {ID: "i2", Zone: "zone-b", Eligible: true}, {ID: "i3", Zone: "zone-a", Eligible: true}}
	failedAt := now.Add(-2 * time.Second)

	tests := []struct {
		name      string
		svc       *Service
		tasks     []Task
		instances []Instance
		want      Plan
	}{
		{
			name:  "desired 4 min 50% max 100% stops 2 old before starting",
			svc:   rollingService(4, 50, 100, false),
			tasks: oldTasks(4),
			want:  Plan{Stop: []Stop{{"olda", newReason}, {"oldb", newReason}}},
		},
		{
			name:  "desired 2 min 75% max 200% starts 2 new first",
			svc:   rollingService(2, 75, 200, false),
			tasks: oldTasks(2),
			want:  Plan{Start: &Start{Deployment: "new", Count: 2}},
		},
		{
			name:  "desired 4 max 200% min 100% starts 4 new first",
			svc:   rollingService(4, 100, 200, false),
			tasks: oldTasks(4),
			want:  Plan{Start: &Start{Deployment: "new", Count: 4}},
		},
		{
			name:  "desired 3 min 100% max 125% is stuck",
			svc:   rollingService(3, 100, 125, false),
			tasks: oldTasks(3),
			want:  Plan{Events: []string{stuckEvent}},
		},
		{
			name: "new tasks with a health check still UNKNOWN are not healthy",
			svc:  rollingService(2, 100, 200, true),
			tasks: append(oldTasks(2),
				task("n1", "new", 10*time.Minute), task("n2", "new", 10*time.Minute)),
		},
		{
			name: "new tasks with a health check count once HEALTHY",
			svc:  rollingService(2, 100, 200, true),
			tasks: append(oldTasks(2),
				task("n1", "new", time.Second, health(ecs.HealthStatusHEALTHY)), task("n2", "new", time.Second, health(ecs.HealthStatusHEALTHY))),
			want: Plan{Stop: []Stop{{"olda", newReason}, {"oldb", newReason}}},
		},
		{
			name:  "new tasks without a health check are not healthy before 40 s",
			svc:   rollingService(2, 100, 200, false),
			tasks: append(oldTasks(2), task("n1", "new", 39*time.Second), task("n2", "new", 30*time.Second)),
			want:  Plan{Wake: now.Add(time.Second)},
		},
		{
			name:  "new tasks without a health check are healthy after 40 s",
			svc:   rollingService(2, 100, 200, false),
			tasks: append(oldTasks(2), task("n1", "new", 40*time.Second), task("n2", "new", 30*time.Second)),
			want:  Plan{Stop: []Stop{{"olda", newReason}}, Wake: now.Add(10 * time.Second)},
		},
		{
			name: "an old task not yet running stops at once",
			svc:  rollingService(2, 100, 100, false),
			tasks: []Task{task("olda", "old", time.Hour), task("oldb", "old", 0, pending),
				task("n1", "new", time.Hour)},
			want: Plan{Stop: []Stop{{"oldb", newReason}}},
		},
		{
			name:  "an unhealthy task within the grace period is left alone",
			svc:   grace(completedService(2, true)),
			tasks: []Task{task("a", "new", time.Hour, health(ecs.HealthStatusHEALTHY)), task("b", "new", 30*time.Second, health(ecs.HealthStatusUNHEALTHY))},
			want:  Plan{Wake: now.Add(30 * time.Second)},
		},
		{
			name:  "an unhealthy task after the grace period is stopped and replaced",
			svc:   grace(completedService(2, true)),
			tasks: []Task{task("a", "new", time.Hour, health(ecs.HealthStatusHEALTHY)), task("b", "new", time.Minute, health(ecs.HealthStatusUNHEALTHY))},
			want: Plan{
				Start: &Start{Deployment: "new", Count: 1}, Stop: []Stop{{"b", ReasonUnhealthy}},
				FailedTasks: map[string]int{"new": 1},
				Events:      []string{"(task b) failed container health checks."},
			},
		},
		{
			name: "scale-in stops from the most crowded zone, then instance",
			svc:  completedService(3, false),
			tasks: []Task{
				task("a1", "new", time.Hour, on("i1", "zone-a")), task("a2", "new", time.Hour, on("i1", "zone-a")),
				task("a3", "new", time.Hour, on("i2", "zone-a")), task("b1", "new", time.Hour, on("i3", "zone-b")),
				task("c1", "new", time.Hour, on("i4", "zone-c")),
			},
			want: Plan{Stop: []Stop{{"a2", newReason}, {"a3", newReason}}},
		},
		{
			name: "scale-in stops tasks not yet running first",
			svc:  completedService(1, false),
			tasks: []Task{task("a1", "new", time.Hour, on("i1", "zone-a")), task("a2", "new", time.Hour, on("i1", "zone-a")),
				task("b1", "new", 0, on("i3", "zone-b"), pending)},
			want: Plan{Stop: []Stop{{"b1", newReason}, {"a2", newReason}}},
		},
		{
			name: "deleting stops every task",
			svc:  &Service{Name: "web", Deleting: true, Deployments: []Deployment{dep("new", completed, false)}},
			tasks: []Task{task("a", "new", time.Hour), task("b", "new", 0, pending),
				task("c", "new", time.Hour, func(t *Task) { t.Desired = ecs.TaskStopped }), task("d", "new", time.Hour, stopped)},
			want: Plan{Stop: []Stop{{"a", newReason}, {"b", newReason}}},
		},
		{
			name:  "deleted with every task stopped is inactive",
			svc:   &Service{Name: "web", Deleting: true, Deployments: []Deployment{dep("new", completed, false)}},
			tasks: []Task{task("a", "new", time.Hour, stopped)},
			want:  Plan{Inactive: true},
		},
		{
			name:  "steady",
			svc:   completedService(2, false),
			tasks: []Task{task("a", "new", time.Hour), task("b", "new", time.Hour), task("c", "new", time.Hour, stopped)},
			want:  Plan{Steady: true, Events: []string{"has reached a steady state."}},
		},
		{
			name:  "a rollout completes and drops the drained deployment",
			svc:   rollingService(2, 100, 200, false),
			tasks: []Task{task("a", "new", time.Hour), task("b", "new", time.Hour), task("olda", "old", time.Hour, stopped)},
			want: Plan{
				Rollouts: []Rollout{{Deployment: "new", State: completed, Reason: "ECS deployment new completed."}},
				Drop:     []string{"old"}, Steady: true,
				Events: []string{"(deployment new) deployment completed.", "has reached a steady state."},
			},
		},
		{
			name:  "tasks on a draining instance are replaced before they stop",
			svc:   completedService(2, false),
			tasks: []Task{task("a", "new", time.Hour, draining), task("b", "new", time.Hour, on("i2", "zone-b"))},
			want:  Plan{Start: &Start{Deployment: "new", Count: 1}},
		},
		{
			name: "a replaced draining task stops",
			svc:  completedService(2, false),
			tasks: []Task{task("a", "new", time.Hour, draining), task("b", "new", time.Hour, on("i2", "zone-b")),
				task("c", "new", time.Hour, on("i2", "zone-b"))},
			want: Plan{Stop: []Stop{{"a", newReason}}},
		},
		{
			name: "a back-off holds the start, and is not the configuration's fault",
			svc:  rollingService(2, 100, 200, false),
			tasks: append(oldTasks(2),
				task("n1", "new", 0, failedToStart(failedAt.Add(-time.Second), failedAt))),
			want: Plan{Wake: failedAt.Add(FirstBackoff)},
		},
		{
			name: "a batch that failed together backs off once",
			svc:  completedService(4, false),
			tasks: []Task{
				task("n1", "new", 0, failedToStart(failedAt.Add(-time.Second), failedAt)),
				task("n2", "new", 0, failedToStart(failedAt.Add(-time.Second+time.Millisecond), failedAt)),
				task("n3", "new", 0, failedToStart(failedAt.Add(-time.Second+2*time.Millisecond), failedAt)),
			},
			want: Plan{Wake: failedAt.Add(FirstBackoff)},
		},
		{
			name: "three failed attempts: 20 s and the throttle event",
			svc:  completedService(1, false),
			tasks: []Task{
				task("n1", "new", 0, failedToStart(failedAt.Add(-time.Minute), failedAt.Add(-time.Minute))),
				task("n2", "new", 0, failedToStart(failedAt.Add(-30*time.Second), failedAt.Add(-30*time.Second))),
				task("n3", "new", 0, failedToStart(failedAt.Add(-time.Second), failedAt)),
			},
			want: Plan{Wake: failedAt.Add(4 * FirstBackoff), Events: []string{"is unable to consistently start tasks successfully."}},
		},
		{
			name: "a task that ran and crashed is replaced at once",
			svc:  completedService(1, false),
			tasks: []Task{task("n1", "new", time.Minute, func(t *Task) {
				t.Last, t.Desired, t.StoppedAt, t.StopCode = ecs.TaskStopped, ecs.TaskStopped, failedAt, ecs.TaskStopCodeEssentialContainerExited
			})},
			want: Plan{Start: &Start{Deployment: "new", Count: 1}},
		},
		{
			name: "the circuit breaker fails the deployment at the threshold and rolls back",
			svc:  breaker(rollingService(4, 100, 200, false), true, true),
			tasks: append(oldTasks(4),
				task("n1", "new", 0, failedToStart(failedAt, failedAt)),
				task("n2", "new", 0, failedToStart(failedAt, failedAt)),
				task("n3", "new", 0, failedToStart(failedAt, failedAt))),
			want: Plan{
				Rollouts: []Rollout{{Deployment: "new", State: failedDep, Reason: "ECS deployment circuit breaker: tasks failed to start."}},
				RollBack: true,
				Events:   []string{"(deployment new) deployment failed: 3 tasks failed to start or stopped after starting."},
			},
		},
		{
			name: "the circuit breaker without a completed deployment does not roll back",
			svc:  breaker(rollingService(4, 100, 200, false), true, false),
			tasks: append(oldTasks(4),
				task("n1", "new", 0, failedToStart(failedAt, failedAt)),
				task("n2", "new", 0, failedToStart(failedAt, failedAt)),
				task("n3", "new", 0, failedToStart(failedAt, failedAt))),
			want: Plan{
				Rollouts: []Rollout{{Deployment: "new", State: failedDep, Reason: "ECS deployment circuit breaker: tasks failed to start."}},
				Events:   []string{"(deployment new) deployment failed: 3 tasks failed to start or stopped after starting."},
			},
		},
		{
			name: "a health-check stop reaching the threshold fails the deployment in the same plan",
			svc:  breaker(grace(rollingService(4, 100, 200, true)), false, true),
			tasks: append(oldTasks(4),
				task("n1", "new", 0, failedToStart(failedAt, failedAt)),
				task("n2", "new", 0, failedToStart(failedAt, failedAt)),
				task("n3", "new", time.Hour, health(ecs.HealthStatusUNHEALTHY))),
			want: Plan{
				Rollouts: []Rollout{{Deployment: "new", State: failedDep, Reason: "ECS deployment circuit breaker: tasks failed to start."}},
				Events:   []string{"(deployment new) deployment failed: 3 tasks failed to start or stopped after starting."},
			},
		},
		{
			name: "below the threshold the breaker waits",
			svc:  breaker(rollingService(4, 100, 200, false), true, true),
			tasks: append(oldTasks(4),
				task("n1", "new", 0, failedToStart(failedAt, failedAt)),
				task("n2", "new", 0, failedToStart(failedAt, failedAt))),
			want: Plan{Wake: failedAt.Add(FirstBackoff)},
		},
		{
			name:      "DAEMON starts one task on each eligible instance",
			svc:       daemon(0, dep("new", inProgress, false)),
			tasks:     []Task{task("a", "new", time.Hour, on("i2", "zone-b"))},
			instances: append(slices.Clone(three), Instance{ID: "i4", Zone: "zone-b"}),
			want:      Plan{Start: &Start{Deployment: "new", Count: 2, Instances: []string{"i1", "i3"}}},
		},
		{
			name: "DAEMON stops tasks on ineligible and draining instances",
			svc:  daemon(100, dep("new", completed, false)),
			tasks: []Task{task("a", "new", time.Hour, on("i1", "zone-a"), draining),
				task("b", "new", time.Hour, on("i4", "zone-b")), task("c", "new", time.Hour, on("i2", "zone-b")),
				task("d", "new", time.Hour, on("i3", "zone-a"))},
			instances: []Instance{{ID: "i1", Zone: "zone-a"}, {ID: "i2", Zone: "zone-b", Eligible: true}, {ID: "i3", Zone: "zone-a", Eligible: true}, {ID: "i4"}},
			want:      Plan{Stop: []Stop{{"a", newReason}, {"b", newReason}}},
		},
		{
			name: "DAEMON keeps the running copy of two on one instance",
			svc:  daemon(100, dep("new", completed, false)),
			tasks: []Task{task("a", "new", 0, pending), task("b", "new", time.Hour),
				task("c", "new", time.Hour, on("i2", "zone-b")), task("d", "new", time.Hour, on("i3", "zone-a"))},
			instances: three,
			want:      Plan{Stop: []Stop{{"a", newReason}}},
		},
		{
			name: "DAEMON replaces within the minimum",
			svc:  daemon(50, dep("new", inProgress, false), dep("old", completed, false)),
			tasks: []Task{task("olda", "old", time.Hour), task("oldb", "old", time.Hour, on("i2", "zone-b")),
				task("oldc", "old", time.Hour, on("i3", "zone-a"))},
			instances: three,
			want:      Plan{Stop: []Stop{{"olda", newReason}}},
		},
		{
			name: "DAEMON at minimum 100% is stuck and says so",
			svc:  daemon(100, dep("new", inProgress, false), dep("old", completed, false)),
			tasks: []Task{task("olda", "old", time.Hour), task("oldb", "old", time.Hour, on("i2", "zone-b")),
				task("oldc", "old", time.Hour, on("i3", "zone-a"))},
			instances: three,
			want:      Plan{Events: []string{stuckEvent}},
		},
		{
			name: "a FAILED DAEMON deployment still wants a task per instance",
			svc:  daemon(0, dep("new", failedDep, false)),
			tasks: []Task{task("a", "new", time.Hour),
				task("n1", "new", 0, failedToStart(failedAt, failedAt))},
			instances: three,
			want:      Plan{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Next(now, tt.svc, tt.tasks, tt.instances)
			want := tt.want
			if tt.svc.Daemon && !tt.svc.Deleting {
				want.Desired = eligibleCount(tt.instances)
			}
			// FailedTasks is checked where a case gives it.
			if want.FailedTasks == nil {
				got.FailedTasks = nil
			}
			if diff := cmp.Diff(&want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Next (-want +got):\n%s", diff)
			}
		})
	}
}

// The plan depends on the input only, not the order of the tasks.
func TestNextTaskOrder(t *testing.T) {
	svc := rollingService(4, 50, 100, false)
	tasks := oldTasks(4)
	a := Next(now, svc, tasks, nil)
	slices.Reverse(tasks)
	if b := Next(now, svc, tasks, nil); !cmp.Equal(a, b) {
		t.Errorf("plans differ with the task order:\n%s", cmp.Diff(a, b))
	}
	if got := stops(a); !slices.Equal(got, []string{"olda", "oldb"}) {
		t.Errorf("stops %v", got)
	}
}
