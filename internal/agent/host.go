package agent

import (
	"maps"
	"slices"
	"strconv"

	"github.com/gantry-dev/gantry/internal/agentproto"
	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/runtime"
)

// reservedPorts are the host ports ECS reserves on every instance (SSH,
// the Docker daemon, the agent's introspection ports).
var reservedPorts = []string{"22", "2375", "2376", "51678", "51679"}

// capabilities are the capability attributes this agent really honours;
// task definitions' requiresAttributes are matched against them.
var capabilities = []string{
	"com.amazonaws.ecs.capability.privileged-container",
	"com.amazonaws.ecs.capability.logging-driver.json-file",
	"com.amazonaws.ecs.capability.logging-driver.awslogs",
	"com.amazonaws.ecs.capability.logging-driver.syslog",
	"com.amazonaws.ecs.capability.logging-driver.journald",
	"com.amazonaws.ecs.capability.logging-driver.gelf",
	"com.amazonaws.ecs.capability.logging-driver.fluentd",
	"com.amazonaws.ecs.capability.logging-driver.splunk",
	"com.amazonaws.ecs.capability.logging-driver.awsfirelens",
	"ecs.capability.container-health-check",
	"ecs.capability.container-ordering",
	"ecs.capability.task-eni",
	"ecs.capability.pid-ipc-namespace-sharing",
}

// dockerAPIVersions are the docker-remote-api capability versions ECS
// task definitions ask for.
var dockerAPIVersions = []string{"1.17", "1.18", "1.19", "1.20", "1.21", "1.22", "1.23", "1.24", "1.25", "1.29", "1.30", "1.31", "1.32"}

// registration describes this host as ECS describes a container instance.
func (a *Agent) registration(info runtime.HostInfo) *agentproto.RegisterRequest {
	resources := []ecs.Resource{
		{Name: "CPU", Type: "INTEGER", IntegerValue: int32(info.CPUs * 1024)},
		{Name: "MEMORY", Type: "INTEGER", IntegerValue: int32(info.MemoryBytes >> 20)},
		{Name: "PORTS", Type: "STRINGSET", StringSetValue: reservedPorts},
		{Name: "PORTS_UDP", Type: "STRINGSET", StringSetValue: []string{}},
	}
	return &agentproto.RegisterRequest{
		Cluster:        a.opts.Cluster,
		Capacity:       a.opts.Capacity,
		TotalResources: resources,
		VersionInfo: ecs.VersionInfo{
			AgentVersion:  a.opts.Version,
			AgentHash:     "gantry",
			DockerVersion: "DockerVersion: " + info.RuntimeVersion,
		},
		Attributes: a.attributes(info),
	}
}

func (a *Agent) attributes(info runtime.HostInfo) []ecs.Attribute {
	attrs := map[string]string{
		"ecs.os-type":           "linux",
		"ecs.os-family":         "LINUX",
		"ecs.cpu-architecture":  cpuArchitecture(info.Arch),
		"ecs.availability-zone": a.opts.AvailabilityZone,
		"ecs.instance-type":     a.opts.InstanceType,
	}
	for _, c := range capabilities {
		attrs[c] = ""
	}
	api, _ := strconv.ParseFloat(info.APIVersion, 64)
	for _, v := range dockerAPIVersions {
		if f, _ := strconv.ParseFloat(v, 64); api == 0 || f <= api {
			attrs["com.amazonaws.ecs.capability.docker-remote-api."+v] = ""
		}
	}
	maps.Copy(attrs, a.opts.Attributes)
	out := make([]ecs.Attribute, 0, len(attrs))
	for _, name := range slices.Sorted(maps.Keys(attrs)) {
		out = append(out, ecs.Attribute{Name: name, Value: attrs[name]})
	}
	return out
}

// cpuArchitecture spells the engine's architecture as ECS does.
func cpuArchitecture(arch string) string {
	switch arch {
	case "aarch64", "arm64":
		return "arm64"
	case "x86_64", "amd64", "":
		return "x86_64"
	}
	return arch
}
