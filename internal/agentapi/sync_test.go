package agentapi

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/agentproto"
	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/store"
)

// held is a sync the test sent with Wait and has not been answered yet.
type held struct {
	resp chan *agentproto.SyncResponse
	err  chan error
}

// hold sends a waiting sync for host i with digest, and returns once the
// server holds it.
func (e *env) hold(i int, digest string) *held {
	e.tb.Helper()
	h := &held{resp: make(chan *agentproto.SyncResponse, 1), err: make(chan error, 1)}
	before := e.waiting(i)
	go func() {
		resp, err := e.sync(context.Background(), i, &agentproto.SyncRequest{Digest: digest, Wait: true, Tasks: []agentproto.TaskState{}})
		if err != nil {
			h.err <- err
			return
		}
		h.resp <- resp
	}()
	for e.waiting(i) == before || e.wakeup(i) == nil {
		time.Sleep(time.Millisecond)
	}
	return h
}

// waiting is how many syncs of host i wait.
func (e *env) waiting(i int) int {
	e.srv.waits.mu.Lock()
	defer e.srv.waits.mu.Unlock()
	if h := e.srv.waits.hosts[e.ids[i]]; h != nil {
		return h.held
	}
	return 0
}

// wakeup is the change host i's held syncs wait for; nil if none waits.
func (e *env) wakeup(i int) *wakeup {
	e.srv.waits.mu.Lock()
	defer e.srv.waits.mu.Unlock()
	if h := e.srv.waits.hosts[e.ids[i]]; h != nil {
		return h.next
	}
	return nil
}

// woken reports whether a change has fired for the syncs of host i held
// since w, which the test took while they were held. Every store change
// has reached the observers by the time its commit returns.
func (e *env) woken(i int, w *wakeup) bool {
	select {
	case <-w.fired:
		return true
	default:
		return e.wakeup(i) != w
	}
}

func (h *held) answer(t *testing.T) *agentproto.SyncResponse {
	t.Helper()
	select {
	case resp := <-h.resp:
		return resp
	case err := <-h.err:
		t.Fatalf("held sync failed: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("held sync was not answered")
	}
	return nil
}

func (e *env) first(t *testing.T, i int) string {
	t.Helper()
	resp, err := e.sync(context.Background(), i, &agentproto.SyncRequest{Tasks: []agentproto.TaskState{}})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Digest
}

func (e *env) update(t *testing.T, key string, fn func(*store.TaskRecord)) {
	t.Helper()
	if _, err := e.store.Tasks.Update(context.Background(), key, func(r *store.TaskRecord) error { fn(r); return nil }); err != nil {
		t.Fatal(err)
	}
}

// A held sync answers when its own host's desired state changes, and
// neither another host's change nor what its agent reports wakes it.
func TestHeldSyncWakesForItsHostOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2, time.Hour)
	ctx := context.Background()
	a, b := e.hold(0, e.first(t, 0)), e.hold(1, e.first(t, 1))
	bWait := e.wakeup(1)

	key, rec := e.task(0)
	e.commit(ctx, e.store.Tasks.Create(key, rec))
	resp := a.answer(t)
	if !resp.Changed || len(resp.Tasks) != 1 || resp.Tasks[0].TaskArn != rec.Task.TaskArn {
		t.Fatalf("answer = %+v, want the placed task", resp)
	}
	if e.woken(1, bWait) {
		t.Error("a task placed on host 0 woke host 1")
	}

	a = e.hold(0, resp.Digest)
	aWait := e.wakeup(0)
	e.update(t, key, func(r *store.TaskRecord) {
		r.Task.LastStatus, r.Task.HealthStatus, r.Task.StartedAt = ecs.TaskRunning, ecs.HealthStatusHEALTHY, ecs.At(time.Now())
		r.Task.Containers[0].LastStatus, r.Task.Containers[0].RuntimeId = ecs.TaskRunning, "c1"
		r.Task.Version++
	})
	if e.woken(0, aWait) {
		t.Error("an observed change woke the task's host")
	}

	e.update(t, key, func(r *store.TaskRecord) { r.Task.DesiredStatus = ecs.TaskStopped })
	if resp := a.answer(t); !resp.Changed || resp.Tasks[0].DesiredStatus != ecs.TaskStopped {
		t.Fatalf("answer = %+v, want the task desired STOPPED", resp)
	}
	if e.woken(1, bWait) {
		t.Error("host 0's changes woke host 1")
	}

	// The task moves to host 1 (nothing does that today, but the index
	// allows it): both hear of it.
	a = e.hold(0, e.first(t, 0))
	e.update(t, key, func(r *store.TaskRecord) { r.HostID = e.ids[1] })
	if resp := a.answer(t); !resp.Changed || len(resp.Tasks) != 0 {
		t.Errorf("host 0 answer = %+v, want no task", resp)
	}
	if resp := b.answer(t); !resp.Changed || len(resp.Tasks) != 1 {
		t.Errorf("host 1 answer = %+v, want the task", resp)
	}
}

// A task that STOPPED leaves its host's desired state; a held sync hears it.
func TestHeldSyncHearsTaskStopped(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1, time.Hour)
	key, rec := e.task(0)
	e.commit(context.Background(), e.store.Tasks.Create(key, rec))
	h := e.hold(0, e.first(t, 0))
	e.update(t, key, func(r *store.TaskRecord) { r.Task.LastStatus = ecs.TaskStopped })
	if resp := h.answer(t); !resp.Changed || len(resp.Tasks) != 0 {
		t.Fatalf("answer = %+v, want no task", resp)
	}
}

// Deregistering an instance ends its held sync with 410.
func TestHeldSyncHearsDeregistration(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1, time.Hour)
	h := e.hold(0, e.first(t, 0))
	_, err := e.store.Instances.Update(context.Background(), testCluster+"/"+e.ids[0], func(r *store.InstanceRecord) error {
		r.Instance.Status = statusInactive
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-h.err:
		if !strings.Contains(err.Error(), "410 "+agentproto.CodeDeregistered) {
			t.Errorf("held sync failed with %v, want 410 %s", err, agentproto.CodeDeregistered)
		}
	case resp := <-h.resp:
		t.Errorf("held sync answered %+v, want 410", resp)
	case <-time.After(10 * time.Second):
		t.Error("held sync was not answered")
	}
}

// With nothing changing, a held sync answers unchanged at the poll limit.
func TestHeldSyncTimesOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1, 200*time.Millisecond)
	digest := e.first(t, 0)
	h := e.hold(0, digest)
	if resp := h.answer(t); resp.Changed || resp.Digest != digest {
		t.Errorf("answer = %+v, want unchanged", resp)
	}
}

// A task whose definition is missing is left out until the definition
// appears.
func TestHeldSyncHearsDefinitionAppear(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1, time.Hour)
	ctx := context.Background()
	key, rec := e.task(0)
	rec.Task.TaskDefinitionArn = testARNs.TaskDefinition("late", 1)
	e.commit(ctx, e.store.Tasks.Create(key, rec))
	digest := e.first(t, 0)
	h := e.hold(0, digest)
	td := &store.TaskDefinitionRecord{TaskDefinition: ecs.TaskDefinition{
		TaskDefinitionArn: rec.Task.TaskDefinitionArn, Family: "late", Revision: 1, Status: ecs.TaskDefinitionStatusACTIVE,
	}}
	e.commit(ctx, e.store.TaskDefinitions.Create(store.TaskDefinitionKey("late", 1), td))
	if resp := h.answer(t); !resp.Changed || len(resp.Tasks) != 1 {
		t.Fatalf("answer = %+v, want the task", resp)
	}
}

// Reports that say nothing new are not written; new ones are, once, even
// when a report repeats a task.
func TestSyncWritesOnlyChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1, time.Hour)
	ctx := context.Background()
	var keys []string
	var reports []agentproto.TaskState
	for range 3 {
		key, rec := e.task(0)
		e.commit(ctx, e.store.Tasks.Create(key, rec))
		keys = append(keys, key)
		reports = append(reports, agentproto.TaskState{TaskArn: rec.Task.TaskArn, LastStatus: ecs.TaskRunning,
			Containers: []ecs.Container{{Name: "web", LastStatus: ecs.TaskRunning, RuntimeId: "r"}}})
	}
	revisions := func() []int64 {
		var out []int64
		for _, k := range keys {
			it, _ := e.store.Tasks.Get(k)
			out = append(out, it.ModRevision)
		}
		return out
	}
	sync := func(tasks []agentproto.TaskState) {
		t.Helper()
		if _, err := e.sync(ctx, 0, &agentproto.SyncRequest{Tasks: tasks}); err != nil {
			t.Fatal(err)
		}
	}

	sync(append(reports[:2:2], reports[0]))
	after := revisions()
	for i, k := range keys[:2] {
		it, _ := e.store.Tasks.Get(k)
		if it.Value.Task.LastStatus != ecs.TaskRunning || it.Value.Task.Containers[0].RuntimeId != "r" || it.Value.Task.Version != 2 {
			t.Errorf("task %d = %+v, want RUNNING at version 2", i, it.Value.Task)
		}
	}
	if after[0] != after[1] {
		t.Errorf("revisions %v: want both tasks written in one transaction", after)
	}
	sync(reports[:2])
	if again := revisions(); again[0] != after[0] || again[1] != after[1] {
		t.Errorf("revisions %v, then %v after the same reports: want no write", after, again)
	}
	sync(reports)
	if last := revisions(); last[2] == after[2] || last[0] != after[0] {
		t.Errorf("revisions %v, then %v: want only the third task written", after, last)
	}
}

// A record that changed after the sync read it is read again, and the
// observation merged into what is there now.
func TestRecordRetriesAConflict(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1, time.Hour)
	ctx := context.Background()
	key, rec := e.task(0)
	e.commit(ctx, e.store.Tasks.Create(key, rec))
	it, _ := e.store.Tasks.Get(key)
	report := agentproto.TaskState{TaskArn: rec.Task.TaskArn, LastStatus: ecs.TaskRunning}
	o := &observed{key: key, modRev: it.ModRevision, draft: draft(it.Value), reports: []agentproto.TaskState{report}}
	merge(o.draft, report, time.Now())
	e.update(t, key, func(r *store.TaskRecord) { r.Task.DesiredStatus = ecs.TaskStopped })
	if err := e.srv.write(ctx, e.ids[0], []*observed{o}, time.Now()); err != nil {
		t.Fatal(err)
	}
	it, _ = e.store.Tasks.Get(key)
	if got := it.Value.Task; got.LastStatus != ecs.TaskRunning || got.DesiredStatus != ecs.TaskStopped {
		t.Errorf("task = last %s desired %s, want RUNNING and STOPPED", got.LastStatus, got.DesiredStatus)
	}
}

// An agent that applied the answer at revision R is sent the tasks it
// holds from it as Known, and only newer tasks in full.
func TestKnownTasksTravelAsStubs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1, time.Hour)
	ctx := context.Background()
	put := func() string {
		key, rec := e.task(0)
		if _, err := e.store.Commit(ctx, e.store.Tasks.Create(key, rec)); err != nil {
			t.Fatal(err)
		}
		return rec.Task.TaskArn
	}
	old := put()
	first, err := e.sync(ctx, 0, &agentproto.SyncRequest{Tasks: []agentproto.TaskState{}})
	if err != nil || len(first.Tasks) != 1 || first.Tasks[0].Known {
		t.Fatalf("first answer %+v, %v; want the task in full", first, err)
	}
	fresh := put()
	resp, err := e.sync(ctx, 0, &agentproto.SyncRequest{Digest: first.Digest, Revision: first.Revision, Tasks: []agentproto.TaskState{}})
	if err != nil || len(resp.Tasks) != 2 {
		t.Fatalf("second answer %+v, %v", resp, err)
	}
	for _, task := range resp.Tasks {
		switch task.TaskArn {
		case old:
			if !task.Known || task.Definition.Family != "" || len(resp.Definitions) != 1 {
				t.Errorf("the held task came back %+v, want a Known stub", task)
			}
		case fresh:
			if task.Known || task.TaskDefinitionArn == "" {
				t.Errorf("the new task came back %+v, want it in full", task)
			}
		}
	}
	// Without a revision everything comes in full, as after a restart.
	resp, _ = e.sync(ctx, 0, &agentproto.SyncRequest{Tasks: []agentproto.TaskState{}})
	for _, task := range resp.Tasks {
		if task.Known {
			t.Errorf("a sync without a revision got a stub for %s", task.TaskArn)
		}
	}
}
