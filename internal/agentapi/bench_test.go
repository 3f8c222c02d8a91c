package agentapi

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/agentproto"
	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/store"
)

// cpuTime is the CPU time this process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// settle waits until the process is nearly idle, so that work a change
// set off after the loop ended is counted.
func settle() {
	for range 100 {
		before := cpuTime()
		time.Sleep(50 * time.Millisecond)
		if cpuTime()-before < 5*time.Millisecond {
			return
		}
	}
}

// BenchmarkWakeups holds one waiting sync for each of K hosts and changes
// tasks on four of them. "place" places a task on a host, or deletes the one
// it placed there before, and waits for that host's agent to hear of it;
// "report" changes what an agent observed of a task, which changes nobody's
// desired state. cpu-ns/op is the CPU the whole process spent per change,
// the embedded etcd included.
func BenchmarkWakeups(b *testing.B) {
	for _, k := range []int{100, 5000} {
		for _, mode := range []string{"place", "report"} {
			b.Run(fmt.Sprintf("K=%d/%s", k, mode), func(b *testing.B) { benchWakeups(b, k, mode) })
		}
	}
}

func benchWakeups(b *testing.B, k int, mode string) {
	e := newEnv(b, k, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const busy = 4
	answers := make([]chan *agentproto.SyncResponse, k)
	for i := range k {
		answers[i] = make(chan *agentproto.SyncResponse, 1)
		go e.poll(ctx, i, answers[i])
	}
	for i := range k {
		<-answers[i] // the first answer: an empty desired state
	}
	// Tasks whose observations "report" changes, one per busy host.
	var keys []string
	for i := range busy {
		key, rec := e.task(i)
		e.commit(ctx, e.store.Tasks.Create(key, rec))
		<-answers[i]
		keys = append(keys, key)
	}
	for e.held() < k {
		time.Sleep(time.Millisecond)
	}
	settle()
	placed := make([]string, busy) // key of the task "place" put on each busy host
	cpu0 := cpuTime()
	n := 0
	for b.Loop() {
		host := n % busy
		switch mode {
		case "place":
			if placed[host] == "" {
				key, rec := e.task(host)
				e.commit(ctx, e.store.Tasks.Create(key, rec))
				placed[host] = key
			} else {
				it, _ := e.store.Tasks.Get(placed[host])
				e.commit(ctx, e.store.Tasks.Delete(it.Key, it.ModRevision))
				placed[host] = ""
			}
			<-answers[host]
		case "report":
			_, err := e.store.Tasks.Update(ctx, keys[host], func(r *store.TaskRecord) error {
				r.Task.HealthStatus = []ecs.HealthStatus{ecs.HealthStatusHEALTHY, ecs.HealthStatusUNHEALTHY}[n/busy%2]
				r.Task.Version++
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		n++
	}
	b.StopTimer()
	settle()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(n), "cpu-ns/op")
	cancel()
}

// BenchmarkSyncUnchanged is the steady state of one agent: it reports 20
// running tasks whose state the server already has, and holds the desired
// state already.
func BenchmarkSyncUnchanged(b *testing.B) {
	e := newEnv(b, 1, time.Hour)
	ctx := context.Background()
	req := &agentproto.SyncRequest{Tasks: []agentproto.TaskState{}}
	for range 20 {
		key, rec := e.task(0)
		e.commit(ctx, e.store.Tasks.Create(key, rec))
		req.Tasks = append(req.Tasks, agentproto.TaskState{
			TaskArn: rec.Task.TaskArn, LastStatus: ecs.TaskRunning, HealthStatus: ecs.HealthStatusHEALTHY,
			StartedAt: ecs.At(time.Now()), PullStartedAt: ecs.At(time.Now()), PullStoppedAt: ecs.At(time.Now()),
			Containers: []ecs.Container{{Name: "web", LastStatus: ecs.TaskRunning, RuntimeId: ecs.NewID(), ImageDigest: "sha256:0"}},
		})
	}
	resp, err := e.sync(ctx, 0, req) // records the observations once
	if err != nil {
		b.Fatal(err)
	}
	req.Digest = resp.Digest
	cpu0 := cpuTime()
	n := 0
	for b.Loop() {
		resp, err := e.sync(ctx, 0, req)
		if err != nil || resp.Changed {
			b.Fatalf("sync = %+v, %v; want an unchanged answer", resp, err)
		}
		n++
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(n), "cpu-ns/op")
}
