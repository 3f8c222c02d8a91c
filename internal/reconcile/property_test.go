package reconcile

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/google/go-cmp/cmp"
)

// The property tests drive Next with a small simulator: a service, its
// tasks and instances at a moment; apply carries a plan out as the
// controller would, and world moves time and the tasks on.

const stuckEvent = "was unable to stop or start tasks during a deployment because of the service deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again."

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

type simInstance struct {
	ID, Zone string
	// Gone: not eligible for a DAEMON service (inactive, disconnected,
	// or failing its constraints). Draining: DRAINING.
	Gone, Draining bool
}

// faults are the probabilities, per world step and task, of a failure.
type faults struct {
	failStart float64 // PENDING → STOPPED, TaskFailedToStart
	crash     float64 // RUNNING → STOPPED, EssentialContainerExited
	unhealthy float64 // health → UNHEALTHY
	// bad are deployments whose every task fails, and how: failStart,
	// crash or unhealthy.
	bad        map[string]string
	healthWait float64 // probability a health-checked task stays UNKNOWN a step
}

type sim struct {
	t         testing.TB
	rng       *rand.Rand
	now       time.Time
	svc       Service
	tasks     []Task
	instances []simInstance
	completed *Deployment // the last COMPLETED deployment, for rollback
	rr        int
	ids       map[string]bool
	faults    faults
	steps     int
}

func (s *sim) newID(prefix string) string {
	for {
		id := fmt.Sprintf("%s%08x", prefix, s.rng.Uint32())
		if !s.ids[id] {
			s.ids[id] = true
			return id
		}
	}
}

func (s *sim) deployment(id string) *Deployment {
	for i := range s.svc.Deployments {
		if s.svc.Deployments[i].ID == id {
			return &s.svc.Deployments[i]
		}
	}
	return nil
}

func (s *sim) instance(id string) *simInstance {
	for i := range s.instances {
		if s.instances[i].ID == id {
			return &s.instances[i]
		}
	}
	return nil
}

// input is what Next sees now, deep-copied.
func (s *sim) input() (*Service, []Task, []Instance) {
	svc := s.svc
	svc.Deployments = slices.Clone(s.svc.Deployments)
	svc.CanRollBack = s.completed != nil && len(svc.Deployments) > 0 && s.completed.ID != svc.Deployments[0].ID
	tasks := slices.Clone(s.tasks)
	for i := range tasks {
		if in := s.instance(tasks[i].Instance); in != nil {
			tasks[i].Draining = in.Draining
		}
	}
	var ins []Instance
	if s.svc.Daemon {
		for _, in := range s.instances {
			ins = append(ins, Instance{ID: in.ID, Zone: in.Zone, Eligible: !in.Gone && !in.Draining})
		}
	}
	return &svc, tasks, ins
}

// plan runs Next and checks it is deterministic and leaves its input alone.
func (s *sim) plan() *Plan {
	s.t.Helper()
	svc, tasks, ins := s.input()
	svc0, tasks0, ins0 := *svc, slices.Clone(tasks), slices.Clone(ins)
	svc0.Deployments = slices.Clone(svc.Deployments)
	p := Next(s.now, svc, tasks, ins)
	if !reflect.DeepEqual(*svc, svc0) || !reflect.DeepEqual(tasks, tasks0) || !reflect.DeepEqual(ins, ins0) {
		s.t.Fatalf("step %d: Next changed its input", s.steps)
	}
	// Same input, shuffled task order: same plan.
	shuffled := slices.Clone(tasks)
	s.rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	if q := Next(s.now, svc, shuffled, ins); !reflect.DeepEqual(p, q) {
		s.t.Fatalf("step %d: Next is not deterministic:\n%s", s.steps, cmp.Diff(p, q))
	}
	return p
}

// placeable are the instances a replica task may go to.
func (s *sim) placeable() []string {
	var out []string
	for _, in := range s.instances {
		if !in.Gone && !in.Draining {
			out = append(out, in.ID)
		}
	}
	return out
}

func (s *sim) apply(p *Plan) {
	s.t.Helper()
	if p.Start != nil {
		d := s.deployment(p.Start.Deployment)
		if d == nil || d != &s.svc.Deployments[0] {
			s.t.Fatalf("step %d: start of %q, not the PRIMARY", s.steps, p.Start.Deployment)
		}
		hosts := p.Start.Instances
		if !s.svc.Daemon {
			if len(hosts) != 0 {
				s.t.Fatalf("step %d: replica start names instances", s.steps)
			}
			pool := s.placeable()
			if len(pool) == 0 {
				s.t.Fatalf("step %d: start with no instance to place on", s.steps)
			}
			for range p.Start.Count {
				hosts = append(hosts, pool[s.rr%len(pool)])
				s.rr++
			}
		} else if len(hosts) != p.Start.Count {
			s.t.Fatalf("step %d: daemon start count %d for %d instances", s.steps, p.Start.Count, len(hosts))
		}
		for _, h := range hosts {
			s.tasks = append(s.tasks, Task{
				ID: s.newID("t"), Deployment: d.ID, Instance: h, Zone: s.instance(h).Zone,
				Last: ecs.TaskPending, Desired: ecs.TaskRunning, CreatedAt: s.now,
			})
		}
	}
	for _, st := range p.Stop {
		i := slices.IndexFunc(s.tasks, func(t Task) bool { return t.ID == st.Task })
		if i < 0 {
			s.t.Fatalf("step %d: stop of unknown task %s", s.steps, st.Task)
		}
		t := &s.tasks[i]
		if t.Desired != ecs.TaskRunning || t.Last == ecs.TaskStopped {
			s.t.Fatalf("step %d: stop of task %s already %s/%s", s.steps, t.ID, t.Last, t.Desired)
		}
		t.Desired, t.Reason, t.StopCode = ecs.TaskStopped, st.Reason, ecs.TaskStopCodeServiceSchedulerInitiated
	}
	for _, r := range p.Rollouts {
		d := s.deployment(r.Deployment)
		if d == nil {
			s.t.Fatalf("step %d: rollout of unknown deployment %s", s.steps, r.Deployment)
		}
		d.State = r.State
		if r.State == ecs.DeploymentRolloutStateCOMPLETED {
			c := *d
			s.completed = &c
		}
	}
	for _, id := range p.Drop {
		if len(s.svc.Deployments) > 0 && s.svc.Deployments[0].ID == id {
			s.t.Fatalf("step %d: drop of the PRIMARY %s", s.steps, id)
		}
		s.svc.Deployments = slices.DeleteFunc(s.svc.Deployments, func(d Deployment) bool { return d.ID == id })
	}
	if p.RollBack {
		if s.completed == nil || s.completed.ID == s.svc.Deployments[0].ID {
			s.t.Fatalf("step %d: rollback with nothing to roll back to", s.steps)
		}
		d := Deployment{ID: s.newID("d"), State: ecs.DeploymentRolloutStateINPROGRESS, HealthCheck: s.completed.HealthCheck}
		s.svc.Deployments = append([]Deployment{d}, s.svc.Deployments...)
	}
	if s.svc.Daemon {
		s.svc.Desired = p.Desired
	}
}

// world advances time by dt and moves every task on, failing some as the
// faults say.
func (s *sim) world(dt time.Duration) {
	s.now = s.now.Add(dt)
	s.steps++
	f := s.faults
	for i := range s.tasks {
		t := &s.tasks[i]
		if t.Last == ecs.TaskStopped {
			continue
		}
		d := s.deployment(t.Deployment)
		hc := d != nil && d.HealthCheck
		bad := f.bad[t.Deployment]
		switch {
		case t.Desired == ecs.TaskStopped:
			t.Last, t.StoppedAt = ecs.TaskStopped, s.now
		case t.Last != ecs.TaskRunning:
			if bad == "failStart" || s.rng.Float64() < f.failStart {
				t.Last, t.Desired, t.StoppedAt = ecs.TaskStopped, ecs.TaskStopped, s.now
				t.StopCode, t.Reason = ecs.TaskStopCodeTaskFailedToStart, "CannotPullContainerError"
				continue
			}
			t.Last, t.StartedAt, t.Health = ecs.TaskRunning, s.now, ecs.HealthStatusUNKNOWN
		case bad == "unhealthy":
			t.Health = ecs.HealthStatusUNHEALTHY
		case bad == "crash" || s.rng.Float64() < f.crash:
			t.Last, t.Desired, t.StoppedAt = ecs.TaskStopped, ecs.TaskStopped, s.now
			t.StopCode, t.Reason = ecs.TaskStopCodeEssentialContainerExited, "Essential container in task exited"
		case hc && t.Health == ecs.HealthStatusUNKNOWN && s.rng.Float64() >= f.healthWait:
			t.Health = ecs.HealthStatusHEALTHY
			if s.rng.Float64() < f.unhealthy {
				t.Health = ecs.HealthStatusUNHEALTHY
			}
		case hc && t.Health == ecs.HealthStatusHEALTHY && s.rng.Float64() < f.unhealthy:
			t.Health = ecs.HealthStatusUNHEALTHY
		}
	}
}

// healthyCount counts tasks healthy as the package defines it, computed
// here on its own.
func (s *sim) healthyCount() int {
	n := 0
	for _, t := range s.tasks {
		if t.Last != ecs.TaskRunning || t.Desired != ecs.TaskRunning {
			continue
		}
		if s.svc.Daemon {
			if in := s.instance(t.Instance); in == nil || in.Gone || in.Draining {
				continue // stopped whatever the bounds
			}
		}
		if d := s.deployment(t.Deployment); d != nil && d.HealthCheck {
			if t.Health == ecs.HealthStatusHEALTHY {
				n++
			}
		} else if s.now.Sub(t.StartedAt) >= WarmUp {
			n++
		}
	}
	return n
}

func (s *sim) liveCount() int {
	n := 0
	for _, t := range s.tasks {
		if t.Last != ecs.TaskStopped {
			n++
		}
	}
	return n
}

// perInstance counts the tasks not STOPPED on each instance.
func (s *sim) perInstance() map[string]int {
	out := map[string]int{}
	for _, t := range s.tasks {
		if t.Last != ecs.TaskStopped {
			out[t.Instance]++
		}
	}
	return out
}

func (s *sim) want() int {
	if !s.svc.Daemon {
		return s.svc.Desired
	}
	n := 0
	for _, in := range s.instances {
		if !in.Gone && !in.Draining {
			n++
		}
	}
	return n
}

func (s *sim) limits() (minHealthy, maxTotal int) {
	n := s.want()
	minHealthy = (n*s.svc.MinHealthyPercent + 99) / 100
	maxTotal = max(n*s.svc.MaxPercent/100, n)
	return
}

// tight reports whether the deployment configuration allows neither a
// start nor a stop once every task runs healthy: minHealthy and maxTotal
// both equal the desired count.
func (s *sim) tight() bool {
	lo, hi := s.limits()
	n := s.want()
	return n > 0 && lo == n && hi == n
}

// step plans, checks the rollout bounds and idempotence, applies the
// plan, and checks the replan asks for nothing more.
func (s *sim) step() *Plan {
	s.t.Helper()
	p := s.plan()
	minHealthy, maxTotal := s.limits()
	healthy, live, before := s.healthyCount(), s.liveCount(), s.perInstance()
	s.apply(p)
	if !s.svc.Deleting {
		h2, l2 := s.healthyCount(), s.liveCount()
		if h2 < min(healthy, minHealthy) {
			s.t.Fatalf("step %d: stops took healthy tasks from %d to %d, below minimum %d\nplan %+v\n%s", s.steps, healthy, h2, minHealthy, p, s)
		}
		if s.svc.Daemon {
			// A DAEMON service's maximum is per instance: a new task only
			// where none is left.
			for h, n := range s.perInstance() {
				if n > 1 && n > before[h] {
					s.t.Fatalf("step %d: starts put %d tasks on %s\nplan %+v\n%s", s.steps, n, h, p, s)
				}
			}
		} else if l2 > live && l2 > maxTotal {
			s.t.Fatalf("step %d: starts took tasks from %d to %d, above maximum %d\nplan %+v\n%s", s.steps, live, l2, maxTotal, p, s)
		}
	}
	if s.svc.Daemon && !s.svc.Deleting && p.Desired != s.want() {
		s.t.Fatalf("step %d: daemon plan wants %d tasks, %d instances are eligible", s.steps, p.Desired, s.want())
	}
	if p.RollBack {
		return p // a new deployment to roll out
	}
	if q := s.plan(); q.Start != nil || len(q.Stop) > 0 || len(q.Rollouts) > 0 {
		s.t.Fatalf("step %d: replan after applying\n%+v\nasks for more:\n%+v\n%s", s.steps, p, q, s)
	}
	return p
}

func (s *sim) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "now +%s desired %d min %d%% max %d%% daemon %v\n", s.now.Sub(t0), s.svc.Desired, s.svc.MinHealthyPercent, s.svc.MaxPercent, s.svc.Daemon)
	for _, d := range s.svc.Deployments {
		fmt.Fprintf(&b, "  deployment %s %s hc=%v\n", d.ID, d.State, d.HealthCheck)
	}
	for _, in := range s.instances {
		fmt.Fprintf(&b, "  instance %s %s gone=%v draining=%v\n", in.ID, in.Zone, in.Gone, in.Draining)
	}
	for _, t := range s.tasks {
		if t.Last == ecs.TaskStopped {
			continue
		}
		fmt.Fprintf(&b, "  task %s %s on %s %s/%s %s started +%s\n", t.ID, t.Deployment, t.Instance, t.Last, t.Desired, t.Health, t.StartedAt.Sub(t0))
	}
	return b.String()
}

// advance moves the world on by dt, or to the plan's wake time when the
// plan did nothing and only waits.
func (s *sim) advance(p *Plan, dt time.Duration) {
	if p.Start == nil && len(p.Stop) == 0 && p.Wake.After(s.now.Add(dt)) {
		dt = p.Wake.Sub(s.now)
	}
	s.world(dt)
}

// converged reports whether the service is as the plan's Steady says it
// should be, and checks that it is when Steady.
func (s *sim) converged(p *Plan) bool {
	s.t.Helper()
	if !p.Steady {
		return false
	}
	if len(s.svc.Deployments) != 1 || s.svc.Deployments[0].State != ecs.DeploymentRolloutStateCOMPLETED {
		s.t.Fatalf("steady with deployments %+v", s.svc.Deployments)
	}
	running := map[string]int{}
	for _, t := range s.tasks {
		if t.Last == ecs.TaskStopped {
			continue
		}
		if t.Last != ecs.TaskRunning || t.Desired != ecs.TaskRunning || t.Deployment != s.svc.Deployments[0].ID {
			s.t.Fatalf("steady with task %+v\n%s", t, s)
		}
		in := s.instance(t.Instance)
		if in.Draining || (s.svc.Daemon && in.Gone) {
			s.t.Fatalf("steady with a task on %+v", *in)
		}
		running[t.Instance]++
	}
	total := 0
	for in, n := range running {
		total += n
		if s.svc.Daemon && n != 1 {
			s.t.Fatalf("steady with %d daemon tasks on %s", n, in)
		}
	}
	if total != s.want() {
		s.t.Fatalf("steady with %d tasks running, want %d\n%s", total, s.want(), s)
	}
	return true
}

// randomSim makes a service in a random state: 1–3 deployments, tasks of
// them in random states, instances in 1–3 zones, perhaps one draining.
func randomSim(t testing.TB, rng *rand.Rand, daemon bool) *sim {
	s := &sim{t: t, rng: rng, now: t0.Add(time.Hour), ids: map[string]bool{}}
	s.svc = Service{
		Name: "web", Daemon: daemon, Desired: rng.IntN(21),
		MinHealthyPercent: rng.IntN(101), MaxPercent: 100 + rng.IntN(101),
		GracePeriod: time.Duration(rng.IntN(4)) * 30 * time.Second,
	}
	if daemon {
		s.svc.MaxPercent = 100
	}
	nd := 1 + rng.IntN(3)
	for i := range nd {
		d := Deployment{ID: s.newID("d"), State: ecs.DeploymentRolloutStateINPROGRESS, HealthCheck: rng.IntN(2) == 0}
		if i > 0 {
			d.State = []ecs.DeploymentRolloutState{ecs.DeploymentRolloutStateCOMPLETED, ecs.DeploymentRolloutStateFAILED, ecs.DeploymentRolloutStateINPROGRESS}[rng.IntN(3)]
		} else if nd == 1 && rng.IntN(2) == 0 {
			d.State = ecs.DeploymentRolloutStateCOMPLETED
		}
		s.svc.Deployments = append(s.svc.Deployments, d)
		if d.State == ecs.DeploymentRolloutStateCOMPLETED && s.completed == nil {
			c := d
			s.completed = &c
		}
	}
	zones := 1 + rng.IntN(3)
	ni := 1 + rng.IntN(6)
	for i := range ni {
		in := simInstance{ID: fmt.Sprintf("i%02d", i), Zone: fmt.Sprintf("zone-%c", 'a'+rune(i%zones))}
		if daemon {
			in.Gone = rng.IntN(5) == 0
		}
		s.instances = append(s.instances, in)
	}
	if ni > 1 && rng.IntN(4) == 0 {
		s.instances[rng.IntN(ni)].Draining = true
	}
	if len(s.placeable()) == 0 {
		s.instances[0].Gone, s.instances[0].Draining = false, false
	}
	nt := rng.IntN(26)
	if daemon {
		nt = rng.IntN(2 * ni)
	}
	for range nt {
		d := s.svc.Deployments[rng.IntN(nd)]
		in := s.instances[rng.IntN(ni)]
		task := Task{
			ID: s.newID("t"), Deployment: d.ID, Instance: in.ID, Zone: in.Zone,
			Desired: ecs.TaskRunning, CreatedAt: s.now.Add(-time.Duration(rng.IntN(600)) * time.Second),
		}
		started := task.CreatedAt.Add(time.Duration(rng.IntN(30)) * time.Second)
		switch rng.IntN(6) {
		case 0:
			task.Last = ecs.TaskPending
		case 1, 2:
			task.Last, task.StartedAt, task.Health = ecs.TaskRunning, started, ecs.HealthStatusUNKNOWN
			if d.HealthCheck && rng.IntN(3) > 0 {
				task.Health = ecs.HealthStatusHEALTHY
			}
		case 3:
			task.Last, task.Desired, task.StartedAt = ecs.TaskRunning, ecs.TaskStopped, started
			task.StopCode, task.Reason = ecs.TaskStopCodeServiceSchedulerInitiated, "Scaling activity initiated by (deployment x)"
		default:
			task.Last, task.Desired, task.StoppedAt = ecs.TaskStopped, ecs.TaskStopped, s.now.Add(-time.Duration(rng.IntN(60))*time.Second)
			task.StopCode = []ecs.TaskStopCode{ecs.TaskStopCodeTaskFailedToStart, ecs.TaskStopCodeEssentialContainerExited, ecs.TaskStopCodeUserInitiated, ecs.TaskStopCodeServiceSchedulerInitiated}[rng.IntN(4)]
			if task.StopCode != ecs.TaskStopCodeTaskFailedToStart {
				task.StartedAt = started
			}
		}
		s.tasks = append(s.tasks, task)
	}
	return s
}

const iterations = 3000

// Property 1 and 3: from any state, a benign world converges to one
// COMPLETED deployment running the desired count, unless the deployment
// configuration forbids both starts and stops, which the plan then says.
func TestPropertyConverges(t *testing.T) {
	for _, daemon := range []bool{false, true} {
		t.Run(fmt.Sprintf("daemon=%v", daemon), func(t *testing.T) {
			for seed := range uint64(iterations) {
				rng := rand.New(rand.NewPCG(seed, 1))
				s := randomSim(t, rng, daemon)
				s.faults.healthWait = 0.3
				initial := s.String()
				var p *Plan
				stuck := false
				for range 300 {
					p = s.step()
					if s.converged(p) {
						break
					}
					if slices.Contains(p.Events, stuckEvent) {
						stuck = true
						if !s.tight() {
							t.Fatalf("seed %d: stuck event without a tight configuration\n%s\nfrom\n%s", seed, s, initial)
						}
						if p.Start == nil && len(p.Stop) == 0 {
							break // settled: a benign world changes nothing more
						}
					}
					s.advance(p, 10*time.Second)
				}
				if p.Steady {
					continue
				}
				if !s.tight() || !stuck || !slices.Contains(p.Events, stuckEvent) || p.Start != nil || len(p.Stop) > 0 {
					t.Fatalf("seed %d: no steady state after %d steps; last plan %+v\n%s\nfrom\n%s", seed, s.steps, p, s, initial)
				}
			}
		})
	}
}

// Property 2 and 3 under failures: the bounds hold at every step whatever
// fails (checked in step); the service never stops asking for tasks.
func TestPropertyBoundsUnderFailures(t *testing.T) {
	for _, daemon := range []bool{false, true} {
		t.Run(fmt.Sprintf("daemon=%v", daemon), func(t *testing.T) {
			for seed := range uint64(iterations / 12) {
				rng := rand.New(rand.NewPCG(seed, 2))
				s := randomSim(t, rng, daemon)
				s.svc.CircuitBreaker, s.svc.Rollback = rng.IntN(2) == 0, rng.IntN(2) == 0
				s.faults = faults{failStart: 0.1 * rng.Float64(), crash: 0.05 * rng.Float64(), unhealthy: 0.1 * rng.Float64(), healthWait: 0.3}
				for range 100 {
					p := s.step()
					if p.RollBack && !s.svc.CircuitBreaker {
						t.Fatalf("seed %d: rollback without a circuit breaker", seed)
					}
					for _, r := range p.Rollouts {
						if r.State == ecs.DeploymentRolloutStateFAILED && !s.svc.CircuitBreaker {
							t.Fatalf("seed %d: deployment failed without a circuit breaker", seed)
						}
					}
					s.advance(p, time.Duration(1+rng.IntN(20))*time.Second)
				}
			}
		})
	}
}

// steadySim makes a REPLICA service at steady state: one COMPLETED
// deployment running desired healthy tasks over three instances in two
// zones.
func steadySim(t testing.TB, rng *rand.Rand, desired, minPct, maxPct int) *sim {
	s := &sim{t: t, rng: rng, now: t0.Add(time.Hour), ids: map[string]bool{}}
	s.svc = Service{Name: "web", Desired: desired, MinHealthyPercent: minPct, MaxPercent: maxPct}
	d := Deployment{ID: s.newID("d"), State: ecs.DeploymentRolloutStateCOMPLETED, HealthCheck: rng.IntN(2) == 0}
	s.svc.Deployments = []Deployment{d}
	s.completed = &d
	for i := range 3 {
		s.instances = append(s.instances, simInstance{ID: fmt.Sprintf("i%02d", i), Zone: fmt.Sprintf("zone-%c", 'a'+rune(i%2))})
	}
	for range desired {
		in := s.instances[s.rr%3]
		s.rr++
		s.tasks = append(s.tasks, Task{
			ID: s.newID("t"), Deployment: d.ID, Instance: in.ID, Zone: in.Zone,
			Last: ecs.TaskRunning, Desired: ecs.TaskRunning, Health: ecs.HealthStatusHEALTHY,
			CreatedAt: s.now.Add(-time.Hour), StartedAt: s.now.Add(-time.Hour),
		})
	}
	return s
}

// deploy makes a new PRIMARY deployment, as UpdateService does.
func (s *sim) deploy(hc bool) string {
	d := Deployment{ID: s.newID("d"), State: ecs.DeploymentRolloutStateINPROGRESS, HealthCheck: hc}
	s.svc.Deployments = append([]Deployment{d}, s.svc.Deployments...)
	return d.ID
}

// Property 5: tasks on a draining instance are replaced on the others
// first, within the bounds (checked by step), and none is left there.
func TestPropertyDraining(t *testing.T) {
	for seed := range uint64(iterations / 3) {
		rng := rand.New(rand.NewPCG(seed, 5))
		s := steadySim(t, rng, 1+rng.IntN(20), rng.IntN(101), 100+rng.IntN(101))
		drain := &s.instances[rng.IntN(3)]
		drain.Draining = true
		s.faults.healthWait = 0.3
		onDrain := 0
		for _, task := range s.tasks {
			if task.Instance == drain.ID {
				onDrain++
			}
		}
		minHealthy, maxTotal := s.limits()
		p := s.step()
		// The first plan starts replacements as far as the maximum allows,
		// and stops healthy tasks there only down to the minimum.
		if want := min(onDrain, maxTotal-s.svc.Desired); want > 0 && (p.Start == nil || p.Start.Count != want) {
			t.Fatalf("seed %d: %d tasks draining, room for %d: start %+v", seed, onDrain, maxTotal-s.svc.Desired, p.Start)
		}
		if len(p.Stop) > max(s.svc.Desired-minHealthy, 0) {
			t.Fatalf("seed %d: %d stops with %d healthy and minimum %d", seed, len(p.Stop), s.svc.Desired, minHealthy)
		}
		for range 200 {
			if s.converged(p) {
				break
			}
			if slices.Contains(p.Events, stuckEvent) && p.Start == nil && len(p.Stop) == 0 {
				break
			}
			s.advance(p, 10*time.Second)
			p = s.step()
		}
		if !p.Steady && !(s.tight() && slices.Contains(p.Events, stuckEvent)) {
			t.Fatalf("seed %d: no steady state after draining\n%s", seed, s)
		}
	}
}

// backoff computes, independently of the package, when the PRIMARY may
// next start tasks: after n attempts (tasks created together) that all
// failed before RUNNING, FirstBackoff doubled n-1 times, at most
// MaxBackoff, after the last of them stopped.
func (s *sim) backoff() (retry time.Time, attempts int, delay time.Duration) {
	var mine []Task
	for _, t := range s.tasks {
		if t.Deployment == s.svc.Deployments[0].ID && t.Last == ecs.TaskStopped {
			mine = append(mine, t)
		}
	}
	slices.SortStableFunc(mine, func(a, b Task) int { return b.CreatedAt.Compare(a.CreatedAt) })
	var last, created time.Time
	for _, t := range mine {
		if t.StopCode != ecs.TaskStopCodeTaskFailedToStart || !t.StartedAt.IsZero() {
			break
		}
		if attempts == 0 || !t.CreatedAt.Equal(created) {
			attempts++
			created = t.CreatedAt
		}
		if t.StoppedAt.After(last) {
			last = t.StoppedAt
		}
	}
	if attempts == 0 {
		return time.Time{}, 0, 0
	}
	delay = MaxBackoff
	if attempts < 20 {
		delay = min(FirstBackoff<<(attempts-1), MaxBackoff)
	}
	return last.Add(delay), attempts, delay
}

// Property 6, without the circuit breaker: a deployment whose tasks never
// start is never FAILED, and its start attempts are spaced by the
// back-off, up to MaxBackoff; tasks that run and then crash are replaced
// at once.
func TestPropertyBackoff(t *testing.T) {
	for seed := range uint64(iterations / 20) {
		rng := rand.New(rand.NewPCG(seed, 6))
		s := steadySim(t, rng, 1+rng.IntN(10), rng.IntN(101), 100+rng.IntN(101))
		mode := []string{"failStart", "crash"}[rng.IntN(2)]
		s.faults.bad = map[string]string{s.deploy(false): mode}
		if s.tight() {
			if p := s.step(); !slices.Contains(p.Events, stuckEvent) {
				t.Fatalf("seed %d: tight configuration, no stuck event", seed)
			}
			continue
		}
		maxDelay := time.Duration(0)
		for range 40 {
			retry, n, delay := s.backoff()
			maxDelay = max(maxDelay, delay)
			p := s.step()
			for _, r := range p.Rollouts {
				if r.State == ecs.DeploymentRolloutStateFAILED {
					t.Fatalf("seed %d: FAILED without a circuit breaker", seed)
				}
			}
			switch {
			case mode == "crash":
				if p.Start == nil && s.liveCount() < s.svc.Desired+len(s.svc.Deployments[1:]) && s.primaryLive() < s.svc.Desired && s.liveCount() < max(s.svc.Desired*s.svc.MaxPercent/100, s.svc.Desired) {
					t.Fatalf("seed %d: crashed tasks not replaced at once\n%s", seed, s)
				}
			case n > 0 && s.now.Before(retry):
				if p.Start != nil {
					t.Fatalf("seed %d: start at +%s before the back-off of %d attempts ends at +%s", seed, s.now.Sub(t0), n, retry.Sub(t0))
				}
				if !p.Wake.Equal(retry) && !(p.Wake.Before(retry) && !p.Wake.IsZero()) {
					t.Fatalf("seed %d: wake %v, back-off ends at %v", seed, p.Wake, retry)
				}
				if n >= 3 && !slices.Contains(p.Events, "is unable to consistently start tasks successfully.") {
					t.Fatalf("seed %d: %d failed attempts and no throttle event", seed, n)
				}
			case n > 0 && s.primaryLive() < s.svc.Desired && p.Start == nil && s.liveCount() < max(s.svc.Desired*s.svc.MaxPercent/100, s.svc.Desired):
				t.Fatalf("seed %d: no start after the back-off ended at +%s (now +%s)", seed, retry.Sub(t0), s.now.Sub(t0))
			}
			s.advance(p, time.Duration(1+rng.IntN(30))*time.Second)
		}
		if mode == "failStart" && maxDelay != MaxBackoff {
			t.Fatalf("seed %d: largest back-off %s, want %s", seed, maxDelay, MaxBackoff)
		}
	}
}

func (s *sim) primaryLive() int {
	n := 0
	for _, t := range s.tasks {
		if t.Deployment == s.svc.Deployments[0].ID && t.Last != ecs.TaskStopped && t.Desired == ecs.TaskRunning {
			n++
		}
	}
	return n
}

// failures counts a deployment's failed tasks as the circuit breaker
// should, independently of the package.
func (s *sim) failures(dep string) int {
	n := 0
	for _, t := range s.tasks {
		switch {
		case t.Deployment != dep:
		case t.Reason == ReasonUnhealthy:
			n++
		case t.Last == ecs.TaskStopped && (t.StopCode == ecs.TaskStopCodeTaskFailedToStart || t.StopCode == ecs.TaskStopCodeEssentialContainerExited):
			n++
		case t.Last == ecs.TaskRunning && t.Desired == ecs.TaskRunning && t.Health == ecs.HealthStatusUNHEALTHY && !s.now.Before(t.StartedAt.Add(s.svc.GracePeriod)):
			n++
		}
	}
	return n
}

// Property 6, with the circuit breaker: a deployment whose tasks keep
// failing, however they fail, is FAILED when its failures reach the
// threshold, then starts nothing; with rollback the service returns to
// the last COMPLETED deployment and reaches a steady state.
func TestPropertyCircuitBreaker(t *testing.T) {
	for seed := range uint64(iterations / 5) {
		rng := rand.New(rand.NewPCG(seed, 7))
		s := steadySim(t, rng, 1+rng.IntN(20), rng.IntN(101), 100+rng.IntN(101))
		s.svc.CircuitBreaker, s.svc.Rollback = true, rng.IntN(2) == 0
		s.svc.GracePeriod = time.Duration(rng.IntN(3)) * 30 * time.Second
		mode := []string{"failStart", "crash", "unhealthy"}[rng.IntN(3)]
		bad := s.deploy(mode == "unhealthy" || rng.IntN(2) == 0)
		s.faults.bad = map[string]string{bad: mode}
		if s.tight() {
			if p := s.step(); !slices.Contains(p.Events, stuckEvent) {
				t.Fatalf("seed %d: tight configuration, no stuck event", seed)
			}
			continue
		}
		threshold := int(ecs.CircuitBreakerThreshold(int32(s.svc.Desired)))
		failedAt, rolledBack := -1, false
		var p *Plan
		for i := range 400 {
			n := s.failures(bad)
			var state ecs.DeploymentRolloutState
			if d := s.deployment(bad); d != nil {
				state = d.State
			}
			p = s.step()
			if got := p.FailedTasks[bad]; got != n {
				t.Fatalf("seed %d: %d failed tasks, plan says %d", seed, n, got)
			}
			failing := slices.ContainsFunc(p.Rollouts, func(r Rollout) bool { return r.Deployment == bad && r.State == ecs.DeploymentRolloutStateFAILED })
			if want := state == ecs.DeploymentRolloutStateINPROGRESS && n >= threshold; failing != want {
				t.Fatalf("seed %d: %d failures, threshold %d: FAILED %v\n%s", seed, n, threshold, failing, s)
			}
			if failing {
				failedAt = i
				if p.RollBack != s.svc.Rollback {
					t.Fatalf("seed %d: rollback %v with Rollback %v", seed, p.RollBack, s.svc.Rollback)
				}
			}
			rolledBack = rolledBack || p.RollBack
			if failedAt >= 0 && p.Start != nil && p.Start.Deployment == bad {
				t.Fatalf("seed %d: start of FAILED deployment", seed)
			}
			if rolledBack && s.converged(p) || !s.svc.Rollback && failedAt >= 0 && i > failedAt+20 {
				break
			}
			s.advance(p, time.Duration(1+rng.IntN(30))*time.Second)
		}
		if failedAt < 0 {
			t.Fatalf("seed %d: %s deployment never FAILED (%d failures, threshold %d)\n%s", seed, mode, s.failures(bad), threshold, s)
		}
		if rolledBack && (!p.Steady || s.svc.Deployments[0].HealthCheck != s.completed.HealthCheck) {
			t.Fatalf("seed %d: rolled back but not steady\n%s", seed, s)
		}
	}
}
