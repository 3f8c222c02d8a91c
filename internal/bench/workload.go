package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// callTimeout bounds every call, so a stuck server ends a phase late
// rather than never.
const callTimeout = 10 * time.Second

// call is one request of a phase by one worker; i counts that worker's
// calls.
type call func(ctx context.Context, c *ecs.Client, worker, i int) error

// runPhase runs fn from every client in a loop until d has passed, and
// summarises the latencies of the calls that succeeded. Calls in flight
// at the deadline finish and count.
func runPhase(ctx context.Context, clients []*ecs.Client, d time.Duration, fn call) Summary {
	latencies := make([][]time.Duration, len(clients))
	errs := make([]int, len(clients))
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w, c := range clients {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline) && ctx.Err() == nil; i++ {
				t0 := time.Now()
				if err := fn(ctx, c, w, i); err != nil {
					errs[w]++
					continue
				}
				latencies[w] = append(latencies[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	nerr := 0
	for w := range clients {
		all = append(all, latencies[w]...)
		nerr += errs[w]
	}
	return Summarize(all, nerr, elapsed)
}

// workload registers task definitions over a few families and describes
// the registered revisions. Family names carry a random run ID, so runs
// against a long-lived server do not pile onto the same families.
type workload struct {
	runID    string
	families int

	mu       sync.Mutex
	byWorker map[int][]string // family:revision each worker registered
	all      []string         // every registered family:revision, set by seal
	firstErr error
}

func newWorkload(families int) *workload {
	id := make([]byte, 3)
	rand.Read(id)
	return &workload{runID: hex.EncodeToString(id), families: families, byWorker: map[int][]string{}}
}

func (w *workload) family(worker, i int) string {
	return fmt.Sprintf("bench-%s-%d", w.runID, (worker+i)%w.families)
}

// register is the call of phase 1.
func (w *workload) register(ctx context.Context, c *ecs.Client, worker, i int) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	out, err := c.RegisterTaskDefinition(ctx, taskDefinition(w.family(worker, i)))
	if err != nil {
		w.noteError(err)
		return err
	}
	ref := fmt.Sprintf("%s:%d", aws.ToString(out.TaskDefinition.Family), out.TaskDefinition.Revision)
	w.mu.Lock()
	w.byWorker[worker] = append(w.byWorker[worker], ref)
	w.mu.Unlock()
	return nil
}

// seal collects every registered family:revision for the describe phase
// and returns how many there are. It must be called between the phases.
func (w *workload) seal() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.all = w.all[:0]
	for _, refs := range w.byWorker {
		w.all = append(w.all, refs...)
	}
	return len(w.all)
}

// describe is the call of phase 2: a random registered revision. It reads
// all without the lock: seal wrote it before the phase's goroutines began.
func (w *workload) describe(ctx context.Context, c *ecs.Client, _, _ int) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	_, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(w.all[mrand.IntN(len(w.all))]),
	})
	if err != nil {
		w.noteError(err)
	}
	return err
}

func (w *workload) noteError(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.firstErr == nil {
		w.firstErr = err
	}
}

// printFirstError reports the first error of the phase that just ended,
// if any, and forgets it.
func (w *workload) printFirstError(out io.Writer) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.firstErr != nil {
		fmt.Fprintf(out, "  first error: %v\n", w.firstErr)
		w.firstErr = nil
	}
}

// taskDefinition is a realistic Fargate web service: an app container and
// a non-essential metrics sidecar.
func taskDefinition(family string) *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String(family),
		NetworkMode:             types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu:                     aws.String("512"),
		Memory:                  aws.String("1024"),
		ExecutionRoleArn:        aws.String("arn:aws:iam::123456789012:role/ecsTaskExecutionRole"),
		ContainerDefinitions:    []types.ContainerDefinition{appContainer(family), sidecarContainer(family)},
		Tags:                    []types.Tag{{Key: aws.String("bench"), Value: aws.String("api")}},
	}
}

func appContainer(family string) types.ContainerDefinition {
	return types.ContainerDefinition{
		Name:              aws.String("app"),
		Image:             aws.String("123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1.0.0"),
		Essential:         aws.Bool(true),
		Cpu:               384,
		MemoryReservation: aws.Int32(768),
		PortMappings: []types.PortMapping{{
			Name: aws.String("http"), ContainerPort: aws.Int32(8080),
			Protocol: types.TransportProtocolTcp, AppProtocol: types.ApplicationProtocolHttp,
		}},
		Environment: []types.KeyValuePair{
			{Name: aws.String("PORT"), Value: aws.String("8080")},
			{Name: aws.String("LOG_LEVEL"), Value: aws.String("info")},
		},
		LogConfiguration: awslogs(family, "app"),
		HealthCheck: &types.HealthCheck{
			Command:  []string{"CMD-SHELL", "wget -qO- http://localhost:8080/healthz || exit 1"},
			Interval: aws.Int32(15), Timeout: aws.Int32(5), Retries: aws.Int32(3),
		},
		DependsOn: []types.ContainerDependency{{
			ContainerName: aws.String("metrics"), Condition: types.ContainerConditionStart,
		}},
	}
}

func sidecarContainer(family string) types.ContainerDefinition {
	return types.ContainerDefinition{
		Name:              aws.String("metrics"),
		Image:             aws.String("public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0"),
		Essential:         aws.Bool(false),
		Cpu:               128,
		MemoryReservation: aws.Int32(256),
		LogConfiguration:  awslogs(family, "metrics"),
	}
}

func awslogs(family, prefix string) *types.LogConfiguration {
	return &types.LogConfiguration{
		LogDriver: types.LogDriverAwslogs,
		Options: map[string]string{
			"awslogs-group":         "/ecs/" + family,
			"awslogs-region":        "us-east-1",
			"awslogs-stream-prefix": prefix,
		},
	}
}
