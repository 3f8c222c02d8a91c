// Package controller holds the control plane's background loops: they own
// goroutines and timing, and act on the difference between desired and
// observed state. They are safe to stop and restart at any moment.
package controller

import (
	"context"
	"log/slog"
	"time"

	"github.com/gantry-dev/gantry/internal/store"
)

// Retention removes STOPPED tasks once they have been stopped for longer
// than Keep, in batches, so history stays bounded.
type Retention struct {
	Store    *store.Store
	Keep     time.Duration // at least ECS's hour
	Interval time.Duration // defaults to a minute
	Now      func() time.Time
	Logger   *slog.Logger
}

const pruneBatch = 100

// Run prunes until ctx ends.
func (r *Retention) Run(ctx context.Context) {
	if r.Interval == 0 {
		r.Interval = time.Minute
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	tick := time.NewTicker(r.Interval)
	defer tick.Stop()
	for {
		if n, err := r.Prune(ctx); err != nil && ctx.Err() == nil {
			r.Logger.Warn("pruning stopped tasks failed", "err", err)
		} else if n > 0 {
			r.Logger.Info("pruned stopped tasks", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Prune deletes every task stopped before Now−Keep and returns how many.
// A task that changed meanwhile is left for the next round.
func (r *Retention) Prune(ctx context.Context) (int, error) {
	cutoff := r.Now().Add(-r.Keep)
	var writes []store.Write
	r.Store.Tasks.Ascend("", func(it *store.Item[store.TaskRecord]) bool {
		t := &it.Value.Task
		if !it.Value.Holds() && !t.StoppedAt.IsZero() && t.StoppedAt.Before(cutoff) {
			writes = append(writes, r.Store.Tasks.Delete(it.Key, it.ModRevision))
		}
		return true
	})
	pruned := 0
	for len(writes) > 0 {
		batch := writes[:min(pruneBatch, len(writes))]
		writes = writes[len(batch):]
		if _, err := r.Store.Commit(ctx, batch...); err == store.ErrConflict {
			continue
		} else if err != nil {
			return pruned, err
		}
		pruned += len(batch)
	}
	return pruned, nil
}
