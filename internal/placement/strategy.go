package placement

import (
	"fmt"
	"strings"
)

// Strategy types, as ECS names them.
const (
	StrategyBinpack = "binpack"
	StrategySpread  = "spread"
	StrategyRandom  = "random"
)

// Strategy is one placement strategy rule: binpack on cpu or memory,
// spread on instanceId (alias host) or attribute:<name>, or random.
type Strategy struct {
	Type  string
	Field string // normalized: "cpu", "memory", "instanceId" or "attribute:<name>"
}

// ParseStrategy checks a strategy rule as a request gives it.
func ParseStrategy(typ, field string) (Strategy, error) {
	switch typ {
	case StrategyBinpack:
		switch f := strings.ToLower(field); f {
		case "cpu", "memory":
			return Strategy{Type: typ, Field: f}, nil
		}
		return Strategy{}, fmt.Errorf("field %q is not valid for binpack: use cpu or memory", field)
	case StrategySpread:
		switch {
		case strings.EqualFold(field, "instanceId"), strings.EqualFold(field, "host"):
			return Strategy{Type: typ, Field: "instanceId"}, nil
		case strings.HasPrefix(field, "attribute:") && len(field) > len("attribute:"):
			return Strategy{Type: typ, Field: field}, nil
		}
		return Strategy{}, fmt.Errorf("field %q is not valid for spread: use instanceId, host or attribute:<name>", field)
	case StrategyRandom:
		if field != "" {
			return Strategy{}, fmt.Errorf("field %q is not valid for random, which takes none", field)
		}
		return Strategy{Type: typ}, nil
	}
	return Strategy{}, fmt.Errorf("%q is not a valid strategy type", typ)
}

// rule scores hosts for one strategy within a request: lower is better.
type rule interface {
	score(p *placer, i int) int
	took(i int)
}

func newRule(s Strategy, hosts []*Host, group string) rule {
	switch {
	case s.Field == "cpu":
		return binpackCPU{}
	case s.Field == "memory":
		return binpackMemory{}
	case s.Field == "instanceId":
		r := spreadHosts{counts: make([]int, len(hosts))}
		for i, h := range hosts {
			r.counts[i] = h.Groups[group]
		}
		return r
	}
	return newSpreadAttribute(strings.TrimPrefix(s.Field, "attribute:"), hosts, group)
}

// binpack prefers the host with the least of the resource left, so tasks
// fill one host before the next.
type binpackCPU struct{}

func (binpackCPU) score(p *placer, i int) int { return p.cpu[i] }
func (binpackCPU) took(int)                   {}

type binpackMemory struct{}

func (binpackMemory) score(p *placer, i int) int { return p.mem[i] }
func (binpackMemory) took(int)                   {}

// spreadHosts prefers the host running the fewest tasks of the group.
type spreadHosts struct{ counts []int }

func (r spreadHosts) score(_ *placer, i int) int { return r.counts[i] }
func (r spreadHosts) took(i int)                 { r.counts[i]++ }

// spreadAttribute prefers hosts whose attribute value has the fewest tasks
// of the group, so tasks even out across values (zones, types). Hosts
// without the attribute share one value of their own.
type spreadAttribute struct {
	value  []int // per host: index of its attribute value
	counts []int // per value: tasks of the group
}

func newSpreadAttribute(name string, hosts []*Host, group string) *spreadAttribute {
	r := &spreadAttribute{value: make([]int, len(hosts))}
	ids := map[string]int{}
	for i, h := range hosts {
		v, ok := h.Attributes[name]
		if !ok {
			v = "\x00missing"
		}
		id, seen := ids[v]
		if !seen {
			id = len(r.counts)
			ids[v] = id
			r.counts = append(r.counts, 0)
		}
		r.value[i] = id
		r.counts[id] += h.Groups[group]
	}
	return r
}

func (r *spreadAttribute) score(_ *placer, i int) int { return r.counts[r.value[i]] }
func (r *spreadAttribute) took(i int)                 { r.counts[r.value[i]]++ }
