package ecs

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Limits ECS applies to a task definition (ECS API reference and service quotas).
const (
	maxNameLength           = 255
	maxContainers           = 10
	maxPlacementConstraints = 10
)

// checker carries one registration through validation: the task definition
// being built from the request and what the rules need to know about it.
type checker struct {
	td       *TaskDefinition
	mode     NetworkMode    // networkMode with ECS's default (bridge) applied
	cpu, mem int            // task size in CPU units and MiB; 0 when not set
	names    map[string]int // container name → index
}

// NewTaskDefinition validates a RegisterTaskDefinition request the way ECS does and returns the
// task definition to store, normalised as ECS returns it (without family revision/ARN/status/registeredAt,
// which the caller fills in). It never mutates req.
func NewTaskDefinition(req *RegisterTaskDefinitionRequest) (*TaskDefinition, error) {
	if req == nil {
		return nil, ClientError("Family can not be blank.")
	}
	td, err := copyRequest(req)
	if err != nil {
		return nil, err
	}
	c := &checker{td: td, mode: td.NetworkMode}
	if c.mode == "" {
		c.mode = NetworkModeBridge
	}
	steps := []func() *Error{
		c.family, c.containerList, c.taskEnums, c.taskSize, c.fargateSizeFirst, c.placementConstraints,
		c.volumes, c.containers, c.dependencies, c.resources, c.compatibilities,
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	c.normalise()
	return td, nil
}

// ValidFamily reports whether name is a valid task definition family: up to
// 255 letters, numbers, hyphens and underscores. Container and volume names
// follow the same rule.
func ValidFamily(name string) bool {
	if name == "" || len(name) > maxNameLength {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// copyRequest deep-copies req into a TaskDefinition. The request and the task
// definition share their member names on the wire, so one JSON round trip
// copies every nested slice, map and pointer (and drops tags, which are not
// part of a task definition) without a hand-written copy of forty shapes.
func copyRequest(req *RegisterTaskDefinitionRequest) (*TaskDefinition, *Error) {
	b, err := json.Marshal(req)
	if err != nil {
		return nil, ClientError("Invalid task definition: %v", err)
	}
	td := new(TaskDefinition)
	if err := json.Unmarshal(b, td); err != nil {
		return nil, ClientError("Invalid task definition: %v", err)
	}
	return td, nil
}

func (c *checker) family() *Error {
	switch f := c.td.Family; {
	case f == "":
		return ClientError("Family can not be blank.")
	case len(f) > maxNameLength:
		return ClientError("Family can be at most %d characters long.", maxNameLength)
	case !ValidFamily(f):
		return ClientError("Family contains invalid characters.")
	}
	return nil
}

// containerList checks the names and images every later rule relies on.
func (c *checker) containerList() *Error {
	defs := c.td.ContainerDefinitions
	switch {
	case len(defs) == 0:
		return ClientError("Container list cannot be empty.")
	case len(defs) > maxContainers:
		return ClientError("Too many containers.")
	}
	c.names = make(map[string]int, len(defs))
	for i, cd := range defs {
		switch {
		case cd.Name == "":
			return ClientError("Container.name should not be null or empty.")
		case !ValidFamily(cd.Name):
			return ClientError("Container.name contains invalid characters.")
		case cd.Image == "":
			return ClientError("Container.image should not be null or empty.")
		}
		if _, dup := c.names[cd.Name]; dup {
			return ClientError("Container names must be unique within a Task Definition.")
		}
		c.names[cd.Name] = i
	}
	return nil
}

// checkEnum refuses a value outside the service model's enum, naming the
// field and the values it accepts. An empty value means "not set".
func checkEnum[T ~string](field string, v T, allowed []T) *Error {
	if v == "" || slices.Contains(allowed, v) {
		return nil
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	return InvalidParameter("Invalid value '%s' for %s. Valid values are: %s.", v, field, strings.Join(names, ", "))
}

func (c *checker) taskEnums() *Error {
	td := c.td
	errs := []*Error{
		checkEnum("networkMode", td.NetworkMode, NetworkMode("").Values()),
		checkEnum("pidMode", td.PidMode, PidMode("").Values()),
		checkEnum("ipcMode", td.IpcMode, IpcMode("").Values()),
	}
	for i, rc := range td.RequiresCompatibilities {
		errs = append(errs, checkEnum(fmt.Sprintf("requiresCompatibilities[%d]", i), rc, Compatibility("").Values()))
	}
	if p := td.RuntimePlatform; p != nil {
		errs = append(errs,
			checkEnum("runtimePlatform.cpuArchitecture", p.CpuArchitecture, CPUArchitecture("").Values()),
			checkEnum("runtimePlatform.operatingSystemFamily", p.OperatingSystemFamily, OSFamily("").Values()))
	}
	if p := td.ProxyConfiguration; p != nil {
		errs = append(errs, checkEnum("proxyConfiguration.type", p.Type, ProxyConfigurationType("").Values()))
	}
	return firstError(errs)
}

func firstError(errs []*Error) *Error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func (c *checker) placementConstraints() *Error {
	pcs := c.td.PlacementConstraints
	if len(pcs) > maxPlacementConstraints {
		return ClientError("Too many placementConstraints: a task definition can have at most %d.", maxPlacementConstraints)
	}
	for i, pc := range pcs {
		f := fmt.Sprintf("placementConstraints[%d]", i)
		if pc.Type == "" {
			return ClientError("%s.type should not be null or empty.", f)
		}
		if err := checkEnum(f+".type", pc.Type, TaskDefinitionPlacementConstraintType("").Values()); err != nil {
			return err
		}
		if pc.Expression == "" {
			return ClientError("%s.expression should not be null or empty for type memberOf.", f)
		}
	}
	return nil
}

// volumes checks the task's volume list: named like containers, unique, and
// at most one kind of storage each.
func (c *checker) volumes() *Error {
	seen := make(map[string]bool, len(c.td.Volumes))
	for i, v := range c.td.Volumes {
		f := fmt.Sprintf("volumes[%d]", i)
		switch {
		case v.Name == "":
			return ClientError("volume.name should not be null or empty (%s.name).", f)
		case !ValidFamily(v.Name):
			return ClientError("volume.name contains invalid characters.")
		case seen[v.Name]:
			return ClientError("Volume names must be unique within a Task Definition: '%s' (%s.name).", v.Name, f)
		}
		seen[v.Name] = true
		kinds := 0
		for _, set := range []bool{v.Host != nil, v.DockerVolumeConfiguration != nil, v.EfsVolumeConfiguration != nil,
			v.FsxWindowsFileServerVolumeConfiguration != nil, v.S3filesVolumeConfiguration != nil} {
			if set {
				kinds++
			}
		}
		if kinds > 1 {
			return ClientError("Volume '%s' (%s) can specify only one of host, dockerVolumeConfiguration, efsVolumeConfiguration, fsxWindowsFileServerVolumeConfiguration and s3filesVolumeConfiguration.", v.Name, f)
		}
		if err := volumeConfig(f, v); err != nil {
			return err
		}
	}
	return nil
}

func volumeConfig(f string, v Volume) *Error {
	if d := v.DockerVolumeConfiguration; d != nil {
		if err := checkEnum(f+".dockerVolumeConfiguration.scope", d.Scope, Scope("").Values()); err != nil {
			return err
		}
	}
	if e := v.EfsVolumeConfiguration; e != nil {
		if e.FileSystemId == "" {
			return ClientError("%s.efsVolumeConfiguration.fileSystemId should not be null or empty.", f)
		}
		if err := checkEnum(f+".efsVolumeConfiguration.transitEncryption", e.TransitEncryption, EFSTransitEncryption("").Values()); err != nil {
			return err
		}
	}
	return nil
}

// compatibilities applies the rules of each launch type the request requires
// and computes the launch types the task definition can use, as ECS reports
// them in compatibilities: EXTERNAL and EC2 outside awsvpc; EC2,
// MANAGED_INSTANCES and, when every Fargate rule passes, FARGATE with awsvpc
// (that order is what DescribeTaskDefinition shows).
func (c *checker) compatibilities() *Error {
	fargateErr := c.fargate()
	var compat []Compatibility
	if c.mode == NetworkModeAwsvpc {
		compat = []Compatibility{CompatibilityEC2, CompatibilityMANAGEDINSTANCES}
		if fargateErr == nil {
			compat = append(compat, CompatibilityFARGATE)
		}
	} else {
		compat = []Compatibility{CompatibilityEXTERNAL, CompatibilityEC2}
	}
	for _, rc := range c.td.RequiresCompatibilities {
		switch {
		case rc == CompatibilityFARGATE && fargateErr != nil:
			return fargateErr
		case rc == CompatibilityEXTERNAL && c.mode == NetworkModeAwsvpc:
			return ClientError("Tasks using the EXTERNAL launch type do not support networkMode awsvpc.")
		case rc == CompatibilityMANAGEDINSTANCES && !slices.Contains(compat, rc):
			// Managed instances run awsvpc, host and none tasks, and need
			// the network mode stated rather than defaulted.
			if c.td.NetworkMode != NetworkModeHost && c.td.NetworkMode != NetworkModeNone {
				return ClientError("Tasks using the MANAGED_INSTANCES launch type require networkMode awsvpc, host or none.")
			}
			compat = append(compat, rc)
		}
	}
	c.td.Compatibilities = compat
	return nil
}

// normalise fills in what ECS adds to every task definition it returns:
// empty volume and placement-constraint lists, the per-container defaults,
// and the computed requiresAttributes.
func (c *checker) normalise() {
	td := c.td
	if td.Volumes == nil {
		td.Volumes = []Volume{}
	}
	if td.PlacementConstraints == nil {
		td.PlacementConstraints = []TaskDefinitionPlacementConstraint{}
	}
	for i := range td.ContainerDefinitions {
		c.normaliseContainer(&td.ContainerDefinitions[i])
	}
	td.RequiresAttributes = requiresAttributes(td)
}

// requiresAttributes lists the container-instance attributes a task needs,
// derived from the parameters it uses; ECS uses them as an implicit placement
// constraint. The mapping, in the order attributes are listed:
//
//	parameter                                  attribute                                                   source
//	logConfiguration.logDriver = <d>           com.amazonaws.ecs.capability.logging-driver.<d>             observed output
//	logConfiguration.options                   com.amazonaws.ecs.capability.docker-remote-api.1.19         API reference, observed
//	logDriver awslogs + executionRoleArn       ecs.capability.execution-role-awslogs                       observed
//	image in private ECR                       com.amazonaws.ecs.capability.ecr-auth                       observed
//	image in private ECR + executionRoleArn    ecs.capability.execution-role-ecr-pull                      observed
//	taskRoleArn                                com.amazonaws.ecs.capability.task-iam-role                  observed
//	healthCheck                                ecs.capability.container-health-check                       observed
//	healthCheck without / with startPeriod     com.amazonaws.ecs.capability.docker-remote-api.1.24 / 1.29  observed
//	secrets from SSM / Secrets Manager         ecs.capability.secrets.{ssm,asm}.environment-variables      observed
//	logConfiguration.secretOptions, same       ecs.capability.secrets.{ssm,asm}.bootstrap.log-driver       agent attribute names
//	dockerLabels, ulimits                      com.amazonaws.ecs.capability.docker-remote-api.1.18         API reference
//	linuxParameters.initProcessEnabled         com.amazonaws.ecs.capability.docker-remote-api.1.25         API reference, observed
//	privileged                                 com.amazonaws.ecs.capability.privileged-container           developer guide
//	dependsOn, startTimeout, stopTimeout       ecs.capability.container-ordering                           developer guide
//	pidMode, ipcMode                           ecs.capability.pid-ipc-namespace-sharing                    observed
//	efsVolumeConfiguration                     ecs.capability.efs (+ efsAuth with TLS or IAM)              observed
//	networkMode awsvpc                         docker-remote-api.1.18 and ecs.capability.task-eni          observed
//
// ECS lists them in an order of its own; clients treat the list as a set.
func requiresAttributes(td *TaskDefinition) []Attribute {
	var names []string
	add := func(name string) {
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	for i := range td.ContainerDefinitions {
		containerAttributes(td, &td.ContainerDefinitions[i], add)
	}
	if td.PidMode != "" || td.IpcMode != "" {
		add("ecs.capability.pid-ipc-namespace-sharing")
	}
	for _, v := range td.Volumes {
		if e := v.EfsVolumeConfiguration; e != nil {
			add("ecs.capability.efs")
			if efsAuth(e) {
				add("ecs.capability.efsAuth")
			}
		}
	}
	if td.NetworkMode == NetworkModeAwsvpc {
		add(dockerAPI("1.18"))
		add("ecs.capability.task-eni")
	}
	var attrs []Attribute
	for _, n := range names {
		attrs = append(attrs, Attribute{Name: n})
	}
	return attrs
}

// efsAuth reports whether an EFS volume uses transit encryption or IAM
// authorization, which needs the agent's EFS auth support.
func efsAuth(e *EFSVolumeConfiguration) bool {
	a := e.AuthorizationConfig
	return e.TransitEncryption == EFSTransitEncryptionENABLED ||
		a != nil && (a.Iam == EFSAuthorizationConfigIAMENABLED || a.AccessPointId != "")
}

func dockerAPI(version string) string {
	return "com.amazonaws.ecs.capability.docker-remote-api." + version
}

func containerAttributes(td *TaskDefinition, cd *ContainerDefinition, add func(string)) {
	if lc := cd.LogConfiguration; lc != nil {
		add("com.amazonaws.ecs.capability.logging-driver." + string(lc.LogDriver))
		if len(lc.Options) > 0 {
			add(dockerAPI("1.19"))
		}
		if lc.LogDriver == LogDriverAwslogs && td.ExecutionRoleArn != "" {
			add("ecs.capability.execution-role-awslogs")
		}
	}
	if ecrImage(cd.Image) {
		add("com.amazonaws.ecs.capability.ecr-auth")
		if td.ExecutionRoleArn != "" {
			add("ecs.capability.execution-role-ecr-pull")
		}
	}
	if td.TaskRoleArn != "" {
		add("com.amazonaws.ecs.capability.task-iam-role")
	}
	if h := cd.HealthCheck; h != nil {
		add("ecs.capability.container-health-check")
		if h.StartPeriod != nil {
			add(dockerAPI("1.29"))
		} else {
			add(dockerAPI("1.24"))
		}
	}
	secretAttributes(cd, add)
	if len(cd.DockerLabels) > 0 || len(cd.Ulimits) > 0 {
		add(dockerAPI("1.18"))
	}
	if lp := cd.LinuxParameters; lp != nil && lp.InitProcessEnabled != nil && *lp.InitProcessEnabled {
		add(dockerAPI("1.25"))
	}
	if cd.Privileged != nil && *cd.Privileged {
		add("com.amazonaws.ecs.capability.privileged-container")
	}
	if len(cd.DependsOn) > 0 || cd.StartTimeout != nil || cd.StopTimeout != nil {
		add("ecs.capability.container-ordering")
	}
}

// secretAttributes tells SSM parameters (an ssm ARN or a bare parameter
// name) from Secrets Manager secrets by their valueFrom; secrets for the log
// driver are fetched before the container starts, hence "bootstrap".
func secretAttributes(cd *ContainerDefinition, add func(string)) {
	store := func(s Secret) string {
		if strings.Contains(s.ValueFrom, ":secretsmanager:") {
			return "asm"
		}
		return "ssm"
	}
	for _, s := range cd.Secrets {
		add("ecs.capability.secrets." + store(s) + ".environment-variables")
	}
	if lc := cd.LogConfiguration; lc != nil {
		for _, s := range lc.SecretOptions {
			add("ecs.capability.secrets." + store(s) + ".bootstrap.log-driver")
		}
	}
}
