package integration_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
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
