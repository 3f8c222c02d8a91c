package controller

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/placement"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/store/storetest"
)

// startScheduler runs a scheduler over s until the test ends.
func startScheduler(t *testing.T, s *store.Store) *Scheduler {
	t.Helper()
	sched := NewScheduler(s, nil, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); sched.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return sched
}

func addInstance(t *testing.T, s *store.Store, cluster, id string, cpu, memory int32, zone string) {
	t.Helper()
	rec := &store.InstanceRecord{ID: id, Cluster: cluster, Instance: ecs.ContainerInstance{
		ContainerInstanceArn: "arn:aws:ecs:us-east-1:0:container-instance/" + cluster + "/" + id,
		Status:               "ACTIVE", AgentConnected: true,
		RegisteredResources: []ecs.Resource{
			{Name: "CPU", Type: "INTEGER", IntegerValue: cpu},
			{Name: "MEMORY", Type: "INTEGER", IntegerValue: memory},
			{Name: "PORTS", Type: "STRINGSET", StringSetValue: []string{"22"}},
		},
		Attributes: []ecs.Attribute{{Name: "ecs.availability-zone", Value: zone}},
	}}
	if _, err := s.Commit(context.Background(), s.Instances.Create(cluster+"/"+id, rec)); err != nil {
		t.Fatal(err)
	}
}

var taskSeq atomic.Int64

// build makes a minimal task record like the API's.
func build(cluster string, req placement.Request) func(*store.InstanceRecord) *store.TaskRecord {
	return func(host *store.InstanceRecord) *store.TaskRecord {
		id := fmt.Sprintf("%032x", taskSeq.Add(1))
		return &store.TaskRecord{
			Task: ecs.Task{TaskArn: "arn:aws:ecs:us-east-1:0:task/" + cluster + "/" + id, Group: req.Group,
				LastStatus: ecs.TaskPending, DesiredStatus: ecs.TaskRunning,
				ContainerInstanceArn: host.Instance.ContainerInstanceArn},
			HostID: host.ID, Size: ecs.TaskSize{CPU: req.CPU, Memory: req.Memory}, Ports: req.Ports,
		}
	}
}

func place(t *testing.T, sched *Scheduler, cluster string, req placement.Request) *Result {
	t.Helper()
	res, err := sched.Place(context.Background(), &Placement{Cluster: cluster, Request: req, Build: build(cluster, req)})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestSchedulerPlacesAndRefuses(t *testing.T) {
	s := storetest.New(t)
	addInstance(t, s, "c", "i1", 1024, 1024, "a")
	sched := startScheduler(t, s)
	req := placement.Request{Count: 3, CPU: 512, Memory: 256, Group: "g"}
	res := place(t, sched, "c", req)
	if len(res.Tasks) != 2 || len(res.Failures) != 1 || res.Failures[0].Reason != placement.ReasonCPU {
		t.Fatalf("placed %d, failures %v; want 2 placed and RESOURCE:CPU", len(res.Tasks), res.Failures)
	}
	for _, rec := range res.Tasks {
		if _, ok := s.Tasks.Get("c/" + rec.Task.TaskArn[len(rec.Task.TaskArn)-32:]); !ok {
			t.Errorf("task %s not committed", rec.Task.TaskArn)
		}
	}
	if _, err := sched.Place(context.Background(), &Placement{Cluster: "empty", Request: req, Build: build("empty", req)}); !errors.Is(err, ErrNoInstances) {
		t.Errorf("a cluster without instances: %v, want ErrNoInstances", err)
	}
}

// A stopped task gives its resources back; a restarted scheduler finds what
// tasks hold in the store.
func TestSchedulerLedgerFollowsTheStore(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	addInstance(t, s, "c", "i1", 1024, 1024, "a")
	sched := startScheduler(t, s)
	req := placement.Request{Count: 1, CPU: 1024, Memory: 16}
	first := place(t, sched, "c", req).Tasks[0]
	if res := place(t, startScheduler(t, s), "c", req); len(res.Tasks) != 0 {
		t.Fatalf("a second scheduler over the same store placed on a full host")
	}
	key := "c/" + first.Task.TaskArn[len(first.Task.TaskArn)-32:]
	if _, err := s.Tasks.Update(ctx, key, func(r *store.TaskRecord) error {
		r.Task.LastStatus = ecs.TaskStopped
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if res := place(t, sched, "c", req); len(res.Tasks) != 1 {
		t.Fatalf("after the task stopped: failures %v", res.Failures)
	}
}

// Many concurrent placements while instances change: no host ever holds
// more than it registered, no fixed port is given twice, and every task a
// caller was told about exists.
func TestSchedulerNeverOvercommits(t *testing.T) {
	s := storetest.New(t)
	ctx := context.Background()
	const hosts = 8
	for i := range hosts {
		addInstance(t, s, "c", fmt.Sprint("i", i), 2048, 2048, fmt.Sprint("z", i%3))
	}
	sched := startScheduler(t, s)
	stop := make(chan struct{})
	var churn sync.WaitGroup
	churn.Go(func() { // instance records change under the scheduler's feet
		rng := rand.New(rand.NewPCG(7, 7))
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			key := fmt.Sprint("c/i", rng.IntN(hosts))
			if _, err := s.Instances.Update(ctx, key, func(r *store.InstanceRecord) error {
				r.Instance.Attributes = append(r.Instance.Attributes[:1], ecs.Attribute{Name: "n", Value: fmt.Sprint(n)})
				return nil
			}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	var placed atomic.Int64
	var callers sync.WaitGroup
	for c := range 16 {
		callers.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), 1))
			for range 20 {
				req := placement.Request{Count: 1 + rng.IntN(10), CPU: 32 * (1 + rng.IntN(8)), Memory: 32 * (1 + rng.IntN(8)), Group: "g"}
				if rng.IntN(3) == 0 {
					req.Ports = []string{fmt.Sprint(8000+rng.IntN(4), "/tcp")}
				}
				if rng.IntN(2) == 0 {
					st, _ := placement.ParseStrategy("spread", "attribute:ecs.availability-zone")
					req.Strategies = []placement.Strategy{st}
				}
				res, err := sched.Place(ctx, &Placement{Cluster: "c", Request: req, Build: build("c", req)})
				if err != nil {
					t.Error(err)
					return
				}
				placed.Add(int64(len(res.Tasks)))
			}
		})
	}
	callers.Wait()
	close(stop)
	churn.Wait()

	type usage struct{ cpu, memory int }
	used := map[string]*usage{}
	ports := map[string]bool{}
	n := 0
	s.Tasks.Ascend("", func(it *store.Item[store.TaskRecord]) bool {
		n++
		r := it.Value
		if used[r.HostID] == nil {
			used[r.HostID] = &usage{}
		}
		used[r.HostID].cpu += r.Size.CPU
		used[r.HostID].memory += r.Size.Memory
		for _, p := range r.Ports {
			if ports[r.HostID+p] {
				t.Errorf("port %s given twice on %s", p, r.HostID)
			}
			ports[r.HostID+p] = true
		}
		return true
	})
	if int64(n) != placed.Load() {
		t.Errorf("store holds %d tasks, callers were told of %d", n, placed.Load())
	}
	for id, u := range used {
		if u.cpu > 2048 || u.memory > 2048 {
			t.Errorf("host %s over-committed: cpu %d memory %d of 2048", id, u.cpu, u.memory)
		}
	}
	if n == 0 {
		t.Fatal("nothing was placed")
	}
	t.Logf("%d tasks placed on %d hosts", n, len(used))
}

// BenchmarkSchedulerPlace measures tasks placed and committed per second
// by concurrent callers (ten tasks each, as RunTask sends them) on 1,000
// instances over a real embedded etcd, without HTTP or agents.
func BenchmarkSchedulerPlace(b *testing.B) {
	s := storetest.New(b)
	ctx := context.Background()
	for i := range 1000 {
		rec := &store.InstanceRecord{ID: fmt.Sprint("i", i), Cluster: "c", Instance: ecs.ContainerInstance{
			ContainerInstanceArn: fmt.Sprint("arn:aws:ecs:us-east-1:0:container-instance/c/i", i),
			Status:               "ACTIVE", AgentConnected: true,
			RegisteredResources: []ecs.Resource{
				{Name: "CPU", Type: "INTEGER", IntegerValue: 1 << 30}, {Name: "MEMORY", Type: "INTEGER", IntegerValue: 1 << 30}},
			Attributes: []ecs.Attribute{{Name: "ecs.availability-zone", Value: fmt.Sprint("z", i%3)}},
		}}
		if _, err := s.Commit(ctx, s.Instances.Create(fmt.Sprint("c/i", i), rec)); err != nil {
			b.Fatal(err)
		}
	}
	sched := NewScheduler(s, nil, 1)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); sched.Run(rctx) }()
	defer func() { cancel(); <-done }()
	spread, _ := placement.ParseStrategy("spread", "attribute:ecs.availability-zone")
	req := placement.Request{Count: 10, CPU: 16, Memory: 16, Group: "g", Strategies: []placement.Strategy{spread}}
	b.SetParallelism(16) // 32 callers on two cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := sched.Place(ctx, &Placement{Cluster: "c", Request: req, Build: build("c", req)})
			if err != nil || len(res.Tasks) != 10 {
				b.Errorf("placed %v, %v", res, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*10)/b.Elapsed().Seconds(), "tasks/s")
}

// A batch of many requests that each touch many instances is split into
// transactions etcd accepts.
func TestSchedulerLargeBatches(t *testing.T) {
	s := storetest.New(t)
	for i := range 64 {
		addInstance(t, s, "c", fmt.Sprint("i", i), 4096, 4096, fmt.Sprint("z", i%3))
	}
	sched := startScheduler(t, s)
	spread, _ := placement.ParseStrategy("spread", "instanceId")
	req := placement.Request{Count: 10, CPU: 1, Memory: 1, Group: "g", Strategies: []placement.Strategy{spread}}
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			res, err := sched.Place(context.Background(), &Placement{Cluster: "c", Request: req, Build: build("c", req)})
			if err != nil || len(res.Tasks) != 10 {
				t.Errorf("placed %v, %v", res, err)
			}
		})
	}
	wg.Wait()
	if n := s.Tasks.Len(); n != 640 {
		t.Errorf("store holds %d tasks, want 640", n)
	}
}
