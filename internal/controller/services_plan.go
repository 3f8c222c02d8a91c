package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/placement"
	"github.com/gantry-dev/gantry/internal/reconcile"
	"github.com/gantry-dev/gantry/internal/store"
)

// reconcile looks at one service and carries out what reconcile.Next
// decides: stops first, then starts, then the service record.
func (c *Services) reconcile(ctx context.Context, key string) error {
	it, ok := c.opts.Store.Services.Get(key)
	if !ok || it.Value.Service.Status == statusInactive {
		return nil
	}
	rec := it.Value
	now := c.opts.Now()
	svc := c.serviceView(rec)
	tasks := c.taskViews(key)
	var instances []reconcile.Instance
	if svc.Daemon {
		instances = c.instanceViews(rec)
	}
	plan := reconcile.Next(now, svc, tasks, instances)
	var events []string
	if len(plan.Stop) > 0 {
		stopped, err := c.stopTasks(ctx, rec.Cluster, plan.Stop)
		if err != nil {
			return err
		}
		if len(stopped) > 0 {
			events = append(events, fmt.Sprintf("has stopped %d running tasks: %s.", len(stopped), taskList(stopped)))
		}
	}
	retry := false
	if plan.Start != nil {
		msgs, placed, err := c.start(ctx, rec, plan.Start)
		if err != nil {
			return err
		}
		events = append(events, msgs...)
		retry = !placed
	}
	events = append(events, plan.Events...)
	if err := c.record(ctx, key, plan, events, now); err != nil {
		return err
	}
	switch {
	case retry:
		c.markAt(key, now.Add(c.opts.RetryPlacement))
	case !plan.Wake.IsZero():
		c.markAt(key, plan.Wake)
	}
	return nil
}

const (
	statusActive   = "ACTIVE"
	statusDraining = "DRAINING"
	statusInactive = "INACTIVE"
)

// serviceView is what reconcile needs of a service record.
func (c *Services) serviceView(rec *store.ServiceRecord) *reconcile.Service {
	s := &rec.Service
	v := &reconcile.Service{
		Name:              s.ServiceName,
		Daemon:            s.SchedulingStrategy == ecs.SchedulingStrategyDAEMON,
		Desired:           int(s.DesiredCount),
		Deleting:          s.Status == statusDraining,
		MinHealthyPercent: 100,
		MaxPercent:        200,
	}
	if v.Daemon {
		v.MinHealthyPercent, v.MaxPercent = 0, 100
	}
	if dc := s.DeploymentConfiguration; dc != nil {
		if dc.MinimumHealthyPercent != nil {
			v.MinHealthyPercent = int(*dc.MinimumHealthyPercent)
		}
		if dc.MaximumPercent != nil {
			v.MaxPercent = int(*dc.MaximumPercent)
		}
		if cb := dc.DeploymentCircuitBreaker; cb != nil {
			v.CircuitBreaker, v.Rollback = cb.Enable, cb.Rollback
		}
	}
	if s.HealthCheckGracePeriodSeconds != nil {
		v.GracePeriod = time.Duration(*s.HealthCheckGracePeriodSeconds) * time.Second
	}
	v.CanRollBack = rec.Completed != nil && len(s.Deployments) > 0 && rec.Completed.Id != s.Deployments[0].Id
	for _, d := range s.Deployments {
		v.Deployments = append(v.Deployments, reconcile.Deployment{
			ID: d.Id, State: d.RolloutState, HealthCheck: c.hasHealthCheck(d.TaskDefinition),
		})
	}
	return v
}

// hasHealthCheck reports whether an essential container of the task
// definition has a health check.
func (c *Services) hasHealthCheck(arn string) bool {
	td := c.taskDefinition(arn)
	if td == nil {
		return false
	}
	for _, cd := range td.ContainerDefinitions {
		if cd.HealthCheck != nil && (cd.Essential == nil || *cd.Essential) {
			return true
		}
	}
	return false
}

func (c *Services) taskDefinition(arn string) *ecs.TaskDefinition {
	a, ok := ecs.ParseARN(arn)
	if !ok {
		return nil
	}
	family, rev, _ := strings.Cut(a.Resource, ":")
	n, err := strconv.ParseInt(rev, 10, 32)
	if err != nil {
		return nil
	}
	it, ok := c.opts.Store.TaskDefinitions.Get(store.TaskDefinitionKey(family, int32(n)))
	if !ok {
		return nil
	}
	return &it.Value.TaskDefinition
}

// taskViews are the service's tasks as reconcile sees them.
func (c *Services) taskViews(key string) []reconcile.Task {
	items := c.opts.Store.Tasks.By(store.ByService, key)
	draining := map[string]bool{}
	out := make([]reconcile.Task, 0, len(items))
	for _, it := range items {
		r := it.Value
		t := &r.Task
		d, seen := draining[r.HostID]
		if !seen {
			in := c.instance(r.HostID)
			d = in != nil && in.Value.Instance.Status == statusDraining
			draining[r.HostID] = d
		}
		out = append(out, reconcile.Task{
			ID: taskID(t.TaskArn), Deployment: t.StartedBy, Instance: r.HostID, Zone: t.AvailabilityZone,
			Last: t.LastStatus, Desired: t.DesiredStatus, Health: t.HealthStatus,
			StopCode: t.StopCode, Reason: t.StoppedReason,
			CreatedAt: t.CreatedAt.Time, StartedAt: t.StartedAt.Time, StoppedAt: t.StoppedAt.Time,
			Draining: d,
		})
	}
	return out
}

func (c *Services) instance(id string) *store.Item[store.InstanceRecord] {
	items := c.opts.Store.Instances.By(store.ByID, id)
	if len(items) == 0 {
		return nil
	}
	return items[0]
}

// instanceViews are the cluster's instances a DAEMON service may run on.
func (c *Services) instanceViews(rec *store.ServiceRecord) []reconcile.Instance {
	var exprs []*placement.Expression
	constraints := slices.Clone(rec.Service.PlacementConstraints)
	if len(rec.Service.Deployments) > 0 {
		if td := c.taskDefinition(rec.Service.Deployments[0].TaskDefinition); td != nil {
			for _, pc := range td.PlacementConstraints {
				constraints = append(constraints, ecs.PlacementConstraint{Type: ecs.PlacementConstraintType(pc.Type), Expression: pc.Expression})
			}
		}
	}
	for _, pc := range constraints {
		if pc.Type != ecs.PlacementConstraintTypeMemberOf {
			continue
		}
		if e, err := placement.ParseExpression(pc.Expression); err == nil {
			exprs = append(exprs, e)
		}
	}
	var out []reconcile.Instance
	c.opts.Store.Instances.Ascend(rec.Cluster+"/", func(it *store.Item[store.InstanceRecord]) bool {
		if it.Value.Cluster != rec.Cluster {
			return false
		}
		ci := &it.Value.Instance
		var h placement.Host
		h.Describe(ci)
		ok := ci.Status == statusActive && ci.AgentConnected
		for _, e := range exprs {
			ok = ok && e.Match(&h)
		}
		out = append(out, reconcile.Instance{ID: it.Value.ID, Zone: h.Attributes["ecs.availability-zone"], Eligible: ok})
		return true
	})
	return out
}

// stopTasks asks the service's tasks to stop, in one transaction, and
// returns the IDs it stopped. A task that changed meanwhile is left for
// the next pass, which sees its new state.
func (c *Services) stopTasks(ctx context.Context, cluster string, stops []reconcile.Stop) ([]string, error) {
	now := ecs.At(c.opts.Now())
	var writes []store.Write
	var ids []string
	for _, s := range stops {
		key := cluster + "/" + s.Task
		it, ok := c.opts.Store.Tasks.Get(key)
		if !ok {
			continue
		}
		rec, err := store.Clone(it.Value)
		if err != nil {
			return nil, err
		}
		if !rec.RequestStop(ecs.TaskStopCodeServiceSchedulerInitiated, s.Reason, now, c.opts.Store.HostGone(rec.HostID)) {
			continue
		}
		writes = append(writes, c.opts.Store.Tasks.Replace(key, rec, it.ModRevision))
		ids = append(ids, s.Task)
	}
	if len(writes) == 0 {
		return nil, nil
	}
	if _, err := c.opts.Store.Commit(ctx, writes...); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, nil // a task moved on; the watch marks the service again
		}
		return nil, err
	}
	return ids, nil
}

// start launches the tasks the plan asks for and returns the events that
// tell what happened, and whether every task was placed.
func (c *Services) start(ctx context.Context, rec *store.ServiceRecord, s *reconcile.Start) ([]string, bool, error) {
	i := slices.IndexFunc(rec.Service.Deployments, func(d ecs.Deployment) bool { return d.Id == s.Deployment })
	if i < 0 {
		return nil, true, nil
	}
	res, err := c.opts.Launcher.LaunchServiceTasks(ctx, rec, &rec.Service.Deployments[i], s.Count, s.Instances)
	switch {
	case errors.Is(err, ErrNoInstances):
		return []string{unplaceable + " Reason: No Container Instances were found in your cluster. " + troubleshooting}, false, nil
	case err != nil && ctx.Err() != nil:
		return nil, false, err
	case err != nil:
		// The launch itself was refused (say, the task definition is gone):
		// tell the user, and try again later.
		c.log.Warn("launch service tasks", "service", rec.Service.ServiceName, "err", err)
		return []string{"was unable to place a task. Reason: " + err.Error()}, false, nil
	}
	var msgs []string
	if len(res.Tasks) > 0 {
		ids := make([]string, len(res.Tasks))
		for i, t := range res.Tasks {
			ids[i] = taskID(t.Task.TaskArn)
		}
		msgs = append(msgs, fmt.Sprintf("has started %d tasks: %s.", len(ids), taskList(ids)))
	}
	if len(res.Failures) > 0 {
		msgs = append(msgs, placementEvent(res.Failures))
	}
	return msgs, len(res.Failures) == 0, nil
}

const (
	unplaceable     = "was unable to place a task because no container instance met all of its requirements."
	troubleshooting = "For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."
)

// placementEvent explains a failed placement as ECS does: by the closest
// matching instance and what it lacked.
func placementEvent(failures []placement.Failure) string {
	f := failures[0]
	id := f.ARN
	if a, ok := ecs.ParseARN(f.ARN); ok {
		id = a.Resource[strings.LastIndex(a.Resource, "/")+1:]
	}
	var why string
	switch f.Reason {
	case placement.ReasonCPU:
		why = "has insufficient CPU units available."
	case placement.ReasonMemory:
		why = "has insufficient memory available."
	case placement.ReasonPorts:
		why = "is already using a port required by your task."
	case placement.ReasonAttribute:
		why = "is missing an attribute required by your task."
	case ReasonFargate:
		return unplaceable + " Reason: no Fargate capacity is connected or has room. " + troubleshooting
	default:
		why = fmt.Sprintf("encountered error %q.", f.Reason)
	}
	return fmt.Sprintf("%s The closest matching (container-instance %s) %s %s", unplaceable, id, why, troubleshooting)
}

func taskID(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

func taskList(ids []string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = "(task " + id + ")"
	}
	return strings.Join(parts, " ")
}
