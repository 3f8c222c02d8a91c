package api

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/store"
)

// Service and deployment states, and the defaults ECS gives a service.
const (
	serviceDraining   = "DRAINING"
	deploymentPrimary = "PRIMARY"
	deploymentActive  = "ACTIVE"
	latestPlatform    = "LATEST"
	platformFamily    = "Linux"
)

func serviceNotFound() error { return awsError("ServiceNotFoundException", "Service not found.") }

func serviceNotActive() error {
	return awsError("ServiceNotActiveException", "Service was not ACTIVE.")
}

// CreateService creates a service and its first deployment; the service
// controller starts its tasks. Creating a service again with the same
// definition returns it, as ECS does; with another definition, or while
// a service of that name is draining, it fails.
func (a *API) CreateService(ctx context.Context, req *ecs.CreateServiceRequest) (*ecs.CreateServiceResponse, error) {
	if req.ServiceName == "" {
		return nil, invalidParameter("serviceName is required.")
	}
	if !clusterNameRE.MatchString(req.ServiceName) {
		return nil, invalidParameter("serviceName must match ^[a-zA-Z0-9\\-_]{1,255}$, but was %q.", req.ServiceName)
	}
	cl, err := a.activeCluster(req.Cluster)
	if err != nil {
		return nil, err
	}
	cluster := cl.Value.Cluster.ClusterName
	rec, err := a.newService(&cl.Value.Cluster, req)
	if err != nil {
		return nil, err
	}
	key := store.ServiceKey(cluster, req.ServiceName)
	for {
		cur, exists := a.store.Services.Get(key)
		if exists && cur.Value.Service.Status != statusInactive {
			if cur.Value.Service.Status == statusActive && sameDefinition(&cur.Value.Service, &rec.Service) {
				return &ecs.CreateServiceResponse{Service: a.serviceView(cur.Value, true)}, nil
			}
			return nil, invalidParameter("Creation of service was not idempotent.")
		}
		w := a.store.Services.Create(key, rec)
		if exists { // an INACTIVE service's name is free again
			w = a.store.Services.Replace(key, rec, cur.ModRevision)
		}
		_, err := a.store.Commit(ctx, w)
		if err == store.ErrConflict {
			continue
		}
		if err != nil {
			return nil, wireError(err)
		}
		return &ecs.CreateServiceResponse{Service: a.serviceView(rec, true)}, nil
	}
}

// newService checks a CreateService request and builds the record it
// creates: the service with its first deployment, and that deployment's
// history entry.
func (a *API) newService(cl *ecs.Cluster, req *ecs.CreateServiceRequest) (*store.ServiceRecord, error) {
	scheduling := cmp.Or(req.SchedulingStrategy, ecs.SchedulingStrategyREPLICA)
	if !slices.Contains(scheduling.Values(), scheduling) {
		return nil, invalidParameter("schedulingStrategy: %q is not a valid scheduling strategy.", req.SchedulingStrategy)
	}
	daemon := scheduling == ecs.SchedulingStrategyDAEMON
	if err := checkController(req.DeploymentController); err != nil {
		return nil, err
	}
	desired, err := createDesiredCount(req, daemon)
	if err != nil {
		return nil, err
	}
	if daemon && req.LaunchType == "" && (len(req.CapacityProviderStrategy) > 0 || len(cl.DefaultCapacityProviderStrategy) > 0) {
		return nil, invalidParameter("Specifying a capacity provider strategy is not supported when you create a service using the DAEMON scheduling strategy.")
	}
	lt, err := runLaunchType(req.LaunchType, req.CapacityProviderStrategy, cl)
	if err != nil {
		return nil, err
	}
	if daemon && lt == ecs.LaunchTypeFARGATE {
		return nil, invalidParameter("schedulingStrategy DAEMON is not supported for the FARGATE launch type.")
	}
	cfg, err := deploymentConfig(nil, req.DeploymentConfiguration, daemon)
	if err != nil {
		return nil, err
	}
	l, err := a.resolveLaunch(cl.ClusterName, lt, taskParams{
		taskDefinition: req.TaskDefinition, network: req.NetworkConfiguration,
		group: "service:" + req.ServiceName, service: true,
	})
	if err != nil {
		return nil, err
	}
	if _, err := placementRequest(l, lt, req.PlacementConstraints, req.PlacementStrategy); err != nil {
		return nil, err
	}
	platform, err := checkPlatform(lt, req.PlatformVersion)
	if err != nil {
		return nil, err
	}
	if err := checkServiceOptions(req.Tags, req.PropagateTags, req.AvailabilityZoneRebalancing, req.HealthCheckGracePeriodSeconds); err != nil {
		return nil, err
	}
	now := ecs.At(a.now())
	s := ecs.Service{
		ServiceArn:                    a.arns.Service(cl.ClusterName, req.ServiceName),
		ServiceName:                   req.ServiceName,
		ClusterArn:                    cl.ClusterArn,
		LoadBalancers:                 nonNil(req.LoadBalancers),
		ServiceRegistries:             nonNil(req.ServiceRegistries),
		Status:                        statusActive,
		DesiredCount:                  desired,
		PlatformVersion:               platform,
		TaskDefinition:                l.td.TaskDefinitionArn,
		DeploymentConfiguration:       cfg,
		RoleArn:                       a.roleARN(req.Role),
		Events:                        []ecs.ServiceEvent{},
		CreatedAt:                     now,
		PlacementConstraints:          nonNil(req.PlacementConstraints),
		PlacementStrategy:             nonNil(req.PlacementStrategy),
		NetworkConfiguration:          normalNetwork(req.NetworkConfiguration),
		HealthCheckGracePeriodSeconds: req.HealthCheckGracePeriodSeconds,
		SchedulingStrategy:            scheduling,
		DeploymentController:          &ecs.DeploymentController{Type: ecs.DeploymentControllerTypeECS},
		Tags:                          req.Tags,
		EnableECSManagedTags:          req.EnableECSManagedTags,
		PropagateTags:                 cmp.Or(req.PropagateTags, ecs.PropagateTagsNONE),
		EnableExecuteCommand:          req.EnableExecuteCommand,
		AvailabilityZoneRebalancing:   cmp.Or(req.AvailabilityZoneRebalancing, ecs.AvailabilityZoneRebalancingENABLED),
	}
	s.LaunchType, s.CapacityProviderStrategy = serviceCapacity(req.LaunchType, req.CapacityProviderStrategy, cl, lt)
	if lt == ecs.LaunchTypeFARGATE {
		s.PlatformFamily = platformFamily
	}
	dep := a.newDeployment(&s, now)
	dep.ServiceConnectConfiguration = req.ServiceConnectConfiguration
	dep.VolumeConfigurations = req.VolumeConfigurations
	dep.VpcLatticeConfigurations = req.VpcLatticeConfigurations
	s.Deployments = []ecs.Deployment{dep}
	rec := &store.ServiceRecord{Service: s, Cluster: cl.ClusterName}
	a.startHistory(rec, &rec.Service.Deployments[0], now)
	return rec, nil
}

func createDesiredCount(req *ecs.CreateServiceRequest, daemon bool) (int32, error) {
	switch {
	case daemon && req.DesiredCount != nil:
		return 0, invalidParameter("The daemon scheduling strategy does not support a desired count for services. Remove the desired count value and try again.")
	case daemon && len(req.PlacementStrategy) > 0:
		return 0, invalidParameter("The daemon scheduling strategy does not support placement strategies. Remove the placement strategy and try again.")
	case daemon:
		return 0, nil
	case req.DesiredCount == nil:
		return 0, invalidParameter("desiredCount is required for a service using the REPLICA scheduling strategy.")
	case *req.DesiredCount < 0:
		return 0, invalidParameter("desiredCount must not be negative, got %d.", *req.DesiredCount)
	}
	return *req.DesiredCount, nil
}

// serviceCapacity is what a service shows of how it was asked to launch:
// the launch type, or the capacity provider strategy (its own or the
// cluster's default), as ECS records it.
func serviceCapacity(given ecs.LaunchType, strategy []ecs.CapacityProviderStrategyItem, cl *ecs.Cluster, lt ecs.LaunchType) (ecs.LaunchType, []ecs.CapacityProviderStrategyItem) {
	switch {
	case given != "":
		return given, nil
	case len(strategy) > 0:
		return "", strategy
	case len(cl.DefaultCapacityProviderStrategy) > 0:
		return "", cl.DefaultCapacityProviderStrategy
	}
	return lt, nil
}

// checkController accepts the ECS deployment controller, the only one
// Gantry has.
func checkController(c *ecs.DeploymentController) error {
	if c == nil {
		return nil
	}
	switch c.Type {
	case ecs.DeploymentControllerTypeECS:
		return nil
	case ecs.DeploymentControllerTypeCODEDEPLOY, ecs.DeploymentControllerTypeEXTERNAL:
		return invalidParameter("deploymentController.type %s is not supported: Gantry supports only the ECS deployment controller.", c.Type)
	}
	return invalidParameter("deploymentController.type: %q is not a valid deployment controller type.", c.Type)
}

// deploymentConfig applies a request's deployment configuration over the
// current one (nil for a new service), filling ECS's defaults.
func deploymentConfig(current, given *ecs.DeploymentConfiguration, daemon bool) (*ecs.DeploymentConfiguration, error) {
	out := &ecs.DeploymentConfiguration{}
	if current != nil {
		c := *current
		out = &c
	}
	if given != nil {
		out.MaximumPercent = cmp.Or(given.MaximumPercent, out.MaximumPercent)
		out.MinimumHealthyPercent = cmp.Or(given.MinimumHealthyPercent, out.MinimumHealthyPercent)
		out.DeploymentCircuitBreaker = cmp.Or(given.DeploymentCircuitBreaker, out.DeploymentCircuitBreaker)
		out.Alarms = cmp.Or(given.Alarms, out.Alarms)
		out.Strategy = cmp.Or(given.Strategy, out.Strategy)
		out.BakeTimeInMinutes = cmp.Or(given.BakeTimeInMinutes, out.BakeTimeInMinutes)
		if given.LifecycleHooks != nil {
			out.LifecycleHooks = given.LifecycleHooks
		}
		out.LinearConfiguration = cmp.Or(given.LinearConfiguration, out.LinearConfiguration)
		out.CanaryConfiguration = cmp.Or(given.CanaryConfiguration, out.CanaryConfiguration)
	}
	maxPct, minPct := int32(200), int32(100)
	if daemon {
		maxPct, minPct = 100, 0
	}
	out.MaximumPercent = cmp.Or(out.MaximumPercent, &maxPct)
	out.MinimumHealthyPercent = cmp.Or(out.MinimumHealthyPercent, &minPct)
	out.DeploymentCircuitBreaker = cmp.Or(out.DeploymentCircuitBreaker, &ecs.DeploymentCircuitBreaker{})
	switch {
	case *out.MaximumPercent < 0:
		return nil, invalidParameter("deploymentConfiguration.maximumPercent must not be negative, got %d.", *out.MaximumPercent)
	case *out.MinimumHealthyPercent < 0 || *out.MinimumHealthyPercent > 100:
		return nil, invalidParameter("deploymentConfiguration.minimumHealthyPercent must be between 0 and 100, got %d.", *out.MinimumHealthyPercent)
	case daemon && *out.MaximumPercent > 100:
		return nil, invalidParameter("The daemon scheduling strategy does not support values above 100 for maximumPercent on a deployment configuration. Change the maximumPercent value to 100, and try again.")
	case out.Strategy != "" && out.Strategy != ecs.DeploymentStrategyROLLING:
		if !slices.Contains(out.Strategy.Values(), out.Strategy) {
			return nil, invalidParameter("deploymentConfiguration.strategy: %q is not a valid deployment strategy.", out.Strategy)
		}
		return nil, invalidParameter("deploymentConfiguration.strategy %s is not supported: Gantry deploys services with ROLLING updates.", out.Strategy)
	case out.Alarms != nil && out.Alarms.Enable && len(out.Alarms.AlarmNames) == 0:
		return nil, invalidParameter("deploymentConfiguration.alarms.alarmNames must name at least one alarm when alarms are enabled.")
	}
	return out, nil
}

// checkPlatform checks a platform version against the launch type and
// returns what the service shows: LATEST unless set, on Fargate only.
func checkPlatform(lt ecs.LaunchType, v string) (string, error) {
	if lt != ecs.LaunchTypeFARGATE {
		if v != "" {
			return "", invalidParameter("The platform version must be null when specifying an EC2 launch type.")
		}
		return "", nil
	}
	switch v {
	case "":
		return latestPlatform, nil
	case latestPlatform, platformVersion:
		return v, nil
	}
	return "", awsError("PlatformUnknownException", fmt.Sprintf("platformVersion %q is not known: Gantry runs Fargate platform version %s (or LATEST).", v, platformVersion))
}

func checkServiceOptions(tags []ecs.Tag, propagate ecs.PropagateTags, azr ecs.AvailabilityZoneRebalancing, grace *int32) error {
	if err := validateTags("tags", tags); err != nil {
		return err
	}
	if propagate != "" && !slices.Contains(propagate.Values(), propagate) {
		return invalidParameter("propagateTags: %q is not valid; use TASK_DEFINITION, SERVICE or NONE.", propagate)
	}
	if azr != "" && !slices.Contains(azr.Values(), azr) {
		return invalidParameter("availabilityZoneRebalancing: %q is not valid; use ENABLED or DISABLED.", azr)
	}
	if grace != nil && *grace < 0 {
		return invalidParameter("healthCheckGracePeriodSeconds must not be negative, got %d.", *grace)
	}
	return nil
}

// roleARN turns a role name into its ARN, as ECS shows a service's role.
func (a *API) roleARN(role string) string {
	if role == "" || strings.HasPrefix(role, "arn:") {
		return role
	}
	return "arn:" + ecs.Partition + ":iam::" + a.account + ":role/" + role
}

// normalNetwork is a network configuration as ECS stores it, with the
// public IP assignment it defaults to.
func normalNetwork(nc *ecs.NetworkConfiguration) *ecs.NetworkConfiguration {
	if nc == nil || nc.AwsvpcConfiguration == nil {
		return nc
	}
	vpc := *nc.AwsvpcConfiguration
	vpc.AssignPublicIp = cmp.Or(vpc.AssignPublicIp, ecs.AssignPublicIpDISABLED)
	return &ecs.NetworkConfiguration{AwsvpcConfiguration: &vpc}
}

// sameDefinition reports whether two services were asked for alike: all
// but what ECS fills in as the service runs.
func sameDefinition(a, b *ecs.Service) bool {
	strip := func(s ecs.Service) string {
		s.Deployments, s.Events, s.CreatedAt, s.CurrentServiceDeployment = nil, nil, ecs.Timestamp{}, ""
		s.RunningCount, s.PendingCount, s.CurrentServiceRevisions = 0, 0, nil
		raw, _ := json.Marshal(s)
		return string(raw)
	}
	return strip(*a) == strip(*b)
}

// newDeployment is a fresh PRIMARY deployment of what the service now
// asks for.
func (a *API) newDeployment(s *ecs.Service, now ecs.Timestamp) ecs.Deployment {
	id := ecs.NewDeploymentID()
	d := ecs.Deployment{
		Id:                       id,
		Status:                   deploymentPrimary,
		TaskDefinition:           s.TaskDefinition,
		DesiredCount:             s.DesiredCount,
		CreatedAt:                now,
		UpdatedAt:                now,
		LaunchType:               s.LaunchType,
		CapacityProviderStrategy: s.CapacityProviderStrategy,
		NetworkConfiguration:     s.NetworkConfiguration,
		RolloutState:             ecs.DeploymentRolloutStateINPROGRESS,
		RolloutStateReason:       fmt.Sprintf("ECS deployment %s in progress.", id),
	}
	if s.PlatformVersion != "" {
		d.PlatformVersion, d.PlatformFamily = platformVersion, platformFamily
	}
	return d
}

// startHistory records dep, the service's new PRIMARY deployment, as an
// IN_PROGRESS service deployment; one still in progress is stopped, as
// the newer one replaces it.
func (a *API) startHistory(rec *store.ServiceRecord, dep *ecs.Deployment, now ecs.Timestamp) {
	s := &rec.Service
	sd := ecs.ServiceDeployment{
		ServiceDeploymentArn: a.arns.ServiceDeployment(rec.Cluster, s.ServiceName, dep.Id),
		ServiceArn:           s.ServiceArn,
		ClusterArn:           s.ClusterArn,
		CreatedAt:            now,
		StartedAt:            now,
		UpdatedAt:            now,
		TargetServiceRevision: &ecs.ServiceRevisionSummary{
			Arn:                a.arns.ServiceRevision(rec.Cluster, s.ServiceName, dep.Id),
			RequestedTaskCount: dep.DesiredCount,
		},
		Status:                  ecs.ServiceDeploymentStatusINPROGRESS,
		DeploymentConfiguration: s.DeploymentConfiguration,
		DeploymentCircuitBreaker: &ecs.ServiceDeploymentCircuitBreaker{
			Status:    ecs.ServiceDeploymentRollbackMonitorsStatusDISABLED,
			Threshold: ecs.CircuitBreakerThreshold(dep.DesiredCount),
		},
	}
	if cb := s.DeploymentConfiguration.DeploymentCircuitBreaker; cb != nil && cb.Enable {
		sd.DeploymentCircuitBreaker.Status = ecs.ServiceDeploymentRollbackMonitorsStatusMONITORING
	}
	if al := s.DeploymentConfiguration.Alarms; al != nil {
		sd.Alarms = &ecs.ServiceDeploymentAlarms{Status: ecs.ServiceDeploymentRollbackMonitorsStatusDISABLED, AlarmNames: al.AlarmNames}
		if al.Enable {
			sd.Alarms.Status = ecs.ServiceDeploymentRollbackMonitorsStatusMONITORING
		}
	}
	for _, old := range s.Deployments {
		if old.Id == dep.Id {
			continue
		}
		sd.SourceServiceRevisions = append(sd.SourceServiceRevisions, ecs.ServiceRevisionSummary{
			Arn:                a.arns.ServiceRevision(rec.Cluster, s.ServiceName, old.Id),
			RequestedTaskCount: old.DesiredCount,
		})
	}
	for i := range rec.History {
		h := &rec.History[i]
		if h.Status == ecs.ServiceDeploymentStatusINPROGRESS || h.Status == ecs.ServiceDeploymentStatusPENDING {
			h.Status = ecs.ServiceDeploymentStatusSTOPPED
			h.StatusReason = "Stopped: a newer service deployment (" + sd.ServiceDeploymentArn + ") replaced this one."
			h.StoppedAt, h.FinishedAt, h.UpdatedAt = now, now, now
		}
	}
	rec.History = append([]ecs.ServiceDeployment{sd}, rec.History...)
	s.CurrentServiceDeployment = sd.ServiceDeploymentArn
}
