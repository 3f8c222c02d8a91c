// Package placement chooses container instances for tasks the way ECS
// does: filter by resources, ports and required attributes, then by the
// constraints, then order the rest by the strategies and pick. It is pure:
// it sees hosts as plain values and returns choices, doing no I/O and
// reading no clock. Randomness comes from the caller.
package placement

import (
	"math/rand/v2"
)

// Failure explains why a host could not take a task, with ECS's reasons.
type Failure struct {
	ARN    string
	Reason string
}

// ECS's placement failure reasons.
const (
	ReasonCPU              = "RESOURCE:CPU"
	ReasonMemory           = "RESOURCE:MEMORY"
	ReasonPorts            = "RESOURCE:PORTS"
	ReasonAgent            = "AGENT"
	ReasonAttribute        = "ATTRIBUTE"
	ReasonMemberOf         = "MemberOf placement constraint unsatisfied."
	ReasonDistinctInstance = "DistinctInstance placement constraint unsatisfied."
)

// Attribute is one attribute a task definition requires of its host: the
// name, and the value when it must match one.
type Attribute struct{ Name, Value string }

// maxStrategies is how many strategy rules ECS allows a request.
const maxStrategies = 5

// Request is count tasks of one kind to place.
type Request struct {
	Count       int
	CPU, Memory int      // per task: CPU units and MiB
	Ports       []string // fixed host ports per task, "80/tcp"
	// Group is the task group: spread, distinctInstance and task:group
	// count the tasks of this group.
	Group      string
	Requires   []Attribute
	MemberOf   []*Expression
	Distinct   bool // distinctInstance
	Strategies []Strategy
}

// Holding is what each task of the request holds once placed.
func (r *Request) Holding() Holding {
	return Holding{CPU: r.CPU, Memory: r.Memory, Ports: r.Ports, Group: r.Group, Running: true}
}

// Place chooses a host for each of req.Count tasks and takes the task's
// holding on it, so later choices, and later requests against the same
// hosts, see it. It returns the host of every placed task in order; when
// fewer than Count could be placed, failures give every host's reason for
// refusing the next one.
func Place(hosts []*Host, req *Request, rng *rand.Rand) (chosen []*Host, failures []Failure) {
	p := newPlacer(hosts, req, rng)
	hold := req.Holding()
	for range req.Count {
		i := p.pick()
		if i < 0 {
			return chosen, p.failures()
		}
		hosts[i].Take(hold)
		p.took(i)
		chosen = append(chosen, hosts[i])
	}
	return chosen, nil
}

// placer is one request's working state: per-host verdicts on the parts
// that do not change as its tasks are placed, and the strategy scores.
type placer struct {
	hosts  []*Host
	req    *Request
	rng    *rand.Rand
	static []reason // per host: a reason that holds for the whole request
	// cpu and mem are each host's free CPU and memory, copied into compact
	// arrays so a decision scans memory in order rather than chasing
	// pointers across the cluster.
	cpu, mem []int
	rules    []rule
	dynamic  bool // some memberOf reads task state: re-check a host after each take
}

// reason is a failure reason as a small number, so per-host verdicts of a
// large cluster stay compact.
type reason uint8

const (
	fits reason = iota
	refusedAgent
	refusedAttribute
	refusedMemberOf
	refusedCPU
	refusedMemory
	refusedPorts
	refusedDistinct
)

var reasons = [...]string{
	refusedAgent: ReasonAgent, refusedAttribute: ReasonAttribute, refusedMemberOf: ReasonMemberOf,
	refusedCPU: ReasonCPU, refusedMemory: ReasonMemory, refusedPorts: ReasonPorts, refusedDistinct: ReasonDistinctInstance,
}

func newPlacer(hosts []*Host, req *Request, rng *rand.Rand) *placer {
	p := &placer{hosts: hosts, req: req, rng: rng, static: make([]reason, len(hosts)),
		cpu: make([]int, len(hosts)), mem: make([]int, len(hosts))}
	for _, e := range req.MemberOf {
		p.dynamic = p.dynamic || e.UsesTasks()
	}
	for i, h := range hosts {
		p.static[i] = p.verdict(h)
		p.cpu[i], p.mem[i] = h.FreeCPU(), h.FreeMemory()
	}
	for _, s := range req.Strategies[:min(len(req.Strategies), maxStrategies)] {
		if s.Type == StrategyRandom {
			break // later rules could never decide between random picks
		}
		p.rules = append(p.rules, newRule(s, hosts, req.Group))
	}
	return p
}

// verdict is the reason a host is out for this request regardless of
// resources, or "".
func (p *placer) verdict(h *Host) reason {
	if !h.AgentConnected {
		return refusedAgent
	}
	for _, a := range p.req.Requires {
		v, ok := h.Attributes[a.Name]
		if !ok || (a.Value != "" && v != a.Value) {
			return refusedAttribute
		}
	}
	for _, e := range p.req.MemberOf {
		if !e.Match(h) {
			return refusedMemberOf
		}
	}
	return fits
}

// refusal is why host i cannot take the next task, or fits. Resources are
// checked before constraints, as ECS filters.
func (p *placer) refusal(i int) reason {
	st := p.static[i]
	switch {
	case st == refusedAgent:
		return st
	case p.req.CPU > p.cpu[i]:
		return refusedCPU
	case p.req.Memory > p.mem[i]:
		return refusedMemory
	}
	for _, port := range p.req.Ports {
		if p.hosts[i].PortTaken(port) {
			return refusedPorts
		}
	}
	if st != fits {
		return st
	}
	if p.req.Distinct && p.hosts[i].Groups[p.req.Group] > 0 {
		return refusedDistinct
	}
	return fits
}

// pick returns the best host for the next task, or -1 if none can take it.
// The scan starts at a random host and keeps the first of equally good
// ones, so ties go to no host in particular without a random draw each.
func (p *placer) pick() int {
	n := len(p.hosts)
	if n == 0 {
		return -1
	}
	if len(p.rules) == 0 {
		if i, ok := p.sample(); ok {
			return i
		}
	}
	best, start := -1, p.rng.IntN(n)
	var score, bestScore [maxStrategies]int
	for k := range n {
		i := start + k
		if i >= n {
			i -= n
		}
		if p.refusal(i) != fits {
			continue
		}
		for r, rl := range p.rules {
			score[r] = rl.score(p, i)
		}
		if best < 0 || compareScores(score[:len(p.rules)], bestScore[:len(p.rules)]) < 0 {
			best, bestScore = i, score
		}
	}
	return best
}

// sample tries a few hosts at random: with no strategy to rank them, a
// uniformly drawn host that fits is exactly a random choice among those
// that fit, found without scanning the cluster.
func (p *placer) sample() (int, bool) {
	if len(p.hosts) == 0 {
		return -1, false
	}
	for range 8 {
		i := p.rng.IntN(len(p.hosts))
		if p.refusal(i) == fits {
			return i, true
		}
	}
	return -1, false
}

// compareScores orders two hosts' scores, strategy by strategy: negative
// when a is better.
func compareScores(a, b []int) int {
	for k := range a {
		if a[k] != b[k] {
			return a[k] - b[k]
		}
	}
	return 0
}

// took updates the request's view after a task went to host i.
func (p *placer) took(i int) {
	p.cpu[i] -= p.req.CPU
	p.mem[i] -= p.req.Memory
	for _, r := range p.rules {
		r.took(i)
	}
	if p.dynamic && p.static[i] == fits {
		p.static[i] = p.verdict(p.hosts[i])
	}
}

func (p *placer) failures() []Failure {
	out := make([]Failure, len(p.hosts))
	for i, h := range p.hosts {
		out[i] = Failure{ARN: h.ARN, Reason: reasons[p.refusal(i)]}
	}
	return out
}
