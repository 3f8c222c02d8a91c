package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/gantry-dev/gantry/internal/agentproto"
	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/runtime/sim"
)

// A held poll answered before a task was placed can arrive after a report
// that already carried the task: the older answer must not stop it.
func TestOlderAnswerDoesNotUndoNewer(t *testing.T) {
	task := newTask(ecs.NetworkModeNone, container("main", "sleep 3600"))
	reported := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req agentproto.SyncRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			t.Error(err)
		}
		resp := agentproto.SyncResponse{Changed: true, Digest: "new", Revision: 7, Tasks: []agentproto.Task{task}}
		if req.Wait { // the poll: computed before the task existed, delivered last
			<-reported
			resp = agentproto.SyncResponse{Changed: true, Digest: "old", Revision: 5}
		}
		json.NewEncoder(w).Encode(resp)
	}))
	defer srv.Close()
	rt := sim.New(sim.Options{Images: []string{testImage}})
	a, err := New(Options{Endpoint: srv.URL, Runtime: rt, DataDir: t.TempDir(),
		Credentials: credentials.NewStaticCredentialsProvider("k", "s", "")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a.token, a.instanceID = "id.secret", testInstance
	poll := make(chan error, 1)
	go func() { poll <- a.syncOnce(ctx, true, nil) }()
	if err := a.syncOnce(ctx, false, nil); err != nil {
		t.Fatal(err)
	}
	close(reported)
	if err := <-poll; err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	r, ok := a.runners[task.TaskArn]
	a.mu.Unlock()
	if !ok {
		t.Fatal("the task from the newer answer has no runner")
	}
	r.mu.Lock()
	desired := r.desired
	r.mu.Unlock()
	if desired != ecs.TaskRunning || a.digest != "new" {
		t.Errorf("after the older answer: desired %s, digest %q; want RUNNING and the newer digest", desired, a.digest)
	}
}

// An answer naming as known a task this agent does not hold makes it ask
// for the whole desired state again instead of applying half of it.
func TestUnknownKnownTaskAsksForEverything(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(agentproto.SyncResponse{Changed: true, Digest: "d", Revision: 9,
			Tasks: []agentproto.Task{{TaskArn: "arn:aws:ecs:us-east-1:123456789012:task/test/x", DesiredStatus: ecs.TaskRunning, Known: true}}})
	}))
	defer srv.Close()
	a, err := New(Options{Endpoint: srv.URL, Runtime: sim.New(sim.Options{}), DataDir: t.TempDir(),
		Credentials: credentials.NewStaticCredentialsProvider("k", "s", "")})
	if err != nil {
		t.Fatal(err)
	}
	a.token, a.digest, a.revision = "id.secret", "old", 3
	if err := a.syncOnce(context.Background(), false, nil); err != nil {
		t.Fatal(err)
	}
	if a.digest != "" || a.revision != 0 || len(a.runners) != 0 {
		t.Errorf("digest %q, revision %d, %d runners; want all forgotten and nothing started", a.digest, a.revision, len(a.runners))
	}
}
