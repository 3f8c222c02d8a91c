package reconcile

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/gantry-dev/gantry/internal/ecs"
)

// planner holds one Plan call's view of the service.
type planner struct {
	now   time.Time
	s     *Service
	tasks []*Task
	deps  map[string]*Deployment
	out   *Plan
}

// Next decides the service's next actions. It never changes its input.
func Next(now time.Time, s *Service, tasks []Task, instances []Instance) *Plan {
	p := &planner{now: now, s: s, deps: map[string]*Deployment{}, out: &Plan{FailedTasks: map[string]int{}}}
	for i := range s.Deployments {
		p.deps[s.Deployments[i].ID] = &s.Deployments[i]
	}
	for i := range tasks {
		p.tasks = append(p.tasks, &tasks[i])
	}
	// A stable order makes the plan a function of its input.
	slices.SortFunc(p.tasks, func(a, b *Task) int { return cmp.Compare(a.ID, b.ID) })
	for _, t := range p.tasks {
		// A task this plan stops for its failed health check counts at
		// once, so the circuit breaker need not wait for the next plan.
		if failed(t) || !s.Deleting && t.Desired == ecs.TaskRunning && p.failingHealth(t) {
			p.out.FailedTasks[t.Deployment]++
		}
	}
	switch {
	case s.Deleting:
		p.deleting()
	case len(s.Deployments) == 0:
	default:
		p.schedule(instances)
	}
	return p.out
}

func (p *planner) schedule(instances []Instance) {
	primary := &p.s.Deployments[0]
	if p.s.Daemon {
		// Known before anything else, so that a failed deployment does
		// not report a DAEMON service as wanting no task.
		p.out.Desired = eligibleCount(instances)
	}
	if primary.State == ecs.DeploymentRolloutStateINPROGRESS && p.breakerTripped(primary) {
		return
	}
	if primary.State == ecs.DeploymentRolloutStateFAILED {
		// A failed deployment launches nothing more; what runs keeps running.
		p.dropDrained()
		return
	}
	var b bounds
	if p.s.Daemon {
		b = p.daemon(instances)
	} else {
		b = p.replica()
	}
	p.dropDrained()
	p.finish(primary, b)
}

// bounds is what a rollout step worked with, for the completion check.
type bounds struct {
	want     int // tasks the PRIMARY should have
	retiring int // tasks still to be replaced
}

// breakerTripped fails the PRIMARY deployment when its failed tasks reach
// the circuit breaker's threshold. Gantry counts tasks that stop before
// RUNNING and tasks that start and then exit or fail their health check.
func (p *planner) breakerTripped(d *Deployment) bool {
	if !p.s.CircuitBreaker {
		return false
	}
	desired := p.s.Desired
	if p.s.Daemon {
		desired = p.out.Desired
	}
	threshold := int(ecs.CircuitBreakerThreshold(int32(desired)))
	n := p.out.FailedTasks[d.ID]
	if n < threshold {
		return false
	}
	p.out.Rollouts = append(p.out.Rollouts, Rollout{
		Deployment: d.ID, State: ecs.DeploymentRolloutStateFAILED,
		// ECS's wording, which tools match on, whatever the failures were.
		Reason: "ECS deployment circuit breaker: tasks failed to start.",
	})
	p.event("(deployment %s) deployment failed: %d tasks failed to start or stopped after starting.", d.ID, n)
	if p.s.Rollback && p.s.CanRollBack {
		p.out.RollBack = true
	}
	return true
}

// deleting stops every task of a deleted service, then retires it.
func (p *planner) deleting() {
	live := 0
	for _, t := range p.tasks {
		if t.Last == ecs.TaskStopped {
			continue
		}
		live++
		if t.Desired == ecs.TaskRunning {
			p.stop(t, p.scalingReason())
		}
	}
	p.out.Inactive = live == 0
}

// replica keeps the desired count of PRIMARY tasks, replacing the rest
// within the deployment configuration's bounds.
func (p *planner) replica() bounds {
	n := p.s.Desired
	minHealthy, maxTotal := p.limits(n)
	primary := &p.s.Deployments[0]
	var keep, retire []*Task
	live, healthyNow := 0, 0
	for _, t := range p.tasks {
		if t.Last == ecs.TaskStopped {
			continue
		}
		live++
		if t.Desired != ecs.TaskRunning {
			continue
		}
		if p.healthy(t) {
			healthyNow++
		}
		switch {
		case p.failingHealth(t):
			p.event("(task %s) failed container health checks.", t.ID)
			p.stop(t, ReasonUnhealthy)
		case t.Deployment == primary.ID && !t.Draining:
			keep = append(keep, t)
		default:
			retire = append(retire, t)
		}
	}
	// Scale in: stop the surplus, keeping zones and instances balanced.
	if len(keep) > n {
		for _, t := range p.surplus(keep, len(keep)-n) {
			p.stop(t, p.scalingReason())
			if p.healthy(t) {
				healthyNow--
			}
		}
		keep = keep[:0:0]
		for _, t := range p.tasks {
			if t.Desired == ecs.TaskRunning && t.Last != ecs.TaskStopped && t.Deployment == primary.ID && !t.Draining && !p.stopping(t) {
				keep = append(keep, t)
			}
		}
	}
	need, room := n-len(keep), maxTotal-live
	if need > 0 && room > 0 && p.mayStart(primary) {
		p.out.Start = &Start{Deployment: primary.ID, Count: min(need, room)}
	}
	stopped := p.retire(retire, healthyNow-minHealthy)
	// Stuck only when the bounds, not a back-off, hold everything back.
	stuck := need > 0 && room <= 0 && stopped == 0 && len(retire) > 0 && p.settled()
	p.stuck(stuck)
	return bounds{want: n, retiring: len(retire)}
}

// stuck tells the user when the deployment configuration allows neither
// a start nor a stop.
func (p *planner) stuck(stuck bool) {
	if stuck {
		p.event("was unable to stop or start tasks during a deployment because of the service deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again.")
	}
}

// limits are the rollout bounds for n tasks: at least minHealthy healthy,
// at most maxTotal started and not yet STOPPED. A maximum below the
// desired count would never reach it, so it is read as 100%.
func (p *planner) limits(n int) (minHealthy, maxTotal int) {
	minHealthy = (n*p.s.MinHealthyPercent + 99) / 100
	maxTotal = max(n*p.s.MaxPercent/100, n)
	return minHealthy, maxTotal
}

// retire stops tasks being replaced: those not serving at once, healthy
// ones while more than minHealthy healthy tasks remain. It returns how
// many it stopped.
func (p *planner) retire(retire []*Task, budget int) int {
	slices.SortStableFunc(retire, func(a, b *Task) int { return cmp.Compare(p.retireRank(a), p.retireRank(b)) })
	stopped := 0
	for _, t := range retire {
		if p.healthy(t) {
			if budget <= 0 {
				continue
			}
			budget--
		} else if t.Last == ecs.TaskRunning && !p.warming(t) {
			continue // neither healthy nor on its way: the health check decides
		}
		p.stop(t, p.scalingReason())
		stopped++
	}
	return stopped
}

// retireRank orders tasks to replace: not yet running first, then
// warming up, then healthy.
func (p *planner) retireRank(t *Task) int {
	switch {
	case t.Last != ecs.TaskRunning:
		return 0
	case !p.healthy(t):
		return 1
	}
	return 2
}

// surplus picks k tasks to stop on scale-in: those not yet running or not
// yet healthy first, then from the zone, and within it the instance, with
// the most of the service's tasks.
func (p *planner) surplus(tasks []*Task, k int) []*Task {
	zones, hosts := map[string]int{}, map[string]int{}
	for _, t := range tasks {
		zones[t.Zone]++
		hosts[t.Instance]++
	}
	pool := slices.Clone(tasks)
	var out []*Task
	for range k {
		best := -1
		for i, t := range pool {
			if best < 0 || p.surplusLess(t, pool[best], zones, hosts) {
				best = i
			}
		}
		t := pool[best]
		out = append(out, t)
		zones[t.Zone]--
		hosts[t.Instance]--
		pool = slices.Delete(pool, best, best+1)
	}
	return out
}

func (p *planner) surplusLess(a, b *Task, zones, hosts map[string]int) bool {
	if ra, rb := p.retireRank(a), p.retireRank(b); ra != rb {
		return ra < rb
	}
	if zones[a.Zone] != zones[b.Zone] {
		return zones[a.Zone] > zones[b.Zone]
	}
	if hosts[a.Instance] != hosts[b.Instance] {
		return hosts[a.Instance] > hosts[b.Instance]
	}
	return a.ID > b.ID // the newer ID is arbitrary but stable
}

// settled reports whether nothing is in flight: every task not STOPPED
// is RUNNING, wanted, and past its warm-up.
func (p *planner) settled() bool {
	for _, t := range p.tasks {
		if t.Last == ecs.TaskStopped {
			continue
		}
		if t.Desired != ecs.TaskRunning || t.Last != ecs.TaskRunning || p.warming(t) || p.stopping(t) {
			return false
		}
	}
	return true
}

// finish completes the PRIMARY deployment once it alone runs, healthy,
// at the count it wants, and reports the steady state.
func (p *planner) finish(primary *Deployment, b bounds) {
	healthy, running, live := 0, 0, 0
	others := false
	for _, t := range p.tasks {
		if t.Last == ecs.TaskStopped {
			continue
		}
		live++
		if t.Deployment != primary.ID {
			others = true
		}
		if t.Desired == ecs.TaskRunning && !p.stopping(t) && t.Last == ecs.TaskRunning {
			running++
			if p.healthy(t) && t.Deployment == primary.ID {
				healthy++
			}
		}
	}
	done := !others && b.retiring == 0 && healthy == b.want && live == b.want && p.out.Start == nil && len(p.out.Stop) == 0
	state := primary.State
	if done && state == ecs.DeploymentRolloutStateINPROGRESS {
		state = ecs.DeploymentRolloutStateCOMPLETED
		p.out.Rollouts = append(p.out.Rollouts, Rollout{Deployment: primary.ID, State: state,
			Reason: "ECS deployment " + primary.ID + " completed."})
		p.event("(deployment %s) deployment completed.", primary.ID)
	}
	remaining := len(p.s.Deployments) - len(p.out.Drop)
	if done && state == ecs.DeploymentRolloutStateCOMPLETED && remaining == 1 && running == b.want {
		p.out.Steady = true
		p.event("has reached a steady state.")
	}
}

// dropDrained removes non-PRIMARY deployments with no task left.
func (p *planner) dropDrained() {
	for _, d := range p.s.Deployments[1:] {
		if !slices.ContainsFunc(p.tasks, func(t *Task) bool { return t.Deployment == d.ID && t.Last != ecs.TaskStopped }) {
			p.out.Drop = append(p.out.Drop, d.ID)
		}
	}
}

// attemptWindow groups tasks created together, by one Start, into one
// start attempt. Attempts after a failure are at least FirstBackoff apart.
const attemptWindow = time.Second

// mayStart applies the back-off for tasks that keep failing to start:
// after n consecutive failed attempts the next start waits
// FirstBackoff·2ⁿ⁻¹, at most MaxBackoff. An attempt is one batch of tasks
// started together, so that ten tasks failing at once wait as one does.
// Tasks that ran and then failed do not count.
func (p *planner) mayStart(d *Deployment) bool {
	n, last, attempt := 0, time.Time{}, time.Time{}
	for _, t := range slices.Backward(p.byCreation(d.ID)) {
		if t.Last != ecs.TaskStopped {
			continue // still on its way
		}
		if !t.StartedAt.IsZero() || !failed(t) {
			break
		}
		if n == 0 || attempt.Sub(t.CreatedAt) >= attemptWindow {
			n++
		}
		attempt = t.CreatedAt
		last = later(last, cmp.Or(t.StoppedAt, t.CreatedAt))
	}
	if n == 0 {
		return true
	}
	delay := MaxBackoff
	if n < 20 {
		delay = min(FirstBackoff<<(n-1), MaxBackoff)
	}
	retry := last.Add(delay)
	if !p.now.Before(retry) {
		return true
	}
	p.wake(retry)
	if n >= 3 {
		p.event("is unable to consistently start tasks successfully.")
	}
	return false
}

func (p *planner) byCreation(deployment string) []*Task {
	var out []*Task
	for _, t := range p.tasks {
		if t.Deployment == deployment {
			out = append(out, t)
		}
	}
	slices.SortStableFunc(out, func(a, b *Task) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out
}

// healthy reports whether a task counts toward minimumHealthyPercent:
// RUNNING and wanted, and either HEALTHY by its health check or, without
// one, RUNNING for WarmUp.
func (p *planner) healthy(t *Task) bool {
	if t.Last != ecs.TaskRunning || t.Desired != ecs.TaskRunning || p.stopping(t) {
		return false
	}
	if d, ok := p.deps[t.Deployment]; ok && d.HealthCheck {
		return t.Health == ecs.HealthStatusHEALTHY
	}
	return !p.warming(t)
}

// warming reports whether a RUNNING task is within its warm-up: not yet
// healthy by a health check, or, without one, running for under WarmUp.
func (p *planner) warming(t *Task) bool {
	if t.Last != ecs.TaskRunning {
		return false
	}
	if d, ok := p.deps[t.Deployment]; ok && d.HealthCheck {
		return t.Health == ecs.HealthStatusUNKNOWN || t.Health == ""
	}
	ready := t.StartedAt.Add(WarmUp)
	if p.now.Before(ready) {
		p.wake(ready)
		return true
	}
	return false
}

// failingHealth reports a RUNNING task whose health check says UNHEALTHY
// after the service's grace period.
func (p *planner) failingHealth(t *Task) bool {
	if t.Last != ecs.TaskRunning || t.Health != ecs.HealthStatusUNHEALTHY {
		return false
	}
	end := t.StartedAt.Add(p.s.GracePeriod)
	if p.now.Before(end) {
		p.wake(end)
		return false
	}
	return true
}

// failed reports whether a task counts against its deployment: it could
// not start, its essential container exited, or it failed its health
// check. Stops a user or the scheduler asked for are not failures.
func failed(t *Task) bool {
	if t.Reason == ReasonUnhealthy {
		return true
	}
	return t.Last == ecs.TaskStopped &&
		(t.StopCode == ecs.TaskStopCodeEssentialContainerExited || t.StopCode == ecs.TaskStopCodeTaskFailedToStart)
}

func (p *planner) stop(t *Task, reason string) {
	p.out.Stop = append(p.out.Stop, Stop{Task: t.ID, Reason: reason})
}

// stopping reports whether this plan already stops t.
func (p *planner) stopping(t *Task) bool {
	return slices.ContainsFunc(p.out.Stop, func(s Stop) bool { return s.Task == t.ID })
}

func (p *planner) scalingReason() string {
	if len(p.s.Deployments) == 0 {
		return "Scaling activity initiated by the service"
	}
	return "Scaling activity initiated by (deployment " + p.s.Deployments[0].ID + ")"
}

func (p *planner) event(format string, args ...any) {
	p.out.Events = append(p.out.Events, fmt.Sprintf(format, args...))
}

func (p *planner) wake(at time.Time) {
	if p.out.Wake.IsZero() || at.Before(p.out.Wake) {
		p.out.Wake = at
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
