package integration_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/gantry-dev/gantry/internal/agent"
	"github.com/gantry-dev/gantry/internal/testenv"
)

// An agent restarted while its containers run re-adopts them untouched,
// and reports truthfully a container killed while it was down.
func TestAgentRestartDocker(t *testing.T) {
	t.Parallel()
	rt := testenv.RequireDocker(t)
	image := testenv.AppImage(t)
	label := testenv.CleanupLabel(t)
	e := newEnv(t)
	withLabels := func(o *agent.Options) {
		o.Labels = map[string]string{testenv.TestLabel: label}
		o.TaskNetwork = "gantry-it-" + label
	}
	a := e.agent(rt, withLabels)
	e.register(&ecs.RegisterTaskDefinitionInput{
		Family: aws.String("sleeper"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("main"), Image: aws.String(image), Memory: aws.Int32(32),
			Command: []string{"sleep", "-ignore-sigterm"}, StopTimeout: aws.Int32(1),
		}},
	})
	keep := aws.ToString(e.runOne(&ecs.RunTaskInput{TaskDefinition: aws.String("sleeper")}).TaskArn)
	doomed := aws.ToString(e.runOne(&ecs.RunTaskInput{TaskDefinition: aws.String("sleeper")}).TaskArn)
	keepID := aws.ToString(container(e.waitStatus(keep, "RUNNING", time.Minute), "main").RuntimeId)
	doomedID := aws.ToString(container(e.waitStatus(doomed, "RUNNING", time.Minute), "main").RuntimeId)
	ctx := context.Background()
	before, err := rt.Inspect(ctx, keepID)
	if err != nil {
		t.Fatal(err)
	}

	a.Stop(t)
	if err := rt.Stop(ctx, doomedID, time.Nanosecond); err != nil { // SIGKILL at once
		t.Fatal(err)
	}
	b := e.agent(rt, withLabels, func(o *agent.Options) { o.DataDir = a.DataDir })
	if b.InstanceARN != a.InstanceARN {
		t.Errorf("restarted agent registered as %s, want %s", b.InstanceARN, a.InstanceARN)
	}

	stopped := e.waitStatus(doomed, "STOPPED", time.Minute)
	if c := container(stopped, "main"); c.ExitCode == nil || *c.ExitCode != 137 || stopped.StopCode != types.TaskStopCodeEssentialContainerExited {
		t.Errorf("killed task: exit %v, stop %s %q; want 137 EssentialContainerExited", c.ExitCode, stopped.StopCode, aws.ToString(stopped.StoppedReason))
	}
	running := e.describe(keep)
	after, err := rt.Inspect(ctx, keepID)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(running.LastStatus) != "RUNNING" || !after.StartedAt.Equal(before.StartedAt) || aws.ToString(container(running, "main").RuntimeId) != keepID {
		t.Errorf("kept task %s, container started %v (was %v); want RUNNING and untouched", aws.ToString(running.LastStatus), after.StartedAt, before.StartedAt)
	}
	// The new agent owns it: StopTask reaches the container, which ignores
	// SIGTERM and is killed after its 1 s stopTimeout.
	start := time.Now()
	e.stop(keep, "")
	stopped = e.waitStatus(keep, "STOPPED", time.Minute)
	if c := container(stopped, "main"); c.ExitCode == nil || *c.ExitCode != 137 {
		t.Errorf("stopped SIGTERM-ignoring container exit = %v, want 137", c.ExitCode)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("stopping took %s with a 1 s stopTimeout", d)
	}
}
