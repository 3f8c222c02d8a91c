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
}

// Holds reports whether the task still holds its host's resources: until
// it is STOPPED, as in ECS.
func (r *TaskRecord) Holds() bool { return r.Task.LastStatus != ecs.TaskStopped }
