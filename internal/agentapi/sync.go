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
	if err := s.record(r.Context(), id, req.Tasks); err != nil {
		s.fail(w, err)
		return
	}
	resp, err := s.await(r, id, req)
	s.touch(id)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// await returns the desired state once it differs from the agent's digest,
// or when the poll limit passes. It sleeps until the store reports a change
// to this host's desired state, and fails if the host was deregistered
// meanwhile.
func (s *Server) await(r *http.Request, id string, req agentproto.SyncRequest) (agentproto.SyncResponse, error) {
	s.hold(id, 1)
	defer s.hold(id, -1)
	if !req.Wait {
		return s.answer(id, &req), nil
	}
	s.waits.join(id)
	defer s.waits.leave(id)
	limit := time.NewTimer(s.opts.PollTimeout)
	defer limit.Stop()
	ctx := r.Context()
	for {
		next := s.waits.next(id)
		resp := s.answer(id, &req)
		if resp.Changed {
			return resp, nil
		}
		if !sleep(ctx, next.fired, limit.C) || !sleep(ctx, next.cached, limit.C) {
			return resp, nil
		}
		if _, err := s.authenticate(r); err != nil {
			return resp, err
		}
	}
}

// sleep waits for ch, and reports false if the poll limit passed or the
// agent went away first.
func sleep(ctx context.Context, ch <-chan struct{}, limit <-chan time.Time) bool {
	select {
	case <-ch:
		return true
	case <-limit:
		return false
	case <-ctx.Done():
		return false
	}
}

// answer is the desired state for host id, with its tasks when it differs
// from digest.
func (s *Server) answer(id string, req *agentproto.SyncRequest) agentproto.SyncResponse {
	digest := req.Digest
	tasks, rev := s.desired(id, req.Revision)
	resp := agentproto.SyncResponse{Digest: agentproto.Digest(tasks), Revision: rev, PollSeconds: int(s.opts.PollTimeout / time.Second)}
	if resp.Digest != digest {
		resp.Changed, resp.Tasks = true, tasks
		resp.Pack()
	}
	return resp
}

// desired lists the tasks placed on a host that it must run or stop: every
// one not yet STOPPED. taskChanged must wake a host whenever what this
// reads of a task changes the digest.
func (s *Server) desired(id string, held int64) ([]agentproto.Task, int64) {
	items, rev := s.store.Tasks.ByRevision(store.ByHost, id)
	out := make([]agentproto.Task, 0, len(items))
	for _, it := range items {
		rec := it.Value
		if !rec.Holds() {
			continue
		}
		// The answer at revision held listed every task created by then.
		if held > 0 && it.CreateRevision <= held && held <= rev {
			out = append(out, agentproto.Task{TaskArn: rec.Task.TaskArn, DesiredStatus: rec.Task.DesiredStatus, Known: true})
			continue
		}
		td, key, ok := s.definition(rec.Task.TaskDefinitionArn)
		if !ok {
			s.log.Error("task references a task definition that is gone", "task", rec.Task.TaskArn, "taskDefinition", rec.Task.TaskDefinitionArn)
			if key != "" {
				s.waits.lacks(key, id)
			}
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
	return out, rev
}

// definition finds a task definition by ARN, and names its store key when
// the ARN has one.
func (s *Server) definition(arn string) (*ecs.TaskDefinition, string, bool) {
	parsed, ok := ecs.ParseARN(arn)
	if !ok {
		return nil, "", false
	}
	family, rev, _ := strings.Cut(parsed.Resource, ":")
	n, err := strconv.ParseInt(rev, 10, 32)
	if err != nil {
		return nil, "", false
	}
	key := store.TaskDefinitionKey(family, int32(n))
	it, ok := s.store.TaskDefinitions.Get(key)
	if !ok {
		return nil, key, false
	}
	return &it.Value.TaskDefinition, key, true
}

// taskKey is the store key of a task ARN: "<cluster>/<id>".
func taskKey(arn string) (string, bool) {
	parsed, ok := ecs.ParseARN(arn)
	if !ok || parsed.Type != "task" || strings.Count(parsed.Resource, "/") != 1 {
		return "", false
	}
	return parsed.Resource, true
}
