package api_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	wire "github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/store"
)

func serviceARN(cluster, name string) string { return arnPrefix + "service/" + cluster + "/" + name }

// The service tests serve the API over a bare store (startWithStore): no
// service controller runs, so what they see is what the API stored.

// serviceFixture is a cluster with an EC2 task definition "web" (revisions
// 1 and 2) and a Fargate one "api".
func serviceFixture(t *testing.T, c *ecs.Client, cluster string) {
	t.Helper()
	mustCreateCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String(cluster)})
	web := simpleTaskDef(cluster + "-web")
	web.ContainerDefinitions[0].PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(80)}}
	web.Tags = []types.Tag{{Key: aws.String("from"), Value: aws.String("taskdef")}}
	mustRegister(t, c, web)
	mustRegister(t, c, web)
	api := simpleTaskDef(cluster + "-api")
	api.NetworkMode = types.NetworkModeAwsvpc
	api.RequiresCompatibilities = []types.Compatibility{types.CompatibilityFargate}
	api.Cpu, api.Memory = aws.String("256"), aws.String("512")
	mustRegister(t, c, api)
}

func mustCreateService(t testing.TB, c *ecs.Client, in *ecs.CreateServiceInput) *types.Service {
	t.Helper()
	out, err := c.CreateService(context.Background(), in)
	if err != nil {
		t.Fatalf("CreateService(%s): %v", aws.ToString(in.ServiceName), err)
	}
	return out.Service
}

func describeService(t testing.TB, c *ecs.Client, cluster, ref string, include ...types.ServiceField) types.Service {
	t.Helper()
	out, err := c.DescribeServices(context.Background(), &ecs.DescribeServicesInput{
		Cluster: aws.String(cluster), Services: []string{ref}, Include: include,
	})
	if err != nil {
		t.Fatalf("DescribeServices(%s): %v", ref, err)
	}
	if len(out.Services) != 1 {
		t.Fatalf("DescribeServices(%s) = %d services, failures %+v", ref, len(out.Services), out.Failures)
	}
	return out.Services[0]
}

// fullService sets every member of CreateService Gantry stores.
func fullService(cluster, name string) *ecs.CreateServiceInput {
	return &ecs.CreateServiceInput{
		Cluster:        aws.String(cluster),
		ServiceName:    aws.String(name),
		TaskDefinition: aws.String(cluster + "-web:1"),
		DesiredCount:   aws.Int32(3),
		LaunchType:     types.LaunchTypeEc2,
		DeploymentConfiguration: &types.DeploymentConfiguration{
			MaximumPercent:           aws.Int32(150),
			MinimumHealthyPercent:    aws.Int32(50),
			DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: true, Rollback: true},
			Alarms:                   &types.DeploymentAlarms{AlarmNames: []string{"high-5xx"}, Enable: true},
			Strategy:                 types.DeploymentStrategyRolling,
		},
		PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeDistinctInstance}},
		PlacementStrategy:    []types.PlacementStrategy{{Type: types.PlacementStrategyTypeBinpack, Field: aws.String("memory")}},
		LoadBalancers: []types.LoadBalancer{{
			TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web/0123456789abcdef"),
			ContainerName:  aws.String("app"), ContainerPort: aws.Int32(80),
		}},
		ServiceRegistries:             []types.ServiceRegistry{{RegistryArn: aws.String("arn:aws:servicediscovery:us-east-1:000000000000:service/srv-1"), ContainerName: aws.String("app"), ContainerPort: aws.Int32(80)}},
		HealthCheckGracePeriodSeconds: aws.Int32(30),
		PropagateTags:                 types.PropagateTagsService,
		EnableECSManagedTags:          true,
		EnableExecuteCommand:          true,
		AvailabilityZoneRebalancing:   types.AvailabilityZoneRebalancingDisabled,
		Role:                          aws.String("ecsServiceRole"),
		DeploymentController:          &types.DeploymentController{Type: types.DeploymentControllerTypeEcs},
		Tags:                          []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}},
	}
}

func TestCreateServiceStoresEveryField(t *testing.T) {
	t.Parallel()
	_, c := startWithStore(t)
	serviceFixture(t, c, "full")
	in := fullService("full", "web")
	created := mustCreateService(t, c, in)
	described := describeService(t, c, "full", "web", types.ServiceFieldTags)

	for _, got := range []types.Service{*created, described} {
		want := types.Service{
			ServiceArn:                    aws.String(serviceARN("full", "web")),
			ServiceName:                   aws.String("web"),
			ClusterArn:                    aws.String(clusterARN("full")),
			LoadBalancers:                 in.LoadBalancers,
			ServiceRegistries:             in.ServiceRegistries,
			Status:                        aws.String("ACTIVE"),
			DesiredCount:                  3,
			LaunchType:                    types.LaunchTypeEc2,
			TaskDefinition:                aws.String(taskDefARN("full-web:1")),
			DeploymentConfiguration:       in.DeploymentConfiguration,
			RoleArn:                       aws.String("arn:aws:iam::000000000000:role/ecsServiceRole"),
			Events:                        []types.ServiceEvent{},
			PlacementConstraints:          in.PlacementConstraints,
			PlacementStrategy:             in.PlacementStrategy,
			HealthCheckGracePeriodSeconds: aws.Int32(30),
			SchedulingStrategy:            types.SchedulingStrategyReplica,
			DeploymentController:          in.DeploymentController,
			Tags:                          in.Tags,
			EnableECSManagedTags:          true,
			PropagateTags:                 types.PropagateTagsService,
			EnableExecuteCommand:          true,
			AvailabilityZoneRebalancing:   types.AvailabilityZoneRebalancingDisabled,
		}
		ignore := cmp.FilterPath(func(p cmp.Path) bool {
			switch p.Last().String() {
			case ".Deployments", ".CreatedAt", ".CurrentServiceDeployment", ".CurrentServiceRevisions":
				return true
			}
			return false
		}, cmp.Ignore())
		if diff := cmp.Diff(want, got, ignoreUnexported, ignore); diff != "" {
			t.Errorf("service (-want +got):\n%s", diff)
		}
		if got.CreatedAt == nil || time.Since(*got.CreatedAt) > time.Minute {
			t.Errorf("createdAt = %v, want about now", got.CreatedAt)
		}
		if len(got.Deployments) != 1 {
			t.Fatalf("deployments = %+v, want one", got.Deployments)
		}
		d := got.Deployments[0]
		id := aws.ToString(d.Id)
		if !strings.HasPrefix(id, "ecs-svc/") || len(id) != len("ecs-svc/")+19 {
			t.Errorf("deployment id = %q, want ecs-svc/<19 digits>", id)
		}
		if aws.ToString(d.Status) != "PRIMARY" || aws.ToString(d.TaskDefinition) != taskDefARN("full-web:1") ||
			d.DesiredCount != 3 || d.RunningCount != 0 || d.PendingCount != 0 || d.FailedTasks != 0 ||
			d.LaunchType != types.LaunchTypeEc2 || d.RolloutState != types.DeploymentRolloutStateInProgress ||
			aws.ToString(d.RolloutStateReason) != "ECS deployment "+id+" in progress." || d.CreatedAt == nil || d.UpdatedAt == nil {
			t.Errorf("deployment = %+v", d)
		}
		wantDeployment := arnPrefix + "service-deployment/full/web/" + strings.TrimPrefix(id, "ecs-svc/")
		if aws.ToString(got.CurrentServiceDeployment) != wantDeployment {
			t.Errorf("currentServiceDeployment = %s, want %s", aws.ToString(got.CurrentServiceDeployment), wantDeployment)
		}
	}

	sd, err := c.DescribeServiceDeployments(context.Background(), &ecs.DescribeServiceDeploymentsInput{
		ServiceDeploymentArns: []string{aws.ToString(described.CurrentServiceDeployment)},
	})
	if err != nil || len(sd.ServiceDeployments) != 1 {
		t.Fatalf("DescribeServiceDeployments = %+v, %v", sd, err)
	}
	got := sd.ServiceDeployments[0]
	if got.Status != types.ServiceDeploymentStatusInProgress || aws.ToString(got.ServiceArn) != serviceARN("full", "web") ||
		aws.ToString(got.ClusterArn) != clusterARN("full") || got.StartedAt == nil || got.CreatedAt == nil {
		t.Errorf("service deployment = %+v", got)
	}
	if got.TargetServiceRevision == nil || got.TargetServiceRevision.RequestedTaskCount != 3 ||
		!strings.HasPrefix(aws.ToString(got.TargetServiceRevision.Arn), arnPrefix+"service-revision/full/web/") {
		t.Errorf("targetServiceRevision = %+v", got.TargetServiceRevision)
	}
	cb := got.DeploymentCircuitBreaker
	if cb == nil || cb.Status != types.ServiceDeploymentRollbackMonitorsStatusMonitoring || cb.Threshold != 3 || cb.FailureCount != 0 {
		t.Errorf("deploymentCircuitBreaker = %+v, want MONITORING with threshold 3", cb)
	}
	if got.Alarms == nil || got.Alarms.Status != types.ServiceDeploymentRollbackMonitorsStatusMonitoring || !slices.Equal(got.Alarms.AlarmNames, []string{"high-5xx"}) {
		t.Errorf("alarms = %+v", got.Alarms)
	}
}

func TestCreateServiceDefaults(t *testing.T) {
	t.Parallel()
	_, c := startWithStore(t)
	serviceFixture(t, c, "defaults")

	t.Run("replica", func(t *testing.T) {
		got := mustCreateService(t, c, &ecs.CreateServiceInput{
			Cluster: aws.String("defaults"), ServiceName: aws.String("plain"),
			TaskDefinition: aws.String("defaults-web"), DesiredCount: aws.Int32(1),
		})
		dc := got.DeploymentConfiguration
		if dc == nil || aws.ToInt32(dc.MaximumPercent) != 200 || aws.ToInt32(dc.MinimumHealthyPercent) != 100 ||
			dc.DeploymentCircuitBreaker == nil || dc.DeploymentCircuitBreaker.Enable || dc.DeploymentCircuitBreaker.Rollback {
			t.Errorf("deploymentConfiguration = %+v, want 200/100 and a disabled circuit breaker", dc)
		}
		if got.DeploymentController == nil || got.DeploymentController.Type != types.DeploymentControllerTypeEcs {
			t.Errorf("deploymentController = %+v, want ECS", got.DeploymentController)
		}
		if got.SchedulingStrategy != types.SchedulingStrategyReplica || aws.ToString(got.Status) != "ACTIVE" ||
			got.LaunchType != types.LaunchTypeEc2 || got.PropagateTags != types.PropagateTagsNone ||
			got.AvailabilityZoneRebalancing != types.AvailabilityZoneRebalancingEnabled {
			t.Errorf("service = %+v", got)
		}
		// The family alone resolves to its latest ACTIVE revision.
		if aws.ToString(got.TaskDefinition) != taskDefARN("defaults-web:2") {
			t.Errorf("taskDefinition = %s, want revision 2", aws.ToString(got.TaskDefinition))
		}
		if got.Events == nil || len(got.Events) != 0 || got.Tags != nil && len(got.Tags) != 0 {
			t.Errorf("events = %v, tags = %v: want empty events and no tags", got.Events, got.Tags)
		}
		sd := describeDeployment(t, c, aws.ToString(got.CurrentServiceDeployment))
		if cb := sd.DeploymentCircuitBreaker; cb == nil || cb.Status != types.ServiceDeploymentRollbackMonitorsStatusDisabled || cb.Threshold != 3 {
			t.Errorf("deploymentCircuitBreaker = %+v, want DISABLED with threshold 3", cb)
		}
	})

	t.Run("daemon", func(t *testing.T) {
		got := mustCreateService(t, c, &ecs.CreateServiceInput{
			Cluster: aws.String("defaults"), ServiceName: aws.String("agent"),
			TaskDefinition: aws.String("defaults-web"), SchedulingStrategy: types.SchedulingStrategyDaemon,
		})
		dc := got.DeploymentConfiguration
		if aws.ToInt32(dc.MaximumPercent) != 100 || aws.ToInt32(dc.MinimumHealthyPercent) != 0 || got.DesiredCount != 0 {
			t.Errorf("daemon: max %d min %d desired %d, want 100 0 0", aws.ToInt32(dc.MaximumPercent), aws.ToInt32(dc.MinimumHealthyPercent), got.DesiredCount)
		}
	})

	t.Run("fargate", func(t *testing.T) {
		got := mustCreateService(t, c, &ecs.CreateServiceInput{
			Cluster: aws.String("defaults"), ServiceName: aws.String("api"),
			TaskDefinition: aws.String("defaults-api"), DesiredCount: aws.Int32(2), LaunchType: types.LaunchTypeFargate,
			NetworkConfiguration: &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}},
		})
		if aws.ToString(got.PlatformVersion) != "LATEST" || aws.ToString(got.PlatformFamily) != "Linux" {
			t.Errorf("platform = %s %s, want LATEST Linux", aws.ToString(got.PlatformVersion), aws.ToString(got.PlatformFamily))
		}
		if nc := got.NetworkConfiguration; nc == nil || nc.AwsvpcConfiguration.AssignPublicIp != types.AssignPublicIpDisabled {
			t.Errorf("networkConfiguration = %+v, want assignPublicIp DISABLED", nc)
		}
		d := got.Deployments[0]
		if aws.ToString(d.PlatformVersion) != "1.4.0" || d.LaunchType != types.LaunchTypeFargate || d.NetworkConfiguration == nil {
			t.Errorf("deployment = %+v, want platform 1.4.0 on FARGATE with the network configuration", d)
		}
	})
}

func describeDeployment(t testing.TB, c *ecs.Client, arn string) types.ServiceDeployment {
	t.Helper()
	out, err := c.DescribeServiceDeployments(context.Background(), &ecs.DescribeServiceDeploymentsInput{ServiceDeploymentArns: []string{arn}})
	if err != nil || len(out.ServiceDeployments) != 1 {
		t.Fatalf("DescribeServiceDeployments(%s) = %+v, %v", arn, out, err)
	}
	return out.ServiceDeployments[0]
}

func TestCreateServiceErrors(t *testing.T) {
	t.Parallel()
	_, c := startWithStore(t)
	serviceFixture(t, c, "bad")
	mustRegister(t, c, simpleTaskDef("bad-old"))
	mustDeregister(t, c, "bad-old:1")
	vpc := simpleTaskDef("bad-vpc")
	vpc.NetworkMode = types.NetworkModeAwsvpc
	mustRegister(t, c, vpc)

	base := func(edit func(*ecs.CreateServiceInput)) *ecs.CreateServiceInput {
		in := &ecs.CreateServiceInput{
			Cluster: aws.String("bad"), ServiceName: aws.String("svc"),
			TaskDefinition: aws.String("bad-web"), DesiredCount: aws.Int32(1),
		}
		edit(in)
		return in
	}
	manyTags := make([]types.Tag, 51)
	for i := range manyTags {
		manyTags[i] = types.Tag{Key: aws.String(fmt.Sprint("k", i)), Value: aws.String("v")}
	}
	manyConstraints := make([]types.PlacementConstraint, 11)
	for i := range manyConstraints {
		manyConstraints[i] = types.PlacementConstraint{Type: types.PlacementConstraintTypeDistinctInstance}
	}
	manyStrategies := make([]types.PlacementStrategy, 6)
	for i := range manyStrategies {
		manyStrategies[i] = types.PlacementStrategy{Type: types.PlacementStrategyTypeRandom}
	}
	tests := []struct {
		name string
		edit func(*ecs.CreateServiceInput)
		code string
		msg  []string
	}{
		{"bad name", func(in *ecs.CreateServiceInput) { in.ServiceName = aws.String("no spaces") }, "InvalidParameterException", []string{"serviceName"}},
		{"long name", func(in *ecs.CreateServiceInput) { in.ServiceName = aws.String(strings.Repeat("a", 256)) }, "InvalidParameterException", []string{"serviceName"}},
		{"unknown cluster", func(in *ecs.CreateServiceInput) { in.Cluster = aws.String("nope") }, "ClusterNotFoundException", []string{"Cluster not found."}},
		{"no task definition", func(in *ecs.CreateServiceInput) { in.TaskDefinition = nil }, "InvalidParameterException", []string{"taskDefinition"}},
		{"unknown task definition", func(in *ecs.CreateServiceInput) { in.TaskDefinition = aws.String("bad-none") }, "ClientException", []string{"TaskDefinition not found."}},
		{"inactive task definition", func(in *ecs.CreateServiceInput) { in.TaskDefinition = aws.String("bad-old:1") }, "ClientException", []string{"TaskDefinition is inactive"}},
		{"incompatible launch type", func(in *ecs.CreateServiceInput) { in.LaunchType = types.LaunchTypeFargate }, "InvalidParameterException", []string{"launch_type FARGATE"}},
		{"no desired count", func(in *ecs.CreateServiceInput) { in.DesiredCount = nil }, "InvalidParameterException", []string{"desiredCount"}},
		{"negative desired count", func(in *ecs.CreateServiceInput) { in.DesiredCount = aws.Int32(-1) }, "InvalidParameterException", []string{"desiredCount"}},
		{"daemon desired count", func(in *ecs.CreateServiceInput) { in.SchedulingStrategy = types.SchedulingStrategyDaemon }, "InvalidParameterException", []string{"desired count"}},
		{"daemon placement strategy", func(in *ecs.CreateServiceInput) {
			in.SchedulingStrategy, in.DesiredCount = types.SchedulingStrategyDaemon, nil
			in.PlacementStrategy = []types.PlacementStrategy{{Type: types.PlacementStrategyTypeRandom}}
		}, "InvalidParameterException", []string{"placement strateg"}},
		{"daemon on fargate", func(in *ecs.CreateServiceInput) {
			in.SchedulingStrategy, in.DesiredCount, in.LaunchType = types.SchedulingStrategyDaemon, nil, types.LaunchTypeFargate
		}, "InvalidParameterException", []string{"DAEMON", "FARGATE"}},
		{"daemon with capacity providers", func(in *ecs.CreateServiceInput) {
			in.SchedulingStrategy, in.DesiredCount = types.SchedulingStrategyDaemon, nil
			in.CapacityProviderStrategy = []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE")}}
		}, "InvalidParameterException", []string{"capacity provider strategy"}},
		{"daemon maximum percent", func(in *ecs.CreateServiceInput) {
			in.SchedulingStrategy, in.DesiredCount = types.SchedulingStrategyDaemon, nil
			in.DeploymentConfiguration = &types.DeploymentConfiguration{MaximumPercent: aws.Int32(200)}
		}, "InvalidParameterException", []string{"maximumPercent"}},
		{"minimum healthy percent", func(in *ecs.CreateServiceInput) {
			in.DeploymentConfiguration = &types.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(101)}
		}, "InvalidParameterException", []string{"minimumHealthyPercent"}},
		{"code deploy", func(in *ecs.CreateServiceInput) {
			in.DeploymentController = &types.DeploymentController{Type: types.DeploymentControllerTypeCodeDeploy}
		}, "InvalidParameterException", []string{"deploymentController", "CODE_DEPLOY", "not supported"}},
		{"blue/green", func(in *ecs.CreateServiceInput) {
			in.DeploymentConfiguration = &types.DeploymentConfiguration{Strategy: types.DeploymentStrategyBlueGreen}
		}, "InvalidParameterException", []string{"deploymentConfiguration.strategy", "BLUE_GREEN"}},
		{"launch type and capacity providers", func(in *ecs.CreateServiceInput) {
			in.LaunchType = types.LaunchTypeEc2
			in.CapacityProviderStrategy = []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE")}}
		}, "InvalidParameterException", []string{"capacity provider strategy"}},
		{"unknown capacity provider", func(in *ecs.CreateServiceInput) {
			in.CapacityProviderStrategy = []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("spot-asg")}}
		}, "InvalidParameterException", []string{"spot-asg"}},
		{"awsvpc without network", func(in *ecs.CreateServiceInput) { in.TaskDefinition = aws.String("bad-vpc") }, "InvalidParameterException", []string{"Network Configuration"}},
		{"network for bridge", func(in *ecs.CreateServiceInput) {
			in.NetworkConfiguration = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"s"}}}
		}, "InvalidParameterException", []string{"Network Configuration"}},
		{"too many constraints", func(in *ecs.CreateServiceInput) { in.PlacementConstraints = manyConstraints }, "InvalidParameterException", []string{"placementConstraints"}},
		{"too many strategies", func(in *ecs.CreateServiceInput) { in.PlacementStrategy = manyStrategies }, "InvalidParameterException", []string{"placementStrategy"}},
		{"bad strategy field", func(in *ecs.CreateServiceInput) {
			in.PlacementStrategy = []types.PlacementStrategy{{Type: types.PlacementStrategyTypeBinpack, Field: aws.String("disk")}}
		}, "InvalidParameterException", []string{"placementStrategy[0]"}},
		{"bad memberOf", func(in *ecs.CreateServiceInput) {
			in.PlacementConstraints = []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:x ==")}}
		}, "InvalidParameterException", []string{"placementConstraints[0].expression"}},
		{"too many tags", func(in *ecs.CreateServiceInput) { in.Tags = manyTags }, "InvalidParameterException", []string{"tags"}},
		{"reserved tag", func(in *ecs.CreateServiceInput) {
			in.Tags = []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("v")}}
		}, "InvalidParameterException", []string{"tags[0].key"}},
		{"platform version on EC2", func(in *ecs.CreateServiceInput) { in.PlatformVersion = aws.String("1.4.0") }, "InvalidParameterException", []string{"platform version"}},
		{"unknown platform version", func(in *ecs.CreateServiceInput) {
			in.TaskDefinition, in.LaunchType, in.PlatformVersion = aws.String("bad-api"), types.LaunchTypeFargate, aws.String("9.9.9")
			in.NetworkConfiguration = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"s"}}}
		}, "PlatformUnknownException", []string{"platformVersion"}},
		{"placement on fargate", func(in *ecs.CreateServiceInput) {
			in.TaskDefinition, in.LaunchType = aws.String("bad-api"), types.LaunchTypeFargate
			in.NetworkConfiguration = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"s"}}}
			in.PlacementStrategy = []types.PlacementStrategy{{Type: types.PlacementStrategyTypeRandom}}
		}, "InvalidParameterException", []string{"Fargate"}},
		{"bad propagateTags", func(in *ecs.CreateServiceInput) { in.PropagateTags = "ALL" }, "InvalidParameterException", []string{"propagateTags"}},
		{"negative grace period", func(in *ecs.CreateServiceInput) { in.HealthCheckGracePeriodSeconds = aws.Int32(-1) }, "InvalidParameterException", []string{"healthCheckGracePeriodSeconds"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.CreateService(context.Background(), base(tt.edit))
			wantAPIError(t, err, tt.code, tt.msg...)
		})
	}
	out, err := c.ListServices(context.Background(), &ecs.ListServicesInput{Cluster: aws.String("bad")})
	if err != nil || len(out.ServiceArns) != 0 {
		t.Errorf("after failed creates, ListServices = %v, %v; want none", out.ServiceArns, err)
	}
}

func TestCreateServiceIdempotency(t *testing.T) {
	t.Parallel()
	st, c := startWithStore(t)
	serviceFixture(t, c, "idem")
	ctx := context.Background()
	in := fullService("idem", "web")
	first := mustCreateService(t, c, in)

	// The same request again (a retry) answers with the service as it is.
	again := mustCreateService(t, c, fullService("idem", "web"))
	if diff := cmp.Diff(first, again, ignoreUnexported); diff != "" {
		t.Errorf("identical create changed the service (-first +again):\n%s", diff)
	}
	// Another definition under the same name is refused.
	other := fullService("idem", "web")
	other.DesiredCount = aws.Int32(4)
	_, err := c.CreateService(ctx, other)
	wantAPIError(t, err, "InvalidParameterException", "Creation of service was not idempotent.")

	// So is any create while the old service drains…
	if _, err := c.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String("idem"), Service: aws.String("web"), Force: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateService(ctx, fullService("idem", "web"))
	wantAPIError(t, err, "InvalidParameterException", "Creation of service was not idempotent.")

	// …but once it is INACTIVE the name is free again.
	setServiceStatus(t, st, "idem", "web", "INACTIVE")
	replaced := mustCreateService(t, c, fullService("idem", "web"))
	if aws.ToString(replaced.Status) != "ACTIVE" || aws.ToString(replaced.Deployments[0].Id) == aws.ToString(first.Deployments[0].Id) {
		t.Errorf("replacement = %s with deployment %s, want a new ACTIVE service", aws.ToString(replaced.Status), aws.ToString(replaced.Deployments[0].Id))
	}
}

// setServiceStatus sets a stored service's status, as the service
// controller does when a deleted service has drained.
func setServiceStatus(t testing.TB, st *store.Store, cluster, name, status string) {
	t.Helper()
	_, err := st.Services.Update(context.Background(), store.ServiceKey(cluster, name), func(r *store.ServiceRecord) error {
		r.Service.Status = status
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestUpdateService(t *testing.T) {
	t.Parallel()
	_, c := startWithStore(t)
	serviceFixture(t, c, "upd")
	ctx := context.Background()

	tests := []struct {
		name   string
		edit   func(*ecs.UpdateServiceInput)
		deploy bool
		check  func(t *testing.T, s types.Service)
	}{
		{"desired count", func(in *ecs.UpdateServiceInput) { in.DesiredCount = aws.Int32(5) }, false, func(t *testing.T, s types.Service) {
			if s.DesiredCount != 5 || s.Deployments[0].DesiredCount != 5 {
				t.Errorf("desired = %d, primary desired = %d; want 5", s.DesiredCount, s.Deployments[0].DesiredCount)
			}
		}},
		{"placement, grace period and flags", func(in *ecs.UpdateServiceInput) {
			in.PlacementStrategy = []types.PlacementStrategy{{Type: types.PlacementStrategyTypeSpread, Field: aws.String("instanceId")}}
			in.PlacementConstraints = []types.PlacementConstraint{}
			in.HealthCheckGracePeriodSeconds = aws.Int32(60)
			in.EnableExecuteCommand = aws.Bool(false)
			in.PropagateTags = types.PropagateTagsTaskDefinition
			in.DeploymentConfiguration = &types.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(0)}
		}, false, func(t *testing.T, s types.Service) {
			if len(s.PlacementStrategy) != 1 || aws.ToString(s.PlacementStrategy[0].Field) != "instanceId" || len(s.PlacementConstraints) != 0 ||
				aws.ToInt32(s.HealthCheckGracePeriodSeconds) != 60 || s.EnableExecuteCommand || s.PropagateTags != types.PropagateTagsTaskDefinition {
				t.Errorf("service = %+v", s)
			}
			// Members not given keep their values.
			if dc := s.DeploymentConfiguration; aws.ToInt32(dc.MinimumHealthyPercent) != 0 || aws.ToInt32(dc.MaximumPercent) != 150 || !dc.DeploymentCircuitBreaker.Enable {
				t.Errorf("deploymentConfiguration = %+v, want min 0, max 150 and the circuit breaker kept", dc)
			}
		}},
		{"same task definition by family", func(in *ecs.UpdateServiceInput) { in.TaskDefinition = aws.String("upd-web:1") }, false, nil},
		{"force new deployment", func(in *ecs.UpdateServiceInput) { in.ForceNewDeployment = true }, true, nil},
		{"new task definition", func(in *ecs.UpdateServiceInput) { in.TaskDefinition = aws.String("upd-web") }, true, func(t *testing.T, s types.Service) {
			if aws.ToString(s.TaskDefinition) != taskDefARN("upd-web:2") || aws.ToString(s.Deployments[0].TaskDefinition) != taskDefARN("upd-web:2") {
				t.Errorf("task definition = %s, primary's = %s; want revision 2", aws.ToString(s.TaskDefinition), aws.ToString(s.Deployments[0].TaskDefinition))
			}
		}},
		{"load balancers", func(in *ecs.UpdateServiceInput) { in.LoadBalancers = []types.LoadBalancer{} }, true, func(t *testing.T, s types.Service) {
			if len(s.LoadBalancers) != 0 {
				t.Errorf("loadBalancers = %+v, want none", s.LoadBalancers)
			}
		}},
		{"load balancers unchanged", func(in *ecs.UpdateServiceInput) { in.LoadBalancers = []types.LoadBalancer{} }, false, nil},
	}
	mustCreateService(t, c, fullService("upd", "web"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := describeService(t, c, "upd", "web")
			in := &ecs.UpdateServiceInput{Cluster: aws.String("upd"), Service: aws.String("web")}
			tt.edit(in)
			out, err := c.UpdateService(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			s := *out.Service
			primary := s.Deployments[0]
			if !tt.deploy {
				if len(s.Deployments) != len(before.Deployments) || aws.ToString(primary.Id) != aws.ToString(before.Deployments[0].Id) {
					t.Errorf("deployments = %d, primary %s; want %d, primary %s unchanged", len(s.Deployments), aws.ToString(primary.Id), len(before.Deployments), aws.ToString(before.Deployments[0].Id))
				}
			} else {
				if len(s.Deployments) != len(before.Deployments)+1 || aws.ToString(primary.Status) != "PRIMARY" ||
					aws.ToString(primary.Id) == aws.ToString(before.Deployments[0].Id) || primary.RolloutState != types.DeploymentRolloutStateInProgress {
					t.Fatalf("deployments = %+v, want a new PRIMARY in front of %d", s.Deployments, len(before.Deployments))
				}
				old := s.Deployments[1]
				if aws.ToString(old.Id) != aws.ToString(before.Deployments[0].Id) || aws.ToString(old.Status) != "ACTIVE" {
					t.Errorf("previous primary = %s %s, want %s ACTIVE", aws.ToString(old.Id), aws.ToString(old.Status), aws.ToString(before.Deployments[0].Id))
				}
				if primary.DesiredCount != s.DesiredCount {
					t.Errorf("new primary desired = %d, want the service's %d", primary.DesiredCount, s.DesiredCount)
				}
				// The replaced service deployment stopped; the new one runs.
				prev := describeDeployment(t, c, aws.ToString(before.CurrentServiceDeployment))
				if prev.Status != types.ServiceDeploymentStatusStopped || !strings.Contains(aws.ToString(prev.StatusReason), "newer service deployment") || prev.FinishedAt == nil {
					t.Errorf("replaced service deployment = %s %q", prev.Status, aws.ToString(prev.StatusReason))
				}
				cur := describeDeployment(t, c, aws.ToString(s.CurrentServiceDeployment))
				if cur.Status != types.ServiceDeploymentStatusInProgress || len(cur.SourceServiceRevisions) != len(before.Deployments) {
					t.Errorf("new service deployment = %s with %d source revisions, want IN_PROGRESS from %d", cur.Status, len(cur.SourceServiceRevisions), len(before.Deployments))
				}
			}
			if tt.check != nil {
				tt.check(t, s)
				tt.check(t, describeService(t, c, "upd", "web"))
			}
		})
	}

	t.Run("errors", func(t *testing.T) {
		mustCreateService(t, c, &ecs.CreateServiceInput{
			Cluster: aws.String("upd"), ServiceName: aws.String("daemon"),
			TaskDefinition: aws.String("upd-web"), SchedulingStrategy: types.SchedulingStrategyDaemon,
		})
		mustCreateService(t, c, &ecs.CreateServiceInput{
			Cluster: aws.String("upd"), ServiceName: aws.String("gone"), TaskDefinition: aws.String("upd-web"), DesiredCount: aws.Int32(0),
		})
		if _, err := c.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String("upd"), Service: aws.String("gone")}); err != nil {
			t.Fatal(err)
		}
		errs := []struct {
			name string
			in   ecs.UpdateServiceInput
			code string
			msg  []string
		}{
			{"not found", ecs.UpdateServiceInput{Service: aws.String("nope"), DesiredCount: aws.Int32(1)}, "ServiceNotFoundException", []string{"Service not found."}},
			{"not active", ecs.UpdateServiceInput{Service: aws.String("gone"), DesiredCount: aws.Int32(1)}, "ServiceNotActiveException", []string{"Service was not ACTIVE."}},
			{"daemon desired count", ecs.UpdateServiceInput{Service: aws.String("daemon"), DesiredCount: aws.Int32(1)}, "InvalidParameterException", []string{"desired count"}},
			{"negative desired count", ecs.UpdateServiceInput{Service: aws.String("web"), DesiredCount: aws.Int32(-2)}, "InvalidParameterException", []string{"desiredCount"}},
			{"awsvpc definition without network", ecs.UpdateServiceInput{Service: aws.String("web"), TaskDefinition: aws.String("upd-api")}, "InvalidParameterException", []string{"Network Configuration"}},
			{"code deploy", ecs.UpdateServiceInput{Service: aws.String("web"), DeploymentController: &types.DeploymentController{Type: types.DeploymentControllerTypeExternal}}, "InvalidParameterException", []string{"deploymentController"}},
			{"unknown cluster", ecs.UpdateServiceInput{Cluster: aws.String("nope"), Service: aws.String("web")}, "ClusterNotFoundException", nil},
		}
		for _, tt := range errs {
			t.Run(tt.name, func(t *testing.T) {
				in := tt.in
				if in.Cluster == nil {
					in.Cluster = aws.String("upd")
				}
				_, err := c.UpdateService(ctx, &in)
				wantAPIError(t, err, tt.code, tt.msg...)
			})
		}
	})
}

func TestUpdateServiceKeepsInactiveTaskDefinition(t *testing.T) {
	t.Parallel()
	_, c := startWithStore(t)
	serviceFixture(t, c, "keep")
	mustCreateService(t, c, &ecs.CreateServiceInput{
		Cluster: aws.String("keep"), ServiceName: aws.String("web"), TaskDefinition: aws.String("keep-web:1"), DesiredCount: aws.Int32(1),
	})
	mustDeregister(t, c, "keep-web:1")
	// A service keeps running a revision deregistered under it; it can
	// still be scaled and redeployed.
	out, err := c.UpdateService(context.Background(), &ecs.UpdateServiceInput{
		Cluster: aws.String("keep"), Service: aws.String("web"), DesiredCount: aws.Int32(2), ForceNewDeployment: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Service.Deployments[0].TaskDefinition) != taskDefARN("keep-web:1") {
		t.Errorf("primary task definition = %s", aws.ToString(out.Service.Deployments[0].TaskDefinition))
	}
	// Moving to it explicitly is refused, as it is no longer ACTIVE.
	_, err = c.UpdateService(context.Background(), &ecs.UpdateServiceInput{
		Cluster: aws.String("keep"), Service: aws.String("web"), TaskDefinition: aws.String("keep-web:1"),
	})
	wantAPIError(t, err, "ClientException", "inactive")
}

func TestDeleteService(t *testing.T) {
	t.Parallel()
	st, c := startWithStore(t)
	serviceFixture(t, c, "del")
	ctx := context.Background()
	mustCreateService(t, c, &ecs.CreateServiceInput{
		Cluster: aws.String("del"), ServiceName: aws.String("web"), TaskDefinition: aws.String("del-web"), DesiredCount: aws.Int32(2),
	})
	mustCreateService(t, c, &ecs.CreateServiceInput{
		Cluster: aws.String("del"), ServiceName: aws.String("agent"), TaskDefinition: aws.String("del-web"), SchedulingStrategy: types.SchedulingStrategyDaemon,
	})
	del := func(name string, force bool) (*types.Service, error) {
		out, err := c.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String("del"), Service: aws.String(name), Force: aws.Bool(force)})
		if err != nil {
			return nil, err
		}
		return out.Service, nil
	}

	_, err := del("web", false)
	wantAPIError(t, err, "InvalidParameterException", "The service cannot be stopped while it is scaled above 0.")

	// The cluster counts it, and refuses to be deleted while it exists.
	cl, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"del"}})
	if err != nil || cl.Clusters[0].ActiveServicesCount != 2 {
		t.Fatalf("activeServicesCount = %+v, %v; want 2", cl.Clusters, err)
	}
	_, err = c.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String("del")})
	wantAPIError(t, err, "ClusterContainsServicesException")

	for _, tt := range []struct {
		name  string
		force bool
	}{{"web", true}, {"agent", false}} { // DAEMON services need no force
		s, err := del(tt.name, tt.force)
		if err != nil {
			t.Fatalf("delete %s: %v", tt.name, err)
		}
		if aws.ToString(s.Status) != "DRAINING" || s.DesiredCount != 0 || s.Deployments[0].DesiredCount != 0 {
			t.Errorf("deleted %s: status %s desired %d primary desired %d; want DRAINING 0 0", tt.name, aws.ToString(s.Status), s.DesiredCount, s.Deployments[0].DesiredCount)
		}
	}
	// Deleting a draining service again answers with it.
	if s, err := del("web", false); err != nil || aws.ToString(s.Status) != "DRAINING" {
		t.Errorf("second delete = %v, %v; want the DRAINING service", s, err)
	}
	// Draining services are described but no longer listed.
	if s := describeService(t, c, "del", "web"); aws.ToString(s.Status) != "DRAINING" {
		t.Errorf("described status = %s, want DRAINING", aws.ToString(s.Status))
	}
	list, err := c.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String("del")})
	if err != nil || len(list.ServiceArns) != 0 {
		t.Errorf("ListServices = %v, %v; want none", list.ServiceArns, err)
	}

	setServiceStatus(t, st, "del", "web", "INACTIVE")
	_, err = del("web", true)
	wantAPIError(t, err, "ServiceNotActiveException", "Service was not ACTIVE.")
	_, err = del("nope", true)
	wantAPIError(t, err, "ServiceNotFoundException", "Service not found.")
}

func TestDescribeServices(t *testing.T) {
	t.Parallel()
	st, c := startWithStore(t)
	serviceFixture(t, c, "desc")
	mustCreateCluster(t, c, &ecs.CreateClusterInput{ClusterName: aws.String("other")})
	ctx := context.Background()
	in := fullService("desc", "web")
	first := mustCreateService(t, c, in)
	oldID := aws.ToString(first.Deployments[0].Id)
	out, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("desc"), Service: aws.String("web"), ForceNewDeployment: true})
	if err != nil {
		t.Fatal(err)
	}
	newID := aws.ToString(out.Service.Deployments[0].Id)

	// Tasks of both deployments in every state, as the controller and the
	// agents would leave them.
	key := store.ServiceKey("desc", "web")
	for _, task := range []struct {
		dep, last, desired string
	}{
		{newID, "RUNNING", "RUNNING"},
		{newID, "PENDING", "RUNNING"},
		{newID, "PROVISIONING", "RUNNING"},
		{newID, "STOPPED", "STOPPED"},
		{oldID, "RUNNING", "RUNNING"},
		{oldID, "RUNNING", "STOPPED"}, // being stopped: still running, no longer wanted
		{oldID, "ACTIVATING", "RUNNING"},
		{oldID, "STOPPED", "STOPPED"},
	} {
		putServiceTask(t, st, key, task.dep, task.last, task.desired)
	}
	s := describeService(t, c, "desc", serviceARN("desc", "web"))
	if s.RunningCount != 3 || s.PendingCount != 3 || s.DesiredCount != 3 {
		t.Errorf("service running %d pending %d desired %d; want 3 3 3", s.RunningCount, s.PendingCount, s.DesiredCount)
	}
	want := map[string][3]int32{newID: {1, 2, 3}, oldID: {2, 1, 2}} // running, pending, desired
	for _, d := range s.Deployments {
		got := [3]int32{d.RunningCount, d.PendingCount, d.DesiredCount}
		if got != want[aws.ToString(d.Id)] {
			t.Errorf("deployment %s %s: running/pending/desired = %v, want %v", aws.ToString(d.Id), aws.ToString(d.Status), got, want[aws.ToString(d.Id)])
		}
	}
	if len(s.CurrentServiceRevisions) != 2 {
		t.Errorf("currentServiceRevisions = %+v, want both deployments' revisions", s.CurrentServiceRevisions)
	}
	if s.Tags != nil && len(s.Tags) != 0 {
		t.Errorf("tags without include = %v, want none", s.Tags)
	}
	if s := describeService(t, c, "desc", "web", types.ServiceFieldTags); len(s.Tags) != 1 {
		t.Errorf("tags with include TAGS = %v", s.Tags)
	}

	res, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{
		Cluster:  aws.String("desc"),
		Services: []string{"web", "nope", serviceARN("other", "web"), arnPrefix + "service/web"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Services) != 2 {
		t.Errorf("services = %d, want web by name and by its short ARN", len(res.Services))
	}
	wantFailures := []types.Failure{
		{Arn: aws.String(serviceARN("desc", "nope")), Reason: aws.String("MISSING")},
		{Arn: aws.String(serviceARN("other", "web")), Reason: aws.String("MISSING")},
	}
	if diff := cmp.Diff(wantFailures, res.Failures, ignoreUnexported); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}

	_, err = c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("desc"), Services: slices.Repeat([]string{"web"}, 11)})
	wantAPIError(t, err, "InvalidParameterException", "services")
	_, err = c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("nope"), Services: []string{"web"}})
	wantAPIError(t, err, "ClusterNotFoundException")
}

// putServiceTask stores a task of a service's deployment.
func putServiceTask(t testing.TB, st *store.Store, serviceKey, deployment, lastStatus, desiredStatus string) {
	t.Helper()
	cluster, name, _ := strings.Cut(serviceKey, "/")
	id := wire.NewID()
	rec := &store.TaskRecord{
		Task: wire.Task{
			TaskArn: arnPrefix + "task/" + cluster + "/" + id, ClusterArn: clusterARN(cluster),
			LastStatus: lastStatus, DesiredStatus: desiredStatus, LaunchType: wire.LaunchTypeEC2,
			StartedBy: deployment, Group: "service:" + name,
		},
		Service: serviceKey,
	}
	if _, err := st.Commit(context.Background(), st.Tasks.Create(cluster+"/"+id, rec)); err != nil {
		t.Fatal(err)
	}
}
