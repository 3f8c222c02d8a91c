package integration_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// A REPLICA service of three reaches its steady state: three tasks
// RUNNING, one COMPLETED deployment, and the events that say so.
func TestServiceSteadyStateDocker(t *testing.T) {
	t.Parallel()
	d := newDockerEnv(t)
	d.dockerAgent()
	td := d.registerWeb("steady", "v1")
	start := time.Now()
	created := d.createService(&ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String(td), DesiredCount: aws.Int32(3)})
	if aws.ToString(created.Status) != "ACTIVE" || created.DesiredCount != 3 || len(created.Deployments) != 1 {
		t.Fatalf("CreateService answered\n%s", showService(created))
	}
	primary := aws.ToString(created.Deployments[0].Id)
	if !strings.HasPrefix(primary, "ecs-svc/") || created.Deployments[0].RolloutState != types.DeploymentRolloutStateInProgress {
		t.Errorf("first deployment %s rollout %s, want ecs-svc/… IN_PROGRESS", primary, created.Deployments[0].RolloutState)
	}
	s := d.waitSteady("web", 90*time.Second)
	t.Logf("desired 3 steady %s after CreateService", time.Since(start).Round(time.Millisecond))

	dep := s.Deployments[0]
	if aws.ToString(dep.Id) != primary || aws.ToString(dep.Status) != "PRIMARY" || dep.RunningCount != 3 || aws.ToString(dep.TaskDefinition) != td {
		t.Errorf("deployment after steady state:\n%s", showService(s))
	}
	started := eventIndex(s, "has started 3 tasks:")
	completed := eventIndex(s, "(service web) (deployment "+primary+") deployment completed.")
	steadyAt := eventIndex(s, "(service web) has reached a steady state.")
	if started < 0 || completed < 0 || steadyAt != 0 || !(steadyAt < completed && completed < started) {
		t.Errorf("events (newest first) should tell started 3, deployment completed, steady state:\n%s", showService(s))
	}
	tasks := d.liveTasks("web")
	if len(tasks) != 3 {
		t.Fatalf("%d live tasks, want 3:\n%s", len(tasks), d.showTasks("web"))
	}
	for _, task := range tasks {
		if aws.ToString(task.StartedBy) != primary || aws.ToString(task.Group) != "service:web" || !healthyTask(task) {
			t.Errorf("task %s: startedBy %s group %s %s health %s; want %s service:web RUNNING HEALTHY", lastPart(aws.ToString(task.TaskArn)),
				aws.ToString(task.StartedBy), aws.ToString(task.Group), aws.ToString(task.LastStatus), task.HealthStatus, primary)
		}
		if !strings.Contains(aws.ToString(s.Events[started].Message), "(task "+lastPart(aws.ToString(task.TaskArn))+")") {
			t.Errorf("the started event %q does not name task %s", aws.ToString(s.Events[started].Message), aws.ToString(task.TaskArn))
		}
	}
}

// A task whose container is killed is replaced by a new RUNNING task.
func TestServiceReplacesKilledTaskDocker(t *testing.T) {
	t.Parallel()
	d := newDockerEnv(t)
	d.dockerAgent()
	// A container that ignores SIGTERM, so the runtime's stop with no
	// grace is a SIGKILL.
	td := d.registerWeb("killed", "v1", func(c *types.ContainerDefinition) {
		c.Command = []string{"serve", "-port", "8080", "-ignore-sigterm"}
	})
	d.createService(&ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String(td), DesiredCount: aws.Int32(2)})
	d.waitSteady("web", 90*time.Second)
	before := d.liveTasks("web")
	victim := before[0]
	victimARN := aws.ToString(victim.TaskArn)
	ctx := context.Background()

	killed := time.Now()
	if err := d.rt.Stop(ctx, aws.ToString(container(victim, "web").RuntimeId), time.Nanosecond); err != nil {
		t.Fatal(err)
	}
	var replacement types.Task
	deadline := killed.Add(60 * time.Second)
	for replacement.TaskArn == nil && time.Now().Before(deadline) {
		tasks, err := d.serviceTasks(ctx, "web")
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range tasks {
			if aws.ToString(task.LastStatus) == "RUNNING" && !slices.ContainsFunc(before, func(b types.Task) bool { return aws.ToString(b.TaskArn) == aws.ToString(task.TaskArn) }) {
				replacement = task
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if replacement.TaskArn == nil {
		t.Fatalf("no replacement RUNNING 60 s after the kill:\n%s", d.showTasks("web"))
	}
	t.Logf("kill → replacement RUNNING: %s", time.Since(killed).Round(time.Millisecond))

	stopped := d.waitStatus(victimARN, "STOPPED", 30*time.Second)
	if c := container(stopped, "web"); stopped.StopCode != types.TaskStopCodeEssentialContainerExited || c.ExitCode == nil || *c.ExitCode != 137 {
		t.Errorf("killed task: stop %s exit %v %q, want EssentialContainerExited 137", stopped.StopCode, c.ExitCode, aws.ToString(stopped.StoppedReason))
	}
	s := d.waitSteady("web", 60*time.Second)
	t.Logf("kill → steady again: %s", time.Since(killed).Round(time.Millisecond))
	newID := lastPart(aws.ToString(replacement.TaskArn))
	if i := eventIndex(s, "(service web) has started 1 tasks: (task "+newID+")."); i < 0 || i == 0 {
		t.Errorf("no event telling the replacement %s started before the steady state:\n%s", newID, showService(s))
	}
	if aws.ToString(replacement.StartedBy) != aws.ToString(victim.StartedBy) {
		t.Errorf("replacement startedBy %s, want the deployment %s", aws.ToString(replacement.StartedBy), aws.ToString(victim.StartedBy))
	}
	if live := d.liveTasks("web"); len(live) != 2 {
		t.Errorf("%d live tasks after the replacement, want 2:\n%s", len(live), d.showTasks("web"))
	}
}

// A rolling update from v1 to v2 of four tasks with minimumHealthyPercent
// 50 and maximumPercent 150 keeps at least two tasks healthy and at most
// six not STOPPED, while a client keeps calling every healthy task over
// its dynamic host port.
func TestServiceRollingUpdateDocker(t *testing.T) {
	t.Parallel()
	d := newDockerEnv(t)
	d.dockerAgent()
	v1 := d.registerWeb("rolling", "v1")
	v2 := d.registerWeb("rolling", "v2")
	const desired, minPct, maxPct = 4, 50, 150
	d.createService(&ecs.CreateServiceInput{
		ServiceName: aws.String("web"), TaskDefinition: aws.String(v1), DesiredCount: aws.Int32(desired),
		DeploymentConfiguration: &types.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(minPct), MaximumPercent: aws.Int32(maxPct)},
	})
	first := d.waitSteady("web", 90*time.Second)
	minHealthy, maxLive := (desired*minPct+99)/100, desired*maxPct/100

	low, high := sample{healthy: 1 << 30}, sample{}
	w := d.watch("web", 200*time.Millisecond, func(s sample) {
		if s.healthy < low.healthy {
			low = s
		}
		if s.live > high.live {
			high = s
		}
	})
	h := hammer(w, 100*time.Millisecond)
	start := time.Now()
	updated := d.updateService(&ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: aws.String(v2)})
	if len(updated.Deployments) != 2 || aws.ToString(updated.Deployments[0].TaskDefinition) != v2 || aws.ToString(updated.Deployments[0].Status) != "PRIMARY" {
		t.Errorf("UpdateService answered\n%s", showService(updated))
	}
	primary := aws.ToString(updated.Deployments[0].Id)
	s := d.waitService("web", 2*time.Minute, "steady state on v2", func(s types.Service) bool {
		return steady(s) && aws.ToString(s.Deployments[0].Id) == primary
	})
	t.Logf("desired %d, min %d%% max %d%%: UpdateService → steady on v2 in %s", desired, minPct, maxPct, time.Since(start).Round(time.Millisecond))
	h.Stop()
	w.Stop()

	t.Logf("%d samples (%d errors): fewest healthy %d at %s, most not STOPPED %d at %s", w.samples, w.errors,
		low.healthy, low.at.Format("15:04:05.000"), high.live, high.at.Format("15:04:05.000"))
	if w.samples < 10 {
		t.Errorf("only %d samples of the tasks during the rollout", w.samples)
	}
	if low.healthy < minHealthy {
		t.Errorf("only %d healthy tasks at %s, want at least ceil(%d × %d%%) = %d:\n%s", low.healthy, low.at.Format("15:04:05.000"), desired, minPct, minHealthy, showSample(low))
	}
	if high.live > maxLive {
		t.Errorf("%d tasks not STOPPED at %s, want at most floor(%d × %d%%) = %d:\n%s", high.live, high.at.Format("15:04:05.000"), desired, maxPct, maxLive, showSample(high))
	}
	h.report(t, w)

	if i := eventIndex(s, "(service web) (deployment "+primary+") deployment completed."); i < 0 {
		t.Errorf("no deployment completed event for %s:\n%s", primary, showService(s))
	}
	if i := eventIndex(s, "has stopped"); i < 0 || len(s.Events) <= len(first.Events) {
		t.Errorf("the events do not tell the old tasks stopped:\n%s", showService(s))
	}
	live := d.liveTasks("web")
	if len(live) != desired {
		t.Errorf("%d live tasks, want %d:\n%s", len(live), desired, d.showTasks("web"))
	}
	for _, task := range live {
		if aws.ToString(task.TaskDefinitionArn) != v2 || aws.ToString(task.StartedBy) != primary || !healthyTask(task) {
			t.Errorf("task %s runs %s started by %s (%s, %s), want %s by %s, healthy", lastPart(aws.ToString(task.TaskArn)), aws.ToString(task.TaskDefinitionArn),
				aws.ToString(task.StartedBy), aws.ToString(task.LastStatus), task.HealthStatus, v2, primary)
		}
	}
}

// How long a rollout of ten tasks with a 5 s health check interval takes,
// with the default deployment configuration (100 % / 200 %).
func TestServiceRolloutTimeDocker(t *testing.T) {
	t.Parallel()
	d := newDockerEnv(t)
	d.dockerAgent()
	v1 := d.registerWeb("timed", "v1")
	v2 := d.registerWeb("timed", "v2")
	const desired = 10
	start := time.Now()
	d.createService(&ecs.CreateServiceInput{ServiceName: aws.String("web"), TaskDefinition: aws.String(v1), DesiredCount: aws.Int32(desired)})
	d.waitSteady("web", 2*time.Minute)
	t.Logf("%d tasks: CreateService → steady in %s", desired, time.Since(start).Round(time.Millisecond))

	start = time.Now()
	updated := d.updateService(&ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: aws.String(v2)})
	primary := aws.ToString(updated.Deployments[0].Id)
	d.waitService("web", 2*time.Minute, "COMPLETED rollout", func(s types.Service) bool {
		i := slices.IndexFunc(s.Deployments, func(dep types.Deployment) bool { return aws.ToString(dep.Id) == primary })
		return i >= 0 && s.Deployments[i].RolloutState == types.DeploymentRolloutStateCompleted
	})
	completed := time.Since(start)
	d.waitService("web", time.Minute, "steady state on v2", func(s types.Service) bool {
		return steady(s) && aws.ToString(s.Deployments[0].Id) == primary
	})
	t.Logf("%d tasks, health check every 5 s: UpdateService → COMPLETED in %s, → steady in %s", desired,
		completed.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	for _, task := range d.liveTasks("web") {
		if aws.ToString(task.TaskDefinitionArn) != v2 {
			t.Errorf("task %s still runs %s", aws.ToString(task.TaskArn), aws.ToString(task.TaskDefinitionArn))
		}
	}
}

// A new revision whose container exits with code 1 a second after it
// starts trips the circuit breaker: the deployment FAILS and the service
// rolls back to the last completed one.
func TestServiceCircuitBreakerRollbackDocker(t *testing.T) {
	t.Parallel()
	d := newDockerEnv(t)
	d.dockerAgent()
	good := d.registerWeb("breaker", "v2")
	bad := d.registerWeb("breaker", "v3", func(c *types.ContainerDefinition) {
		c.Command = []string{"exit", "-code", "1", "-after", "1s"}
	})
	d.createService(&ecs.CreateServiceInput{
		ServiceName: aws.String("web"), TaskDefinition: aws.String(good), DesiredCount: aws.Int32(2),
		DeploymentConfiguration: &types.DeploymentConfiguration{
			MinimumHealthyPercent: aws.Int32(50), MaximumPercent: aws.Int32(200),
			DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true},
		},
	})
	completed := aws.ToString(d.waitSteady("web", 90*time.Second).Deployments[0].Id)

	start := time.Now()
	failing := aws.ToString(d.updateService(&ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: aws.String(bad)}).Deployments[0].Id)
	// The FAILED deployment stays listed only while its last tasks stop,
	// which may be a moment: look often.
	var mu sync.Mutex
	var sawFailed, sawRollback bool
	var failedAfter time.Duration
	var failedReason string
	rollbackReason := "ECS deployment circuit breaker: rolling back to deploymentId " + completed + "."
	look := func(s types.Service) {
		mu.Lock()
		defer mu.Unlock()
		for _, dep := range s.Deployments {
			if aws.ToString(dep.Id) == failing && dep.RolloutState == types.DeploymentRolloutStateFailed && !sawFailed {
				sawFailed, failedAfter, failedReason = true, time.Since(start), aws.ToString(dep.RolloutStateReason)
				t.Logf("failed deployment: %d failed tasks, %q", dep.FailedTasks, aws.ToString(dep.RolloutStateReason))
			}
			if aws.ToString(dep.Status) == "PRIMARY" && aws.ToString(dep.Id) != failing && aws.ToString(dep.Id) != completed {
				sawRollback = sawRollback || aws.ToString(dep.RolloutStateReason) == rollbackReason
			}
		}
	}
	stopLooking, looked := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(looked)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if s, err := d.service(ctx, "web"); err == nil {
				look(s)
			}
			cancel()
			select {
			case <-stopLooking:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	s := d.waitService("web", 2*time.Minute, "steady state after the rollback", func(s types.Service) bool {
		look(s)
		return steady(s) && aws.ToString(s.Deployments[0].Id) != failing && aws.ToString(s.Deployments[0].Id) != completed
	})
	close(stopLooking)
	<-looked
	t.Logf("UpdateService to a crashing revision → FAILED after %s, → steady on the rollback after %s", failedAfter.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	if !sawFailed {
		t.Errorf("never saw deployment %s with rolloutState FAILED", failing)
	} else if want := "ECS deployment circuit breaker: tasks failed to start."; failedReason != want {
		// ECS's text, as users see it (aws/containers-roadmap#1488), also
		// for tasks that started and then failed.
		t.Errorf("failed deployment's rolloutStateReason = %q, want %q", failedReason, want)
	}
	if !sawRollback {
		t.Errorf("never saw a PRIMARY deployment with rolloutStateReason %q", rollbackReason)
	}
	if dep := s.Deployments[0]; aws.ToString(dep.TaskDefinition) != good {
		t.Errorf("rolled back to %s, want %s:\n%s", aws.ToString(dep.TaskDefinition), good, showService(s))
	}
	if aws.ToString(s.TaskDefinition) != good {
		t.Errorf("the service's taskDefinition is %s after the rollback, want %s", aws.ToString(s.TaskDefinition), good)
	}
	t.Logf("after the rollback:\n%s", showService(s))
	// Newest first: the rollback follows the failure.
	failedAt, rollingBackAt := eventIndex(s, "(deployment "+failing+")"), eventIndex(s, "rolling back to deployment "+completed)
	if failedAt < 0 || rollingBackAt < 0 {
		t.Errorf("no events tell of the failed deployment %s and the rollback to %s:\n%s", failing, completed, showService(s))
	} else if rollingBackAt > failedAt {
		t.Errorf("the events tell the rollback (%q) before the failure it answers (%q)", aws.ToString(s.Events[rollingBackAt].Message), aws.ToString(s.Events[failedAt].Message))
	}
	for _, task := range d.liveTasks("web") {
		if aws.ToString(task.TaskDefinitionArn) != good || !healthyTask(task) {
			t.Errorf("after the rollback task %s runs %s (%s), want %s healthy", lastPart(aws.ToString(task.TaskArn)), aws.ToString(task.TaskDefinitionArn), task.HealthStatus, good)
		}
	}
	// The deployment history keeps the failed deployment, rolled back.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, err := d.ecs.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String(d.cluster), Service: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	rolledBack := false
	for _, sd := range list.ServiceDeployments {
		t.Logf("service deployment %s: %s %q", lastPart(aws.ToString(sd.ServiceDeploymentArn)), sd.Status, aws.ToString(sd.StatusReason))
		if sd.Status == types.ServiceDeploymentStatusRollbackSuccessful {
			rolledBack = true
			desc, err := d.ecs.DescribeServiceDeployments(ctx, &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{aws.ToString(sd.ServiceDeploymentArn)}})
			if err != nil {
				t.Fatal(err)
			}
			if len(desc.ServiceDeployments) != 1 || desc.ServiceDeployments[0].DeploymentCircuitBreaker == nil ||
				desc.ServiceDeployments[0].DeploymentCircuitBreaker.Status != types.ServiceDeploymentRollbackMonitorsStatusTriggered {
				t.Errorf("the rolled back service deployment does not show its circuit breaker TRIGGERED: %+v", desc.ServiceDeployments)
			}
		}
	}
	if !rolledBack {
		t.Errorf("ListServiceDeployments shows no ROLLBACK_SUCCESSFUL deployment")
	}
}

// A DAEMON service runs one task on each ACTIVE instance: on three
// agents, then on a fourth that joins, and no more on one set DRAINING.
func TestServiceDaemonDocker(t *testing.T) {
	t.Parallel()
	d := newDockerEnv(t)
	var instances []string
	for range 3 {
		instances = append(instances, d.dockerAgent().InstanceARN)
	}
	td := d.registerWeb("daemon", "v1")
	created := d.createService(&ecs.CreateServiceInput{ServiceName: aws.String("agentd"), TaskDefinition: aws.String(td), SchedulingStrategy: types.SchedulingStrategyDaemon})
	if created.SchedulingStrategy != types.SchedulingStrategyDaemon {
		t.Errorf("created service's schedulingStrategy = %s, want DAEMON", created.SchedulingStrategy)
	}
	onEach := func(want []string) func(types.Service) bool {
		return func(s types.Service) bool {
			if !steady(s) || s.DesiredCount != int32(len(want)) {
				return false
			}
			var got []string
			for _, task := range d.liveTasks("agentd") {
				got = append(got, aws.ToString(task.ContainerInstanceArn))
			}
			slices.Sort(got)
			return slices.Equal(got, slices.Sorted(slices.Values(want)))
		}
	}
	d.waitService("agentd", 90*time.Second, "one task on each of three instances", onEach(instances))

	start := time.Now()
	instances = append(instances, d.dockerAgent().InstanceARN)
	d.waitService("agentd", 90*time.Second, "one task on each of four instances", onEach(instances))
	t.Logf("a new instance → its daemon task steady in %s", time.Since(start).Round(time.Millisecond))

	drained := instances[1]
	var onDrained string
	for _, task := range d.liveTasks("agentd") {
		if aws.ToString(task.ContainerInstanceArn) == drained {
			onDrained = aws.ToString(task.TaskArn)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := d.ecs.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{
		Cluster: aws.String(d.cluster), ContainerInstances: []string{drained}, Status: types.ContainerInstanceStatusDraining,
	})
	if err != nil || len(out.Failures) > 0 {
		t.Fatalf("UpdateContainerInstancesState DRAINING: %v %s", err, failures(out.Failures))
	}
	d.waitService("agentd", 90*time.Second, "one task on each ACTIVE instance", onEach(slices.DeleteFunc(slices.Clone(instances), func(s string) bool { return s == drained })))
	stopped := d.waitStatus(onDrained, "STOPPED", 30*time.Second)
	t.Logf("daemon task on the DRAINING instance: %s %q", stopped.StopCode, aws.ToString(stopped.StoppedReason))
}

// Setting an instance DRAINING replaces its service tasks on another
// instance before they stop (min 100 %, max 200 %).
func TestServiceInstanceDrainingDocker(t *testing.T) {
	t.Parallel()
	d := newDockerEnv(t)
	a, b := d.dockerAgent().InstanceARN, d.dockerAgent().InstanceARN
	td := d.registerWeb("drain", "v1")
	d.createService(&ecs.CreateServiceInput{
		ServiceName: aws.String("web"), TaskDefinition: aws.String(td), DesiredCount: aws.Int32(2),
		DeploymentConfiguration: &types.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(100), MaximumPercent: aws.Int32(200)},
	})
	d.waitSteady("web", 90*time.Second)
	before := d.liveTasks("web")
	drained, active := aws.ToString(before[0].ContainerInstanceArn), a
	if drained == a {
		active = b
	}
	var moving []string
	for _, task := range before {
		if aws.ToString(task.ContainerInstanceArn) == drained {
			moving = append(moving, aws.ToString(task.TaskArn))
		}
	}
	t.Logf("%d of 2 tasks on the instance to drain", len(moving))

	low := sample{healthy: 1 << 30}
	w := d.watch("web", 200*time.Millisecond, func(s sample) {
		if s.healthy < low.healthy {
			low = s
		}
	})
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := d.ecs.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{
		Cluster: aws.String(d.cluster), ContainerInstances: []string{drained}, Status: types.ContainerInstanceStatusDraining,
	})
	if err != nil || len(out.Failures) > 0 {
		t.Fatalf("UpdateContainerInstancesState DRAINING: %v %s", err, failures(out.Failures))
	}
	s := d.waitService("web", 2*time.Minute, "steady state on the ACTIVE instance", func(s types.Service) bool {
		if !steady(s) || s.RunningCount != 2 {
			return false
		}
		for _, task := range d.liveTasks("web") {
			if aws.ToString(task.ContainerInstanceArn) != active {
				return false
			}
		}
		return true
	})
	t.Logf("DRAINING → steady with both tasks on the ACTIVE instance in %s", time.Since(start).Round(time.Millisecond))
	w.Stop()
	if low.healthy < 2 {
		t.Errorf("only %d healthy tasks at %s while draining with minimumHealthyPercent 100:\n%s", low.healthy, low.at.Format("15:04:05.000"), showSample(low))
	}
	for _, arn := range moving {
		task := d.waitStatus(arn, "STOPPED", 30*time.Second)
		t.Logf("task on the DRAINING instance stopped: %s %q", task.StopCode, aws.ToString(task.StoppedReason))
	}
	if eventIndex(s, "has stopped") < 0 || eventIndex(s, "has started") < 0 {
		t.Errorf("the events do not tell the tasks moving:\n%s", showService(s))
	}
}

func showSample(s sample) string {
	var b strings.Builder
	for _, t := range s.tasks {
		fmt.Fprintf(&b, "  task %s %s/%s health %s td %s\n", lastPart(aws.ToString(t.TaskArn)), aws.ToString(t.LastStatus), aws.ToString(t.DesiredStatus),
			t.HealthStatus, lastPart(aws.ToString(t.TaskDefinitionArn)))
	}
	return b.String()
}

// hammerer calls GET / on every healthy task's host port, as the latest
// sample of a watcher shows them, every interval.
type hammerer struct {
	mu       sync.Mutex
	requests int
	failed   []failedRequest
	stop     chan struct{}
	done     chan struct{}
}

type failedRequest struct {
	task string
	at   time.Time
	err  error
}

func hammer(w *watcher, interval time.Duration) *hammerer {
	h := &hammerer{stop: make(chan struct{}), done: make(chan struct{})}
	client := &http.Client{Timeout: 3 * time.Second}
	go func() {
		defer close(h.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-h.stop:
				return
			case <-tick.C:
			}
			var wg sync.WaitGroup
			for _, task := range w.snapshot().tasks {
				port := hostPort(task)
				if !healthyTask(task) || port == 0 {
					continue
				}
				wg.Go(func() {
					at := time.Now()
					err := get(client, fmt.Sprintf("http://127.0.0.1:%d/", port))
					h.mu.Lock()
					defer h.mu.Unlock()
					h.requests++
					if err != nil {
						h.failed = append(h.failed, failedRequest{task: aws.ToString(task.TaskArn), at: at, err: err})
					}
				})
			}
			wg.Wait()
		}
	}()
	return h
}

func get(client *http.Client, url string) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

func hostPort(t types.Task) int32 {
	for _, c := range t.Containers {
		for _, nb := range c.NetworkBindings {
			if aws.ToInt32(nb.ContainerPort) == 8080 {
				return aws.ToInt32(nb.HostPort)
			}
		}
	}
	return 0
}

func (h *hammerer) Stop() {
	close(h.stop)
	<-h.done
}

// report logs the requests and fails the test for any failed request the
// rollout does not explain. Without a load balancer a client may call a
// task the scheduler has just told to stop (the watcher's sample is up to
// a poll old), and the test app exits at once on SIGTERM: such failures,
// on a task wanted STOPPED within 3 s of the request, are expected. A
// failure on a task that stayed wanted RUNNING is not.
func (h *hammerer) report(t *testing.T, w *watcher) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	expected := 0
	for _, f := range h.failed {
		if at, ok := w.stoppedSince(f.task); ok && at.Before(f.at.Add(3*time.Second)) {
			expected++
			continue
		}
		t.Errorf("request at %s to task %s, which stayed wanted RUNNING, failed: %v", f.at.Format("15:04:05.000"), lastPart(f.task), f.err)
	}
	t.Logf("%d requests to healthy tasks during the rollout, %d failed (%d on tasks being stopped)", h.requests, len(h.failed), expected)
	if h.requests < 50 {
		t.Errorf("only %d requests reached healthy tasks during the rollout", h.requests)
	}
}
