package agentapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/agentproto"
	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/store"
	"github.com/gantry-dev/gantry/internal/store/storetest"
)

const testCluster = "c"

var testARNs = ecs.ARNs{Region: "us-east-1", Account: "000000000000"}

// env is a store with one task definition, hosts with instance tokens,
// and the agent endpoint served over HTTP.
type env struct {
	tb     testing.TB
	store  *store.Store
	srv    *Server
	http   *httptest.Server
	client *http.Client
	defArn string
	ids    []string
	tokens []string
}

func newEnv(tb testing.TB, hosts int, poll time.Duration) *env {
	tb.Helper()
	st := storetest.New(tb)
	ctx := context.Background()
	e := &env{tb: tb, store: st, defArn: testARNs.TaskDefinition("web", 1)}
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
		writes = append(writes, st.Instances.Create(testCluster+"/"+id, &store.InstanceRecord{
			ID: id, Cluster: testCluster, TokenHash: hash,
			Instance: ecs.ContainerInstance{
				ContainerInstanceArn: testARNs.ContainerInstance(testCluster, id),
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
	e.srv = New(Options{Store: st, ARNs: testARNs, PollTimeout: poll})
	e.http = httptest.NewServer(e.srv.Handler())
	e.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: hosts + 10}}
	tb.Cleanup(func() {
		e.client.CloseIdleConnections()
		e.http.Close()
	})
	return e
}

func (e *env) commit(ctx context.Context, writes ...store.Write) {
	e.tb.Helper()
	if _, err := e.store.Commit(ctx, writes...); err != nil {
		e.tb.Fatal(err)
	}
}

// sync sends one sync for host i.
func (e *env) sync(ctx context.Context, i int, req *agentproto.SyncRequest) (*agentproto.SyncResponse, error) {
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
		var perr agentproto.Error
		_ = json.NewDecoder(resp.Body).Decode(&perr)
		return nil, fmt.Errorf("sync: HTTP %d %s", resp.StatusCode, perr.Code)
	}
	var out agentproto.SyncResponse
	return &out, json.NewDecoder(resp.Body).Decode(&out)
}

// poll long-polls for host i like an agent until ctx ends, sending every
// answer that changed the desired state to changed.
func (e *env) poll(ctx context.Context, i int, changed chan<- *agentproto.SyncResponse) {
	req := &agentproto.SyncRequest{Tasks: []agentproto.TaskState{}}
	for ctx.Err() == nil {
		resp, err := e.sync(ctx, i, req)
		if err != nil {
			if ctx.Err() == nil {
				e.tb.Error(err)
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
func (e *env) held() int {
	e.srv.mu.Lock()
	defer e.srv.mu.Unlock()
	n := 0
	for _, c := range e.srv.holding {
		n += c
	}
	return n
}

func (e *env) task(host int) (string, *store.TaskRecord) {
	id := ecs.NewID()
	arn := testARNs.Task(testCluster, id)
	return testCluster + "/" + id, &store.TaskRecord{HostID: e.ids[host], Task: ecs.Task{
		TaskArn: arn, ClusterArn: testARNs.Cluster(testCluster), TaskDefinitionArn: e.defArn,
		LastStatus: ecs.TaskPending, DesiredStatus: ecs.TaskRunning, Version: 1,
		Containers: []ecs.Container{{Name: "web", TaskArn: arn, LastStatus: ecs.TaskPending}},
	}}
}
