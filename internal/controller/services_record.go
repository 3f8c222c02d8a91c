package controller

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/reconcile"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/google/uuid"
)

// Service event bookkeeping, as ECS keeps it.
const (
	maxEvents = 100
	// eventRepeat is how long an identical message is held back while its
	// cause persists.
	eventRepeat = 6 * time.Hour
	maxHistory  = 100
	steadyEvent = "has reached a steady state."
)

// errUnchanged tells Update that a plan changes nothing in the record.
var errUnchanged = errors.New("unchanged")

// record writes what the plan changed about the service: rollout states,
// deployments dropped or rolled back, counts, events, and its status.
func (c *Services) record(ctx context.Context, key string, plan *reconcile.Plan, events []string, now time.Time) error {
	_, err := c.opts.Store.Services.Update(ctx, key, func(rec *store.ServiceRecord) error {
		changed := c.applyPlan(rec, plan, now)
		for _, msg := range events {
			changed = addEvent(&rec.Service, "(service "+rec.Service.ServiceName+") "+msg, now) || changed
		}
		// The rollback comes after the failure that caused it is told.
		if plan.RollBack && rec.Completed != nil && !plan.Inactive {
			c.rollBack(rec, ecs.At(now))
			changed = true
		}
		if !changed {
			return errUnchanged
		}
		return nil
	})
	if errors.Is(err, errUnchanged) || errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// applyPlan changes rec as the plan says and reports whether it did.
func (c *Services) applyPlan(rec *store.ServiceRecord, plan *reconcile.Plan, now time.Time) bool {
	s := &rec.Service
	at := ecs.At(now)
	changed := false
	if plan.Inactive && s.Status != statusInactive {
		s.Status, changed = statusInactive, true
		s.Deployments = nil
		for i := range rec.History {
			if h := &rec.History[i]; h.Status == ecs.ServiceDeploymentStatusINPROGRESS {
				h.Status, h.StatusReason, h.StoppedAt, h.UpdatedAt = ecs.ServiceDeploymentStatusSTOPPED, "The service was deleted.", at, at
			}
		}
		return true
	}
	if s.SchedulingStrategy == ecs.SchedulingStrategyDAEMON && int32(plan.Desired) != s.DesiredCount {
		s.DesiredCount, changed = int32(plan.Desired), true
	}
	for i := range s.Deployments {
		d := &s.Deployments[i]
		if n := int32(plan.FailedTasks[d.Id]); n != d.FailedTasks {
			d.FailedTasks, d.UpdatedAt, changed = n, at, true
		}
		if i == 0 && d.DesiredCount != s.DesiredCount {
			d.DesiredCount, d.UpdatedAt, changed = s.DesiredCount, at, true
		}
		if h := c.history(rec, d.Id); h != nil && h.DeploymentCircuitBreaker != nil && h.DeploymentCircuitBreaker.FailureCount != d.FailedTasks {
			h.DeploymentCircuitBreaker.FailureCount, h.UpdatedAt = d.FailedTasks, at
		}
	}
	for _, r := range plan.Rollouts {
		i := slices.IndexFunc(s.Deployments, func(d ecs.Deployment) bool { return d.Id == r.Deployment })
		if i < 0 || s.Deployments[i].RolloutState == r.State {
			continue
		}
		d := &s.Deployments[i]
		d.RolloutState, d.RolloutStateReason, d.UpdatedAt, changed = r.State, r.Reason, at, true
		c.historyRollout(rec, d, at)
		if r.State == ecs.DeploymentRolloutStateCOMPLETED {
			done := *d
			rec.Completed = &done
		}
	}
	if len(plan.Drop) > 0 {
		s.Deployments = slices.DeleteFunc(s.Deployments, func(d ecs.Deployment) bool {
			return d.Status != "PRIMARY" && slices.Contains(plan.Drop, d.Id)
		})
		changed = true
	}
	return changed
}

// rollBack makes a new PRIMARY deployment of the last COMPLETED one.
func (c *Services) rollBack(rec *store.ServiceRecord, at ecs.Timestamp) {
	s := &rec.Service
	failed := s.Deployments[0].Id
	d := *rec.Completed
	d.Id = ecs.NewDeploymentID()
	d.Status = "PRIMARY"
	d.DesiredCount, d.PendingCount, d.RunningCount, d.FailedTasks = s.DesiredCount, 0, 0, 0
	d.CreatedAt, d.UpdatedAt = at, at
	d.RolloutState = ecs.DeploymentRolloutStateINPROGRESS
	d.RolloutStateReason = "ECS deployment circuit breaker: rolling back to deploymentId " + rec.Completed.Id + "."
	for i := range s.Deployments {
		s.Deployments[i].Status = "ACTIVE"
	}
	s.Deployments = append([]ecs.Deployment{d}, s.Deployments...)
	s.TaskDefinition = d.TaskDefinition
	// The failed deployment's history entry follows the rollback, as ECS
	// records a rollback within the deployment it undoes.
	if h := c.history(rec, failed); h != nil {
		h.Status = ecs.ServiceDeploymentStatusROLLBACKINPROGRESS
		h.StatusReason = "Circuit breaker triggered: rolling back to deployment " + rec.Completed.Id + "."
		h.Rollback = &ecs.Rollback{Reason: h.StatusReason, StartedAt: at,
			ServiceRevisionArn: c.opts.ARNs.ServiceRevision(rec.Cluster, s.ServiceName, rec.Completed.Id)}
		h.UpdatedAt = at
		rec.Rollbacks = append(rec.Rollbacks, store.RollbackRecord{Deployment: d.Id, Of: failed})
	}
	addEvent(s, "(service "+s.ServiceName+") rolling back to deployment "+rec.Completed.Id+".", at.Time)
}

// history finds the history entry of a deployment: its own, or, for a
// rollback, the one of the deployment it undoes.
func (c *Services) history(rec *store.ServiceRecord, deployment string) *ecs.ServiceDeployment {
	for _, r := range rec.Rollbacks {
		if r.Deployment == deployment {
			deployment = r.Of
		}
	}
	arn := c.opts.ARNs.ServiceDeployment(rec.Cluster, rec.Service.ServiceName, deployment)
	for i := range rec.History {
		if rec.History[i].ServiceDeploymentArn == arn {
			return &rec.History[i]
		}
	}
	return nil
}

// historyRollout records a deployment's new rollout state in its history
// entry.
func (c *Services) historyRollout(rec *store.ServiceRecord, d *ecs.Deployment, at ecs.Timestamp) {
	h := c.history(rec, d.Id)
	if h == nil {
		return
	}
	rollback := h.Status == ecs.ServiceDeploymentStatusROLLBACKINPROGRESS
	switch d.RolloutState {
	case ecs.DeploymentRolloutStateCOMPLETED:
		h.Status, h.StatusReason = ecs.ServiceDeploymentStatusSUCCESSFUL, "Service deployment completed."
		if rollback {
			h.Status, h.StatusReason = ecs.ServiceDeploymentStatusROLLBACKSUCCESSFUL, "Rolled back to the last completed deployment."
		}
		h.FinishedAt = at
	case ecs.DeploymentRolloutStateFAILED:
		h.StatusReason = d.RolloutStateReason
		if rollback {
			h.Status = ecs.ServiceDeploymentStatusROLLBACKFAILED
			h.FinishedAt = at
		} else if h.Status == ecs.ServiceDeploymentStatusINPROGRESS {
			h.Status, h.StoppedAt = ecs.ServiceDeploymentStatusSTOPPED, at
		}
		if h.DeploymentCircuitBreaker != nil {
			h.DeploymentCircuitBreaker.Status = ecs.ServiceDeploymentRollbackMonitorsStatusTRIGGERED
		}
	}
	h.UpdatedAt = at
}

// addEvent puts msg first in the service's events unless ECS would hold
// it back: a steady state already told with nothing since, or any other
// message told since the last steady state, within eventRepeat.
func addEvent(s *ecs.Service, msg string, now time.Time) bool {
	for _, e := range s.Events {
		if now.Sub(e.CreatedAt.Time) >= eventRepeat {
			break
		}
		if e.Message == msg {
			return false
		}
		if strings.HasSuffix(msg, steadyEvent) || strings.HasSuffix(e.Message, steadyEvent) {
			break
		}
	}
	s.Events = slices.Insert(s.Events, 0, ecs.ServiceEvent{Id: uuid.NewString(), CreatedAt: ecs.At(now), Message: msg})
	if len(s.Events) > maxEvents {
		s.Events = s.Events[:maxEvents]
	}
	return true
}
