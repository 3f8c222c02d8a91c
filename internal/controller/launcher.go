package controller

import (
	"context"

	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/store"
)

// Launcher starts a service's tasks the way RunTask starts tasks, through
// the scheduler; the api package implements it, since it owns how a task
// record is built from a task definition.
type Launcher interface {
	// LaunchServiceTasks places count tasks of the deployment dep of svc,
	// or, when hosts is set, one task on each of those instance IDs (a
	// DAEMON service). The tasks carry Service = the service's key,
	// startedBy = dep.Id and group "service:<name>". A cluster with no
	// instances is ErrNoInstances.
	LaunchServiceTasks(ctx context.Context, svc *store.ServiceRecord, dep *ecs.Deployment, count int, hosts []string) (*Result, error)
}
