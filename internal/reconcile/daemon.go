package reconcile

import (
	"github.com/gantry-dev/gantry/internal/ecs"
)

// daemon keeps one PRIMARY task on every eligible instance. Tasks on an
// instance that is no longer eligible (draining, gone, or failing the
// constraints) stop at once; a new version replaces the old instance by
// instance, stopping old tasks within minimumHealthyPercent and starting
// the new one where the old one has stopped.
func (p *planner) daemon(instances []Instance) bounds {
	primary := &p.s.Deployments[0]
	eligible := map[string]bool{}
	for _, in := range instances {
		if in.Eligible {
			eligible[in.ID] = true
		}
	}
	n := len(eligible)
	minHealthy, _ := p.limits(n)
	onHost := map[string][]*Task{} // live tasks by instance
	for _, t := range p.tasks {
		if t.Last != ecs.TaskStopped {
			onHost[t.Instance] = append(onHost[t.Instance], t)
		}
	}
	var retire []*Task
	kept := map[string]*Task{}
	for _, t := range p.tasks {
		if t.Last == ecs.TaskStopped || t.Desired != ecs.TaskRunning {
			continue
		}
		switch {
		case p.failingHealth(t):
			p.event("(task %s) failed container health checks.", t.ID)
			p.stop(t, ReasonUnhealthy)
		case !eligible[t.Instance] || t.Draining:
			p.stop(t, p.scalingReason())
		case t.Deployment != primary.ID:
			retire = append(retire, t)
		case kept[t.Instance] == nil:
			kept[t.Instance] = t
		case p.retireRank(t) > p.retireRank(kept[t.Instance]):
			// A second copy on one instance: keep the one further along.
			retire = append(retire, kept[t.Instance])
			kept[t.Instance] = t
		default:
			retire = append(retire, t)
		}
	}
	// Tasks on instances left behind stop whatever the bounds; the
	// minimum counts what remains.
	healthyNow := 0
	for _, t := range p.tasks {
		if t.Last != ecs.TaskStopped && p.healthy(t) {
			healthyNow++
		}
	}
	var hosts []string
	for _, in := range instances {
		if eligible[in.ID] && kept[in.ID] == nil && len(onHost[in.ID]) == 0 {
			hosts = append(hosts, in.ID)
		}
	}
	if len(hosts) > 0 && p.mayStart(primary) {
		p.out.Start = &Start{Deployment: primary.ID, Count: len(hosts), Instances: hosts}
	}
	stopped := p.retire(retire, healthyNow-minHealthy)
	stuck := len(kept) < n && len(hosts) == 0 && stopped == 0 && len(retire) > 0 && p.settled()
	p.stuck(stuck)
	return bounds{want: n, retiring: len(retire)}
}

// eligibleCount is how many instances a DAEMON service wants a task on.
func eligibleCount(instances []Instance) int {
	seen := map[string]bool{}
	for _, in := range instances {
		if in.Eligible {
			seen[in.ID] = true
		}
	}
	return len(seen)
}
