package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	goruntime "runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

const (
	servicesCluster = "bench-services"
	servicesFamily  = "bench-services"
	// describeServicesMax is ECS's limit on DescribeServices' services.
	describeServicesMax = 10
	// healthInterval is the task definition's health check interval,
	// ECS's minimum: a sim container turns HEALTHY after it.
	healthInterval = 5
)

// ServicesOptions configure the services run.
type ServicesOptions struct {
	Services        int // services to create; required
	TasksPerService int // each one's desired count; required
	Instances       int // simulated container instances; required
	Concurrency     int // concurrent clients; defaults to 32
	Zones           int // availability zones the instances spread over; defaults to 3
	// SteadyWindow is how long the steady services are left alone while
	// the CPU they cost is measured; defaults to 60 s.
	SteadyWindow time.Duration
	Region       string // defaults to us-east-1
	// Stall ends registration with an error, and a wait for steady
	// services with the services not steady counted (the run goes on with
	// the next phase), when nothing moves for this long; defaults to 2
	// minutes.
	Stall time.Duration
	// CPUProfile, when set, is a file name: the create, steady and rollout
	// phases are each profiled to it with the phase's name inserted before
	// its extension (svc.prof: svc.create.prof, …). Samples carry a role
	// label (server, agents or clients); the service controller's also
	// carry component=services.
	CPUProfile string
	Out        io.Writer    // the report; defaults to discarding it
	Logger     *slog.Logger // the server's and agents' log; defaults to discarding it
}

func (o *ServicesOptions) setDefaults() error {
	if err := fleetDefaults(&o.Concurrency, &o.Zones, &o.Stall, &o.Region, &o.Out, &o.Logger); err != nil {
		return err
	}
	o.SteadyWindow = cmp.Or(o.SteadyWindow, time.Minute)
	switch {
	case o.Services < 1 || o.TasksPerService < 1 || o.Instances < 1:
		return errors.New("services, tasks per service and instances must be at least 1")
	case o.SteadyWindow < 0:
		return errors.New("the steady window must be positive")
	}
	if tasks, room := o.Services*o.TasksPerService, o.Instances*tasksPerHost(); tasks > room {
		return fmt.Errorf("%d services of %d tasks cannot fit on %d instances (%d tasks each); use at least %d instances",
			o.Services, o.TasksPerService, o.Instances, tasksPerHost(), (tasks+tasksPerHost()-1)/tasksPerHost())
	}
	return nil
}

// Phase is one timed phase of a run.
type Phase struct {
	Elapsed time.Duration
	CPU     time.Duration // process CPU time over exactly the phase
	Profile string        // its CPU profile's file, if one was asked for
	// LastReady is when the last service that got ready did, from the
	// phase's start: Elapsed but for a wait cut short by the stall timeout.
	LastReady time.Duration
	// NotReady counts the services that answered but were not ready when
	// the stall timeout ended the wait.
	NotReady int
}

// ServicesResult is what the services run measured.
type ServicesResult struct {
	Services, TasksPerService, Instances int

	Register, Create, Steady, Rollout Phase
	// CreateErrors and UpdateErrors count failed CreateService and
	// UpdateService calls.
	CreateErrors, UpdateErrors int
	// Unsteady counts services no longer steady after the steady window.
	Unsteady int
	// Running counts RUNNING tasks of their service's PRIMARY deployment
	// at the end; Others the tasks not STOPPED that are anything else;
	// BadServices the services without exactly TasksPerService of the first
	// and none of the second.
	Running, Others, BadServices int
	PeakRSS                      uint64 // VmHWM: the whole process
	EtcdBytes                    int64  // etcd's backend file
}

// Tasks is the tasks the services want in all.
func (r *ServicesResult) Tasks() int { return r.Services * r.TasksPerService }

// RunServices starts an in-process server and Instances simulated
// agents, creates Services services of TasksPerService tasks each and
// waits until all are steady, leaves them alone for SteadyWindow, forces
// a new deployment of each and waits until every one completed, then
// checks each service's tasks. Every phase is timed with the process's
// CPU time. It writes progress and a report to Out whose last line is
// machine-readable key=value pairs, and removes everything it made.
func RunServices(ctx context.Context, opts ServicesOptions) (*ServicesResult, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	env, err := startFleetServer(ctx, opts.Instances, opts.Concurrency, opts.Region, opts.Logger)
	if err != nil {
		return nil, err
	}
	defer env.close()
	res := &ServicesResult{Services: opts.Services, TasksPerService: opts.TasksPerService, Instances: opts.Instances}
	fmt.Fprintf(opts.Out, "gantry bench services: %d services of %d tasks (%d CPU, %d MiB, health check every %ds) on %d instances (sim, %d vCPU, %d MiB) in %d zones, %d clients, %s\n",
		opts.Services, opts.TasksPerService, scaleTaskCPU, scaleTaskMemory, healthInterval, opts.Instances, simCPUs, simMemoryMiB,
		opts.Zones, opts.Concurrency, env.target.describe())
	if room := opts.Instances*tasksPerHost() - res.Tasks(); room < res.Tasks() {
		fmt.Fprintf(opts.Out, "  note: the fleet has room for %d more tasks, not all %d a rollout at maximumPercent 200 may start at once\n", room, res.Tasks())
	}
	f, err := newFleet(env, servicesCluster, opts.Instances, opts.Zones, opts.Region)
	if err != nil {
		return nil, err
	}
	defer f.close(opts.Out)
	r := &servicesRun{opts: opts, env: env, fleet: f, res: res,
		clients: env.target.clients(opts.Concurrency, opts.Region), admin: env.target.clients(1, opts.Region)[0]}
	for i := range opts.Services {
		r.names = append(r.names, fmt.Sprintf("svc-%05d", i))
	}
	if err := r.run(ctx); err != nil {
		return nil, err
	}
	res.print(opts.Out, opts.CPUProfile != "")
	if res.CreateErrors+res.UpdateErrors+res.Create.NotReady+res.Unsteady+res.Rollout.NotReady+res.BadServices > 0 {
		return res, fmt.Errorf("%d CreateService and %d UpdateService errors; %d services never steady, %d unsteady after the window, "+
			"%d never rolled; %d services with the wrong tasks",
			res.CreateErrors, res.UpdateErrors, res.Create.NotReady, res.Unsteady, res.Rollout.NotReady, res.BadServices)
	}
	return res, nil
}

// servicesRun is one services run's state.
type servicesRun struct {
	opts    ServicesOptions
	env     *localServer
	fleet   *fleet
	res     *ServicesResult
	clients []*ecs.Client
	admin   *ecs.Client
	names   []string
}

func (r *servicesRun) run(ctx context.Context) error {
	out := r.opts.Out
	var err error
	fmt.Fprintln(out, "phase 1: register")
	r.res.Register, err = r.phase("", func() error { return r.register(ctx) })
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "phase 2: create %d services\n", len(r.names))
	var created *drive
	r.res.Create, err = r.phase("create", func() error {
		created = r.drive(ctx, "created", r.create, func(svc *types.Service, _ string) bool { return steady(svc, r.opts.TasksPerService) })
		return created.wait(ctx)
	})
	r.res.CreateErrors, r.res.Create.LastReady, r.res.Create.NotReady = created.errors, created.lastReady, len(created.answered)-len(created.done)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "phase 3: steady for %s\n", r.opts.SteadyWindow)
	r.res.Steady, err = r.phase("steady", func() error { return r.idle(ctx) })
	if err != nil {
		return err
	}
	if r.res.Unsteady, err = r.countUnsteady(ctx, created.answered); err != nil {
		return err
	}
	fmt.Fprintf(out, "  %d of %d services steady after the window\n", len(created.answered)-r.res.Unsteady, len(created.answered))
	fmt.Fprintf(out, "phase 4: roll %d services\n", len(created.answered))
	var rolled *drive
	r.res.Rollout, err = r.phase("rollout", func() error {
		rolled = r.drive(ctx, "updated", r.update, func(svc *types.Service, dep string) bool {
			return steady(svc, r.opts.TasksPerService) && svc.Deployments[0].Id != nil && *svc.Deployments[0].Id == dep
		})
		rolled.only(created.answered)
		return rolled.wait(ctx)
	})
	r.res.UpdateErrors, r.res.Rollout.LastReady, r.res.Rollout.NotReady = rolled.errors, rolled.lastReady, len(rolled.answered)-len(rolled.done)
	if err != nil {
		return err
	}
	r.res.EtcdBytes = r.env.etcdBytes()
	if r.res.PeakRSS, err = readPeakRSS(); err != nil {
		return err
	}
	fmt.Fprintln(out, "phase 5: verify")
	return r.verify(ctx, rolled.done)
}

// phase runs fn and measures it: wall time, process CPU time, and a CPU
// profile named after it when one was asked for and name is set.
func (r *servicesRun) phase(name string, fn func() error) (Phase, error) {
	var p Phase
	if r.opts.CPUProfile != "" && name != "" {
		ext := filepath.Ext(r.opts.CPUProfile)
		p.Profile = strings.TrimSuffix(r.opts.CPUProfile, ext) + "." + name + cmp.Or(ext, ".prof")
		f, err := os.Create(p.Profile)
		if err != nil {
			return p, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return p, fmt.Errorf("start CPU profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	cpu0, start := cpuTime(), time.Now()
	err := fn()
	p.Elapsed, p.CPU = time.Since(start), cpuTime()-cpu0
	fmt.Fprintf(r.opts.Out, "  %s: %.2fs, %.1f CPU seconds\n", cmp.Or(name, "register"), p.Elapsed.Seconds(), p.CPU.Seconds())
	return p, err
}

// register starts the fleet and registers the task definition, whose
// container's health check passes after its interval.
func (r *servicesRun) register(ctx context.Context) error {
	hc := &types.HealthCheck{Command: []string{"CMD", "true"}, Interval: aws.Int32(healthInterval), Retries: aws.Int32(1)}
	if err := setUpCluster(ctx, r.admin, servicesCluster, servicesFamily, hc); err != nil {
		return err
	}
	_, err := register(ctx, r.opts.Out, r.fleet, r.admin, servicesCluster, r.opts.Stall)
	return err
}

// create creates one service and returns its deployment.
func (r *servicesRun) create(ctx context.Context, c *ecs.Client, name string) (string, error) {
	out, err := c.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String(servicesCluster), ServiceName: aws.String(name),
		TaskDefinition: aws.String(servicesFamily), DesiredCount: aws.Int32(int32(r.opts.TasksPerService)),
	})
	if err != nil {
		return "", err
	}
	return primaryDeployment(out.Service), nil
}

// update forces a new deployment of one service and returns it.
func (r *servicesRun) update(ctx context.Context, c *ecs.Client, name string) (string, error) {
	out, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{
		Cluster: aws.String(servicesCluster), Service: aws.String(name), ForceNewDeployment: true,
	})
	if err != nil {
		return "", err
	}
	return primaryDeployment(out.Service), nil
}

func primaryDeployment(svc *types.Service) string {
	if svc == nil {
		return ""
	}
	for _, d := range svc.Deployments {
		if aws.ToString(d.Status) == "PRIMARY" {
			return aws.ToString(d.Id)
		}
	}
	return ""
}

// steady is a service with one deployment, COMPLETED, and its desired
// count of tasks, all RUNNING.
func steady(svc *types.Service, tasks int) bool {
	return len(svc.Deployments) == 1 && svc.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted &&
		svc.RunningCount == svc.DesiredCount && int(svc.DesiredCount) == tasks
}

// idle does nothing for the steady window but say how much CPU it took.
func (r *servicesRun) idle(ctx context.Context) error {
	start, cpu0 := time.Now(), cpuTime()
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	end := time.NewTimer(r.opts.SteadyWindow)
	defer end.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-end.C:
			return r.fleet.failure()
		case <-tick.C:
			fmt.Fprintf(r.opts.Out, "  +%5.1fs  %.1f CPU seconds\n", time.Since(start).Seconds(), (cpuTime() - cpu0).Seconds())
		}
	}
}

// countUnsteady describes every service and counts those not steady.
func (r *servicesRun) countUnsteady(ctx context.Context, names map[string]string) (int, error) {
	n := 0
	err := r.describeServices(ctx, slices.Sorted(maps.Keys(names)), func(svc *types.Service) {
		if !steady(svc, r.opts.TasksPerService) {
			if n++; n == 1 {
				fmt.Fprintf(r.opts.Out, "  e.g. %s\n", describeService(svc))
			}
		}
	})
	return n, err
}

// describeServices describes names, ten to a call, from every client, and
// hands each service to seen, one at a time. Unknown services are errors.
func (r *servicesRun) describeServices(ctx context.Context, names []string, seen func(*types.Service)) error {
	var mu sync.Mutex
	err := eachChunk(ctx, r.clients, names, describeServicesMax, func(ctx context.Context, c *ecs.Client, chunk []string) error {
		var resp *ecs.DescribeServicesOutput
		err := retryRead(ctx, func(ctx context.Context) (err error) {
			ctx, cancel := context.WithTimeout(ctx, scaleCallTimeout)
			defer cancel()
			resp, err = c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(servicesCluster), Services: chunk})
			return err
		})
		switch {
		case err != nil:
			return err
		case len(resp.Failures) > 0:
			return fmt.Errorf("service %s: %s", aws.ToString(resp.Failures[0].Arn), aws.ToString(resp.Failures[0].Reason))
		}
		mu.Lock()
		defer mu.Unlock()
		for i := range resp.Services {
			seen(&resp.Services[i])
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("describe services: %w", err)
	}
	return nil
}

// describeService is one line on a service: enough to tell why it is not
// steady.
func describeService(svc *types.Service) string {
	s := fmt.Sprintf("%s %s desired %d running %d pending %d;", aws.ToString(svc.ServiceName), aws.ToString(svc.Status),
		svc.DesiredCount, svc.RunningCount, svc.PendingCount)
	for _, d := range svc.Deployments {
		s += fmt.Sprintf(" deployment %s %s %s desired %d running %d pending %d failed %d;", aws.ToString(d.Id), aws.ToString(d.Status),
			d.RolloutState, d.DesiredCount, d.RunningCount, d.PendingCount, d.FailedTasks)
	}
	if len(svc.Events) > 0 {
		s += fmt.Sprintf(" last event %q", aws.ToString(svc.Events[0].Message))
	}
	return s
}

// drive is one phase's calls (CreateService or UpdateService, one per
// service, from every client) and its wait until every service that
// answered is as wanted.
type drive struct {
	r     *servicesRun
	verb  string // "created", "updated"
	call  func(context.Context, *ecs.Client, string) (string, error)
	ready func(svc *types.Service, deployment string) bool
	names []string

	next  atomic.Int64
	calls chan struct{} // closed when every call returned

	mu        sync.Mutex
	answered  map[string]string // service → deployment, once its call returned
	done      map[string]string // the answered ones seen ready
	lastReady time.Duration     // when the last of done got ready, from the start
	errors    int
	firstErr  error
}

func (r *servicesRun) drive(ctx context.Context, verb string, call func(context.Context, *ecs.Client, string) (string, error),
	ready func(*types.Service, string) bool) *drive {
	return &drive{r: r, verb: verb, call: call, ready: ready, names: r.names,
		calls: make(chan struct{}), answered: map[string]string{}, done: map[string]string{}}
}

// only limits the drive to the services in names.
func (d *drive) only(names map[string]string) {
	d.names = slices.DeleteFunc(slices.Clone(d.names), func(n string) bool { _, ok := names[n]; return !ok })
}

// wait makes the calls and returns once every service that answered is
// ready, or when nothing moved for the stall timeout: then the services
// not ready are the answered ones not done.
func (d *drive) wait(ctx context.Context) error {
	callCtx, stopCalling := context.WithCancel(ctx)
	defer stopCalling()
	go pprof.Do(callCtx, pprof.Labels("role", "clients"), func(ctx context.Context) { d.makeCalls(ctx) })
	var err error
	pprof.Do(ctx, pprof.Labels("role", "clients"), func(ctx context.Context) { err = d.watch(ctx) })
	if err != nil {
		stopCalling()
	}
	<-d.calls
	if d.firstErr != nil {
		fmt.Fprintf(d.r.opts.Out, "  first error: %v\n", d.firstErr)
	}
	return err
}

func (d *drive) makeCalls(ctx context.Context) {
	defer close(d.calls)
	var wg sync.WaitGroup
	for _, c := range d.r.clients {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(d.next.Add(1) - 1)
				if i >= len(d.names) {
					return
				}
				callCtx, cancel := context.WithTimeout(ctx, scaleCallTimeout)
				dep, err := d.call(callCtx, c, d.names[i])
				cancel()
				d.mu.Lock()
				if err != nil {
					d.errors++
					d.firstErr = cmp.Or(d.firstErr, err)
				} else {
					d.answered[d.names[i]] = dep
				}
				d.mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// watch polls the services that answered and are not ready yet until all
// are, printing progress.
func (d *drive) watch(ctx context.Context) error {
	start, printed := time.Now(), time.Now()
	var last struct{ done, running int }
	since := start
	for {
		t0 := time.Now()
		called := isClosed(d.calls)
		d.mu.Lock()
		var waiting []string
		for name := range d.answered {
			if _, ok := d.done[name]; !ok {
				waiting = append(waiting, name)
			}
		}
		d.mu.Unlock()
		slices.Sort(waiting)
		var example *types.Service
		err := d.r.describeServices(ctx, waiting, func(svc *types.Service) {
			name := aws.ToString(svc.ServiceName)
			d.mu.Lock()
			defer d.mu.Unlock()
			if dep := d.answered[name]; d.ready(svc, dep) {
				d.done[name] = dep
			} else if example == nil {
				example = svc
			}
		})
		var running, pending int
		if err == nil {
			err = retryRead(ctx, func(ctx context.Context) (err error) {
				running, pending, err = clusterTasks(ctx, d.r.admin, servicesCluster)
				return err
			})
		}
		now := time.Now()
		if err != nil {
			return err
		}
		d.mu.Lock()
		answered, done := len(d.answered), len(d.done)
		d.mu.Unlock()
		finished := called && done == answered
		if finished || now.Sub(printed) >= progressEvery {
			fmt.Fprintf(d.r.opts.Out, "  +%5.1fs  %s %d/%d  ready %d/%d  tasks pending %d running %d\n",
				now.Sub(start).Seconds(), d.verb, answered, len(d.names), done, len(d.names), pending, running)
			printed = now
		}
		switch {
		case finished:
			d.lastReady = now.Sub(start)
			return nil
		case d.r.fleet.failure() != nil:
			return d.r.fleet.failure()
		case done != last.done || running != last.running || !called:
			if done != last.done {
				d.lastReady = now.Sub(start)
			}
			last.done, last.running, since = done, running, now
		case now.Sub(since) > d.r.opts.Stall:
			fmt.Fprintf(d.r.opts.Out, "  no progress for %s: giving up on %d of %d services, %d tasks pending, %d running\n",
				d.r.opts.Stall, answered-done, answered, pending, running)
			if example != nil {
				fmt.Fprintf(d.r.opts.Out, "  e.g. %s\n", describeService(example))
			}
			return nil
		}
		// A round describes up to every service: wait as long as it took
		// (at least 250 ms, at most 2 s), so that watching stays cheap.
		select {
		case <-time.After(min(max(250*time.Millisecond, now.Sub(t0)), 2*time.Second)):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// verify lists every task of the cluster and checks that each service
// has exactly TasksPerService RUNNING tasks of its PRIMARY deployment and
// no other task that is not STOPPED.
func (r *servicesRun) verify(ctx context.Context, primary map[string]string) error {
	start := time.Now()
	var arns []string
	for _, desired := range []types.DesiredStatus{types.DesiredStatusRunning, types.DesiredStatusStopped} {
		pages := ecs.NewListTasksPaginator(r.admin, &ecs.ListTasksInput{
			Cluster: aws.String(servicesCluster), DesiredStatus: desired, MaxResults: aws.Int32(100),
		})
		for pages.HasMorePages() {
			var page *ecs.ListTasksOutput
			err := retryRead(ctx, func(ctx context.Context) (err error) {
				page, err = pages.NextPage(ctx)
				return err
			})
			if err != nil {
				return fmt.Errorf("verify: list tasks: %w", err)
			}
			arns = append(arns, page.TaskArns...)
		}
	}
	good := map[string]int{} // service → RUNNING tasks of its PRIMARY deployment
	bad := map[string]bool{}
	others := map[string]int{} // what the others are
	var example *types.Task
	err := describeAll(ctx, r.clients, servicesCluster, arns, func(t *types.Task) {
		name, ok := strings.CutPrefix(aws.ToString(t.Group), "service:")
		last := aws.ToString(t.LastStatus)
		switch {
		case last == "STOPPED":
		case ok && last == "RUNNING" && aws.ToString(t.DesiredStatus) == "RUNNING" && aws.ToString(t.StartedBy) == primary[name]:
			good[name]++
		default:
			r.res.Others++
			bad[name] = true
			others[last+"/"+aws.ToString(t.DesiredStatus)]++
			if example == nil {
				example = t
			}
		}
	}, func(n int) { others["MISSING"] += n })
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	for _, name := range r.names {
		r.res.Running += good[name]
		if good[name] != r.opts.TasksPerService || bad[name] {
			r.res.BadServices++
		}
	}
	fmt.Fprintf(r.opts.Out, "verified: %d tasks: %d services with %d RUNNING tasks of their PRIMARY deployment and no others, %d services not (%.1fs)",
		len(arns), len(r.names)-r.res.BadServices, r.opts.TasksPerService, r.res.BadServices, time.Since(start).Seconds())
	if s := formatCounts(others); s != "" {
		fmt.Fprintf(r.opts.Out, "; tasks not STOPPED and not so: %s", s)
	}
	fmt.Fprintln(r.opts.Out)
	if example != nil {
		fmt.Fprintf(r.opts.Out, "  e.g. %s\n", describeTask(example))
	}
	return nil
}

// print writes the summary for people, then the key=value line.
func (r *ServicesResult) print(out io.Writer, profiled bool) {
	cores := float64(goruntime.NumCPU())
	line := func(name string, p Phase, what string) {
		fmt.Fprintf(out, "%-9s %7.2fs  %7.1f CPU seconds (%3.0f%% of %d cores)  %s\n", name+":", p.Elapsed.Seconds(), p.CPU.Seconds(),
			100*p.CPU.Seconds()/max(p.Elapsed.Seconds(), 1e-9)/cores, goruntime.NumCPU(), what)
	}
	line("register", r.Register, fmt.Sprintf("%d instances and the task definition", r.Instances))
	line("create", r.Create, fmt.Sprintf("%d services steady after %.2fs, %d never, %.1f tasks/s, %d CreateService errors",
		r.Services-r.CreateErrors-r.Create.NotReady, r.Create.LastReady.Seconds(), r.Create.NotReady, r.tasksPerSecond(r.Create), r.CreateErrors))
	line("steady", r.Steady, fmt.Sprintf("idle; %d services unsteady after it", r.Unsteady))
	line("rollout", r.Rollout, fmt.Sprintf("services on a new deployment after %.2fs, %d never, %.1f tasks/s, %d UpdateService errors",
		r.Rollout.LastReady.Seconds(), r.Rollout.NotReady, r.tasksPerSecond(r.Rollout), r.UpdateErrors))
	fmt.Fprintf(out, "memory:   peak RSS %.1f MB (the whole process: server, %d agents, clients); etcd db %.1f MB\n", mb(r.PeakRSS), r.Instances, mb(uint64(r.EtcdBytes)))
	if profiled {
		fmt.Fprintln(out, "profiles: the service controller's CPU seconds in a phase are the first number of the \"Showing nodes accounting for\" line of")
		for _, p := range []Phase{r.Create, r.Steady, r.Rollout} {
			fmt.Fprintf(out, "  go tool pprof -top -nodefraction=0 -tagfocus component=services %s\n", p.Profile)
		}
	}
	fmt.Fprintln(out, r.keyValues())
}

func (r *ServicesResult) tasksPerSecond(p Phase) float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(r.Tasks()) / p.Elapsed.Seconds()
}

// keyValues is the machine-readable summary line.
func (r *ServicesResult) keyValues() string {
	return fmt.Sprintf("services=%d tasks=%d instances=%d register_seconds=%.2f register_cpu_seconds=%.1f "+
		"create_seconds=%.2f create_cpu_seconds=%.1f create_tasks_per_sec=%.1f create_last_ready_seconds=%.2f not_steady=%d "+
		"steady_seconds=%.1f steady_cpu_seconds=%.1f "+
		"rollout_seconds=%.2f rollout_cpu_seconds=%.1f rollout_tasks_per_sec=%.1f rollout_last_ready_seconds=%.2f not_rolled=%d "+
		"create_errors=%d update_errors=%d unsteady=%d running=%d others=%d bad_services=%d rss_mb=%.1f etcd_mb=%.1f",
		r.Services, r.Tasks(), r.Instances, r.Register.Elapsed.Seconds(), r.Register.CPU.Seconds(),
		r.Create.Elapsed.Seconds(), r.Create.CPU.Seconds(), r.tasksPerSecond(r.Create), r.Create.LastReady.Seconds(), r.Create.NotReady,
		r.Steady.Elapsed.Seconds(), r.Steady.CPU.Seconds(),
		r.Rollout.Elapsed.Seconds(), r.Rollout.CPU.Seconds(), r.tasksPerSecond(r.Rollout), r.Rollout.LastReady.Seconds(), r.Rollout.NotReady,
		r.CreateErrors, r.UpdateErrors,
		r.Unsteady, r.Running, r.Others, r.BadServices, mb(r.PeakRSS), mb(uint64(r.EtcdBytes)))
}
