package bench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// verify describes every placed task, after the measured window, and
// counts those the server shows RUNNING: the cluster's count that ended
// the watch is a sum, this checks each task.
func verify(ctx context.Context, clients []*ecs.Client, out io.Writer, res *ScaleResult) error {
	start := time.Now()
	others := map[string]int{} // lastStatus of the tasks not RUNNING
	var example *types.Task    // one of them, for the report
	err := describeAll(ctx, clients, scaleCluster, res.placed, func(t *types.Task) {
		if st := aws.ToString(t.LastStatus); st == "RUNNING" {
			res.Running++
		} else {
			others[st]++
			if example == nil {
				example = t
			}
		}
	}, func(n int) { others["MISSING"] += n })
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	res.NotRunning = len(res.placed) - res.Running
	fmt.Fprintf(out, "verified: %d/%d placed tasks RUNNING by DescribeTasks (%.1fs)", res.Running, len(res.placed), time.Since(start).Seconds())
	if res.NotRunning > 0 {
		fmt.Fprintf(out, "; the others: %s", formatCounts(others))
	}
	fmt.Fprintln(out)
	if example != nil {
		fmt.Fprintf(out, "  e.g. %s\n", describeTask(example))
	}
	return nil
}

// describeAll describes the tasks arns of cluster, 100 to a call, from
// len(clients) workers. It hands each task to seen and the number of
// unknown ARNs to missing, one call at a time.
func describeAll(ctx context.Context, clients []*ecs.Client, cluster string, arns []string, seen func(*types.Task), missing func(int)) error {
	var mu sync.Mutex
	err := eachChunk(ctx, clients, arns, 100, func(ctx context.Context, c *ecs.Client, chunk []string) error {
		var resp *ecs.DescribeTasksOutput
		err := retryRead(ctx, func(ctx context.Context) (err error) {
			resp, err = c.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: chunk})
			return err
		})
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for i := range resp.Tasks {
			seen(&resp.Tasks[i])
		}
		missing(len(resp.Failures))
		return nil
	})
	if err != nil {
		return fmt.Errorf("describe tasks: %w", err)
	}
	return nil
}

// eachChunk calls fn on every chunk of up to size items from len(clients)
// workers, each with its own client, and returns the first error once
// all are done (or ctx's error, when it ended first).
func eachChunk(ctx context.Context, clients []*ecs.Client, items []string, size int, fn func(context.Context, *ecs.Client, []string) error) error {
	chunks := make(chan []string)
	go func() {
		defer close(chunks)
		for chunk := range slices.Chunk(items, size) {
			select {
			case chunks <- chunk:
			case <-ctx.Done():
				return
			}
		}
	}()
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	for _, c := range clients {
		wg.Go(func() {
			for chunk := range chunks {
				if err := fn(ctx, c, chunk); err != nil {
					mu.Lock()
					firstErr = cmp.Or(firstErr, err)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return cmp.Or(firstErr, ctx.Err())
}

// describeTask is one line on a task that is not RUNNING: enough to tell
// who stopped it and when.
func describeTask(t *types.Task) string {
	at := func(ts *time.Time) string {
		if ts == nil || t.CreatedAt == nil {
			return "-"
		}
		return fmt.Sprintf("+%.3fs", ts.Sub(*t.CreatedAt).Seconds())
	}
	s := fmt.Sprintf("%s %s/%s stopCode=%q stoppedReason=%q startedAt=%s stoppingAt=%s stoppedAt=%s (after createdAt)",
		aws.ToString(t.TaskArn), aws.ToString(t.LastStatus), aws.ToString(t.DesiredStatus), t.StopCode,
		aws.ToString(t.StoppedReason), at(t.StartedAt), at(t.StoppingAt), at(t.StoppedAt))
	for _, c := range t.Containers {
		exit := "-"
		if c.ExitCode != nil {
			exit = fmt.Sprint(*c.ExitCode)
		}
		s += fmt.Sprintf("; container %s %s exit=%s reason=%q", aws.ToString(c.Name), aws.ToString(c.LastStatus), exit, aws.ToString(c.Reason))
	}
	return s
}

// formatCounts is "A 3, B 1" in key order, zero counts left out.
func formatCounts(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
		}
	}
	return strings.Join(parts, ", ")
}

// print writes the summary for people, then the key=value line.
func (r *ScaleResult) print(out io.Writer) {
	r.RunTask.print(out, "runtask")
	fmt.Fprintf(out, "placed:   %d/%d tasks", r.Placed, r.Tasks)
	if r.Failures > 0 || len(r.Reasons) > 0 {
		fmt.Fprintf(out, ", %d not placed; failures by reason: %s", r.Failures, formatCounts(r.Reasons))
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, "running:  %d tasks RUNNING %.2fs after the first RunTask: %.1f tasks/s; %.1f CPU seconds (%.0f%% of %d cores), %.1f tasks per CPU second\n",
		r.Running, r.Elapsed.Seconds(), r.TasksPerSecond(), r.CPU.Seconds(),
		100*r.CPU.Seconds()/r.Elapsed.Seconds()/float64(goruntime.NumCPU()), goruntime.NumCPU(), r.tasksPerCPUSecond())
	fmt.Fprintf(out, "memory:   peak RSS %.1f MB (the whole process: server, %d agents, clients), heap in use %.1f MB, "+
		"live heap %+.1f KB per task; etcd db %.1f MB\n",
		mb(r.PeakRSS), r.Instances, mb(r.HeapInuse), r.HeapPerTask/1024, mb(uint64(r.EtcdBytes)))
	fmt.Fprintln(out, r.keyValues())
}

func (r *ScaleResult) tasksPerCPUSecond() float64 {
	if r.CPU <= 0 {
		return 0
	}
	return float64(r.Running) / r.CPU.Seconds()
}

// keyValues is the machine-readable summary line.
func (r *ScaleResult) keyValues() string {
	return fmt.Sprintf("tasks=%d instances=%d seconds=%.2f tasks_per_sec=%.1f runtask_p50_ms=%.2f runtask_p99_ms=%.2f "+
		"rss_mb=%.1f etcd_mb=%.1f failures=%d running=%d not_running=%d registration_seconds=%.2f heap_mb=%.1f kb_per_task=%.2f cpu_seconds=%.1f",
		r.Tasks, r.Instances, r.Elapsed.Seconds(), r.TasksPerSecond(), ms(r.RunTask.P50), ms(r.RunTask.P99),
		mb(r.PeakRSS), mb(uint64(r.EtcdBytes)), r.Failures, r.Running, r.NotRunning, r.Registration.Seconds(), mb(r.HeapInuse), r.HeapPerTask/1024, r.CPU.Seconds())
}
