package api

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/store"
)

const (
	maxDescribeServices    = 10
	defaultServicesPage    = 10
	defaultDeploymentsPage = 20
)

// taskCounts are a set of tasks' running and pending numbers as ECS shows
// them: RUNNING, and on their way there (PROVISIONING, PENDING,
// ACTIVATING).
type taskCounts struct{ running, pending int32 }

func (c *taskCounts) add(t *ecs.Task) {
	switch t.LastStatus {
	case ecs.TaskRunning:
		c.running++
	case ecs.TaskProvisioning, ecs.TaskPending, ecs.TaskActivating:
		c.pending++
	}
}

// serviceView is a service as a response shows it: counts computed from
// its tasks, for the service and for each deployment, and tags only when
// asked for.
func (a *API) serviceView(rec *store.ServiceRecord, withTags bool) *ecs.Service {
	v := rec.Service
	var total taskCounts
	byDep := map[string]*taskCounts{}
	live := map[string]int32{} // tasks of each deployment still running or on their way
	for _, it := range a.store.Tasks.By(store.ByService, store.ServiceKey(rec.Cluster, v.ServiceName)) {
		t := &it.Value.Task
		total.add(t)
		c := byDep[t.StartedBy]
		if c == nil {
			c = &taskCounts{}
			byDep[t.StartedBy] = c
		}
		c.add(t)
		if t.LastStatus != ecs.TaskStopped && t.DesiredStatus == ecs.TaskRunning {
			live[t.StartedBy]++
		}
	}
	v.RunningCount, v.PendingCount = total.running, total.pending
	v.Deployments = slices.Clone(v.Deployments)
	v.CurrentServiceRevisions = nil
	for i := range v.Deployments {
		d := &v.Deployments[i]
		c := cmp.Or(byDep[d.Id], &taskCounts{})
		d.RunningCount, d.PendingCount = c.running, c.pending
		if d.Status != deploymentPrimary {
			d.DesiredCount = live[d.Id]
		}
		v.CurrentServiceRevisions = append(v.CurrentServiceRevisions, ecs.ServiceCurrentRevisionSummary{
			Arn:                a.arns.ServiceRevision(rec.Cluster, v.ServiceName, d.Id),
			RequestedTaskCount: d.DesiredCount,
			RunningTaskCount:   d.RunningCount,
			PendingTaskCount:   d.PendingCount,
		})
	}
	v.Events = nonNil(v.Events)
	if !withTags {
		v.Tags = nil
	}
	return &v
}

// serviceRef resolves a service name or ARN within a cluster to its store
// key, and the ARN to report it by. ok is false for an ARN of another
// cluster or anything that cannot name a service.
func (a *API) serviceRef(cluster, ref string) (key, arn string, ok bool) {
	name := ref
	if strings.HasPrefix(ref, "arn:") {
		parsed, valid := ecs.ParseARN(ref)
		if !valid || parsed.Type != "service" {
			return "", ref, false
		}
		name = parsed.Resource
		if c, n, long := strings.Cut(parsed.Resource, "/"); long {
			if c != cluster {
				return "", ref, false
			}
			name = n
		}
	}
	if name == "" || strings.Contains(name, "/") {
		return "", ref, false
	}
	return store.ServiceKey(cluster, name), a.arns.Service(cluster, name), true
}

// findService finds a cluster's service by name or ARN, whatever its
// status; a missing one is ServiceNotFoundException.
func (a *API) findService(cluster, ref string) (*store.Item[store.ServiceRecord], error) {
	if ref == "" {
		return nil, invalidParameter("service is required.")
	}
	key, _, ok := a.serviceRef(cluster, ref)
	if !ok {
		return nil, serviceNotFound()
	}
	it, found := a.store.Services.Get(key)
	if !found {
		return nil, serviceNotFound()
	}
	return it, nil
}

// DescribeServices describes up to 10 services of a cluster; unknown ones
// come back as MISSING failures.
func (a *API) DescribeServices(ctx context.Context, req *ecs.DescribeServicesRequest) (*ecs.DescribeServicesResponse, error) {
	if len(req.Services) == 0 {
		return nil, invalidParameter("services must name at least one service.")
	}
	if len(req.Services) > maxDescribeServices {
		return nil, invalidParameter("services can name at most %d services, got %d.", maxDescribeServices, len(req.Services))
	}
	for i, f := range req.Include {
		if f != ecs.ServiceFieldTAGS {
			return nil, invalidParameter("include[%d] %q is not valid; use TAGS.", i, f)
		}
	}
	cl, err := a.activeCluster(req.Cluster)
	if err != nil {
		return nil, err
	}
	cluster := cl.Value.Cluster.ClusterName
	withTags := len(req.Include) > 0
	out := &ecs.DescribeServicesResponse{Services: []ecs.Service{}, Failures: []ecs.Failure{}}
	for _, ref := range req.Services {
		key, arn, ok := a.serviceRef(cluster, ref)
		it, found := a.store.Services.Get(key)
		if !ok || !found {
			out.Failures = append(out.Failures, ecs.Failure{Arn: arn, Reason: "MISSING"})
			continue
		}
		out.Services = append(out.Services, *a.serviceView(it.Value, withTags))
	}
	return out, nil
}

// ListServices lists a cluster's ACTIVE services in name order: ECS no
// longer lists a service once it is deleted (DRAINING).
func (a *API) ListServices(ctx context.Context, req *ecs.ListServicesRequest) (*ecs.ListServicesResponse, error) {
	p, err := parsePage("services", req.MaxResults, req.NextToken, defaultServicesPage)
	if err != nil {
		return nil, err
	}
	if req.LaunchType != "" && !slices.Contains(req.LaunchType.Values(), req.LaunchType) {
		return nil, invalidParameter("launchType: %q is not a valid launch type.", req.LaunchType)
	}
	if req.SchedulingStrategy != "" && !slices.Contains(req.SchedulingStrategy.Values(), req.SchedulingStrategy) {
		return nil, invalidParameter("schedulingStrategy: %q is not a valid scheduling strategy.", req.SchedulingStrategy)
	}
	if rm := req.ResourceManagementType; rm != "" && !slices.Contains(rm.Values(), rm) {
		return nil, invalidParameter("resourceManagementType: %q is not valid; use CUSTOMER or ECS.", rm)
	}
	cl, err := a.activeCluster(req.Cluster)
	if err != nil {
		return nil, err
	}
	prefix := cl.Value.Cluster.ClusterName + "/"
	c := collector{page: p}
	a.store.Services.Ascend(cmp.Or(p.after, prefix), func(it *store.Item[store.ServiceRecord]) bool {
		if !strings.HasPrefix(it.Key, prefix) {
			return false
		}
		s := &it.Value.Service
		if s.Status != statusActive ||
			req.LaunchType != "" && serviceLaunchType(s.LaunchType, s.CapacityProviderStrategy) != req.LaunchType ||
			req.SchedulingStrategy != "" && s.SchedulingStrategy != req.SchedulingStrategy ||
			req.ResourceManagementType == ecs.ResourceManagementTypeECS { // Gantry's services are all the customer's
			return true
		}
		return c.add(it.Key, s.ServiceArn)
	})
	return &ecs.ListServicesResponse{ServiceArns: nonNil(c.out), NextToken: c.next}, nil
}

// serviceLaunchType is the launch type a service or deployment launches
// with: its own, or the one its capacity provider strategy stands for.
func serviceLaunchType(lt ecs.LaunchType, strategy []ecs.CapacityProviderStrategyItem) ecs.LaunchType {
	if lt != "" {
		return lt
	}
	if lt, err := strategyLaunchType(strategy); err == nil {
		return lt
	}
	return ecs.LaunchTypeEC2
}
