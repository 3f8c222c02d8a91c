package api

import (
	"context"
	"slices"
	"strings"

	"github.com/gantry-dev/gantry/internal/controller"
	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/placement"
	"github.com/gantry-dev/gantry/internal/store"
)

const maxDescribeDeployments = 20

// ListServiceDeployments lists a service's deployments, newest first,
// filtered by status and creation time. A deleted (INACTIVE) service's
// deployments are gone, as ECS deletes them with the service.
func (a *API) ListServiceDeployments(ctx context.Context, req *ecs.ListServiceDeploymentsRequest) (*ecs.ListServiceDeploymentsResponse, error) {
	p, err := parsePage("serviceDeployments", req.MaxResults, req.NextToken, defaultDeploymentsPage)
	if err != nil {
		return nil, err
	}
	for i, st := range req.Status {
		if !slices.Contains(st.Values(), st) {
			return nil, invalidParameter("status[%d]: %q is not a valid service deployment status.", i, st)
		}
	}
	cl, err := a.activeCluster(req.Cluster)
	if err != nil {
		return nil, err
	}
	it, err := a.findService(cl.Value.Cluster.ClusterName, req.Service)
	if err != nil {
		return nil, err
	}
	var history []ecs.ServiceDeployment
	if it.Value.Service.Status != statusInactive {
		history = it.Value.History
	}
	start := 0
	if p.after != "" {
		i := slices.IndexFunc(history, func(sd ecs.ServiceDeployment) bool { return sd.ServiceDeploymentArn == p.after })
		if i < 0 {
			return nil, invalidParameter("Invalid nextToken.")
		}
		start = i + 1
	}
	c := collector{page: page{list: p.list, max: p.max}}
	for _, sd := range history[start:] {
		if !deploymentMatches(&sd, req) {
			continue
		}
		if !c.add(sd.ServiceDeploymentArn, sd.ServiceDeploymentArn) {
			break
		}
	}
	out := &ecs.ListServiceDeploymentsResponse{ServiceDeployments: []ecs.ServiceDeploymentBrief{}, NextToken: c.next}
	for _, arn := range c.out {
		i := slices.IndexFunc(history, func(sd ecs.ServiceDeployment) bool { return sd.ServiceDeploymentArn == arn })
		out.ServiceDeployments = append(out.ServiceDeployments, brief(&history[i]))
	}
	return out, nil
}

func deploymentMatches(sd *ecs.ServiceDeployment, req *ecs.ListServiceDeploymentsRequest) bool {
	if len(req.Status) > 0 && !slices.Contains(req.Status, sd.Status) {
		return false
	}
	if f := req.CreatedAt; f != nil {
		if !f.Before.IsZero() && !sd.CreatedAt.Before(f.Before.Time) ||
			!f.After.IsZero() && !sd.CreatedAt.After(f.After.Time) {
			return false
		}
	}
	return true
}

func brief(sd *ecs.ServiceDeployment) ecs.ServiceDeploymentBrief {
	b := ecs.ServiceDeploymentBrief{
		ServiceDeploymentArn: sd.ServiceDeploymentArn,
		ServiceArn:           sd.ServiceArn,
		ClusterArn:           sd.ClusterArn,
		StartedAt:            sd.StartedAt,
		CreatedAt:            sd.CreatedAt,
		FinishedAt:           sd.FinishedAt,
		Status:               sd.Status,
		StatusReason:         sd.StatusReason,
	}
	if sd.TargetServiceRevision != nil {
		b.TargetServiceRevisionArn = sd.TargetServiceRevision.Arn
	}
	return b
}

// DescribeServiceDeployments describes up to 20 service deployments by
// ARN; unknown ones come back as MISSING failures.
func (a *API) DescribeServiceDeployments(ctx context.Context, req *ecs.DescribeServiceDeploymentsRequest) (*ecs.DescribeServiceDeploymentsResponse, error) {
	if len(req.ServiceDeploymentArns) == 0 {
		return nil, invalidParameter("serviceDeploymentArns must name at least one service deployment.")
	}
	if len(req.ServiceDeploymentArns) > maxDescribeDeployments {
		return nil, invalidParameter("serviceDeploymentArns can name at most %d service deployments, got %d.", maxDescribeDeployments, len(req.ServiceDeploymentArns))
	}
	out := &ecs.DescribeServiceDeploymentsResponse{ServiceDeployments: []ecs.ServiceDeployment{}, Failures: []ecs.Failure{}}
	for _, arn := range req.ServiceDeploymentArns {
		if sd := a.findServiceDeployment(arn); sd != nil {
			out.ServiceDeployments = append(out.ServiceDeployments, *sd)
			continue
		}
		out.Failures = append(out.Failures, ecs.Failure{Arn: arn, Reason: "MISSING"})
	}
	return out, nil
}

// findServiceDeployment finds a service deployment by its ARN,
// "service-deployment/<cluster>/<service>/<id>"; nil when there is none.
func (a *API) findServiceDeployment(arn string) *ecs.ServiceDeployment {
	parsed, ok := ecs.ParseARN(arn)
	if !ok || parsed.Type != "service-deployment" {
		return nil
	}
	parts := strings.Split(parsed.Resource, "/")
	if len(parts) != 3 {
		return nil
	}
	it, ok := a.store.Services.Get(store.ServiceKey(parts[0], parts[1]))
	if !ok || it.Value.Service.Status == statusInactive {
		return nil
	}
	for i := range it.Value.History {
		if it.Value.History[i].ServiceDeploymentArn == arn {
			return &it.Value.History[i]
		}
	}
	return nil
}

// The placement ECS gives a REPLICA service on EC2 without strategies:
// balanced across Availability Zones, then across instances.
var defaultServiceStrategies = []placement.Strategy{
	{Type: placement.StrategySpread, Field: "attribute:ecs.availability-zone"},
	{Type: placement.StrategySpread, Field: "instanceId"},
}

var _ controller.Launcher = (*API)(nil)

// LaunchServiceTasks starts count tasks of one of a service's deployments
// through the scheduler, as RunTask would, or one on each of hosts for a
// DAEMON service. The task definition may since have been deregistered:
// a service keeps running the revision it was given.
func (a *API) LaunchServiceTasks(ctx context.Context, svc *store.ServiceRecord, dep *ecs.Deployment, count int, hosts []string) (*controller.Result, error) {
	s := &svc.Service
	lt := serviceLaunchType(dep.LaunchType, dep.CapacityProviderStrategy)
	l, err := a.resolveLaunch(svc.Cluster, lt, taskParams{
		taskDefinition: dep.TaskDefinition, network: dep.NetworkConfiguration,
		group: "service:" + s.ServiceName, startedBy: dep.Id, execute: s.EnableExecuteCommand,
		service: true, inactive: true,
	})
	if err != nil {
		return nil, err
	}
	l.service = store.ServiceKey(svc.Cluster, s.ServiceName)
	switch s.PropagateTags {
	case ecs.PropagateTagsSERVICE:
		l.tags = mergeTags(nil, s.Tags)
	case ecs.PropagateTagsTASKDEFINITION:
		l.tags = mergeTags(nil, l.tdTags)
	}
	if s.EnableECSManagedTags {
		l.tags = mergeTags(l.tags, []ecs.Tag{
			{Key: "aws:ecs:clusterName", Value: svc.Cluster},
			{Key: "aws:ecs:serviceName", Value: s.ServiceName},
		})
	}
	req, err := placementRequest(l, lt, s.PlacementConstraints, s.PlacementStrategy)
	if err != nil {
		return nil, err
	}
	if len(req.Strategies) == 0 && lt == ecs.LaunchTypeEC2 && s.SchedulingStrategy != ecs.SchedulingStrategyDAEMON {
		req.Strategies = defaultServiceStrategies
	}
	req.Count = count
	return a.schedule(ctx, l, &controller.Placement{Request: req, Hosts: hosts})
}
