// Package placement chooses hosts for tasks. It is pure: it sees hosts as
// plain values and returns choices, doing no I/O and reading no clock.
// It imports only ecs.
package placement

// FitHost is a placement candidate with what it has left.
type FitHost struct {
	ARN         string
	CPU, Memory int             // remaining CPU units and MiB
	Ports       map[string]bool // host ports in use, "80/tcp"
}

// Demand is what one task needs.
type Demand struct {
	CPU, Memory int
	Ports       []string
}

// Failure explains why a host could not take a task, with ECS's reasons.
type Failure struct {
	ARN    string
	Reason string
}

// ECS's placement failure reasons.
const (
	ReasonCPU    = "RESOURCE:CPU"
	ReasonMemory = "RESOURCE:MEMORY"
	ReasonPorts  = "RESOURCE:PORTS"
)

// FirstFit places count tasks, each on the first host in order that can
// take it, consuming that host's resources. It returns the index of the
// chosen host per placed task, and, when some could not be placed, the
// reason each host refused the first of them.
func FirstFit(hosts []FitHost, d Demand, count int) (chosen []int, failures []Failure) {
	for range count {
		i := firstFit(hosts, d)
		if i < 0 {
			for _, h := range hosts {
				failures = append(failures, Failure{ARN: h.ARN, Reason: refusal(h, d)})
			}
			return chosen, failures
		}
		take(&hosts[i], d)
		chosen = append(chosen, i)
	}
	return chosen, nil
}

func firstFit(hosts []FitHost, d Demand) int {
	for i, h := range hosts {
		if refusal(h, d) == "" {
			return i
		}
	}
	return -1
}

// refusal is why h cannot take d, or "" when it can.
func refusal(h FitHost, d Demand) string {
	switch {
	case d.CPU > h.CPU:
		return ReasonCPU
	case d.Memory > h.Memory:
		return ReasonMemory
	}
	for _, p := range d.Ports {
		if h.Ports[p] {
			return ReasonPorts
		}
	}
	return ""
}

func take(h *FitHost, d Demand) {
	h.CPU -= d.CPU
	h.Memory -= d.Memory
	if len(d.Ports) > 0 && h.Ports == nil {
		h.Ports = map[string]bool{}
	}
	for _, p := range d.Ports {
		h.Ports[p] = true
	}
}
