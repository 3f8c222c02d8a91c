package agentapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/agentproto"
	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/store/storetest"
)

const benchCluster = "bench"

var benchARNs = ecs.ARNs{Region: "us-east-1", Account: "000000000000"}

// benchEnv is a store with one task definition, hosts with instance
// tokens, and the agent endpoint served over HTTP.
type benchEnv struct {
	b      *testing.B
	store  *store.Store
	srv    *Server
	http   *httptest.Server
	client *http.Client
	defArn string
	ids    []string
	tokens []string
}

func newBenchEnv(b *testing.B, hosts int) *benchEnv {
	b.Helper()
	st := storetest.New(b)
	ctx := context.Background()
	e := &benchEnv{b: b, store: st, defArn: benchARNs.TaskDefinition("web", 1)}
	td := &store.TaskDefinitionRecord{TaskDefinition: ecs.TaskDefinition{
		TaskDefinitionArn: e.defArn, Family: "web", Revision: 1, Status: ecs.TaskDefinitionStatusACTIVE,
		ContainerDefinitions: []ecs.ContainerDefinition{{Name: "web", Image: "web:1"}},
	}}
	e.commit(ctx, st.TaskDefinitions.Create(store.TaskDefinitionKey("web", 1), td))
	var writes []store.Write
	for range hosts {
		id := ecs.NewID()
		token, hash := newToken(id)
		e.ids, e.tokens = append(e.ids, id), append(e.tokens, token)
		writes = append(writes, st.Instances.Create(benchCluster+"/"+id, &store.InstanceRecord{
			ID: id, Cluster: benchCluster, TokenHash: hash,
			Instance: ecs.ContainerInstance{
				ContainerInstanceArn: benchARNs.ContainerInstance(benchCluster, id),
				Status:               statusActive, AgentConnected: true,
			},
		}))
		if len(writes) == 100 {
			e.commit(ctx, writes...)
			writes = writes[:0]
		}
	}
	if len(writes) > 0 {
		e.commit(ctx, writes...)
	}
	e.srv = New(Options{Store: st, ARNs: benchARNs, PollTimeout: time.Hour})
	e.http = httptest.NewServer(e.srv.Handler())
	e.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: hosts + 10}}
	return e
}

func (e *benchEnv) close() {
	e.http.Close()
	e.client.CloseIdleConnections()
}

func (e *benchEnv) commit(ctx context.Context, writes ...store.Write) {
	e.b.Helper()
	if _, err := e.store.Commit(ctx, writes...); err != nil {
		e.b.Fatal(err)
	}
}

// sync sends one sync for host i.
func (e *benchEnv) sync(ctx context.Context, i int, req *agentproto.SyncRequest) (*agentproto.SyncResponse, error) {
	body, _ := json.Marshal(req)
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, e.http.URL+agentproto.SyncPath, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	r.Header.Set("Authorization", "Bearer "+e.tokens[i])
	resp, err := e.client.Do(r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("sync: HTTP %d", resp.StatusCode)
	}
	var out agentproto.SyncResponse
	return &out, json.NewDecoder(resp.Body).Decode(&out)
}

// poll long-polls for host i like an agent until ctx ends, sending every
// answer that changed the desired state to changed.
func (e *benchEnv) poll(ctx context.Context, i int, changed chan<- *agentproto.SyncResponse) {
	req := &agentproto.SyncRequest{Tasks: []agentproto.TaskState{}}
	for ctx.Err() == nil {
		resp, err := e.sync(ctx, i, req)
		if err != nil {
			if ctx.Err() == nil {
				e.b.Error(err)
			}
			return
		}
		if resp.Changed {
			req.Digest = resp.Digest
			changed <- resp
		}
		req.Wait = true
	}
}

// held is how many syncs the server holds.
func (e *benchEnv) held() int {
	e.srv.mu.Lock()
	defer e.srv.mu.Unlock()
	n := 0
	for _, c := range e.srv.holding {
		n += c
	}
	return n
}

func (e *benchEnv) task(host int) (string, *store.TaskRecord) {
	id := ecs.NewID()
	arn := benchARNs.Task(benchCluster, id)
	return benchCluster + "/" + id, &store.TaskRecord{HostID: e.ids[host], Task: ecs.Task{
		TaskArn: arn, ClusterArn: benchARNs.Cluster(benchCluster), TaskDefinitionArn: e.defArn,
		LastStatus: ecs.TaskPending, DesiredStatus: ecs.TaskRunning, Version: 1,
		Containers: []ecs.Container{{Name: "web", TaskArn: arn, LastStatus: ecs.TaskPending}},
	}}
}

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
	e := newBenchEnv(b, k)
	defer e.close()
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
	e := newBenchEnv(b, 1)
	defer e.close()
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
