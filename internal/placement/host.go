package placement

import (
	"github.com/gantry-dev/gantry/internal/ecs"
)

// Host is a container instance as placement sees it: what it registered,
// what its tasks hold, and the facts the cluster query language asks about.
// The scheduler's ledger keeps one per instance and updates it in place.
type Host struct {
	ARN string
	ID  string // the instance ID, the value spread by instanceId/host uses

	CPU, Memory         int             // registered CPU units and MiB
	UsedCPU, UsedMemory int             // held by tasks that are not STOPPED
	Reserved            map[string]bool // ports reserved at registration, "22/tcp"
	Used                map[string]int  // ports held by tasks, "80/tcp" → tasks

	// Facts the cluster query language reads.
	Attributes     map[string]string // name → value ("" for a name-only attribute)
	AgentConnected bool
	AgentVersion   string
	EC2InstanceID  string
	RegisteredAt   float64 // epoch seconds
	// RunningTasks counts tasks whose desiredStatus is RUNNING, as a
	// container instance's runningTasksCount does.
	RunningTasks int
	// Groups counts the tasks per task group whose desiredStatus is
	// RUNNING: task:group and distinctInstance look at desired status, as
	// ECS does, so a task being stopped no longer counts.
	Groups map[string]int
}

// FreeCPU is the CPU units left for new tasks.
func (h *Host) FreeCPU() int { return h.CPU - h.UsedCPU }

// FreeMemory is the MiB left for new tasks.
func (h *Host) FreeMemory() int { return h.Memory - h.UsedMemory }

// PortTaken reports whether a host port ("80/tcp") is reserved or held.
func (h *Host) PortTaken(p string) bool { return h.Reserved[p] || h.Used[p] > 0 }

// Holding is what one task holds on its host.
type Holding struct {
	CPU, Memory int
	Ports       []string // "80/tcp"
	Group       string
	// Running is whether the task's desiredStatus is RUNNING.
	Running bool
}

// Take adds a task's holding to the host.
func (h *Host) Take(t Holding) { h.add(t, 1) }

// Release removes a holding Take added.
func (h *Host) Release(t Holding) { h.add(t, -1) }

func (h *Host) add(t Holding, sign int) {
	h.UsedCPU += sign * t.CPU
	h.UsedMemory += sign * t.Memory
	for _, p := range t.Ports {
		if h.Used == nil {
			h.Used = map[string]int{}
		}
		if h.Used[p] += sign; h.Used[p] <= 0 {
			delete(h.Used, p)
		}
	}
	if !t.Running {
		return
	}
	h.RunningTasks += sign
	if t.Group != "" {
		if h.Groups == nil {
			h.Groups = map[string]int{}
		}
		if h.Groups[t.Group] += sign; h.Groups[t.Group] <= 0 {
			delete(h.Groups, t.Group)
		}
	}
}

// Describe copies from a container instance what placement reads: its
// registered resources and reserved ports, and the query language's facts.
// What tasks hold is left as it is.
func (h *Host) Describe(ci *ecs.ContainerInstance) {
	h.ARN = ci.ContainerInstanceArn
	h.AgentConnected = ci.AgentConnected
	h.EC2InstanceID = ci.Ec2InstanceId
	h.RegisteredAt = float64(ci.RegisteredAt.UnixMilli()) / 1000
	h.AgentVersion = ""
	if ci.VersionInfo != nil {
		h.AgentVersion = ci.VersionInfo.AgentVersion
	}
	h.Attributes = make(map[string]string, len(ci.Attributes))
	for _, a := range ci.Attributes {
		h.Attributes[a.Name] = a.Value
	}
	h.CPU, h.Memory, h.Reserved = 0, 0, map[string]bool{}
	for _, res := range ci.RegisteredResources {
		switch res.Name {
		case "CPU":
			h.CPU = int(res.Amount())
		case "MEMORY":
			h.Memory = int(res.Amount())
		case "PORTS":
			for _, p := range res.StringSetValue {
				h.Reserved[p+"/tcp"] = true
			}
		case "PORTS_UDP":
			for _, p := range res.StringSetValue {
				h.Reserved[p+"/udp"] = true
			}
		}
	}
}
