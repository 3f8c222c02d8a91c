package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	goruntime "runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// The scale run's task: small enough that a simulated host takes many
// (simCPUs*1024/scaleTaskCPU of them), and running until stopped.
const (
	scaleTaskCPU    = 16 // CPU units
	scaleTaskMemory = 32 // MiB
	scaleCluster    = "bench-scale"
	scaleFamily     = "bench-scale"
	runTaskMax      = 10 // ECS's limit on RunTask's count
)

// progressEvery is how often a running phase prints a progress line.
const progressEvery = 2 * time.Second

// scaleCallTimeout bounds one RunTask and one poll. It is long: on a
// loaded machine a call may wait behind every other one in flight.
const scaleCallTimeout = 2 * time.Minute

// ScaleOptions configure the scale run.
type ScaleOptions struct {
	Instances   int // simulated container instances; required
	Tasks       int // tasks to run; required
	Concurrency int // concurrent RunTask clients; defaults to 32
	Zones       int // availability zones the instances spread over; defaults to 3
	// Strategy is RunTask's placementStrategy as TYPE[:FIELD] items joined
	// by commas, e.g. "binpack:memory" or
	// "spread:attribute:ecs.availability-zone,binpack:cpu". Empty: none.
	Strategy string
	Region   string // defaults to us-east-1
	// Stall ends the run with an error when registration or the way to
	// RUNNING makes no progress for this long; defaults to 2 minutes.
	Stall time.Duration
	// CPUProfile, when set, receives a CPU profile of the measured window,
	// first RunTask to last RUNNING. Samples carry a role label: server,
	// agents or clients.
	CPUProfile io.Writer
	Out        io.Writer    // the report; defaults to discarding it
	Logger     *slog.Logger // the server's and agents' log; defaults to discarding it
}

func (o *ScaleOptions) setDefaults() error {
	if err := fleetDefaults(&o.Concurrency, &o.Zones, &o.Stall, &o.Region, &o.Out, &o.Logger); err != nil {
		return err
	}
	if o.Instances < 1 || o.Tasks < 1 {
		return errors.New("instances and tasks must be at least 1")
	}
	perHost := tasksPerHost()
	if o.Tasks > o.Instances*perHost {
		return fmt.Errorf("%d tasks of %d CPU units and %d MiB cannot fit on %d instances of %d vCPU and %d MiB "+
			"(%d tasks each, %d in all); use at least %d instances",
			o.Tasks, scaleTaskCPU, scaleTaskMemory, o.Instances, simCPUs, simMemoryMiB,
			perHost, o.Instances*perHost, (o.Tasks+perHost-1)/perHost)
	}
	return nil
}

// ScaleResult is what the scale run measured.
type ScaleResult struct {
	Instances, Tasks int
	Placed           int            // tasks RunTask placed
	Failures         int            // tasks asked for but not placed (failures entries or failed calls)
	Reasons          map[string]int // failures entries by reason, "error" for failed calls
	Running          int            // placed tasks DescribeTasks showed RUNNING at the end
	NotRunning       int            // placed tasks it showed otherwise (stopped, or missing)
	Registration     time.Duration  // agents started to all registered and connected
	Elapsed          time.Duration  // first RunTask to last RUNNING
	CPU              time.Duration  // process CPU time over Elapsed: steadier than Elapsed on a shared machine
	RunTask          Summary        // latencies of the RunTask calls
	PeakRSS          uint64         // VmHWM: the whole process, agents and clients included
	HeapInuse        uint64         // after the run, after a GC
	HeapPerTask      float64        // live heap added per placed task, bytes
	EtcdBytes        int64          // etcd's backend file

	placed []string // the placed tasks' ARNs, for verify
}

// TasksPerSecond is tasks that reached RUNNING over Elapsed.
func (r *ScaleResult) TasksPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Running) / r.Elapsed.Seconds()
}

// RunScale starts an in-process server and Instances simulated agents,
// runs Tasks tasks through RunTask from Concurrency signed clients, and
// waits until the agents report every placed task RUNNING. It writes
// progress and a report to Out whose last line is machine-readable
// key=value pairs, and removes everything it made.
func RunScale(ctx context.Context, opts ScaleOptions) (*ScaleResult, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	strategy, err := parseStrategy(opts.Strategy)
	if err != nil {
		return nil, err
	}
	env, err := startFleetServer(ctx, opts.Instances, opts.Concurrency, opts.Region, opts.Logger)
	if err != nil {
		return nil, err
	}
	defer env.close()
	admin := env.target.clients(1, opts.Region)[0]
	if err := setUpCluster(ctx, admin, scaleCluster, scaleFamily, nil); err != nil {
		return nil, err
	}
	fmt.Fprintf(opts.Out, "gantry bench scale: %d instances (sim, %d vCPU, %d MiB) in %d zones, %d tasks (%d CPU, %d MiB), %d clients, strategy %s, %s\n",
		opts.Instances, simCPUs, simMemoryMiB, opts.Zones, opts.Tasks, scaleTaskCPU, scaleTaskMemory,
		opts.Concurrency, cmp.Or(opts.Strategy, "none"), env.target.describe())
	res := &ScaleResult{Instances: opts.Instances, Tasks: opts.Tasks}
	f, err := newFleet(env, scaleCluster, opts.Instances, opts.Zones, opts.Region)
	if err != nil {
		return nil, err
	}
	defer f.close(opts.Out)
	if res.Registration, err = register(ctx, opts.Out, f, admin, scaleCluster, opts.Stall); err != nil {
		return nil, err
	}
	if err := runTasks(ctx, opts, env, f, strategy, res); err != nil {
		// Say where the placed tasks are before giving up.
		if ctx.Err() == nil && len(res.placed) > 0 {
			_ = verify(ctx, env.target.clients(opts.Concurrency, opts.Region), opts.Out, res)
		}
		return nil, err
	}
	res.EtcdBytes = env.etcdBytes()
	if err := verify(ctx, env.target.clients(opts.Concurrency, opts.Region), opts.Out, res); err != nil {
		return nil, err
	}
	res.print(opts.Out)
	if res.NotRunning > 0 {
		return res, fmt.Errorf("%d of %d placed tasks are not RUNNING", res.NotRunning, res.Placed)
	}
	return res, nil
}

// fleetDefaults fills in the settings the scale and services runs share
// where they are unset, and checks them.
func fleetDefaults(concurrency, zones *int, stall *time.Duration, region *string, out *io.Writer, log **slog.Logger) error {
	*concurrency = cmp.Or(*concurrency, 32)
	*zones = cmp.Or(*zones, 3)
	*stall = cmp.Or(*stall, 2*time.Minute)
	*region = cmp.Or(*region, "us-east-1")
	outputDefaults(out, log)
	if *concurrency < 1 || *zones < 1 || *stall < 0 {
		return errors.New("concurrency, zones and stall must be positive")
	}
	return nil
}

// tasksPerHost is how many of the scale and services runs' tasks a
// simulated host holds.
func tasksPerHost() int { return min(simCPUs*1024/scaleTaskCPU, simMemoryMiB/scaleTaskMemory) }

// startFleetServer starts the in-process server a fleet of instances
// agents and clients signed clients will talk to, first making room for
// their connections. Goroutines inherit profiler labels: everything the
// server starts (HTTP connections, etcd, the store's watches, its
// controllers) shows as role=server.
func startFleetServer(ctx context.Context, instances, clients int, region string, log *slog.Logger) (env *localServer, err error) {
	// Two descriptors per connection (both ends are here): a long poll
	// per agent, the clients, and some for etcd and the rest.
	if err := raiseFileLimit(uint64(2*(instances+clients+registerConcurrency) + 512)); err != nil {
		return nil, err
	}
	pprof.Do(ctx, pprof.Labels("role", "server"), func(ctx context.Context) {
		env, err = startLocalServer(ctx, region, log)
	})
	return env, err
}

// setUpCluster creates the cluster and the task definition: a container
// that runs until stopped ("sleep infinity" is no sim script that ends),
// with the health check hc when it is not nil.
func setUpCluster(ctx context.Context, c *ecs.Client, cluster, family string, hc *types.HealthCheck) error {
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(cluster)}); err != nil {
		return fmt.Errorf("create cluster: %w", err)
	}
	_, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name:        aws.String("app"),
			Image:       aws.String("bench/app:1"),
			Essential:   aws.Bool(true),
			Cpu:         scaleTaskCPU,
			Memory:      aws.Int32(scaleTaskMemory),
			Command:     []string{"sleep", "infinity"},
			HealthCheck: hc,
		}},
	})
	if err != nil {
		return fmt.Errorf("register task definition: %w", err)
	}
	return nil
}

// register starts the fleet and waits until every agent registered and
// is connected.
func register(ctx context.Context, out io.Writer, f *fleet, admin *ecs.Client, cluster string, stall time.Duration) (time.Duration, error) {
	start := time.Now()
	err := f.start(ctx, stall, func(n int) {
		fmt.Fprintf(out, "  +%5.1fs  registered %d/%d\n", time.Since(start).Seconds(), n, len(f.agents))
	})
	if err != nil {
		return 0, fmt.Errorf("register agents: %w", err)
	}
	if err := f.waitConnected(ctx, admin, cluster, stall); err != nil {
		return 0, err
	}
	d := time.Since(start)
	fmt.Fprintf(out, "registration: %d instances registered and connected in %.1fs\n", len(f.agents), d.Seconds())
	return d, nil
}

// runTasks submits the tasks and watches them reach RUNNING, profiling
// that window when asked, and measures memory around it.
func runTasks(ctx context.Context, opts ScaleOptions, env *localServer, f *fleet, strategy []types.PlacementStrategy, res *ScaleResult) error {
	before := liveHeap()
	s := newSubmission(opts.Tasks, strategy)
	clients := env.target.clients(opts.Concurrency, opts.Region)
	watcher := env.target.clients(1, opts.Region)[0]
	if opts.CPUProfile != nil {
		if err := pprof.StartCPUProfile(opts.CPUProfile); err != nil {
			return fmt.Errorf("start CPU profile: %w", err)
		}
	}
	cpu0 := cpuTime()
	start := time.Now()
	submitCtx, stopSubmitting := context.WithCancel(ctx)
	defer stopSubmitting()
	done := make(chan struct{})
	go pprof.Do(submitCtx, pprof.Labels("role", "clients"), func(ctx context.Context) {
		defer close(done)
		s.run(ctx, clients)
	})
	end, err := s.watch(ctx, watcher, f, done, start, opts)
	if opts.CPUProfile != nil {
		pprof.StopCPUProfile()
	}
	if err != nil {
		stopSubmitting()
	}
	<-done
	res.Elapsed, res.CPU = end.Sub(start), cpuTime()-cpu0
	s.record(res)
	s.printFirstError(opts.Out)
	if err != nil {
		return err
	}
	if res.PeakRSS, err = readPeakRSS(); err != nil {
		return err
	}
	after := liveHeap()
	res.HeapInuse = after.HeapInuse
	if res.Placed > 0 {
		res.HeapPerTask = (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / float64(res.Placed)
	}
	return nil
}

// cpuTime is the CPU time this process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// liveHeap collects garbage and reads the heap, so that HeapAlloc is what
// is live.
func liveHeap() goruntime.MemStats {
	goruntime.GC()
	var m goruntime.MemStats
	goruntime.ReadMemStats(&m)
	return m
}

// parseStrategy reads "TYPE[:FIELD],…" into RunTask's placementStrategy;
// FIELD may hold colons ("attribute:ecs.availability-zone").
func parseStrategy(s string) ([]types.PlacementStrategy, error) {
	if s == "" || s == "none" {
		return nil, nil
	}
	var out []types.PlacementStrategy
	for item := range strings.SplitSeq(s, ",") {
		typ, field, _ := strings.Cut(strings.TrimSpace(item), ":")
		st := types.PlacementStrategy{Type: types.PlacementStrategyType(typ)}
		if !slices.Contains(st.Type.Values(), st.Type) {
			return nil, fmt.Errorf("strategy %q: the type must be one of %v", item, st.Type.Values())
		}
		if field != "" {
			st.Field = aws.String(field)
		}
		out = append(out, st)
	}
	return out, nil
}

// submission is the RunTask load: Tasks tasks in calls of up to ten,
// taken by whichever client is free.
type submission struct {
	tasks    int
	calls    int
	strategy []types.PlacementStrategy
	next     atomic.Int64 // the next call to make
	placed   atomic.Int64
	elapsed  time.Duration // first call to last answer

	mu        sync.Mutex
	arns      []string
	latencies []time.Duration
	errors    int
	unplaced  int
	reasons   map[string]int
	firstErr  error
}

func newSubmission(tasks int, strategy []types.PlacementStrategy) *submission {
	return &submission{tasks: tasks, calls: (tasks + runTaskMax - 1) / runTaskMax, strategy: strategy,
		arns: make([]string, 0, tasks), reasons: map[string]int{}}
}

// run makes every call from len(clients) workers.
func (s *submission) run(ctx context.Context, clients []*ecs.Client) {
	start := time.Now()
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(s.next.Add(1) - 1)
				if i >= s.calls {
					return
				}
				s.call(ctx, c, min(runTaskMax, s.tasks-i*runTaskMax))
			}
		})
	}
	wg.Wait()
	s.elapsed = time.Since(start)
}

func (s *submission) call(ctx context.Context, c *ecs.Client, count int) {
	ctx, cancel := context.WithTimeout(ctx, scaleCallTimeout)
	defer cancel()
	t0 := time.Now()
	out, err := c.RunTask(ctx, &ecs.RunTaskInput{
		Cluster:           aws.String(scaleCluster),
		TaskDefinition:    aws.String(scaleFamily),
		Count:             aws.Int32(int32(count)),
		PlacementStrategy: s.strategy,
	})
	d := time.Since(t0)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.errors++
		s.unplaced += count
		s.reasons["error"] += count
		if s.firstErr == nil {
			s.firstErr = err
		}
		return
	}
	s.latencies = append(s.latencies, d)
	for _, t := range out.Tasks {
		s.arns = append(s.arns, aws.ToString(t.TaskArn))
	}
	s.placed.Add(int64(len(out.Tasks)))
	s.unplaced += count - len(out.Tasks)
	for _, f := range out.Failures {
		s.reasons[aws.ToString(f.Reason)]++
	}
}

// record puts what submission did into res; call it once run returned.
func (s *submission) record(res *ScaleResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	res.Placed, res.Failures, res.Reasons, res.placed = len(s.arns), s.unplaced, s.reasons, s.arns
	res.RunTask = Summarize(s.latencies, s.errors, s.elapsed)
}

func (s *submission) printFirstError(out io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.firstErr != nil {
		fmt.Fprintf(out, "  first RunTask error: %v\n", s.firstErr)
	}
}

// watch polls the cluster's task counts until every placed task is
// RUNNING once submission is done, and returns when it saw that. Polling
// DescribeClusters is one small call over the server's cache; the
// interval grows with the call's latency (up to a second) so that
// watching stays cheap.
func (s *submission) watch(ctx context.Context, c *ecs.Client, f *fleet, done <-chan struct{}, start time.Time, opts ScaleOptions) (time.Time, error) {
	var last struct{ placed, running int }
	since, printed := time.Now(), time.Now()
	var short time.Time // when the tasks came up short of placed without pending ones
	for {
		t0 := time.Now()
		var running, pending int
		err := retryRead(ctx, func(ctx context.Context) (err error) {
			running, pending, err = clusterTasks(ctx, c, scaleCluster)
			return err
		})
		now := time.Now()
		if err != nil {
			return now, fmt.Errorf("describe cluster: %w", err)
		}
		submitted := isClosed(done)
		placed := int(s.placed.Load())
		finished := submitted && running >= placed
		if finished || now.Sub(printed) >= progressEvery {
			fmt.Fprintf(opts.Out, "  +%5.1fs  placed %d/%d  pending %d  running %d\n", now.Sub(start).Seconds(), placed, s.tasks, pending, running)
			printed = now
		}
		if finished {
			return now, nil
		}
		switch {
		case f.failure() != nil:
			return now, f.failure()
		case placed != last.placed || running != last.running:
			last.placed, last.running, since = placed, running, now
		case now.Sub(since) > opts.Stall:
			return now, fmt.Errorf("no progress for %s: %d tasks placed, %d pending, %d running", opts.Stall, placed, pending, running)
		}
		// Tasks neither pending nor running have stopped and never will
		// run: once that lasts (the watch-fed cache may lag behind RunTask),
		// the rest are as RUNNING as they will get. verify reports them.
		if submitted && pending == 0 && running < placed {
			if short.IsZero() {
				short = now
			} else if now.Sub(short) > 5*time.Second {
				fmt.Fprintf(opts.Out, "  %d of %d placed tasks are neither PENDING nor RUNNING: they stopped\n", placed-running, placed)
				return short, nil
			}
		} else {
			short = time.Time{}
		}
		select {
		case <-time.After(min(max(20*time.Millisecond, 10*now.Sub(t0)), time.Second)):
		case <-ctx.Done():
			return time.Now(), ctx.Err()
		}
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func clusterTasks(ctx context.Context, c *ecs.Client, cluster string) (running, pending int, err error) {
	ctx, cancel := context.WithTimeout(ctx, scaleCallTimeout)
	defer cancel()
	out, err := c.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{cluster}})
	if err != nil {
		return 0, 0, err
	}
	if len(out.Clusters) != 1 {
		return 0, 0, fmt.Errorf("cluster %s not found", cluster)
	}
	return int(out.Clusters[0].RunningTasksCount), int(out.Clusters[0].PendingTasksCount), nil
}
