package integration_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/gantry-dev/gantry/internal/agent"
	"github.com/gantry-dev/gantry/internal/agentproto"
	"github.com/gantry-dev/gantry/internal/runtime"
	"github.com/gantry-dev/gantry/internal/runtime/sim"
)

func simRuntime(images ...string) *sim.Runtime {
	return sim.New(sim.Options{Images: append([]string{"app:1"}, images...)})
}

func simTaskDef(family string, command ...string) *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("main"), Image: aws.String("app:1"), Memory: aws.Int32(128), Cpu: 256,
			Command: command,
		}},
	}
}

// A task goes through ECS's lifecycle to RUNNING and, on StopTask, to
// STOPPED, with every timestamp and container field a user looks at.
func TestTaskLifecycleSim(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.agent(simRuntime())
	tdArn := e.register(simTaskDef("web"))
	placed := e.runOne(&ecs.RunTaskInput{TaskDefinition: aws.String("web"), StartedBy: aws.String("me"), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	if got := aws.ToString(placed.ContainerInstanceArn); got != a.InstanceARN {
		t.Errorf("containerInstanceArn = %q, want %q", got, a.InstanceARN)
	}
	if aws.ToString(placed.LastStatus) != "PENDING" || aws.ToString(placed.DesiredStatus) != "RUNNING" {
		t.Errorf("placed task is %s/%s, want PENDING/RUNNING", aws.ToString(placed.LastStatus), aws.ToString(placed.DesiredStatus))
	}
	if aws.ToString(placed.TaskDefinitionArn) != tdArn || aws.ToString(placed.Group) != "family:web" || aws.ToString(placed.StartedBy) != "me" {
		t.Errorf("placed task = %+v", placed)
	}
	arn := aws.ToString(placed.TaskArn)
	running := e.waitStatus(arn, "RUNNING", 20*time.Second)
	c := container(running, "main")
	if aws.ToString(c.LastStatus) != "RUNNING" || aws.ToString(c.RuntimeId) == "" {
		t.Errorf("container = %s runtimeId %q, want RUNNING with a runtime ID", aws.ToString(c.LastStatus), aws.ToString(c.RuntimeId))
	}
	if running.StartedAt == nil || running.PullStartedAt == nil || running.PullStoppedAt == nil || running.CreatedAt == nil {
		t.Errorf("running task lacks timestamps: created %v pull %v–%v started %v", running.CreatedAt, running.PullStartedAt, running.PullStoppedAt, running.StartedAt)
	}
	stopping := e.stop(arn, "done here")
	if aws.ToString(stopping.DesiredStatus) != "STOPPED" || stopping.StopCode != types.TaskStopCodeUserInitiated || aws.ToString(stopping.StoppedReason) != "done here" {
		t.Errorf("StopTask answered %s %s %q", aws.ToString(stopping.DesiredStatus), stopping.StopCode, aws.ToString(stopping.StoppedReason))
	}
	stopped := e.waitStatus(arn, "STOPPED", 20*time.Second)
	c = container(stopped, "main")
	if aws.ToString(c.LastStatus) != "STOPPED" || c.ExitCode == nil || *c.ExitCode != 143 {
		t.Errorf("stopped container = %s exit %v, want STOPPED exit 143", aws.ToString(c.LastStatus), c.ExitCode)
	}
	if stopped.StoppedAt == nil || stopped.StoppingAt == nil || stopped.ExecutionStoppedAt == nil {
		t.Errorf("stopped task lacks timestamps: stopping %v execution %v stopped %v", stopped.StoppingAt, stopped.ExecutionStoppedAt, stopped.StoppedAt)
	}
	if stopped.StopCode != types.TaskStopCodeUserInitiated || aws.ToString(stopped.StoppedReason) != "done here" {
		t.Errorf("stop code/reason = %s %q, want the user's", stopped.StopCode, aws.ToString(stopped.StoppedReason))
	}
	list, err := e.ecs.ListTasks(context.Background(), &ecs.ListTasksInput{Cluster: aws.String(e.cluster), DesiredStatus: types.DesiredStatusStopped})
	if err != nil || len(list.TaskArns) != 1 || list.TaskArns[0] != arn {
		t.Errorf("ListTasks(STOPPED) = %v, %v; want [%s]", list.TaskArns, err, arn)
	}
}

// An essential container's exit stops the task with ECS's code and reason.
func TestEssentialContainerExitSim(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.agent(simRuntime())
	e.register(simTaskDef("job", "exit", "3"))
	arn := aws.ToString(e.runOne(&ecs.RunTaskInput{TaskDefinition: aws.String("job")}).TaskArn)
	stopped := e.waitStatus(arn, "STOPPED", 20*time.Second)
	if stopped.StopCode != types.TaskStopCodeEssentialContainerExited || aws.ToString(stopped.StoppedReason) != "Essential container in task exited" {
		t.Errorf("stop = %s %q", stopped.StopCode, aws.ToString(stopped.StoppedReason))
	}
	if c := container(stopped, "main"); c.ExitCode == nil || *c.ExitCode != 3 {
		t.Errorf("exit code = %v, want 3", c.ExitCode)
	}
	if aws.ToString(stopped.DesiredStatus) != "STOPPED" {
		t.Errorf("desiredStatus = %s, want STOPPED", aws.ToString(stopped.DesiredStatus))
	}
}

// A failed pull stops the task as TaskFailedToStart with the reason.
func TestPullFailureSim(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rt := sim.New(sim.Options{PullError: func(ref string) error {
		return errors.New("pull access denied for " + ref)
	}})
	e.agent(rt)
	e.register(simTaskDef("nopull"))
	arn := aws.ToString(e.runOne(&ecs.RunTaskInput{TaskDefinition: aws.String("nopull")}).TaskArn)
	stopped := e.waitStatus(arn, "STOPPED", 20*time.Second)
	if stopped.StopCode != types.TaskStopCodeTaskFailedToStart || !strings.HasPrefix(aws.ToString(stopped.StoppedReason), "CannotPullContainerError") {
		t.Errorf("stop = %s %q, want TaskFailedToStart CannotPullContainerError…", stopped.StopCode, aws.ToString(stopped.StoppedReason))
	}
	if stopped.StartedAt != nil {
		t.Errorf("a task that never ran has startedAt %v", stopped.StartedAt)
	}
}

// RunTask answers what could not be placed with ECS's failures and errors.
func TestRunTaskRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.register(simTaskDef("small"))
	_, err := e.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(e.cluster), TaskDefinition: aws.String("small")})
	wantCode(t, err, "InvalidParameterException", "No Container Instances were found in your cluster.")

	a := e.agent(simRuntime(), func(o *agent.Options) {})
	big := simTaskDef("big")
	big.ContainerDefinitions[0].Memory = aws.Int32(1 << 30)
	e.register(big)
	out := e.run(&ecs.RunTaskInput{TaskDefinition: aws.String("big")})
	if len(out.Tasks) != 0 || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "RESOURCE:MEMORY" || aws.ToString(out.Failures[0].Arn) != a.InstanceARN {
		t.Errorf("RunTask(big) = %d tasks, failures %s; want RESOURCE:MEMORY on %s", len(out.Tasks), failures(out.Failures), a.InstanceARN)
	}
	_, err = e.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(e.cluster), TaskDefinition: aws.String("small"), Count: aws.Int32(11)})
	wantCode(t, err, "InvalidParameterException", "count")
	_, err = e.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(e.cluster), TaskDefinition: aws.String("nope")})
	wantCode(t, err, "ClientException", "TaskDefinition not found.")
	_, err = e.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("missing"), TaskDefinition: aws.String("small")})
	wantCode(t, err, "ClusterNotFoundException", "")
	_, err = e.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(e.cluster), TaskDefinition: aws.String("small"),
		Overrides: &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: aws.String("ghost")}}}})
	wantCode(t, err, "InvalidParameterException", "ghost")
	_, err = e.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(e.cluster), TaskDefinition: aws.String("small"), LaunchType: types.LaunchTypeFargate})
	wantCode(t, err, "ClientException", "launch_type FARGATE")
	vpc := simTaskDef("vpc")
	vpc.NetworkMode = types.NetworkModeAwsvpc
	e.register(vpc)
	_, err = e.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(e.cluster), TaskDefinition: aws.String("vpc")})
	wantCode(t, err, "InvalidParameterException", "Network Configuration must be provided")
	_, err = e.ecs.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(e.cluster), Task: aws.String("0123456789abcdef0123456789abcdef")})
	wantCode(t, err, "InvalidParameterException", "The referenced task was not found.")
	desc, err := e.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(e.cluster), Tasks: []string{"0123456789abcdef0123456789abcdef"}})
	if err != nil || len(desc.Failures) != 1 || aws.ToString(desc.Failures[0].Reason) != "MISSING" ||
		aws.ToString(desc.Failures[0].Arn) != "arn:aws:ecs:us-east-1:000000000000:task/it/0123456789abcdef0123456789abcdef" {
		t.Errorf("DescribeTasks(unknown) = %+v, %v", desc, err)
	}
}

func wantCode(t *testing.T, err error, code, msgPart string) {
	t.Helper()
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		t.Errorf("got %v, want %s", err, code)
		return
	}
	if apiErr.ErrorCode() != code || !strings.Contains(apiErr.ErrorMessage(), msgPart) {
		t.Errorf("got %s %q, want %s containing %q", apiErr.ErrorCode(), apiErr.ErrorMessage(), code, msgPart)
	}
}

// count tasks fill instances first-fit and the rest come back as failures.
func TestRunTaskCountAndListFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.agent(simRuntime())
	td := simTaskDef("many")
	td.ContainerDefinitions[0].PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(80), HostPort: aws.Int32(8080)}}
	e.register(td)
	out := e.run(&ecs.RunTaskInput{TaskDefinition: aws.String("many"), Count: aws.Int32(3), StartedBy: aws.String("batch")})
	if len(out.Tasks) != 1 || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "RESOURCE:PORTS" {
		t.Fatalf("RunTask(count 3, fixed port) = %d tasks, failures %s; want 1 placed and RESOURCE:PORTS", len(out.Tasks), failures(out.Failures))
	}
	e.register(simTaskDef("other"))
	e.run(&ecs.RunTaskInput{TaskDefinition: aws.String("other"), Count: aws.Int32(2)})
	ctx := context.Background()
	for _, tc := range []struct {
		in   ecs.ListTasksInput
		want int
	}{
		{ecs.ListTasksInput{}, 3},
		{ecs.ListTasksInput{Family: aws.String("many")}, 1},
		{ecs.ListTasksInput{StartedBy: aws.String("batch")}, 1},
		{ecs.ListTasksInput{LaunchType: types.LaunchTypeFargate}, 0},
		{ecs.ListTasksInput{DesiredStatus: types.DesiredStatusStopped}, 0},
		{ecs.ListTasksInput{MaxResults: aws.Int32(2)}, 2},
	} {
		tc.in.Cluster = aws.String(e.cluster)
		got, err := e.ecs.ListTasks(ctx, &tc.in)
		if err != nil || len(got.TaskArns) != tc.want {
			t.Errorf("ListTasks(%+v) = %d, %v; want %d", tc.in, len(got.TaskArns), err, tc.want)
		}
	}
}

// A restarted agent resumes its registration and re-adopts its running
// containers without restarting them.
func TestAgentRestartReadoptsSim(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rt := simRuntime()
	a := e.agent(rt)
	e.register(simTaskDef("keep"))
	arn := aws.ToString(e.runOne(&ecs.RunTaskInput{TaskDefinition: aws.String("keep")}).TaskArn)
	before := container(e.waitStatus(arn, "RUNNING", 20*time.Second), "main")
	a.Stop(t)
	b := e.agent(rt, func(o *agent.Options) { o.DataDir = a.DataDir })
	if b.InstanceARN != a.InstanceARN {
		t.Errorf("restarted agent registered as %s, want to resume %s", b.InstanceARN, a.InstanceARN)
	}
	// A stop now goes through the new agent, which must know the container.
	e.stop(arn, "")
	stopped := e.waitStatus(arn, "STOPPED", 20*time.Second)
	after := container(stopped, "main")
	if aws.ToString(after.RuntimeId) != aws.ToString(before.RuntimeId) {
		t.Errorf("container %s was replaced by %s", aws.ToString(before.RuntimeId), aws.ToString(after.RuntimeId))
	}
	if aws.ToString(stopped.StoppedReason) != "Task stopped by user" {
		t.Errorf("stoppedReason = %q, want ECS's default", aws.ToString(stopped.StoppedReason))
	}
}

// FARGATE tasks run on the control plane's own capacity, never on a
// registered instance, with an ENI attachment carrying the task's address.
func TestFargateSim(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.agent(simRuntime(), func(o *agent.Options) { o.Capacity = agentproto.CapacityFargate })
	td := simTaskDef("fg")
	td.NetworkMode = types.NetworkModeAwsvpc
	td.RequiresCompatibilities = []types.Compatibility{types.CompatibilityFargate}
	td.Cpu, td.Memory = aws.String("256"), aws.String("512")
	e.register(td)
	placed := e.runOne(&ecs.RunTaskInput{TaskDefinition: aws.String("fg"), LaunchType: types.LaunchTypeFargate,
		NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-12345"}}}})
	if placed.ContainerInstanceArn != nil || placed.LaunchType != types.LaunchTypeFargate || aws.ToString(placed.LastStatus) != "PROVISIONING" {
		t.Errorf("placed = instance %v launch %s status %s; want no instance, FARGATE, PROVISIONING", placed.ContainerInstanceArn, placed.LaunchType, aws.ToString(placed.LastStatus))
	}
	running := e.waitStatus(aws.ToString(placed.TaskArn), "RUNNING", 20*time.Second)
	if len(running.Attachments) != 1 || aws.ToString(running.Attachments[0].Status) != "ATTACHED" || privateIP(running) == "" {
		t.Errorf("attachments = %+v, want one ATTACHED ENI with privateIPv4Address", running.Attachments)
	}
	list, err := e.ecs.ListContainerInstances(context.Background(), &ecs.ListContainerInstancesInput{Cluster: aws.String(e.cluster)})
	if err != nil || len(list.ContainerInstanceArns) != 0 {
		t.Errorf("ListContainerInstances = %v, %v; Fargate capacity must not show", list.ContainerInstanceArns, err)
	}
}

func privateIP(t types.Task) string {
	for _, a := range t.Attachments {
		for _, d := range a.Details {
			if aws.ToString(d.Name) == "privateIPv4Address" {
				return aws.ToString(d.Value)
			}
		}
	}
	return ""
}

var _ runtime.Runtime = (*sim.Runtime)(nil)

// StartTask counts what earlier tasks of the same call took on an
// instance: a fixed host port fits once.
func TestStartTaskSameInstanceTwice(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.agent(simRuntime())
	td := simTaskDef("fixed")
	td.ContainerDefinitions[0].PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(80), HostPort: aws.Int32(8080)}}
	e.register(td)
	out, err := e.ecs.StartTask(context.Background(), &ecs.StartTaskInput{Cluster: aws.String(e.cluster),
		TaskDefinition: aws.String("fixed"), ContainerInstances: []string{a.InstanceARN, a.InstanceARN}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Tasks) != 1 || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "RESOURCE:PORTS" {
		t.Errorf("StartTask twice on one instance = %d tasks, failures %s; want 1 and RESOURCE:PORTS", len(out.Tasks), failures(out.Failures))
	}
}
