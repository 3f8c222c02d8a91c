package integration_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/gantry-dev/gantry/internal/runtime/sim"
)

// healthyTaskDef is a sim task definition whose health check passes
// after its 5 s interval.
func healthyTaskDef(family string) *ecs.RegisterTaskDefinitionInput {
	in := simTaskDef(family)
	in.ContainerDefinitions[0].HealthCheck = &types.HealthCheck{
		Command: []string{"CMD", "true"}, Interval: aws.Int32(5), Retries: aws.Int32(1),
	}
	return in
}

// A service reaches its count, rolls to a new revision, and on deletion
// drains to INACTIVE, as the SDK's waiters see it.
func TestServiceLifecycleSim(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.agent(simRuntime())
	e.agent(simRuntime())
	v1 := e.register(healthyTaskDef("web"))
	ctx := context.Background()
	out, err := e.ecs.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String(e.cluster), ServiceName: aws.String("web"),
		TaskDefinition: aws.String(v1), DesiredCount: aws.Int32(3),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.Service.Status); got != "ACTIVE" {
		t.Fatalf("status %s", got)
	}
	e.waitStable("web", time.Minute)
	svc := e.waitCompleted("web", time.Minute)
	if svc.RunningCount != 3 || len(svc.Deployments) != 1 || svc.Deployments[0].RolloutState != types.DeploymentRolloutStateCompleted {
		t.Fatalf("not steady: running %d, deployments %+v", svc.RunningCount, svc.Deployments)
	}
	wantEvent(t, svc, "(service web) has started 3 tasks:")
	wantEvent(t, svc, "(service web) has reached a steady state.")

	v2 := e.register(healthyTaskDef("web"))
	if _, err := e.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{
		Cluster: aws.String(e.cluster), Service: aws.String("web"), TaskDefinition: aws.String(v2),
	}); err != nil {
		t.Fatal(err)
	}
	e.waitStable("web", time.Minute)
	svc = e.waitCompleted("web", time.Minute)
	if got := aws.ToString(svc.Deployments[0].TaskDefinition); got != v2 {
		t.Fatalf("stable on %s, want %s", got, v2)
	}
	wantEvent(t, svc, ") deployment completed.")
	tasks, err := e.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(e.cluster), ServiceName: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks.TaskArns) != 3 {
		t.Fatalf("%d running tasks after the rollout, want 3", len(tasks.TaskArns))
	}

	if _, err := e.ecs.DeleteService(ctx, &ecs.DeleteServiceInput{
		Cluster: aws.String(e.cluster), Service: aws.String("web"), Force: aws.Bool(true),
	}); err != nil {
		t.Fatal(err)
	}
	w := ecs.NewServicesInactiveWaiter(e.ecs, func(o *ecs.ServicesInactiveWaiterOptions) { o.MinDelay, o.MaxDelay = time.Second, time.Second })
	if err := w.Wait(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(e.cluster), Services: []string{"web"}}, time.Minute); err != nil {
		t.Fatal(err)
	}
}

// waitStable waits with the SDK's services-stable waiter, polling fast.
func (e *env) waitStable(name string, timeout time.Duration) types.Service {
	e.t.Helper()
	w := ecs.NewServicesStableWaiter(e.ecs, func(o *ecs.ServicesStableWaiterOptions) { o.MinDelay, o.MaxDelay = time.Second, time.Second })
	in := &ecs.DescribeServicesInput{Cluster: aws.String(e.cluster), Services: []string{name}}
	out, err := w.WaitForOutput(context.Background(), in, timeout)
	if err != nil {
		d, _ := e.ecs.DescribeServices(context.Background(), in)
		if d != nil && len(d.Services) == 1 {
			s := d.Services[0]
			e.t.Fatalf("service %s not stable: %v; running %d desired %d deployments %d events:\n%s",
				name, err, s.RunningCount, s.DesiredCount, len(s.Deployments), events(s))
		}
		e.t.Fatalf("service %s not stable: %v", name, err)
	}
	return out.Services[0]
}

// waitCompleted waits for the service's one deployment to be COMPLETED.
func (e *env) waitCompleted(name string, timeout time.Duration) types.Service {
	e.t.Helper()
	in := &ecs.DescribeServicesInput{Cluster: aws.String(e.cluster), Services: []string{name}}
	var s types.Service
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		out, err := e.ecs.DescribeServices(context.Background(), in)
		if err != nil {
			e.t.Fatal(err)
		}
		s = out.Services[0]
		if len(s.Deployments) == 1 && s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted {
			return s
		}
	}
	e.t.Fatalf("service %s: deployment not COMPLETED: %d deployments, events:\n%s", name, len(s.Deployments), events(s))
	return s
}

func events(s types.Service) string {
	var b strings.Builder
	for _, ev := range s.Events {
		b.WriteString(aws.ToString(ev.Message) + "\n")
	}
	return b.String()
}

func wantEvent(t *testing.T, s types.Service, part string) {
	t.Helper()
	if !strings.Contains(events(s), part) {
		t.Errorf("no event containing %q:\n%s", part, events(s))
	}
}

// tasksByInstance maps each instance ARN to the service's tasks on it
// that are not STOPPED and are wanted.
func (e *env) tasksByInstance(service string) map[string][]types.Task {
	e.t.Helper()
	ctx := context.Background()
	list, err := e.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(e.cluster), ServiceName: aws.String(service)})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string][]types.Task{}
	if len(list.TaskArns) == 0 {
		return out
	}
	d, err := e.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(e.cluster), Tasks: list.TaskArns})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, t := range d.Tasks {
		if aws.ToString(t.LastStatus) != "STOPPED" {
			ci := aws.ToString(t.ContainerInstanceArn)
			out[ci] = append(out[ci], t)
		}
	}
	return out
}

// eventually polls cond until it holds or the timeout passes.
func (e *env) eventually(what string, timeout time.Duration, cond func() bool) {
	e.t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if cond() {
			return
		}
	}
	e.t.Fatalf("%s: not within %s", what, timeout)
}

func (e *env) drain(instance string) {
	e.t.Helper()
	_, err := e.ecs.UpdateContainerInstancesState(context.Background(), &ecs.UpdateContainerInstancesStateInput{
		Cluster: aws.String(e.cluster), ContainerInstances: []string{instance}, Status: types.ContainerInstanceStatusDraining,
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// A DAEMON service runs one task on every instance: a new instance gets
// one, a draining one loses it.
func TestDaemonServiceSim(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var agents []string
	for range 3 {
		agents = append(agents, e.agent(simRuntime()).InstanceARN)
	}
	td := e.register(healthyTaskDef("daemon"))
	if _, err := e.ecs.CreateService(context.Background(), &ecs.CreateServiceInput{
		Cluster: aws.String(e.cluster), ServiceName: aws.String("d"), TaskDefinition: aws.String(td),
		SchedulingStrategy: types.SchedulingStrategyDaemon,
	}); err != nil {
		t.Fatal(err)
	}
	onePerInstance := func(want []string) func() bool {
		return func() bool {
			got := e.tasksByInstance("d")
			if len(got) != len(want) {
				return false
			}
			for _, in := range want {
				if len(got[in]) != 1 {
					return false
				}
			}
			return true
		}
	}
	e.eventually("a task on each of 3 instances", 30*time.Second, onePerInstance(agents))
	agents = append(agents, e.agent(simRuntime()).InstanceARN)
	e.eventually("a task on the 4th instance", 30*time.Second, onePerInstance(agents))
	e.drain(agents[0])
	e.eventually("no task on the drained instance", 30*time.Second, onePerInstance(agents[1:]))
	svc := e.waitCompleted("d", 30*time.Second)
	if svc.DesiredCount != 3 {
		t.Errorf("desiredCount %d, want 3 (one per ACTIVE instance)", svc.DesiredCount)
	}
}

// Draining an instance moves a service's tasks elsewhere: replacements
// start before the drained tasks stop, so the service never runs fewer
// than its desired count (minimumHealthyPercent 100).
func TestDrainingMovesServiceTasksSim(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.agent(simRuntime()).InstanceARN
	td := e.register(healthyTaskDef("web"))
	ctx := context.Background()
	if _, err := e.ecs.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String(e.cluster), ServiceName: aws.String("web"), TaskDefinition: aws.String(td), DesiredCount: aws.Int32(2),
	}); err != nil {
		t.Fatal(err)
	}
	e.waitCompleted("web", 30*time.Second)
	standalone := e.runOne(&ecs.RunTaskInput{TaskDefinition: aws.String(td)})
	b := e.agent(simRuntime()).InstanceARN
	done := make(chan struct{})
	low := make(chan int, 1)
	go func() {
		defer close(done)
		lowest := 2
		for {
			select {
			case <-low:
				low <- lowest
				return
			default:
			}
			healthy := 0
			for _, ts := range e.tasksByInstance("web") {
				for _, t := range ts {
					if t.HealthStatus == types.HealthStatusHealthy && aws.ToString(t.DesiredStatus) == "RUNNING" {
						healthy++
					}
				}
			}
			lowest = min(lowest, healthy)
			time.Sleep(100 * time.Millisecond)
		}
	}()
	e.drain(a)
	e.eventually("both tasks on the other instance", 45*time.Second, func() bool {
		got := e.tasksByInstance("web")
		return len(got) == 1 && len(got[b]) == 2
	})
	low <- 0
	<-done
	if m := <-low; m < 2 {
		t.Errorf("healthy tasks fell to %d while draining, want at least 2", m)
	}
	if got := aws.ToString(e.describe(aws.ToString(standalone.TaskArn)).LastStatus); got != "RUNNING" {
		t.Errorf("standalone task on the drained instance is %s, want it left RUNNING", got)
	}
}

// A service whose tasks cannot start is retried with a growing delay and
// says so; with the circuit breaker on, its deployment fails after
// ECS's threshold of failed tasks.
func TestServiceStartFailuresSim(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.agent(sim.New(sim.Options{PullError: func(ref string) error {
		return errors.New("pull access denied for " + ref)
	}}))
	td := e.register(simTaskDef("nopull"))
	ctx := context.Background()
	for _, breaker := range []bool{false, true} {
		name := fmt.Sprintf("nopull-%t", breaker)
		if _, err := e.ecs.CreateService(ctx, &ecs.CreateServiceInput{
			Cluster: aws.String(e.cluster), ServiceName: aws.String(name), TaskDefinition: aws.String(td), DesiredCount: aws.Int32(1),
			DeploymentConfiguration: &types.DeploymentConfiguration{
				DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: breaker, Rollback: breaker}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	in := &ecs.DescribeServicesInput{Cluster: aws.String(e.cluster), Services: []string{"nopull-false", "nopull-true"}}
	var out *ecs.DescribeServicesOutput
	e.eventually("throttled and failed", time.Minute, func() bool {
		var err error
		if out, err = e.ecs.DescribeServices(ctx, in); err != nil {
			t.Fatal(err)
		}
		throttled := strings.Contains(events(out.Services[0]), "(service nopull-false) is unable to consistently start tasks successfully.")
		failed := out.Services[1].Deployments[0].RolloutState == types.DeploymentRolloutStateFailed
		return throttled && failed
	})
	if d := out.Services[0].Deployments[0]; d.RolloutState != types.DeploymentRolloutStateInProgress {
		t.Errorf("without the circuit breaker the deployment is %s, want IN_PROGRESS", d.RolloutState)
	}
	if d := out.Services[1].Deployments[0]; d.FailedTasks < 3 {
		t.Errorf("failed deployment counts %d failed tasks, want ≥ 3", d.FailedTasks)
	}
	// Attempts are spaced further and further apart.
	list, err := e.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(e.cluster), ServiceName: aws.String("nopull-false"), DesiredStatus: types.DesiredStatusStopped})
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := e.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(e.cluster), Tasks: list.TaskArns})
	if err != nil {
		t.Fatal(err)
	}
	created := make([]time.Time, 0, len(tasks.Tasks))
	for _, task := range tasks.Tasks {
		created = append(created, aws.ToTime(task.CreatedAt))
	}
	slices.SortFunc(created, time.Time.Compare)
	if len(created) < 3 {
		t.Fatalf("%d attempts, want ≥ 3", len(created))
	}
	first, second := created[1].Sub(created[0]), created[2].Sub(created[1])
	if second <= first {
		t.Errorf("attempts %v then %v apart: the delay did not grow", first, second)
	}
}
