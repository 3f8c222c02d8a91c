package ecs

import (
	"slices"
	"strconv"
)

// Task and container lifecycle statuses, as ECS spells them.
const (
	TaskProvisioning   = "PROVISIONING"
	TaskPending        = "PENDING"
	TaskActivating     = "ACTIVATING"
	TaskRunning        = "RUNNING"
	TaskDeactivating   = "DEACTIVATING"
	TaskStopping       = "STOPPING"
	TaskDeprovisioning = "DEPROVISIONING"
	TaskStopped        = "STOPPED"
)

// taskOrder is the order a task moves through; it never moves back.
var taskOrder = []string{
	TaskProvisioning, TaskPending, TaskActivating, TaskRunning,
	TaskDeactivating, TaskStopping, TaskDeprovisioning, TaskStopped,
}

// TaskStatusRank orders task statuses: a task's lastStatus only moves to a
// higher rank. Unknown statuses rank -1.
func TaskStatusRank(status string) int { return slices.Index(taskOrder, status) }

// ContainerDefinitionsFor returns copies of the task definition's
// containers with a task's overrides applied: command replaced, environment
// merged by name, cpu and memory settings replaced.
func ContainerDefinitionsFor(td *TaskDefinition, ov *TaskOverride) []ContainerDefinition {
	out := slices.Clone(td.ContainerDefinitions)
	if ov == nil {
		return out
	}
	for _, co := range ov.ContainerOverrides {
		i := slices.IndexFunc(out, func(cd ContainerDefinition) bool { return cd.Name == co.Name })
		if i < 0 {
			continue
		}
		cd := &out[i]
		if co.Command != nil {
			cd.Command = co.Command
		}
		if len(co.Environment) > 0 {
			cd.Environment = mergeEnvironment(cd.Environment, co.Environment)
		}
		if len(co.EnvironmentFiles) > 0 {
			cd.EnvironmentFiles = append(slices.Clone(cd.EnvironmentFiles), co.EnvironmentFiles...)
		}
		if co.Cpu != nil {
			cd.Cpu = *co.Cpu
		}
		if co.Memory != nil {
			cd.Memory = co.Memory
		}
		if co.MemoryReservation != nil {
			cd.MemoryReservation = co.MemoryReservation
		}
	}
	return out
}

func mergeEnvironment(base, over []KeyValuePair) []KeyValuePair {
	out := slices.Clone(base)
	for _, kv := range over {
		i := slices.IndexFunc(out, func(b KeyValuePair) bool { return b.Name == kv.Name })
		if i >= 0 {
			out[i] = kv
		} else {
			out = append(out, kv)
		}
	}
	return out
}

// TaskSize is what a task reserves on its host: CPU units and MiB.
type TaskSize struct {
	CPU, Memory int
}

// SizeOf returns a task's reservation as ECS computes it for placement: the
// task-level cpu and memory (overridden or defined) when set, otherwise the
// sum over containers of cpu, and of memory or else memoryReservation.
func SizeOf(td *TaskDefinition, ov *TaskOverride) TaskSize {
	var size TaskSize
	cpu, memory := td.Cpu, td.Memory
	if ov != nil && ov.Cpu != "" {
		cpu = ov.Cpu
	}
	if ov != nil && ov.Memory != "" {
		memory = ov.Memory
	}
	containers := ContainerDefinitionsFor(td, ov)
	if n, err := ParseTaskCPU(cpu); cpu != "" && err == nil {
		size.CPU = n
	} else {
		for _, cd := range containers {
			size.CPU += int(cd.Cpu)
		}
	}
	if n, err := ParseTaskMemory(memory); memory != "" && err == nil {
		size.Memory = n
	} else {
		for _, cd := range containers {
			switch {
			case cd.Memory != nil:
				size.Memory += int(*cd.Memory)
			case cd.MemoryReservation != nil:
				size.Memory += int(*cd.MemoryReservation)
			}
		}
	}
	return size
}

// HostPorts lists the host ports a task needs reserved, as "port/protocol"
// strings ("80/tcp"): fixed host ports in bridge mode, container ports in
// host mode. Dynamic ports and awsvpc tasks need none.
func HostPorts(td *TaskDefinition) []string {
	var ports []string
	for _, cd := range td.ContainerDefinitions {
		for _, pm := range cd.PortMappings {
			var port int32
			switch td.NetworkMode {
			case NetworkModeHost:
				port = int32Value(pm.ContainerPort)
			case NetworkModeBridge, "":
				port = int32Value(pm.HostPort)
			}
			if port == 0 {
				continue
			}
			proto := string(pm.Protocol)
			if proto == "" {
				proto = string(TransportProtocolTcp)
			}
			ports = append(ports, strconv.Itoa(int(port))+"/"+proto)
		}
	}
	return ports
}

// Amount reads a numeric resource in whichever field its type uses.
func (r Resource) Amount() int64 {
	switch r.Type {
	case "LONG":
		return r.LongValue
	case "DOUBLE":
		return int64(r.DoubleValue)
	}
	return int64(r.IntegerValue)
}
