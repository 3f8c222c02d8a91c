package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gantry-dev/gantry/internal/controller"
	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/placement"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/google/uuid"
)

// Limits ECS puts on task requests.
const (
	maxRunCount     = 10
	maxStartedBy    = 128
	maxGroup        = 255
	fargateProvider = "FARGATE"
	fargateSpot     = "FARGATE_SPOT"
	platformVersion = "1.4.0"
)

// launch is what RunTask and StartTask resolved from a request: where the
// task may go and everything its record is built from.
type launch struct {
	cluster    string
	td         *ecs.TaskDefinition
	tdTags     []ecs.Tag
	launchType ecs.LaunchType
	overrides  *ecs.TaskOverride
	network    *ecs.NetworkConfiguration
	group      string
	startedBy  string
	tags       []ecs.Tag
	execute    bool
	size       ecs.TaskSize
	ports      []string
	service    string // the key of the service launching the tasks, if any
}

// RunTask places count tasks on the cluster's instances, or on Fargate
// capacity, and answers with them placed; tasks that did not fit come back
// as failures with ECS's reasons.
func (a *API) RunTask(ctx context.Context, req *ecs.RunTaskRequest) (*ecs.RunTaskResponse, error) {
	count := 1
	if req.Count != nil {
		count = int(*req.Count)
		if count < 1 || count > maxRunCount {
			return nil, invalidParameter("count must be between 1 and %d.", maxRunCount)
		}
	}
	cl, err := a.activeCluster(req.Cluster)
	if err != nil {
		return nil, err
	}
	lt, err := runLaunchType(req.LaunchType, req.CapacityProviderStrategy, &cl.Value.Cluster)
	if err != nil {
		return nil, err
	}
	l, err := a.resolveLaunch(cl.Value.Cluster.ClusterName, lt, taskParams{
		taskDefinition: req.TaskDefinition, overrides: req.Overrides, network: req.NetworkConfiguration,
		group: req.Group, startedBy: req.StartedBy, tags: req.Tags, propagate: req.PropagateTags,
		execute: req.EnableExecuteCommand,
	})
	if err != nil {
		return nil, err
	}
	preq, err := placementRequest(l, lt, req.PlacementConstraints, req.PlacementStrategy)
	if err != nil {
		return nil, err
	}
	preq.Count = count
	return a.place(ctx, l, &controller.Placement{Request: preq})
}

// schedule hands a placement of the launch's tasks to the scheduler.
func (a *API) schedule(ctx context.Context, l *launch, p *controller.Placement) (*controller.Result, error) {
	p.Cluster, p.Fargate = l.cluster, l.launchType == ecs.LaunchTypeFARGATE
	p.Build = func(host *store.InstanceRecord) *store.TaskRecord { return a.newTask(l, host) }
	return a.sched.Place(ctx, p)
}

// place schedules a placement and answers with what the scheduler did.
func (a *API) place(ctx context.Context, l *launch, p *controller.Placement) (*ecs.RunTaskResponse, error) {
	res, err := a.schedule(ctx, l, p)
	switch {
	case errors.Is(err, controller.ErrNoInstances):
		return nil, invalidParameter("No Container Instances were found in your cluster.")
	case err != nil:
		return nil, wireError(err)
	}
	out := &ecs.RunTaskResponse{Tasks: make([]ecs.Task, len(res.Tasks)), Failures: make([]ecs.Failure, len(res.Failures))}
	for i, rec := range res.Tasks {
		out.Tasks[i] = rec.Task
	}
	for i, f := range res.Failures {
		out.Failures[i] = ecs.Failure{Arn: f.ARN, Reason: f.Reason}
		if f.Reason == controller.ReasonFargate {
			out.Failures[i].Detail = "no Fargate capacity is connected or has room"
		}
	}
	return out, nil
}

// runLaunchType decides between EC2 and FARGATE from a request's launch
// type, its capacity provider strategy, or the cluster's default strategy.
func runLaunchType(lt ecs.LaunchType, strategy []ecs.CapacityProviderStrategyItem, c *ecs.Cluster) (ecs.LaunchType, error) {
	if lt != "" && len(strategy) > 0 {
		return "", invalidParameter("Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.")
	}
	switch lt {
	case ecs.LaunchTypeEC2, ecs.LaunchTypeFARGATE:
		return lt, nil
	case "":
	default:
		if !slices.Contains(ecs.LaunchType("").Values(), lt) {
			return "", invalidParameter("launchType: %q is not a valid launch type.", lt)
		}
		return "", invalidParameter("launchType %s is not supported: Gantry runs EC2 and FARGATE tasks.", lt)
	}
	if len(strategy) == 0 {
		strategy = c.DefaultCapacityProviderStrategy
	}
	return strategyLaunchType(strategy)
}

// strategyLaunchType is the launch type a capacity provider strategy
// stands for: FARGATE for the Fargate providers, EC2 for none.
func strategyLaunchType(strategy []ecs.CapacityProviderStrategyItem) (ecs.LaunchType, error) {
	for _, item := range strategy {
		switch item.CapacityProvider {
		case fargateProvider, fargateSpot:
			return ecs.LaunchTypeFARGATE, nil
		default:
			return "", invalidParameter("The specified capacity provider %s is not associated with the cluster.", item.CapacityProvider)
		}
	}
	return ecs.LaunchTypeEC2, nil
}

// taskParams are the request fields RunTask and StartTask share.
type taskParams struct {
	taskDefinition string
	overrides      *ecs.TaskOverride
	network        *ecs.NetworkConfiguration
	group          string
	startedBy      string
	tags           []ecs.Tag
	propagate      ecs.PropagateTags
	execute        bool
	// service launches for a service: refusals are ECS's service errors.
	service bool
	// inactive allows an INACTIVE revision, which a service that already
	// runs it keeps launching, as in ECS.
	inactive bool
}

func (a *API) resolveLaunch(cluster string, lt ecs.LaunchType, p taskParams) (*launch, error) {
	it, err := a.findTaskDefinition(p.taskDefinition)
	if err != nil {
		return nil, err
	}
	if it == nil {
		return nil, clientError("TaskDefinition not found.")
	}
	td := &it.Value.TaskDefinition
	if td.Status != ecs.TaskDefinitionStatusACTIVE && !p.inactive {
		return nil, clientError("TaskDefinition is inactive")
	}
	if !slices.Contains(td.Compatibilities, ecs.Compatibility(lt)) {
		if p.service { // UpdateService and CreateService refuse it so
			return nil, invalidParameter("Task definition does not support launch_type %s.", lt)
		}
		return nil, clientError("Task definition does not support launch_type %s.", lt)
	}
	l := &launch{cluster: cluster, td: td, tdTags: it.Value.Tags, launchType: lt, network: p.network,
		group: p.group, startedBy: p.startedBy, tags: p.tags, execute: p.execute}
	if err := checkNetwork(td, lt, p.network); err != nil {
		return nil, err
	}
	if l.overrides, err = checkOverrides(td, p.overrides); err != nil {
		return nil, err
	}
	if len(l.startedBy) > maxStartedBy {
		return nil, invalidParameter("startedBy must be at most %d characters.", maxStartedBy)
	}
	if l.group == "" {
		l.group = "family:" + td.Family
	} else if len(l.group) > maxGroup {
		return nil, invalidParameter("group must be at most %d characters.", maxGroup)
	}
	if err := validateTags("tags", p.tags); err != nil {
		return nil, err
	}
	switch p.propagate {
	case "", ecs.PropagateTagsNONE:
	case ecs.PropagateTagsTASKDEFINITION:
		l.tags = mergeTags(slices.Clone(it.Value.Tags), l.tags)
	default:
		return nil, invalidParameter("propagateTags: %q is not valid for a standalone task.", p.propagate)
	}
	l.size = ecs.SizeOf(td, l.overrides)
	l.ports = ecs.HostPorts(td)
	return l, nil
}

func checkNetwork(td *ecs.TaskDefinition, lt ecs.LaunchType, nc *ecs.NetworkConfiguration) error {
	awsvpc := td.NetworkMode == ecs.NetworkModeAwsvpc
	if lt == ecs.LaunchTypeFARGATE && !awsvpc {
		return clientError("Fargate only supports network mode 'awsvpc'.")
	}
	given := nc != nil && nc.AwsvpcConfiguration != nil
	switch {
	case awsvpc && !given:
		return invalidParameter("Network Configuration must be provided when networkMode 'awsvpc' is specified.")
	case !awsvpc && given:
		return invalidParameter("Network Configuration is not valid for the given networkMode of this task definition.")
	case !awsvpc:
		return nil
	}
	vpc := nc.AwsvpcConfiguration
	if len(vpc.Subnets) == 0 || len(vpc.Subnets) > 16 {
		return invalidParameter("subnets can not be empty.")
	}
	for _, s := range vpc.Subnets {
		if strings.TrimSpace(s) == "" {
			return invalidParameter("subnets can not contain an empty subnet ID.")
		}
	}
	if len(vpc.SecurityGroups) > 5 {
		return invalidParameter("securityGroups can have at most 5 elements.")
	}
	return nil
}

// checkOverrides validates overrides against the task definition and
// returns them as ECS echoes them: one entry per container.
func checkOverrides(td *ecs.TaskDefinition, ov *ecs.TaskOverride) (*ecs.TaskOverride, error) {
	out := &ecs.TaskOverride{}
	if ov != nil {
		c, err := store.Clone(ov)
		if err != nil {
			return nil, err
		}
		out = c
	}
	for _, co := range out.ContainerOverrides {
		if !slices.ContainsFunc(td.ContainerDefinitions, func(cd ecs.ContainerDefinition) bool { return cd.Name == co.Name }) {
			return nil, invalidParameter("Override for container named %s is not a container in the TaskDefinition.", co.Name)
		}
		for _, n := range []*int32{co.Cpu, co.Memory, co.MemoryReservation} {
			if n != nil && *n < 0 {
				return nil, invalidParameter("Container override for %s: cpu and memory values must not be negative.", co.Name)
			}
		}
	}
	if out.Cpu != "" {
		n, err := ecs.ParseTaskCPU(out.Cpu)
		if err != nil {
			return nil, err
		}
		out.Cpu = strconv.Itoa(n)
	}
	if out.Memory != "" {
		n, err := ecs.ParseTaskMemory(out.Memory)
		if err != nil {
			return nil, err
		}
		out.Memory = strconv.Itoa(n)
	}
	for _, cd := range td.ContainerDefinitions {
		if !slices.ContainsFunc(out.ContainerOverrides, func(co ecs.ContainerOverride) bool { return co.Name == cd.Name }) {
			out.ContainerOverrides = append(out.ContainerOverrides, ecs.ContainerOverride{Name: cd.Name})
		}
	}
	return out, nil
}

// Limits ECS puts on placement options.
const (
	maxConstraints = 10 // task definition and request together
	maxStrategies  = 5
)

// demand is what each task of a launch needs of a container instance:
// resources, host ports and the attributes its definition requires.
func (l *launch) demand() placement.Request {
	req := placement.Request{CPU: l.size.CPU, Memory: l.size.Memory, Ports: l.ports, Group: l.group}
	for _, a := range l.td.RequiresAttributes {
		req.Requires = append(req.Requires, placement.Attribute{Name: a.Name, Value: a.Value})
	}
	return req
}

// placementRequest turns a launch and its placement options into what the
// scheduler places: resources, ports, required attributes, constraints
// from the task definition and the request, and the strategies in order.
func placementRequest(l *launch, lt ecs.LaunchType, constraints []ecs.PlacementConstraint, strategies []ecs.PlacementStrategy) (placement.Request, error) {
	if lt == ecs.LaunchTypeFARGATE {
		if len(constraints) > 0 || len(strategies) > 0 {
			return placement.Request{}, invalidParameter("Task placement constraints and strategies are not supported for the Fargate launch type.")
		}
		return placement.Request{CPU: l.size.CPU, Memory: l.size.Memory, Ports: l.ports, Group: l.group}, nil
	}
	req := l.demand()
	if len(constraints)+len(l.td.PlacementConstraints) > maxConstraints {
		return req, invalidParameter("placementConstraints: a task can have at most %d placement constraints, counting its task definition's.", maxConstraints)
	}
	for _, c := range l.td.PlacementConstraints {
		if c.Type == ecs.TaskDefinitionPlacementConstraintTypeMemberOf {
			if err := addConstraint(&req, "taskDefinition.placementConstraints", ecs.PlacementConstraint{Type: ecs.PlacementConstraintTypeMemberOf, Expression: c.Expression}); err != nil {
				return req, err
			}
		}
	}
	for i, c := range constraints {
		if err := addConstraint(&req, fmt.Sprintf("placementConstraints[%d]", i), c); err != nil {
			return req, err
		}
	}
	if len(strategies) > maxStrategies {
		return req, invalidParameter("placementStrategy can have at most %d elements.", maxStrategies)
	}
	for i, st := range strategies {
		s, err := placement.ParseStrategy(string(st.Type), st.Field)
		if err != nil {
			return req, invalidParameter("placementStrategy[%d]: %v.", i, err)
		}
		req.Strategies = append(req.Strategies, s)
	}
	return req, nil
}

func addConstraint(req *placement.Request, field string, c ecs.PlacementConstraint) error {
	switch c.Type {
	case ecs.PlacementConstraintTypeDistinctInstance:
		if c.Expression != "" {
			return invalidParameter("%s: a distinctInstance constraint takes no expression.", field)
		}
		req.Distinct = true
	case ecs.PlacementConstraintTypeMemberOf:
		if c.Expression == "" {
			return invalidParameter("%s.expression is required for a memberOf constraint.", field)
		}
		e, err := placement.ParseExpression(c.Expression)
		if err != nil {
			return invalidParameter("%s.expression: %v.", field, err)
		}
		req.MemberOf = append(req.MemberOf, e)
	default:
		return invalidParameter("%s.type: %q is not a valid constraint type.", field, c.Type)
	}
	return nil
}

// eachInstance walks a cluster's container instances in key order.
func (a *API) eachInstance(cluster string, fn func(*store.Item[store.InstanceRecord])) {
	a.store.Instances.Ascend(cluster+"/", func(it *store.Item[store.InstanceRecord]) bool {
		if it.Value.Cluster != cluster {
			return false
		}
		fn(it)
		return true
	})
}

// newTask builds a task record as ECS shows a task it just placed.
func (a *API) newTask(l *launch, host *store.InstanceRecord) *store.TaskRecord {
	id := ecs.NewID()
	now := ecs.At(a.now())
	td := l.td
	t := ecs.Task{
		TaskArn:              a.arns.Task(l.cluster, id),
		ClusterArn:           a.arns.Cluster(l.cluster),
		TaskDefinitionArn:    td.TaskDefinitionArn,
		LastStatus:           ecs.TaskPending,
		DesiredStatus:        ecs.TaskRunning,
		CreatedAt:            now,
		LaunchType:           l.launchType,
		Group:                l.group,
		StartedBy:            l.startedBy,
		Overrides:            l.overrides,
		Tags:                 l.tags,
		HealthStatus:         ecs.HealthStatusUNKNOWN,
		EnableExecuteCommand: l.execute,
		Cpu:                  cmp.Or(l.overrides.Cpu, td.Cpu),
		Memory:               cmp.Or(l.overrides.Memory, td.Memory),
		AvailabilityZone:     attribute(host.Instance.Attributes, "ecs.availability-zone"),
		Version:              1,
	}
	if arch := attribute(host.Instance.Attributes, "ecs.cpu-architecture"); arch != "" {
		t.Attributes = []ecs.Attribute{{Name: "ecs.cpu-architecture", Value: arch}}
	}
	if l.launchType == ecs.LaunchTypeFARGATE {
		t.PlatformVersion, t.PlatformFamily = platformVersion, "Linux"
		t.EphemeralStorage = &ecs.EphemeralStorage{SizeInGiB: 20}
	} else {
		t.ContainerInstanceArn = host.Instance.ContainerInstanceArn
	}
	if td.NetworkMode == ecs.NetworkModeAwsvpc {
		t.LastStatus = ecs.TaskProvisioning
		t.Attachments = []ecs.Attachment{eniAttachment(l.network.AwsvpcConfiguration.Subnets[0])}
	}
	for _, cd := range ecs.ContainerDefinitionsFor(td, l.overrides) {
		t.Containers = append(t.Containers, ecs.Container{
			ContainerArn:      a.arns.Container(l.cluster, id+"/"+uuid.NewString()),
			TaskArn:           t.TaskArn,
			Name:              cd.Name,
			Image:             cd.Image,
			LastStatus:        ecs.TaskPending,
			HealthStatus:      ecs.HealthStatusUNKNOWN,
			Cpu:               strconv.Itoa(int(cd.Cpu)),
			Memory:            optionalInt(cd.Memory),
			MemoryReservation: optionalInt(cd.MemoryReservation),
		})
	}
	return &store.TaskRecord{Task: t, HostID: host.ID, Size: l.size, Ports: l.ports, Network: l.network, Service: l.service}
}

// eniAttachment is the network interface an awsvpc task gets, before the
// agent reports its address.
func eniAttachment(subnet string) ecs.Attachment {
	return ecs.Attachment{
		Id:     uuid.NewString(),
		Type:   "ElasticNetworkInterface",
		Status: "PRECREATED",
		Details: []ecs.KeyValuePair{
			{Name: "subnetId", Value: subnet},
			{Name: "networkInterfaceId", Value: "eni-" + ecs.NewID()[:17]},
		},
	}
}

func attribute(attrs []ecs.Attribute, name string) string {
	for _, at := range attrs {
		if at.Name == name {
			return at.Value
		}
	}
	return ""
}

func optionalInt(p *int32) string {
	if p == nil {
		return ""
	}
	return fmt.Sprint(*p)
}
