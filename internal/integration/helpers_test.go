package integration_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/gantry-dev/gantry/internal/agent"
	"github.com/gantry-dev/gantry/internal/runtime"
	"github.com/gantry-dev/gantry/internal/server"
	"github.com/gantry-dev/gantry/internal/testenv"
)

// env is a server with a cluster and a client.
type env struct {
	t       testing.TB
	srv     *testenv.Server
	ecs     *ecs.Client
	cluster string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	srv := testenv.StartServerWith(t, func(o *server.Options) {
		o.AgentPollTimeout = 5 * time.Second
		o.AgentDisconnectAfter = 3 * time.Second
	})
	e := &env{t: t, srv: srv, ecs: testenv.ECS(srv.URL()), cluster: "it"}
	if _, err := e.ecs.CreateCluster(context.Background(), &ecs.CreateClusterInput{ClusterName: aws.String(e.cluster)}); err != nil {
		t.Fatal(err)
	}
	return e
}

// agent starts an agent on rt in the env's cluster.
func (e *env) agent(rt runtime.Runtime, configure ...func(*agent.Options)) *testenv.Agent {
	e.t.Helper()
	opts := agent.Options{Cluster: e.cluster, Runtime: rt, CleanupWait: time.Minute, StopTimeout: 2 * time.Second}
	for _, c := range configure {
		c(&opts)
	}
	return testenv.StartAgent(e.t, e.srv.URL(), opts)
}

func (e *env) register(in *ecs.RegisterTaskDefinitionInput) string {
	e.t.Helper()
	out, err := e.ecs.RegisterTaskDefinition(context.Background(), in)
	if err != nil {
		e.t.Fatal(err)
	}
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

func (e *env) run(in *ecs.RunTaskInput) *ecs.RunTaskOutput {
	e.t.Helper()
	if in.Cluster == nil {
		in.Cluster = aws.String(e.cluster)
	}
	out, err := e.ecs.RunTask(context.Background(), in)
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// runOne runs one task and fails unless it was placed.
func (e *env) runOne(in *ecs.RunTaskInput) types.Task {
	e.t.Helper()
	out := e.run(in)
	if len(out.Tasks) != 1 {
		e.t.Fatalf("RunTask placed %d tasks, failures %s", len(out.Tasks), failures(out.Failures))
	}
	return out.Tasks[0]
}

func failures(fs []types.Failure) string {
	s := ""
	for _, f := range fs {
		s += fmt.Sprintf("[%s %s %s]", aws.ToString(f.Arn), aws.ToString(f.Reason), aws.ToString(f.Detail))
	}
	return s
}

func (e *env) describe(arn string) types.Task {
	e.t.Helper()
	out, err := e.ecs.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Cluster: aws.String(e.cluster), Tasks: []string{arn}})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(out.Tasks) != 1 {
		e.t.Fatalf("DescribeTasks(%s): failures %s", arn, failures(out.Failures))
	}
	return out.Tasks[0]
}

var statusOrder = []string{"PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED"}

// waitStatus polls DescribeTasks until the task reaches status, checking
// on the way that lastStatus never moves backwards.
func (e *env) waitStatus(arn, status string, timeout time.Duration) types.Task {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	seen := -1
	var last types.Task
	for time.Now().Before(deadline) {
		last = e.describe(arn)
		rank := slices.Index(statusOrder, aws.ToString(last.LastStatus))
		if rank < seen {
			e.t.Fatalf("task %s went back from %s to %s", arn, statusOrder[seen], aws.ToString(last.LastStatus))
		}
		seen = rank
		if aws.ToString(last.LastStatus) == status {
			return last
		}
		if status != "STOPPED" && aws.ToString(last.LastStatus) == "STOPPED" {
			e.t.Fatalf("task stopped while waiting for %s: %s %s", status, last.StopCode, aws.ToString(last.StoppedReason))
		}
		time.Sleep(25 * time.Millisecond)
	}
	e.t.Fatalf("task %s still %s after %s, want %s", arn, aws.ToString(last.LastStatus), timeout, status)
	return last
}

func (e *env) stop(arn, reason string) types.Task {
	e.t.Helper()
	out, err := e.ecs.StopTask(context.Background(), &ecs.StopTaskInput{Cluster: aws.String(e.cluster), Task: aws.String(arn), Reason: aws.String(reason)})
	if err != nil {
		e.t.Fatal(err)
	}
	return *out.Task
}

func container(t types.Task, name string) types.Container {
	for _, c := range t.Containers {
		if aws.ToString(c.Name) == name {
			return c
		}
	}
	return types.Container{}
}
