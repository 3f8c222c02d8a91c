package api

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/store"
)

// UpdateService changes an ACTIVE service. Changing what its tasks run
// (task definition, network configuration, platform version, load
// balancers, service registries, Service Connect, volumes, VPC Lattice)
// or forceNewDeployment starts a new PRIMARY deployment; the rest, such
// as desiredCount or placement, change the service in place.
func (a *API) UpdateService(ctx context.Context, req *ecs.UpdateServiceRequest) (*ecs.UpdateServiceResponse, error) {
	cl, err := a.activeCluster(req.Cluster)
	if err != nil {
		return nil, err
	}
	it, err := a.findService(cl.Value.Cluster.ClusterName, req.Service)
	if err != nil {
		return nil, err
	}
	rec, err := a.store.Services.Update(ctx, it.Key, func(rec *store.ServiceRecord) error {
		return a.applyUpdate(&cl.Value.Cluster, rec, req)
	})
	if err == store.ErrNotFound {
		return nil, serviceNotFound()
	}
	if err != nil {
		return nil, wireError(err)
	}
	return &ecs.UpdateServiceResponse{Service: a.serviceView(rec, true)}, nil
}

// applyUpdate checks an UpdateService request against the service as it
// is and applies it. It runs again on a conflict, so it only reads.
func (a *API) applyUpdate(cl *ecs.Cluster, rec *store.ServiceRecord, req *ecs.UpdateServiceRequest) error {
	s := &rec.Service
	if s.Status != statusActive {
		return serviceNotActive()
	}
	daemon := s.SchedulingStrategy == ecs.SchedulingStrategyDAEMON
	if err := checkUpdateCounts(req, daemon); err != nil {
		return err
	}
	if err := checkController(req.DeploymentController); err != nil {
		return err
	}
	lt, launchType, strategy, err := updateCapacity(cl, s, req.CapacityProviderStrategy, daemon)
	if err != nil {
		return err
	}
	network := s.NetworkConfiguration
	if req.NetworkConfiguration != nil {
		network = normalNetwork(req.NetworkConfiguration)
	}
	l, err := a.resolveLaunch(rec.Cluster, lt, taskParams{
		taskDefinition: cmp.Or(req.TaskDefinition, s.TaskDefinition), network: network,
		group: "service:" + s.ServiceName, service: true, inactive: req.TaskDefinition == "",
	})
	if err != nil {
		return err
	}
	constraints, strategies := s.PlacementConstraints, s.PlacementStrategy
	if req.PlacementConstraints != nil {
		constraints = req.PlacementConstraints
	}
	if req.PlacementStrategy != nil {
		strategies = req.PlacementStrategy
	}
	if _, err := placementRequest(l, lt, constraints, strategies); err != nil {
		return err
	}
	pv := req.PlatformVersion
	if pv == "" && lt == ecs.LaunchTypeFARGATE {
		pv = s.PlatformVersion
	}
	platform, err := checkPlatform(lt, pv)
	if err != nil {
		return err
	}
	cfg, err := deploymentConfig(s.DeploymentConfiguration, req.DeploymentConfiguration, daemon)
	if err != nil {
		return err
	}
	if err := checkServiceOptions(nil, req.PropagateTags, req.AvailabilityZoneRebalancing, req.HealthCheckGracePeriodSeconds); err != nil {
		return err
	}

	primary := primaryDeployment(s)
	deploy := req.ForceNewDeployment ||
		l.td.TaskDefinitionArn != s.TaskDefinition ||
		req.NetworkConfiguration != nil && !sameJSON(network, s.NetworkConfiguration) ||
		req.PlatformVersion != "" && platform != s.PlatformVersion ||
		req.LoadBalancers != nil && !sameJSON(req.LoadBalancers, nonNil(s.LoadBalancers)) ||
		req.ServiceRegistries != nil && !sameJSON(req.ServiceRegistries, nonNil(s.ServiceRegistries)) ||
		req.ServiceConnectConfiguration != nil ||
		req.VolumeConfigurations != nil && !sameJSON(req.VolumeConfigurations, primary.VolumeConfigurations) ||
		req.VpcLatticeConfigurations != nil && !sameJSON(req.VpcLatticeConfigurations, primary.VpcLatticeConfigurations)

	if req.DesiredCount != nil {
		s.DesiredCount = *req.DesiredCount
		primary.DesiredCount = s.DesiredCount
		if len(rec.History) > 0 && rec.History[0].Status == ecs.ServiceDeploymentStatusINPROGRESS && rec.History[0].TargetServiceRevision != nil {
			rec.History[0].TargetServiceRevision.RequestedTaskCount = s.DesiredCount
		}
	}
	s.TaskDefinition = l.td.TaskDefinitionArn
	s.NetworkConfiguration = network
	s.LaunchType, s.CapacityProviderStrategy = launchType, strategy
	s.PlatformVersion, s.PlatformFamily = platform, ""
	if lt == ecs.LaunchTypeFARGATE {
		s.PlatformFamily = platformFamily
	}
	s.PlacementConstraints, s.PlacementStrategy = nonNil(constraints), nonNil(strategies)
	s.DeploymentConfiguration = cfg
	s.HealthCheckGracePeriodSeconds = cmp.Or(req.HealthCheckGracePeriodSeconds, s.HealthCheckGracePeriodSeconds)
	if req.EnableExecuteCommand != nil {
		s.EnableExecuteCommand = *req.EnableExecuteCommand
	}
	if req.EnableECSManagedTags != nil {
		s.EnableECSManagedTags = *req.EnableECSManagedTags
	}
	if req.LoadBalancers != nil {
		s.LoadBalancers = req.LoadBalancers
	}
	if req.ServiceRegistries != nil {
		s.ServiceRegistries = req.ServiceRegistries
	}
	s.PropagateTags = cmp.Or(req.PropagateTags, s.PropagateTags)
	s.AvailabilityZoneRebalancing = cmp.Or(req.AvailabilityZoneRebalancing, s.AvailabilityZoneRebalancing)
	if deploy {
		a.redeploy(rec, primary, req)
	}
	return nil
}

func checkUpdateCounts(req *ecs.UpdateServiceRequest, daemon bool) error {
	switch {
	case req.DesiredCount != nil && daemon:
		return invalidParameter("The daemon scheduling strategy does not support a desired count for services. Remove the desired count value and try again.")
	case req.DesiredCount != nil && *req.DesiredCount < 0:
		return invalidParameter("desiredCount must not be negative, got %d.", *req.DesiredCount)
	case daemon && len(req.PlacementStrategy) > 0:
		return invalidParameter("The daemon scheduling strategy does not support placement strategies. Remove the placement strategy and try again.")
	}
	return nil
}

// updateCapacity applies a new capacity provider strategy, if given: it
// returns the launch type the service's tasks now use and what the
// service shows of it.
func updateCapacity(cl *ecs.Cluster, s *ecs.Service, given []ecs.CapacityProviderStrategyItem, daemon bool) (ecs.LaunchType, ecs.LaunchType, []ecs.CapacityProviderStrategyItem, error) {
	if given == nil {
		return serviceLaunchType(s.LaunchType, s.CapacityProviderStrategy), s.LaunchType, s.CapacityProviderStrategy, nil
	}
	if daemon {
		return "", "", nil, invalidParameter("Specifying a capacity provider strategy is not supported for a service using the DAEMON scheduling strategy.")
	}
	lt, err := runLaunchType("", given, cl)
	if err != nil {
		return "", "", nil, err
	}
	launchType, strategy := serviceCapacity("", given, cl, lt)
	return lt, launchType, strategy, nil
}

// primaryDeployment is the service's PRIMARY deployment: the first one
// if, oddly, none is marked so, and a detached one if it has none.
func primaryDeployment(s *ecs.Service) *ecs.Deployment {
	if len(s.Deployments) == 0 {
		return &ecs.Deployment{}
	}
	for i := range s.Deployments {
		if s.Deployments[i].Status == deploymentPrimary {
			return &s.Deployments[i]
		}
	}
	return &s.Deployments[0]
}

// redeploy starts a new PRIMARY deployment of what the service now asks
// for; the deployments before it become ACTIVE until their tasks are
// replaced.
func (a *API) redeploy(rec *store.ServiceRecord, primary *ecs.Deployment, req *ecs.UpdateServiceRequest) {
	s := &rec.Service
	now := ecs.At(a.now())
	dep := a.newDeployment(s, now)
	dep.ServiceConnectConfiguration = cmp.Or(req.ServiceConnectConfiguration, primary.ServiceConnectConfiguration)
	dep.VolumeConfigurations = primary.VolumeConfigurations
	if req.VolumeConfigurations != nil {
		dep.VolumeConfigurations = req.VolumeConfigurations
	}
	dep.VpcLatticeConfigurations = primary.VpcLatticeConfigurations
	if req.VpcLatticeConfigurations != nil {
		dep.VpcLatticeConfigurations = req.VpcLatticeConfigurations
	}
	for i := range s.Deployments {
		s.Deployments[i].Status, s.Deployments[i].UpdatedAt = deploymentActive, now
	}
	s.Deployments = append([]ecs.Deployment{dep}, s.Deployments...)
	a.startHistory(rec, &s.Deployments[0], now)
}

// sameJSON compares two values by their wire form.
func sameJSON(x, y any) bool {
	a, errA := json.Marshal(x)
	b, errB := json.Marshal(y)
	return errA == nil && errB == nil && string(a) == string(b)
}

// DeleteService deletes a service: it turns DRAINING with no desired
// tasks, and the service controller stops its tasks and then marks it
// INACTIVE. A REPLICA service scaled above 0 needs force.
func (a *API) DeleteService(ctx context.Context, req *ecs.DeleteServiceRequest) (*ecs.DeleteServiceResponse, error) {
	cl, err := a.activeCluster(req.Cluster)
	if err != nil {
		return nil, err
	}
	it, err := a.findService(cl.Value.Cluster.ClusterName, req.Service)
	if err != nil {
		return nil, err
	}
	force := req.Force != nil && *req.Force
	rec, err := a.store.Services.Update(ctx, it.Key, func(rec *store.ServiceRecord) error {
		s := &rec.Service
		switch {
		case s.Status == statusInactive:
			return serviceNotActive()
		case s.Status == serviceDraining: // deleting twice succeeds
			return errUnchanged
		case s.SchedulingStrategy != ecs.SchedulingStrategyDAEMON && s.DesiredCount > 0 && !force:
			return invalidParameter("The service cannot be stopped while it is scaled above 0.")
		}
		s.Status, s.DesiredCount = serviceDraining, 0
		primaryDeployment(s).DesiredCount = 0
		return nil
	})
	switch {
	case errors.Is(err, errUnchanged):
		cur, ok := a.store.Services.Get(it.Key)
		if !ok {
			return nil, serviceNotFound()
		}
		rec = cur.Value
	case err == store.ErrNotFound:
		return nil, serviceNotFound()
	case err != nil:
		return nil, wireError(err)
	}
	return &ecs.DeleteServiceResponse{Service: a.serviceView(rec, true)}, nil
}

// countServices adds how many of a cluster's services are ACTIVE and how
// many DRAINING, by launch type, to the cluster's usage.
func (a *API) countServices(cluster string, u *clusterUsage) {
	prefix := cluster + "/"
	a.store.Services.Ascend(prefix, func(it *store.Item[store.ServiceRecord]) bool {
		if !strings.HasPrefix(it.Key, prefix) {
			return false
		}
		s := &it.Value.Service
		kind := ec2
		if serviceLaunchType(s.LaunchType, s.CapacityProviderStrategy) == ecs.LaunchTypeFARGATE {
			kind = fargate
		}
		switch s.Status {
		case statusActive:
			u.activeServices[kind]++
		case serviceDraining:
			u.drainingServices[kind]++
		}
		return true
	})
}
