package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/gantry-dev/gantry/internal/agent"
	"github.com/gantry-dev/gantry/internal/runtime"
	"github.com/gantry-dev/gantry/internal/runtime/sim"
)

// Every simulated host is this big; the capacity check and the task size
// of a scale run are computed from it.
const (
	simCPUs      = 2
	simMemoryMiB = 4096
)

// registerConcurrency bounds the registrations in flight, so that
// thousands of agents starting at once queue here rather than time out
// against the server and retry with back-off.
const registerConcurrency = 64

// raiseFileLimit lifts the soft RLIMIT_NOFILE to the hard limit and
// checks that it holds need descriptors.
func raiseFileLimit(need uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("read the open-file limit: %w", err)
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return fmt.Errorf("raise the open-file limit to %d: %w", lim.Max, err)
		}
	}
	if lim.Cur < need {
		return fmt.Errorf("the open-file limit is %d but this run needs about %d descriptors "+
			"(two per agent connection, client and server end); raise the hard limit (ulimit -Hn) or use fewer --instances", lim.Cur, need)
	}
	return nil
}

// fleet is the run's simulated hosts: one agent on its own sim runtime
// each, all in this process, sharing one HTTP connection pool.
type fleet struct {
	agents []*agent.Agent
	http   *http.Client
	stop   context.CancelFunc
	wg     sync.WaitGroup
	failed atomic.Pointer[error] // the first agent that stopped by itself
	log    *slog.Logger
}

// newFleet makes n agents whose instances spread over zones
// availability zones.
func newFleet(e *localServer, cluster string, n, zones int, region string) (*fleet, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// Each agent keeps a long poll open and reports on a second request:
	// keep enough idle connections that none is closed and redialled.
	tr.MaxIdleConns = 0
	tr.MaxIdleConnsPerHost = 2*n + registerConcurrency
	f := &fleet{http: &http.Client{Transport: tr, Timeout: 2 * time.Minute}, log: e.log.With("component", "agent")}
	creds := credentials.NewStaticCredentialsProvider(e.target.accessKey, e.target.secretKey, "")
	for i := range n {
		a, err := agent.New(agent.Options{
			Endpoint:         e.target.endpoint,
			Cluster:          cluster,
			Runtime:          sim.New(sim.Options{Host: runtime.HostInfo{CPUs: simCPUs, MemoryBytes: simMemoryMiB << 20}}),
			DataDir:          filepath.Join(e.dir, "agents", strconv.Itoa(i)),
			Credentials:      creds,
			Region:           region,
			AvailabilityZone: zoneName(i%zones, zones),
			InstanceType:     "gantry.sim",
			HTTPClient:       f.http,
			Logger:           f.log,
		})
		if err != nil {
			return nil, err
		}
		f.agents = append(f.agents, a)
	}
	return f, nil
}

// zoneName is "zone-a", "zone-b", … or "zone-1", … past 26 zones.
func zoneName(i, zones int) string {
	if zones <= 26 {
		return "zone-" + string(rune('a'+i))
	}
	return fmt.Sprintf("zone-%d", i+1)
}

// start runs every agent and returns once all registered, at most
// registerConcurrency registering at a time. It gives up when no agent
// registered for stall, or an agent stops by itself.
func (f *fleet) start(ctx context.Context, stall time.Duration, progress func(registered int)) error {
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	f.stop = stop
	regCtx, regDone := context.WithCancelCause(ctx)
	defer regDone(nil)
	var registered atomic.Int64
	var waiters sync.WaitGroup
	sem := make(chan struct{}, registerConcurrency)
	launched := make(chan struct{})
	go pprof.Do(runCtx, pprof.Labels("role", "agents"), func(runCtx context.Context) {
		defer close(launched)
		for i, a := range f.agents {
			select {
			case sem <- struct{}{}:
			case <-regCtx.Done():
				return
			}
			f.wg.Go(func() {
				if err := a.Run(runCtx); err != nil && runCtx.Err() == nil {
					err = fmt.Errorf("agent %d stopped: %w", i, err)
					f.failed.CompareAndSwap(nil, &err)
					regDone(err)
				}
			})
			waiters.Go(func() {
				defer func() { <-sem }()
				if _, err := a.InstanceARN(regCtx); err == nil {
					registered.Add(1)
				}
			})
		}
	})
	done := make(chan struct{})
	go func() { <-launched; waiters.Wait(); close(done) }()
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	last, since := int64(-1), time.Now()
	for {
		select {
		case <-done:
			if regCtx.Err() != nil {
				return context.Cause(regCtx)
			}
			return nil
		case <-regCtx.Done():
			return context.Cause(regCtx)
		case <-tick.C:
		}
		n := registered.Load()
		progress(int(n))
		if n != last {
			last, since = n, time.Now()
		} else if time.Since(since) > stall {
			return fmt.Errorf("no agent registered for %s: %d of %d registered", stall, n, len(f.agents))
		}
	}
}

// failure is the first agent that stopped by itself, if any.
func (f *fleet) failure() error {
	if p := f.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// waitConnected waits until every instance of the cluster is registered
// and its agent connected, as DescribeContainerInstances reports them.
func (f *fleet) waitConnected(ctx context.Context, c *ecs.Client, cluster string, stall time.Duration) error {
	last, since := -1, time.Now()
	for {
		var registered, connected int
		err := retryRead(ctx, func(ctx context.Context) (err error) {
			registered, connected, err = countConnected(ctx, c, cluster)
			return err
		})
		switch {
		case err != nil:
			return fmt.Errorf("describe container instances: %w", err)
		case connected == len(f.agents):
			return nil
		case f.failure() != nil:
			return f.failure()
		case connected != last:
			last, since = connected, time.Now()
		case time.Since(since) > stall:
			return fmt.Errorf("only %d of %d instances have a connected agent (%d registered) after %s without progress",
				connected, len(f.agents), registered, stall)
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// retryRead retries a read-only call a few times. The SDK clients here
// never retry, and with thousands of agents in the process, the HTTP
// transport now and then closes a connection under a response it is
// reading ("use of closed network connection" with status 200, as in
// aws-sdk-go-v2#1825): a poll should not end the run for that. RunTask is
// never retried: it is not idempotent, and its errors are counted.
func retryRead(ctx context.Context, call func(context.Context) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		if err = call(ctx); err == nil || attempt == 3 {
			return err
		}
		select {
		case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
		case <-ctx.Done():
			return err
		}
	}
}

func countConnected(ctx context.Context, c *ecs.Client, cluster string) (registered, connected int, err error) {
	pages := ecs.NewListContainerInstancesPaginator(c, &ecs.ListContainerInstancesInput{
		Cluster: aws.String(cluster), MaxResults: aws.Int32(100),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return 0, 0, err
		}
		if len(page.ContainerInstanceArns) == 0 {
			continue
		}
		out, err := c.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{
			Cluster: aws.String(cluster), ContainerInstances: page.ContainerInstanceArns,
		})
		if err != nil {
			return 0, 0, err
		}
		registered += len(out.ContainerInstances)
		for _, ci := range out.ContainerInstances {
			if ci.AgentConnected {
				connected++
			}
		}
	}
	return registered, connected, nil
}

// close stops every agent (their simulated containers go with the
// process) and drops the pooled connections.
func (f *fleet) close(out io.Writer) {
	if f.stop == nil {
		return
	}
	f.stop()
	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		fmt.Fprintln(out, "warning: some agents did not stop within 30s")
	}
	f.http.CloseIdleConnections()
}
