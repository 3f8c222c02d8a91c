package reconcile

import (
	"time"

	"github.com/gantry-dev/gantry/internal/ecs"
)

// Timing the scheduler applies, as ECS documents it.
const (
	// WarmUp is how long a task without a container health check must be
	// RUNNING before it counts as healthy.
	WarmUp = 40 * time.Second
	// FirstBackoff is the delay after a task fails to start; it doubles
	// with each consecutive failure up to MaxBackoff.
	FirstBackoff = 5 * time.Second
	MaxBackoff   = 15 * time.Minute
)

// ReasonUnhealthy is the stoppedReason of a task the scheduler stops
// because its container health check failed; such a stop is a failure.
const ReasonUnhealthy = "Task failed container health checks"

// Service is what the scheduler knows of one service.
type Service struct {
	Name    string
	Daemon  bool
	Desired int // REPLICA only; a DAEMON service wants one task per eligible instance
	// Deleting is a DRAINING service: every task stops.
	Deleting bool
	// MinHealthyPercent and MaxPercent bound a rollout.
	MinHealthyPercent, MaxPercent int
	CircuitBreaker, Rollback      bool
	// CanRollBack tells whether a COMPLETED deployment exists to return to.
	CanRollBack bool
	GracePeriod time.Duration
	// Deployments are the PRIMARY first, then the ACTIVE ones.
	Deployments []Deployment
}

// Deployment is one version of the service being rolled out or replaced.
type Deployment struct {
	ID    string
	State ecs.DeploymentRolloutState
	// HealthCheck is whether an essential container of its task
	// definition has a health check: its tasks are then healthy only when
	// the check says so, else after WarmUp.
	HealthCheck bool
}

// Task is one task the service started.
type Task struct {
	ID         string
	Deployment string // its startedBy
	Instance   string // container instance ID
	Zone       string
	Last       string // lastStatus
	Desired    string // desiredStatus
	Health     ecs.HealthStatus
	StopCode   ecs.TaskStopCode
	Reason     string // stoppedReason
	CreatedAt  time.Time
	StartedAt  time.Time // zero until it reached RUNNING
	StoppedAt  time.Time
	// Draining is whether its container instance is DRAINING.
	Draining bool
}

// Instance is a container instance a DAEMON service may run on.
type Instance struct {
	ID   string
	Zone string
	// Eligible: ACTIVE, its agent connected, and meeting the service's
	// placement constraints.
	Eligible bool
}

// Plan is what the scheduler does next.
type Plan struct {
	// Start asks for new tasks of the PRIMARY deployment.
	Start *Start
	Stop  []Stop
	// Rollouts are deployments whose rolloutState changes.
	Rollouts []Rollout
	// Drop are non-PRIMARY deployments with no tasks left: they leave
	// the service's deployment list.
	Drop []string
	// RollBack asks for a new PRIMARY deployment of the last COMPLETED one,
	// after the circuit breaker failed the current one.
	RollBack bool
	// Desired is the desired count a DAEMON service now has.
	Desired int
	// FailedTasks counts each deployment's failed tasks.
	FailedTasks map[string]int
	// Events are messages for the service's event list, without the
	// "(service NAME) " prefix.
	Events []string
	// Steady: one deployment, COMPLETED, with exactly the desired count
	// RUNNING.
	Steady bool
	// Inactive: a deleted service whose tasks have all stopped.
	Inactive bool
	// Wake is when the plan may change with nothing else changing (a
	// grace period or warm-up ending, a back-off elapsing); zero if never.
	Wake time.Time
}

// Start is a request for tasks of one deployment.
type Start struct {
	Deployment string
	Count      int
	// Instances, for a DAEMON service: one task on each.
	Instances []string
}

// Stop is a task to stop and why (its stoppedReason).
type Stop struct {
	Task   string
	Reason string
}

// Rollout is a deployment's new rolloutState.
type Rollout struct {
	Deployment string
	State      ecs.DeploymentRolloutState
	Reason     string
}
