package agentapi

import (
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/agentproto"
	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/store"
)

func newRecord() *store.TaskRecord {
	return &store.TaskRecord{Task: ecs.Task{
		LastStatus: ecs.TaskProvisioning, DesiredStatus: ecs.TaskRunning, Version: 1,
		Containers:  []ecs.Container{{Name: "web", LastStatus: ecs.TaskPending}},
		Attachments: []ecs.Attachment{{Id: "a1", Type: attachmentENI, Status: "PRECREATED"}},
	}}
}

func ptr[T any](v T) *T { return &v }

// Observations arrive late, repeated and out of order; the record only
// moves forward and keeps a user's stop reason.
func TestMerge(t *testing.T) {
	now := time.Unix(1700000000, 0)
	at := func(s int) ecs.Timestamp { return ecs.At(now.Add(time.Duration(s) * time.Second)) }
	rec := newRecord()

	running := agentproto.TaskState{LastStatus: ecs.TaskRunning, StartedAt: at(1), PrivateIPv4Address: "10.0.0.5",
		Containers: []ecs.Container{{Name: "web", LastStatus: ecs.TaskRunning, RuntimeId: "c1"}}}
	if !merge(rec, running, now) {
		t.Fatal("first RUNNING report changed nothing")
	}
	if rec.Task.LastStatus != ecs.TaskRunning || rec.Task.Version != 2 || rec.Task.Containers[0].RuntimeId != "c1" {
		t.Fatalf("after RUNNING: %+v", rec.Task)
	}
	if a := rec.Task.Attachments[0]; a.Status != attachmentAttached || rec.Task.Containers[0].NetworkInterfaces[0].PrivateIpv4Address != "10.0.0.5" {
		t.Errorf("attachment = %+v, interfaces %+v", a, rec.Task.Containers[0].NetworkInterfaces)
	}
	if merge(rec, running, now) {
		t.Error("a repeated report changed the record")
	}
	pending := agentproto.TaskState{LastStatus: ecs.TaskPending, StartedAt: at(9)}
	merge(rec, pending, now)
	if rec.Task.LastStatus != ecs.TaskRunning || !rec.Task.StartedAt.Equal(at(1).Time) {
		t.Errorf("a stale report moved the task back: %s startedAt %v", rec.Task.LastStatus, rec.Task.StartedAt)
	}

	// The user stopped it; the agent then reports an essential exit.
	rec.Task.DesiredStatus, rec.Task.StopCode, rec.Task.StoppedReason = ecs.TaskStopped, ecs.TaskStopCodeUserInitiated, "bye"
	stopped := agentproto.TaskState{LastStatus: ecs.TaskStopped, StopCode: ecs.TaskStopCodeEssentialContainerExited,
		StoppedReason: "Essential container in task exited", StoppedAt: at(5),
		Containers: []ecs.Container{{Name: "web", LastStatus: ecs.TaskStopped, ExitCode: ptr(int32(143))}}}
	merge(rec, stopped, now)
	if rec.Task.StopCode != ecs.TaskStopCodeUserInitiated || rec.Task.StoppedReason != "bye" {
		t.Errorf("stop = %s %q, want the user's", rec.Task.StopCode, rec.Task.StoppedReason)
	}
	if rec.Task.ExecutionStoppedAt.IsZero() || rec.Task.StoppingAt.IsZero() || rec.Task.Attachments[0].Status != attachmentDeleted {
		t.Errorf("stopped task: executionStoppedAt %v stoppingAt %v attachment %s", rec.Task.ExecutionStoppedAt, rec.Task.StoppingAt, rec.Task.Attachments[0].Status)
	}
	if c := rec.Task.Containers[0]; c.LastStatus != ecs.TaskStopped || *c.ExitCode != 143 {
		t.Errorf("container = %+v", c)
	}
}

// A task that stops on its own (an essential container exited) is then
// desired STOPPED, with the agent's code and reason.
func TestMergeSelfStop(t *testing.T) {
	rec := newRecord()
	merge(rec, agentproto.TaskState{LastStatus: ecs.TaskStopping, StopCode: ecs.TaskStopCodeEssentialContainerExited, StoppedReason: "Essential container in task exited"}, time.Now())
	if rec.Task.DesiredStatus != ecs.TaskStopped || rec.Task.StopCode != ecs.TaskStopCodeEssentialContainerExited || rec.Task.StoppingAt.IsZero() {
		t.Errorf("task = desired %s code %s stoppingAt %v", rec.Task.DesiredStatus, rec.Task.StopCode, rec.Task.StoppingAt)
	}
}

// A late report of UNKNOWN does not undo a health verdict.
func TestMergeKeepsHealthVerdict(t *testing.T) {
	rec := &store.TaskRecord{Task: ecs.Task{LastStatus: ecs.TaskRunning, HealthStatus: ecs.HealthStatusHEALTHY,
		Containers: []ecs.Container{{Name: "main", LastStatus: ecs.TaskRunning, HealthStatus: ecs.HealthStatusHEALTHY}}}}
	merge(rec, agentproto.TaskState{LastStatus: ecs.TaskRunning, HealthStatus: ecs.HealthStatusUNKNOWN,
		Containers: []ecs.Container{{Name: "main", LastStatus: ecs.TaskRunning, HealthStatus: ecs.HealthStatusUNKNOWN}}}, time.Now())
	if rec.Task.HealthStatus != ecs.HealthStatusHEALTHY || rec.Task.Containers[0].HealthStatus != ecs.HealthStatusHEALTHY {
		t.Errorf("health = %s / %s after a late UNKNOWN, want HEALTHY", rec.Task.HealthStatus, rec.Task.Containers[0].HealthStatus)
	}
	merge(rec, agentproto.TaskState{LastStatus: ecs.TaskRunning, HealthStatus: ecs.HealthStatusUNHEALTHY}, time.Now())
	if rec.Task.HealthStatus != ecs.HealthStatusUNHEALTHY {
		t.Errorf("health = %s, want UNHEALTHY", rec.Task.HealthStatus)
	}
}
