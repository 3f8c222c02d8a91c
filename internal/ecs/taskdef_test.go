package ecs

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/taskdef/*.golden.json from the current output")

// fixtures are task definitions shaped like the ones people register: a
// Fargate web app, an EC2 bridge app with dynamic ports, links and host
// volumes, a host-mode daemon, and the minimal example from the ECS docs.
var fixtures = []string{"fargate-web", "ec2-bridge", "host-mode", "minimal"}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "taskdef", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeRequest(t testing.TB, b []byte) *RegisterTaskDefinitionRequest {
	t.Helper()
	req := new(RegisterTaskDefinitionRequest)
	if err := json.Unmarshal(b, req); err != nil {
		t.Fatal(err)
	}
	return req
}

func register(t testing.TB, name string) *TaskDefinition {
	t.Helper()
	td, err := NewTaskDefinition(decodeRequest(t, readFixture(t, name)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return td
}

// toJSONValue turns v into the generic form encoding/json decodes to, so
// outputs compare as JSON rather than as Go values.
func toJSONValue(t testing.TB, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestNewTaskDefinitionGolden(t *testing.T) {
	t.Parallel()
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := toJSONValue(t, register(t, name))
			delete(got, "revision") // always emitted; the caller assigns it
			path := filepath.Join("testdata", "taskdef", name+".golden.json")
			if *update {
				b, _ := json.MarshalIndent(got, "", "  ")
				if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var want map[string]any
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("output differs from %s (-want +got):\n%s", path, diff)
			}
		})
	}
}

// TestNewTaskDefinitionNormalisation pins, fixture by fixture, what ECS
// returns for parameters the request left out or wrote differently.
func TestNewTaskDefinitionNormalisation(t *testing.T) {
	t.Parallel()
	fargate, bridge, host := register(t, "fargate-web"), register(t, "ec2-bridge"), register(t, "host-mode")
	web, migrate, otel := fargate.ContainerDefinitions[0], fargate.ContainerDefinitions[1], fargate.ContainerDefinitions[2]
	tests := []struct {
		name      string
		got, want any
	}{
		{"task cpu in vCPU becomes units", fargate.Cpu, "1024"},
		{"task memory in GB becomes MiB", fargate.Memory, "2048"},
		{"awsvpc hostPort filled from containerPort", *web.PortMappings[0].HostPort, int32(8080)},
		{"protocol defaults to tcp", web.PortMappings[0].Protocol, TransportProtocolTcp},
		{"udp protocol kept", otel.PortMappings[1].Protocol, TransportProtocolUdp},
		{"health check interval default", *web.HealthCheck.Interval, int32(30)},
		{"health check timeout default", *web.HealthCheck.Timeout, int32(5)},
		{"health check retries default", *web.HealthCheck.Retries, int32(3)},
		{"health check startPeriod kept", *web.HealthCheck.StartPeriod, int32(20)},
		{"unset cpu is 0", migrate.Cpu, int32(0)},
		{"unset lists are empty", [][]KeyValuePair{migrate.Environment}, [][]KeyValuePair{{}}},
		{"unset mountPoints empty", migrate.MountPoints, []MountPoint{}},
		{"unset volumesFrom empty", migrate.VolumesFrom, []VolumeFrom{}},
		{"unset systemControls empty", migrate.SystemControls, []SystemControl{}},
		{"unset portMappings empty", migrate.PortMappings, []PortMapping{}},
		{"explicit essential false kept", *migrate.Essential, false},
		{"awsvpc compatibilities", fargate.Compatibilities,
			[]Compatibility{CompatibilityEC2, CompatibilityMANAGEDINSTANCES, CompatibilityFARGATE}},
		{"bridge compatibilities", bridge.Compatibilities, []Compatibility{CompatibilityEXTERNAL, CompatibilityEC2}},
		{"bridge networkMode stays unset", bridge.NetworkMode, NetworkMode("")},
		{"bridge dynamic hostPort 0 kept", *bridge.ContainerDefinitions[0].PortMappings[0].HostPort, int32(0)},
		{"bridge omitted hostPort stays omitted", bridge.ContainerDefinitions[0].PortMappings[1].HostPort, (*int32)(nil)},
		{"bridge health check values kept", *bridge.ContainerDefinitions[1].HealthCheck.Interval, int32(10)},
		{"host mode hostPort filled", *host.ContainerDefinitions[0].PortMappings[0].HostPort, int32(9100)},
		{"host essential defaults to true", *host.ContainerDefinitions[1].Essential, true},
		{"unset placementConstraints empty", fargate.PlacementConstraints, []TaskDefinitionPlacementConstraint{}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tt.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func attributeNames(td *TaskDefinition) []string {
	var names []string
	for _, a := range td.RequiresAttributes {
		names = append(names, a.Name)
	}
	slices.Sort(names)
	return names
}

func TestNewTaskDefinitionRequiresAttributes(t *testing.T) {
	t.Parallel()
	tests := map[string][]string{
		"fargate-web": {
			"com.amazonaws.ecs.capability.docker-remote-api.1.18",
			"com.amazonaws.ecs.capability.docker-remote-api.1.19",
			"com.amazonaws.ecs.capability.docker-remote-api.1.25",
			"com.amazonaws.ecs.capability.docker-remote-api.1.29",
			"com.amazonaws.ecs.capability.ecr-auth",
			"com.amazonaws.ecs.capability.logging-driver.awslogs",
			"com.amazonaws.ecs.capability.task-iam-role",
			"ecs.capability.container-health-check",
			"ecs.capability.container-ordering",
			"ecs.capability.execution-role-awslogs",
			"ecs.capability.execution-role-ecr-pull",
			"ecs.capability.secrets.asm.environment-variables",
			"ecs.capability.secrets.ssm.environment-variables",
			"ecs.capability.task-eni",
		},
		"ec2-bridge": {
			"com.amazonaws.ecs.capability.docker-remote-api.1.18",
			"com.amazonaws.ecs.capability.docker-remote-api.1.19",
			"com.amazonaws.ecs.capability.docker-remote-api.1.24",
			"com.amazonaws.ecs.capability.logging-driver.json-file",
			"ecs.capability.container-health-check",
		},
		"host-mode": {
			"com.amazonaws.ecs.capability.privileged-container",
			"com.amazonaws.ecs.capability.task-iam-role",
			"ecs.capability.pid-ipc-namespace-sharing",
		},
		"minimal": nil,
	}
	for name, want := range tests {
		if diff := cmp.Diff(want, attributeNames(register(t, name))); diff != "" {
			t.Errorf("%s requiresAttributes (-want +got):\n%s", name, diff)
		}
	}
}

// TestNewTaskDefinitionRoundTrip checks that registering keeps everything
// the request said: every key of the input JSON appears in the output JSON
// with the same value, except the values ECS rewrites (normalised below) and
// tags, which RegisterTaskDefinition returns beside the task definition.
func TestNewTaskDefinitionRoundTrip(t *testing.T) {
	t.Parallel()
	normalised := map[string]bool{"$.cpu": true, "$.memory": true}
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := readFixture(t, name)
			var in map[string]any
			if err := json.Unmarshal(b, &in); err != nil {
				t.Fatal(err)
			}
			delete(in, "tags")
			out := toJSONValue(t, register(t, name))
			for _, problem := range keptIn("$", in, out, normalised) {
				t.Error(problem)
			}
		})
	}
}

// keptIn walks in and returns a description of each value out lost or
// changed. A null in the input means "not set", so it may be absent.
func keptIn(path string, in, out any, normalised map[string]bool) []string {
	switch in := in.(type) {
	case nil:
		return nil
	case map[string]any:
		o, ok := out.(map[string]any)
		if !ok {
			return []string{path + ": object became " + describe(out)}
		}
		var problems []string
		for k, v := range in {
			p := path + "." + k
			ov, present := o[k]
			switch {
			case v == nil:
			case !present:
				problems = append(problems, p+": missing from output")
			case normalised[p]:
			default:
				problems = append(problems, keptIn(p, v, ov, normalised)...)
			}
		}
		return problems
	case []any:
		o, ok := out.([]any)
		if !ok || len(o) != len(in) {
			return []string{path + ": array became " + describe(out)}
		}
		var problems []string
		for i := range in {
			problems = append(problems, keptIn(path+"["+itoa(i)+"]", in[i], o[i], normalised)...)
		}
		return problems
	default:
		if !reflect.DeepEqual(in, out) {
			return []string{path + ": " + describe(in) + " became " + describe(out)}
		}
		return nil
	}
}

func describe(v any) string { b, _ := json.Marshal(v); return string(b) }

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestNewTaskDefinitionDoesNotMutate(t *testing.T) {
	t.Parallel()
	for _, name := range fixtures {
		req := decodeRequest(t, readFixture(t, name))
		before := decodeRequest(t, readFixture(t, name))
		td, err := NewTaskDefinition(req)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(before, req); diff != "" {
			t.Errorf("%s: request changed (-before +after):\n%s", name, diff)
		}
		// The output must not share memory with the request either.
		for i := range td.ContainerDefinitions {
			cd := &td.ContainerDefinitions[i]
			cd.Name += "-changed"
			cd.Command = append(cd.Command[:0:0], "changed")
			for j := range cd.Environment {
				cd.Environment[j].Value = "changed"
			}
			for j := range cd.PortMappings {
				if cd.PortMappings[j].ContainerPort != nil {
					*cd.PortMappings[j].ContainerPort = 1
				}
			}
		}
		if diff := cmp.Diff(before, req); diff != "" {
			t.Errorf("%s: request aliases the output (-before +after):\n%s", name, diff)
		}
	}
}

// Builders for the error table: small valid requests each row breaks once.

func ec2Request() *RegisterTaskDefinitionRequest {
	return &RegisterTaskDefinitionRequest{
		Family: "app",
		ContainerDefinitions: []ContainerDefinition{
			{Name: "web", Image: "nginx:1.27", Memory: new(int32(256)),
				PortMappings: []PortMapping{{ContainerPort: new(int32(80))}}},
			{Name: "sidecar", Image: "busybox:1.36", MemoryReservation: new(int32(64)), Essential: new(false)},
		},
	}
}

func fargateRequest() *RegisterTaskDefinitionRequest {
	return &RegisterTaskDefinitionRequest{
		Family:                  "api",
		NetworkMode:             NetworkModeAwsvpc,
		RequiresCompatibilities: []Compatibility{CompatibilityFARGATE},
		Cpu:                     "256",
		Memory:                  "512",
		ExecutionRoleArn:        "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
		ContainerDefinitions: []ContainerDefinition{{
			Name:         "api",
			Image:        "123456789012.dkr.ecr.us-east-1.amazonaws.com/api:1",
			PortMappings: []PortMapping{{ContainerPort: new(int32(8080))}},
			LogConfiguration: &LogConfiguration{LogDriver: LogDriverAwslogs, Options: map[string]string{
				"awslogs-group": "/ecs/api", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "api"}},
		}},
	}
}

func TestNewTaskDefinitionBuildersAreValid(t *testing.T) {
	t.Parallel()
	for _, req := range []*RegisterTaskDefinitionRequest{ec2Request(), fargateRequest()} {
		if _, err := NewTaskDefinition(req); err != nil {
			t.Errorf("%s: %v", req.Family, err)
		}
	}
}

func TestNewTaskDefinitionErrors(t *testing.T) {
	t.Parallel()
	const client, invalid = CodeClientException, CodeInvalidParameterException
	web := func(r *RegisterTaskDefinitionRequest) *ContainerDefinition { return &r.ContainerDefinitions[0] }
	tests := []struct {
		name   string
		base   func() *RegisterTaskDefinitionRequest
		mutate func(*RegisterTaskDefinitionRequest)
		code   string
		msg    string // a part of the message: ECS's text, or the field it names
	}{
		// family and container list
		{"family blank", ec2Request, func(r *RegisterTaskDefinitionRequest) { r.Family = "" }, client, "Family can not be blank."},
		{"family characters", ec2Request, func(r *RegisterTaskDefinitionRequest) { r.Family = "my app" }, client, "Family contains invalid characters."},
		{"family length", ec2Request, func(r *RegisterTaskDefinitionRequest) { r.Family = strings.Repeat("a", 256) }, client, "Family can be at most 255"},
		{"no containers", ec2Request, func(r *RegisterTaskDefinitionRequest) { r.ContainerDefinitions = nil }, client, "Container list cannot be empty."},
		{"too many containers", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			for i := range 9 {
				r.ContainerDefinitions = append(r.ContainerDefinitions, ContainerDefinition{
					Name: "c" + itoa(i), Image: "busybox", Memory: new(int32(8))})
			}
		}, client, "Too many containers."},
		{"container name blank", ec2Request, func(r *RegisterTaskDefinitionRequest) { web(r).Name = "" }, client, "Container.name should not be null or empty."},
		{"container name characters", ec2Request, func(r *RegisterTaskDefinitionRequest) { web(r).Name = "web app" }, client, "Container.name contains invalid characters."},
		{"image blank", ec2Request, func(r *RegisterTaskDefinitionRequest) { web(r).Image = "" }, client, "Container.image should not be null or empty."},
		{"duplicate container names", ec2Request, func(r *RegisterTaskDefinitionRequest) { r.ContainerDefinitions[1].Name = "web" }, client, "Container names must be unique within a Task Definition."},

		// enums
		{"networkMode enum", ec2Request, func(r *RegisterTaskDefinitionRequest) { r.NetworkMode = "overlay" }, invalid, "networkMode. Valid values are: bridge, host, awsvpc, none."},
		{"requiresCompatibilities enum", ec2Request, func(r *RegisterTaskDefinitionRequest) { r.RequiresCompatibilities = []Compatibility{"LAMBDA"} }, invalid, "requiresCompatibilities[0]"},
		{"pidMode enum", ec2Request, func(r *RegisterTaskDefinitionRequest) { r.PidMode = "container" }, invalid, "pidMode"},
		{"ipcMode enum", ec2Request, func(r *RegisterTaskDefinitionRequest) { r.IpcMode = "shared" }, invalid, "ipcMode"},
		{"appProtocol enum", ec2Request, func(r *RegisterTaskDefinitionRequest) { web(r).PortMappings[0].AppProtocol = "https" }, invalid, "containerDefinitions[0].portMappings[0].appProtocol"},
		{"dependsOn condition enum", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			web(r).DependsOn = []ContainerDependency{{ContainerName: "sidecar", Condition: "READY"}}
		}, invalid, "containerDefinitions[0].dependsOn[0].condition"},
		{"ulimit name enum", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			web(r).Ulimits = []Ulimit{{Name: "files", SoftLimit: 1, HardLimit: 1}}
		}, invalid, "containerDefinitions[0].ulimits[0].name"},
		{"logDriver enum", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			web(r).LogConfiguration = &LogConfiguration{LogDriver: "loki"}
		}, invalid, "containerDefinitions[0].logConfiguration.logDriver"},
		{"placement constraint type", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			r.PlacementConstraints = []TaskDefinitionPlacementConstraint{{Type: "distinctInstance"}}
		}, invalid, "placementConstraints[0].type"},
		{"volume scope enum", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			r.Volumes = []Volume{{Name: "data", DockerVolumeConfiguration: &DockerVolumeConfiguration{Scope: "global"}}}
		}, invalid, "volumes[0].dockerVolumeConfiguration.scope"},

		// task size
		{"task cpu unreadable", ec2Request, func(r *RegisterTaskDefinitionRequest) { r.Cpu = "fast" }, client, "Invalid 'cpu' setting for task."},
		{"task cpu below EC2 range", ec2Request, func(r *RegisterTaskDefinitionRequest) { r.Cpu = "64" }, client, "Invalid 'cpu' setting for task."},
		{"task cpu above EC2 range", ec2Request, func(r *RegisterTaskDefinitionRequest) { r.Cpu = "256 vCPU" }, client, "Invalid 'cpu' setting for task."},
		{"task memory unreadable", ec2Request, func(r *RegisterTaskDefinitionRequest) { r.Memory = "lots" }, client, "Invalid 'memory' setting for task."},

		// Fargate
		{"fargate network mode", fargateRequest, func(r *RegisterTaskDefinitionRequest) { r.NetworkMode = NetworkModeBridge }, client, "Fargate only supports network mode ‘awsvpc’."},
		{"fargate default network mode", fargateRequest, func(r *RegisterTaskDefinitionRequest) { r.NetworkMode = "" }, client, "Fargate only supports network mode ‘awsvpc’."},
		{"fargate needs cpu", fargateRequest, func(r *RegisterTaskDefinitionRequest) { r.Cpu = "" }, client, "Fargate requires that 'cpu' be defined at the task level."},
		{"fargate needs memory", fargateRequest, func(r *RegisterTaskDefinitionRequest) { r.Memory = "" }, client, "Fargate requires that 'memory' be defined at the task level."},
		{"fargate size", fargateRequest, func(r *RegisterTaskDefinitionRequest) { r.Cpu, r.Memory = "512", "512" }, client,
			"No Fargate configuration exists for given values: 512 CPU, 512 memory. See the Amazon ECS documentation for the valid values."},
		{"fargate size off step", fargateRequest, func(r *RegisterTaskDefinitionRequest) { r.Cpu, r.Memory = "8 vCPU", "18GB" }, client, "No Fargate configuration exists for given values: 8192 CPU, 18432 memory."},
		{"fargate privileged", fargateRequest, func(r *RegisterTaskDefinitionRequest) { web(r).Privileged = new(true) }, client, "containerDefinitions[0].privileged"},
		{"fargate host volume", fargateRequest, func(r *RegisterTaskDefinitionRequest) {
			r.Volumes = []Volume{{Name: "data", Host: &HostVolumeProperties{SourcePath: "/data"}}}
		}, client, "Fargate compatible task definitions do not support sourcePath"},
		{"fargate docker volume", fargateRequest, func(r *RegisterTaskDefinitionRequest) {
			r.Volumes = []Volume{{Name: "data", DockerVolumeConfiguration: &DockerVolumeConfiguration{Scope: ScopeTask}}}
		}, client, "do not support dockerVolumeConfiguration"},
		{"fargate log driver", fargateRequest, func(r *RegisterTaskDefinitionRequest) {
			web(r).LogConfiguration = &LogConfiguration{LogDriver: LogDriverJsonFile}
		}, client, "containerDefinitions[0].logConfiguration.logDriver 'json-file'"},
		{"fargate awslogs needs execution role", fargateRequest, func(r *RegisterTaskDefinitionRequest) { r.ExecutionRoleArn = "" }, client,
			"Fargate requires task definition to have execution role ARN to support log driver awslogs."},
		{"fargate ECR needs execution role", fargateRequest, func(r *RegisterTaskDefinitionRequest) {
			r.ExecutionRoleArn, web(r).LogConfiguration = "", nil
		}, client, "Fargate requires task definition to have execution role ARN to support ECR images."},
		{"fargate pidMode host", fargateRequest, func(r *RegisterTaskDefinitionRequest) { r.PidMode = PidModeHost }, client,
			"Tasks using the Fargate launch type do not support pidMode 'host'. The supported value for pidMode is 'task'."},
		{"fargate ipcMode", fargateRequest, func(r *RegisterTaskDefinitionRequest) { r.IpcMode = IpcModeTask }, client, "Tasks using the Fargate launch type do not support ipcMode."},
		{"fargate stopTimeout", fargateRequest, func(r *RegisterTaskDefinitionRequest) { web(r).StopTimeout = new(int32(121)) }, client, "containerDefinitions[0].stopTimeout must be between 2 and 120"},
		{"fargate devices", fargateRequest, func(r *RegisterTaskDefinitionRequest) {
			web(r).LinuxParameters = &LinuxParameters{Devices: []Device{{HostPath: "/dev/fuse"}}}
		}, client, "containerDefinitions[0].linuxParameters.devices"},
		{"awsvpc host port must match", fargateRequest, func(r *RegisterTaskDefinitionRequest) { web(r).PortMappings[0].HostPort = new(int32(80)) }, client,
			"When networkMode=awsvpc, the host ports and container ports in port mappings must match."},

		// other launch types
		{"external with awsvpc", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			r.NetworkMode, r.RequiresCompatibilities = NetworkModeAwsvpc, []Compatibility{CompatibilityEXTERNAL}
		}, client, "EXTERNAL launch type do not support networkMode awsvpc"},
		{"managed instances need a network mode", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			r.RequiresCompatibilities = []Compatibility{CompatibilityMANAGEDINSTANCES}
		}, client, "MANAGED_INSTANCES launch type require networkMode"},

		// container memory and cpu
		{"memory or reservation required", ec2Request, func(r *RegisterTaskDefinitionRequest) { web(r).Memory = nil }, client,
			"Invalid setting for container 'web'. At least one of 'memory' or 'memoryReservation' must be specified."},
		{"memory below reservation", ec2Request, func(r *RegisterTaskDefinitionRequest) { web(r).MemoryReservation = new(int32(512)) }, client,
			"containerDefinitions[0].memory must be greater than or equal to memoryReservation"},
		{"memory minimum", ec2Request, func(r *RegisterTaskDefinitionRequest) { web(r).Memory = new(int32(2)) }, client, "containerDefinitions[0].memory must be at least 4 MiB"},
		{"negative reservation", ec2Request, func(r *RegisterTaskDefinitionRequest) { web(r).MemoryReservation = new(int32(-1)) }, client, "containerDefinitions[0].memoryReservation"},
		{"negative cpu", ec2Request, func(r *RegisterTaskDefinitionRequest) { web(r).Cpu = -1 }, client, "containerDefinitions[0].cpu"},
		{"container cpu above task cpu", ec2Request, func(r *RegisterTaskDefinitionRequest) { r.Cpu, web(r).Cpu = "256", 512 }, client,
			"The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'."},
		{"container memory above task memory", ec2Request, func(r *RegisterTaskDefinitionRequest) { r.Memory = "128" }, client,
			"The 'memory' setting for container 'web' is greater than for the task."},
		{"reservations above task memory", ec2Request, func(r *RegisterTaskDefinitionRequest) { r.Memory = "300" }, client,
			"The sum of all container 'memoryReservation' values cannot be greater than the value of the task 'memory'."},

		// essential and dependsOn
		{"no essential container", ec2Request, func(r *RegisterTaskDefinitionRequest) { web(r).Essential = new(false) }, client, "Task definition doesn't have any essential container."},
		{"dependsOn unknown container", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			web(r).DependsOn = []ContainerDependency{{ContainerName: "db", Condition: ContainerConditionSTART}}
		}, client, "Cannot depend on container 'db' because it does not exist."},
		{"dependsOn itself", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			web(r).DependsOn = []ContainerDependency{{ContainerName: "web", Condition: ContainerConditionSTART}}
		}, client, "containerDefinitions[0].dependsOn[0]"},
		{"dependsOn SUCCESS of essential", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			r.ContainerDefinitions[1].Essential = nil
			web(r).DependsOn = []ContainerDependency{{ContainerName: "sidecar", Condition: ContainerConditionSUCCESS}}
		}, client, "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container"},
		{"dependsOn cycle", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			web(r).DependsOn = []ContainerDependency{{ContainerName: "sidecar", Condition: ContainerConditionSTART}}
			r.ContainerDefinitions[1].DependsOn = []ContainerDependency{{ContainerName: "web", Condition: ContainerConditionHEALTHY}}
		}, client, "Container dependencies should not have a cycle"},
		{"dependsOn without condition", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			web(r).DependsOn = []ContainerDependency{{ContainerName: "sidecar"}}
		}, client, "containerDefinitions[0].dependsOn[0].condition should not be null or empty."},

		// port mappings
		{"containerPort missing", ec2Request, func(r *RegisterTaskDefinitionRequest) { web(r).PortMappings[0].ContainerPort = nil }, client, "Invalid 'containerPort' setting for container 'web'."},
		{"containerPort range", ec2Request, func(r *RegisterTaskDefinitionRequest) { web(r).PortMappings[0].ContainerPort = new(int32(70000)) }, client, "Invalid 'containerPort' setting for container 'web'."},
		{"hostPort range", ec2Request, func(r *RegisterTaskDefinitionRequest) { web(r).PortMappings[0].HostPort = new(int32(70000)) }, client, "containerDefinitions[0].portMappings[0].hostPort"},
		{"host mode port must match", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			r.NetworkMode, web(r).PortMappings[0].HostPort = NetworkModeHost, new(int32(8080))
		}, client, "When networkMode=host, the host ports and container ports in port mappings must match."},
		{"host port used twice", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			web(r).PortMappings = []PortMapping{{ContainerPort: new(int32(80)), HostPort: new(int32(8080))}}
			r.ContainerDefinitions[1].PortMappings = []PortMapping{{ContainerPort: new(int32(81)), HostPort: new(int32(8080)), Protocol: "tcp"}}
		}, client, "TCP host port '8080' is mapped multiple times in task."},
		{"containerPortRange order", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			web(r).PortMappings = []PortMapping{{ContainerPortRange: "9000-8000"}}
		}, client, "containerDefinitions[0].portMappings[0].containerPortRange"},
		{"containerPortRange with containerPort", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			web(r).PortMappings[0].ContainerPortRange = "8000-8010"
		}, client, "containerDefinitions[0].portMappings[0].containerPortRange cannot be combined with containerPort"},
		{"port mappings with networkMode none", ec2Request, func(r *RegisterTaskDefinitionRequest) { r.NetworkMode = NetworkModeNone }, client, "networkMode=none (containerDefinitions[0].portMappings)"},

		// health check
		{"healthCheck command empty", ec2Request, func(r *RegisterTaskDefinitionRequest) { web(r).HealthCheck = &HealthCheck{} }, client, "containerDefinitions[0].healthCheck.command should not be null or empty."},
		{"healthCheck command form", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			web(r).HealthCheck = &HealthCheck{Command: []string{"curl", "-f", "http://localhost/"}}
		}, client, "containerDefinitions[0].healthCheck.command must start with CMD or CMD-SHELL."},
		{"healthCheck interval", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			web(r).HealthCheck = &HealthCheck{Command: []string{"CMD", "true"}, Interval: new(int32(4))}
		}, client, "containerDefinitions[0].healthCheck.interval must be between 5 and 300."},
		{"healthCheck timeout", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			web(r).HealthCheck = &HealthCheck{Command: []string{"CMD", "true"}, Timeout: new(int32(61))}
		}, client, "containerDefinitions[0].healthCheck.timeout must be between 2 and 60."},
		{"healthCheck retries", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			web(r).HealthCheck = &HealthCheck{Command: []string{"CMD", "true"}, Retries: new(int32(11))}
		}, client, "containerDefinitions[0].healthCheck.retries must be between 1 and 10."},
		{"healthCheck startPeriod", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			web(r).HealthCheck = &HealthCheck{Command: []string{"CMD", "true"}, StartPeriod: new(int32(301))}
		}, client, "containerDefinitions[0].healthCheck.startPeriod must be between 0 and 300."},

		// links, volumes, volumesFrom
		{"links in awsvpc", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			r.NetworkMode, web(r).Links = NetworkModeAwsvpc, []string{"sidecar"}
		}, client, "Links are not supported when networkMode=awsvpc."},
		{"links in host mode", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			r.NetworkMode, web(r).Links = NetworkModeHost, []string{"sidecar"}
		}, client, "Links are not supported when networkMode=host."},
		{"link to unknown container", ec2Request, func(r *RegisterTaskDefinitionRequest) { web(r).Links = []string{"db:database"} }, client,
			"Invalid 'links' setting. Unknown container: 'db'."},
		{"links cycle", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			web(r).Links, r.ContainerDefinitions[1].Links = []string{"sidecar"}, []string{"web:frontend"}
		}, client, "Container links should not have a cycle"},
		{"volume names unique", ec2Request, func(r *RegisterTaskDefinitionRequest) { r.Volumes = []Volume{{Name: "data"}, {Name: "data"}} }, client, "volumes[1].name"},
		{"volume name characters", ec2Request, func(r *RegisterTaskDefinitionRequest) { r.Volumes = []Volume{{Name: "my.data"}} }, client, "volume.name contains invalid characters."},
		{"volume with two kinds", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			r.Volumes = []Volume{{Name: "data", Host: &HostVolumeProperties{}, DockerVolumeConfiguration: &DockerVolumeConfiguration{}}}
		}, client, "Volume 'data' (volumes[0]) can specify only one of"},
		{"mount point unknown volume", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			web(r).MountPoints = []MountPoint{{SourceVolume: "data", ContainerPath: "/data"}}
		}, client, "Unknown volume 'data'."},
		{"mount point without volume", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			web(r).MountPoints = []MountPoint{{ContainerPath: "/data"}}
		}, client, "Unknown volume 'null'."},
		{"volumesFrom unknown container", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			web(r).VolumesFrom = []VolumeFrom{{SourceContainer: "data"}}
		}, client, "Invalid 'volumesFrom' setting. Unknown container: 'data'."},

		// placement constraints, timeouts, logging, awsvpc-only settings
		{"too many placement constraints", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			for range 11 {
				r.PlacementConstraints = append(r.PlacementConstraints, TaskDefinitionPlacementConstraint{Type: "memberOf", Expression: "attribute:a == b"})
			}
		}, client, "Too many placementConstraints"},
		{"memberOf without expression", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			r.PlacementConstraints = []TaskDefinitionPlacementConstraint{{Type: "memberOf"}}
		}, client, "placementConstraints[0].expression"},
		{"negative stopTimeout", ec2Request, func(r *RegisterTaskDefinitionRequest) { web(r).StopTimeout = new(int32(-1)) }, client, "containerDefinitions[0].stopTimeout must not be negative."},
		{"awslogs options", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			web(r).LogConfiguration = &LogConfiguration{LogDriver: LogDriverAwslogs}
		}, client, "Log driver awslogs requires options: awslogs-region, awslogs-group"},
		{"secret without valueFrom", ec2Request, func(r *RegisterTaskDefinitionRequest) { web(r).Secrets = []Secret{{Name: "TOKEN"}} }, client,
			"containerDefinitions[0].secrets[0].valueFrom should not be null or empty."},
		{"hostname in awsvpc", fargateRequest, func(r *RegisterTaskDefinitionRequest) { web(r).Hostname = "api" }, client,
			"hostname is not supported on container when networkMode=awsvpc."},
		{"ulimit soft above hard", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			web(r).Ulimits = []Ulimit{{Name: UlimitNameNofile, SoftLimit: 2048, HardLimit: 1024}}
		}, client, "containerDefinitions[0].ulimits[0].softLimit must not be greater than hardLimit."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := tt.base()
			tt.mutate(req)
			td, err := NewTaskDefinition(req)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, %v; want an *Error", td, err)
			}
			if e.Code != tt.code || !strings.Contains(e.Message, tt.msg) {
				t.Errorf("got %s: %q\nwant %s containing %q", e.Code, e.Message, tt.code, tt.msg)
			}
		})
	}
}

func TestNewTaskDefinitionNil(t *testing.T) {
	t.Parallel()
	var e *Error
	if _, err := NewTaskDefinition(nil); !errors.As(err, &e) || e.Message != "Family can not be blank." {
		t.Errorf("NewTaskDefinition(nil) = %v", err)
	}
}

// TestNewTaskDefinitionAccepts covers requests ECS registers that a stricter
// reading of the documentation would refuse.
func TestNewTaskDefinitionAccepts(t *testing.T) {
	t.Parallel()
	web := func(r *RegisterTaskDefinitionRequest) *ContainerDefinition { return &r.ContainerDefinitions[0] }
	tests := []struct {
		name   string
		base   func() *RegisterTaskDefinitionRequest
		mutate func(*RegisterTaskDefinitionRequest)
		check  func(*TaskDefinition) bool
	}{
		{"memory equal to reservation", ec2Request, func(r *RegisterTaskDefinitionRequest) { web(r).MemoryReservation = new(int32(256)) }, nil},
		{"unknown protocol treated as tcp", ec2Request, func(r *RegisterTaskDefinitionRequest) { web(r).PortMappings[0].Protocol = "http" },
			func(td *TaskDefinition) bool {
				return td.ContainerDefinitions[0].PortMappings[0].Protocol == TransportProtocolTcp
			}},
		{"same port tcp and udp", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			web(r).PortMappings = []PortMapping{
				{ContainerPort: new(int32(53)), HostPort: new(int32(53))},
				{ContainerPort: new(int32(53)), HostPort: new(int32(53)), Protocol: TransportProtocolUdp}}
		}, nil},
		{"awsvpc hostPort 0 means unset", fargateRequest, func(r *RegisterTaskDefinitionRequest) { web(r).PortMappings[0].HostPort = new(int32(0)) },
			func(td *TaskDefinition) bool { return *td.ContainerDefinitions[0].PortMappings[0].HostPort == 8080 }},
		{"fargate and EC2 together", fargateRequest, func(r *RegisterTaskDefinitionRequest) {
			r.RequiresCompatibilities = append(r.RequiresCompatibilities, CompatibilityEC2)
		}, nil},
		{"dependsOn COMPLETE of non-essential", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			web(r).DependsOn = []ContainerDependency{{ContainerName: "sidecar", Condition: ContainerConditionCOMPLETE}}
		}, func(td *TaskDefinition) bool {
			return len(td.RequiresAttributes) == 1 && td.RequiresAttributes[0].Name == "ecs.capability.container-ordering"
		}},
		{"bridge containerPortRange", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			web(r).PortMappings = []PortMapping{{ContainerPortRange: "8000-8010"}}
		}, func(td *TaskDefinition) bool { return td.ContainerDefinitions[0].PortMappings[0].HostPort == nil }},
		{"awsvpc not Fargate-sized is EC2 only", ec2Request, func(r *RegisterTaskDefinitionRequest) { r.NetworkMode = NetworkModeAwsvpc },
			func(td *TaskDefinition) bool {
				return slices.Equal(td.Compatibilities, []Compatibility{CompatibilityEC2, CompatibilityMANAGEDINSTANCES})
			}},
		{"managed instances in host mode", ec2Request, func(r *RegisterTaskDefinitionRequest) {
			r.NetworkMode, r.RequiresCompatibilities = NetworkModeHost, []Compatibility{CompatibilityMANAGEDINSTANCES}
		}, func(td *TaskDefinition) bool {
			return slices.Contains(td.Compatibilities, CompatibilityMANAGEDINSTANCES)
		}},
		{"health check NONE", ec2Request, func(r *RegisterTaskDefinitionRequest) { web(r).HealthCheck = &HealthCheck{Command: []string{"NONE"}} }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := tt.base()
			tt.mutate(req)
			td, err := NewTaskDefinition(req)
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil && !tt.check(td) {
				t.Errorf("unexpected output: %s", describe(td))
			}
		})
	}
}

func TestParseTaskCPU(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int // 0: an error
	}{
		{"1024", 1024}, {"256", 256}, {" 512 ", 512}, {"1 vCPU", 1024}, {"1vcpu", 1024}, {"0.5 vcpu", 512},
		{"0.25 vCPU", 256}, {"2 VCPU", 2048}, {".5 vCPU", 512}, {"16 vCPU", 16384}, {"1.0", 1},
		{"", 0}, {"0", 0}, {"-1", 0}, {"1e3", 0}, {"0x400", 0}, {"Inf", 0}, {"NaN", 0}, {"0.3 vCPU", 0},
		{"1.5", 0}, {"1 cpu", 0}, {"1 GB", 0}, {"vcpu", 0}, {".", 0}, {"1.2.3", 0}, {"99999999999", 0},
		{"2097152 vCPU", 0}, {"1 v cpu", 0},
	}
	for _, tt := range tests {
		got, err := ParseTaskCPU(tt.in)
		var e *Error
		if tt.want == 0 {
			if !errors.As(err, &e) || e.Message != "Invalid 'cpu' setting for task." {
				t.Errorf("ParseTaskCPU(%q) = %d, %v; want the ECS error", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseTaskCPU(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestParseTaskMemory(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int // 0: an error
	}{
		{"512", 512}, {"1024", 1024}, {"1GB", 1024}, {"1 GB", 1024}, {"2 gb", 2048}, {"0.5GB", 512},
		{"1.5 GB", 1536}, {"120GB", 122880}, {"3", 3},
		{"", 0}, {"0", 0}, {"1 GiB", 0}, {"512 MiB", 0}, {"1 vCPU", 0}, {"0.1GB", 0}, {"1e3", 0}, {"GB", 0},
		{"2147483648", 0}, {"-512", 0},
	}
	for _, tt := range tests {
		got, err := ParseTaskMemory(tt.in)
		var e *Error
		if tt.want == 0 {
			if !errors.As(err, &e) || e.Message != "Invalid 'memory' setting for task." {
				t.Errorf("ParseTaskMemory(%q) = %d, %v; want the ECS error", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseTaskMemory(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestFargateSizes(t *testing.T) {
	t.Parallel()
	valid := [][2]int{{256, 512}, {256, 1024}, {256, 2048}, {512, 1024}, {512, 4096}, {1024, 2048}, {1024, 8192},
		{2048, 4096}, {2048, 16384}, {4096, 8192}, {4096, 30720}, {8192, 16384}, {8192, 20480}, {8192, 61440},
		{16384, 32768}, {16384, 40960}, {16384, 122880}}
	invalid := [][2]int{{256, 256}, {256, 1536}, {256, 3072}, {512, 512}, {512, 5120}, {1024, 1024}, {1024, 9216},
		{2048, 3072}, {4096, 31744}, {8192, 17408}, {8192, 65536}, {16384, 36864}, {16384, 131072}, {128, 512}, {3072, 8192}}
	for _, v := range valid {
		if !fargateSize(v[0], v[1]) {
			t.Errorf("fargateSize(%d, %d) = false, want true", v[0], v[1])
		}
	}
	for _, v := range invalid {
		if fargateSize(v[0], v[1]) {
			t.Errorf("fargateSize(%d, %d) = true, want false", v[0], v[1])
		}
	}
}

func TestValidFamily(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"web": true, "web-app_2": true, "A": true, strings.Repeat("x", 255): true,
		"": false, strings.Repeat("x", 256): false, "web app": false, "web.app": false, "web/app": false,
		"wéb": false, "web:1": false,
	}
	for name, want := range tests {
		if got := ValidFamily(name); got != want {
			t.Errorf("ValidFamily(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestErrorFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  *Error
		want Error
	}{
		{ClientError("Unknown volume '%s'.", "data"), Error{CodeClientException, "Unknown volume 'data'."}},
		{InvalidParameter("bad %d", 1), Error{CodeInvalidParameterException, "bad 1"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, *tt.err); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	}
	if got := ClientError("x").Error(); got != "ClientException: x" {
		t.Errorf("Error() = %q", got)
	}
}

// FuzzNewTaskDefinition feeds arbitrary JSON through the decoder the API
// uses and into NewTaskDefinition, which must never panic and must either
// return a task definition or an *Error.
func FuzzNewTaskDefinition(f *testing.F) {
	for _, name := range fixtures {
		f.Add(readFixture(f, name))
	}
	f.Add([]byte(`{"family":"x","containerDefinitions":[{"name":"a","image":"b","memory":4,"healthCheck":{"command":[]}}]}`))
	f.Add([]byte(`{"family":"x","networkMode":"awsvpc","cpu":"0.25 vCPU","memory":"0.5GB","requiresCompatibilities":["FARGATE"],` +
		`"containerDefinitions":[{"name":"a","image":"b","portMappings":[{"containerPortRange":"1-2"}],"dependsOn":[{"containerName":"a","condition":"START"}]}]}`))
	f.Add([]byte(`{"family":"x","containerDefinitions":[{"name":"a","image":"b","memory":8,"links":["a"],"mountPoints":[{}],"volumesFrom":[{}]}],"volumes":[{"name":"v","efsVolumeConfiguration":{}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var req RegisterTaskDefinitionRequest
		if json.Unmarshal(data, &req) != nil {
			return
		}
		td, err := NewTaskDefinition(&req)
		var e *Error
		switch {
		case err != nil && !errors.As(err, &e):
			t.Fatalf("error is %T, want *Error: %v", err, err)
		case err == nil && td == nil:
			t.Fatal("nil task definition without an error")
		case err == nil:
			if _, err := json.Marshal(td); err != nil {
				t.Fatalf("output does not encode: %v", err)
			}
		}
	})
}
