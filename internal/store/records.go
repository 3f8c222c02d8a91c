package store

import (
	"fmt"

	"github.com/gantry-dev/gantry/internal/ecs"
)

// ClusterRecord is a cluster as ECS shows it. Its counts are not stored:
// they are computed from the other tables when read.
type ClusterRecord struct {
	Cluster ecs.Cluster `json:"cluster"`
}

// TaskDefinitionRecord is one registered revision. ECS returns a task
// definition's tags beside it rather than inside it, so they live here.
type TaskDefinitionRecord struct {
	TaskDefinition ecs.TaskDefinition `json:"taskDefinition"`
	Tags           []ecs.Tag          `json:"tags,omitzero"`
}

// FamilyRecord remembers a family's last revision number, which outlives
// the revisions themselves: numbering never restarts, as in ECS.
type FamilyRecord struct {
	Family       string `json:"family"`
	LastRevision int32  `json:"lastRevision"`
}

// TaskDefinitionKey is the key of one revision; zero padding keeps
// revisions of a family in numeric order.
func TaskDefinitionKey(family string, revision int32) string {
	return fmt.Sprintf("%s/%010d", family, revision)
}

// Index names.
const (
	// ByID indexes Instances by instance ID.
	ByID = "id"
	// ByHost indexes Tasks by the ID of the instance or Fargate capacity
	// they were placed on.
	ByHost = "host"
	// ByService indexes Tasks by the key of the service that started
	// them ("<cluster>/<service>").
	ByService = "service"
)

// InstanceRecord is a registered host: a container instance, or Fargate
// capacity. Its task counts and remaining resources are not stored: they
// are computed from the tasks placed on it.
type InstanceRecord struct {
	Instance ecs.ContainerInstance `json:"containerInstance"`
	ID       string                `json:"id"`
	Cluster  string                `json:"cluster,omitzero"` // cluster name; empty for Fargate capacity
	// TokenHash is the SHA-256 of the agent's instance token (hex).
	TokenHash string `json:"tokenHash"`
}

// TaskRecord is a task as ECS shows it, plus what placement reserved.
type TaskRecord struct {
	Task ecs.Task `json:"task"`
	// HostID is the instance or Fargate capacity the task was placed on.
	HostID  string                    `json:"hostId"`
	Size    ecs.TaskSize              `json:"size"`
	Ports   []string                  `json:"ports,omitzero"` // reserved host ports, "80/tcp"
	Network *ecs.NetworkConfiguration `json:"networkConfiguration,omitzero"`
	// Service is the key of the service that started the task, if any;
	// the task's startedBy names its deployment, as in ECS.
	Service string `json:"service,omitzero"`
}

// RequestStop asks the task to stop with code and reason, unless it has
// stopped or was asked already, and reports whether it changed. With its
// host gone no agent will ever report on it, so it is stopped at once.
func (r *TaskRecord) RequestStop(code ecs.TaskStopCode, reason string, now ecs.Timestamp, hostGone bool) bool {
	t := &r.Task
	if t.LastStatus == ecs.TaskStopped || t.DesiredStatus == ecs.TaskStopped && t.StopCode != "" {
		return false
	}
	t.DesiredStatus = ecs.TaskStopped
	t.StopCode, t.StoppedReason = code, reason
	if t.StoppingAt.IsZero() {
		t.StoppingAt = now
	}
	if hostGone {
		t.LastStatus, t.StoppedAt, t.ExecutionStoppedAt = ecs.TaskStopped, now, now
		for i := range t.Containers {
			t.Containers[i].LastStatus = ecs.TaskStopped
		}
	}
	t.Version++
	return true
}

// Holds reports whether the task still holds its host's resources: until
// it is STOPPED, as in ECS.
func (r *TaskRecord) Holds() bool { return r.Task.LastStatus != ecs.TaskStopped }

// ServiceRecord is a service as ECS shows it, less what is computed when
// read (runningCount, pendingCount and each deployment's counts), plus
// what the service controller needs to remember.
type ServiceRecord struct {
	// Service.Deployments are the PRIMARY deployment first, then the
	// ACTIVE ones still being replaced; Service.Events are newest first.
	Service ecs.Service `json:"service"`
	Cluster string      `json:"cluster"`
	// History is every deployment the service has had, newest first,
	// for ListServiceDeployments and DescribeServiceDeployments.
	History []ecs.ServiceDeployment `json:"history,omitzero"`
	// Completed is the last deployment that reached COMPLETED: where a
	// circuit breaker with rollback returns to.
	Completed *ecs.Deployment `json:"completed,omitzero"`
	// Rollbacks name the deployments the circuit breaker made to undo
	// others; a rollback shares the history entry of what it undoes.
	Rollbacks []RollbackRecord `json:"rollbacks,omitzero"`
}

// RollbackRecord says deployment Deployment rolls back deployment Of.
type RollbackRecord struct {
	Deployment string `json:"deployment"`
	Of         string `json:"of"`
}

// ServiceKey is the key of a service in the Services table and the value
// of the tasks' ByService index.
func ServiceKey(cluster, name string) string { return cluster + "/" + name }
