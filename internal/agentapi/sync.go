package agentapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/internal/agentproto"
	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/store"
)

// sync records what the agent observes and answers with the desired state
// for its instance, holding the request while nothing changed if the agent
// asked to wait.
func (s *Server) sync(w http.ResponseWriter, r *http.Request) {
	h, err := s.authenticate(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	body, err := readBody(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	var req agentproto.SyncRequest
	if err := decode(body, &req); err != nil {
		s.fail(w, err)
		return
	}
	id := h.id()
	s.touch(id)
	if err := s.markConnected(r.Context(), h, true); err != nil {
		s.fail(w, err)
		return
	}
	for _, obs := range req.Tasks {
		if err := s.record(r.Context(), id, obs); err != nil {
			s.fail(w, err)
			return
		}
	}
	resp := s.await(r.Context(), id, req)
	s.touch(id)
	writeJSON(w, http.StatusOK, resp)
}

// await returns the desired state once it differs from the agent's digest,
// or when the poll limit passes.
func (s *Server) await(ctx context.Context, id string, req agentproto.SyncRequest) agentproto.SyncResponse {
	s.hold(id, 1)
	defer s.hold(id, -1)
	limit := time.NewTimer(s.opts.PollTimeout)
	defer limit.Stop()
	for {
		changed := s.store.Changed()
		tasks := s.desired(id)
		digest := agentproto.Digest(tasks)
		resp := agentproto.SyncResponse{Digest: digest, PollSeconds: int(s.opts.PollTimeout / time.Second)}
		if digest != req.Digest {
			resp.Changed, resp.Tasks = true, tasks
			return resp
		}
		if !req.Wait {
			return resp
		}
		select {
		case <-changed:
		case <-limit.C:
			return resp
		case <-ctx.Done():
			return resp
		}
	}
}

// desired lists the tasks placed on a host that it must run or stop: every
// one not yet STOPPED.
func (s *Server) desired(id string) []agentproto.Task {
	var out []agentproto.Task
	for _, it := range s.store.Tasks.By(store.ByHost, id) {
		rec := it.Value
		if !rec.Holds() {
			continue
		}
		td, ok := s.definition(rec.Task.TaskDefinitionArn)
		if !ok {
			s.log.Error("task references a task definition that is gone", "task", rec.Task.TaskArn, "taskDefinition", rec.Task.TaskDefinitionArn)
			continue
		}
		t := agentproto.Task{
			TaskArn:       rec.Task.TaskArn,
			ClusterArn:    rec.Task.ClusterArn,
			DesiredStatus: rec.Task.DesiredStatus,
			LaunchType:    rec.Task.LaunchType,
			Definition:    *td,
			Network:       rec.Network,
		}
		if rec.Task.Overrides != nil {
			t.Overrides = *rec.Task.Overrides
		}
		out = append(out, t)
	}
	return out
}

func (s *Server) definition(arn string) (*ecs.TaskDefinition, bool) {
	parsed, ok := ecs.ParseARN(arn)
	if !ok {
		return nil, false
	}
	family, rev, _ := strings.Cut(parsed.Resource, ":")
	n, err := strconv.ParseInt(rev, 10, 32)
	if err != nil {
		return nil, false
	}
	it, ok := s.store.TaskDefinitions.Get(store.TaskDefinitionKey(family, int32(n)))
	if !ok {
		return nil, false
	}
	return &it.Value.TaskDefinition, true
}

// record merges one observation into its task record. Observations of
// tasks placed elsewhere, unknown or already STOPPED change nothing.
func (s *Server) record(ctx context.Context, hostID string, obs agentproto.TaskState) error {
	key, ok := taskKey(obs.TaskArn)
	if !ok {
		return nil
	}
	it, ok := s.store.Tasks.Get(key)
	if !ok || it.Value.HostID != hostID || !it.Value.Holds() {
		return nil
	}
	if probe, _ := store.Clone(it.Value); !merge(probe, obs, s.opts.Now()) {
		return nil
	}
	_, err := s.store.Tasks.Update(ctx, key, func(rec *store.TaskRecord) error {
		if rec.HostID == hostID {
			merge(rec, obs, s.opts.Now())
		}
		return nil
	})
	if err == store.ErrNotFound {
		return nil
	}
	return err
}

// taskKey is the store key of a task ARN: "<cluster>/<id>".
func taskKey(arn string) (string, bool) {
	parsed, ok := ecs.ParseARN(arn)
	if !ok || parsed.Type != "task" || strings.Count(parsed.Resource, "/") != 1 {
		return "", false
	}
	return parsed.Resource, true
}
