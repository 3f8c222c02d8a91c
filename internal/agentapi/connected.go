package agentapi

import (
	"context"
	"time"

	"github.com/gantry-dev/gantry/internal/store"
)

func (s *Server) touch(id string) {
	s.mu.Lock()
	s.lastSeen[id] = s.opts.Now()
	s.mu.Unlock()
}

func (s *Server) hold(id string, delta int) {
	s.mu.Lock()
	s.holding[id] += delta
	if s.holding[id] <= 0 {
		delete(s.holding, id)
	}
	s.mu.Unlock()
}

// silent reports whether an agent has not been heard from for too long.
// A server that never heard from it counts from its own start.
func (s *Server) silent(id string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holding[id] > 0 {
		return false
	}
	seen, ok := s.lastSeen[id]
	if !ok {
		s.lastSeen[id] = now
		return false
	}
	return now.Sub(seen) > s.opts.DisconnectAfter
}

func (s *Server) markConnected(ctx context.Context, h host, connected bool) error {
	if h.item.Value.Instance.AgentConnected == connected {
		return nil
	}
	_, err := h.table.Update(ctx, h.item.Key, func(rec *store.InstanceRecord) error {
		if rec.Instance.Status == statusInactive && connected {
			return nil
		}
		rec.Instance.AgentConnected = connected
		rec.Instance.Version++
		return nil
	})
	if err == store.ErrNotFound {
		return nil
	}
	return err
}

// Run marks agents that went silent as disconnected until ctx ends. Only
// instances whose agents are gone stop being placement candidates; their
// tasks are left as they are, as in ECS.
func (s *Server) Run(ctx context.Context) {
	tick := time.NewTicker(s.opts.DisconnectAfter / 6)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		s.sweep(ctx)
	}
}

func (s *Server) sweep(ctx context.Context) {
	now := s.opts.Now()
	for _, table := range []*store.Table[store.InstanceRecord]{s.store.Instances, s.store.Capacity} {
		var lost []host
		table.Ascend("", func(it *store.Item[store.InstanceRecord]) bool {
			if it.Value.Instance.AgentConnected && s.silent(it.Value.ID, now) {
				lost = append(lost, host{table, it})
			}
			return true
		})
		for _, h := range lost {
			s.log.Warn("agent disconnected", "instance", h.item.Value.Instance.ContainerInstanceArn,
				"silent_for", s.opts.DisconnectAfter.String())
			if err := s.markConnected(ctx, h, false); err != nil && ctx.Err() == nil {
				s.log.Error("mark agent disconnected", "err", err)
			}
		}
	}
}
