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
	p.out.Desired = n
	minHealthy, _ := p.limits(n)
	onHost := map[string][]*Task{} // live tasks by instance
	healthyNow := 0
	for _, t := range p.tasks {
		if t.Last == ecs.TaskStopped {
			continue
		}
		onHost[t.Instance] = append(onHost[t.Instance], t)
		if p.healthy(t) {
			healthyNow++
		}
	}
	var retire []*Task
	kept := map[string]bool{}
	for _, t := range p.tasks {
		if t.Last == ecs.TaskStopped || t.Desired != ecs.TaskRunning {
			continue
		}
		switch {
		case !eligible[t.Instance] || t.Draining:
			p.stop(t, p.scalingReason())
		case p.failingHealth(t):
			p.event("(task %s) failed container health checks.", t.ID)
			p.stop(t, ReasonUnhealthy)
		case t.Deployment == primary.ID && !kept[t.Instance]:
			kept[t.Instance] = true
		case t.Deployment == primary.ID:
			p.stop(t, p.scalingReason()) // a second copy on one instance
		default:
			retire = append(retire, t)
		}
	}
	var hosts []string
	for _, in := range instances {
		if eligible[in.ID] && !kept[in.ID] && len(onHost[in.ID]) == 0 {
			hosts = append(hosts, in.ID)
		}
	}
	if len(hosts) > 0 && p.mayStart(primary) {
		p.out.Start = &Start{Deployment: primary.ID, Count: len(hosts), Instances: hosts}
	}
	p.retire(retire, healthyNow-minHealthy)
	return bounds{want: n, retiring: len(retire)}
}
