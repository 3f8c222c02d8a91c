package api_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// benchGoroutines is how many callers a benchmark runs at once, whatever
// the number of cores.
const benchGoroutines = 32

// benchClient starts a server; its client keeps an idle connection for
// every caller, so the benchmark measures requests, not TCP handshakes.
func benchClient(b *testing.B) *ecs.Client {
	_, c := startECS(b)
	return c
}

// latencies collects per-call durations from many goroutines.
type latencies struct {
	mu  sync.Mutex
	all []time.Duration
}

func (l *latencies) add(d []time.Duration) {
	l.mu.Lock()
	l.all = append(l.all, d...)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B) {
	if len(l.all) == 0 {
		return
	}
	slices.Sort(l.all)
	q := func(p float64) float64 {
		return float64(l.all[int(p*float64(len(l.all)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}

// runParallel calls call from benchGoroutines goroutines, each with its own
// index, and reports latency percentiles beside ns/op.
func runParallel(b *testing.B, call func(ctx context.Context, worker int) error) {
	var (
		lat  latencies
		next atomic.Int64
		ctx  = context.Background()
	)
	procs := runtime.GOMAXPROCS(0)
	b.SetParallelism((benchGoroutines + procs - 1) / procs)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		worker := int(next.Add(1))
		var mine []time.Duration
		for pb.Next() {
			start := time.Now()
			err := call(ctx, worker)
			mine = append(mine, time.Since(start))
			if err != nil {
				b.Error(err)
				break
			}
		}
		lat.add(mine)
	})
	b.StopTimer()
	lat.report(b)
}

func BenchmarkRegisterTaskDefinition(b *testing.B) {
	c := benchClient(b)
	// Each caller registers into its own family, as independent
	// deployments do; families share nothing but the store.
	runParallel(b, func(ctx context.Context, worker int) error {
		_, err := c.RegisterTaskDefinition(ctx, simpleTaskDef(fmt.Sprintf("bench-%d", worker)))
		return err
	})
}

func BenchmarkDescribeTaskDefinition(b *testing.B) {
	c := benchClient(b)
	in := fullFargateDefinition()
	in.Family = aws.String("bench")
	if _, err := c.RegisterTaskDefinition(context.Background(), in); err != nil {
		b.Fatal(err)
	}
	runParallel(b, func(ctx context.Context, worker int) error {
		_, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("bench")})
		return err
	})
}
