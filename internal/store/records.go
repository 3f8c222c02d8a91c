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
