package sim

import (
	"context"
	"maps"
	"sync"

	"github.com/gantry-dev/gantry/internal/runtime"
)

// subscriber queues events for one Events channel without bounding the
// queue, so a slow consumer never holds up the simulated host.
type subscriber struct {
	mu    sync.Mutex
	queue []runtime.Event
	kick  chan struct{} // capacity 1: "the queue is not empty"
}

func (s *subscriber) push(ev runtime.Event) {
	s.mu.Lock()
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *subscriber) drain() []runtime.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queue
	s.queue = nil
	return q
}

// Events streams every change of every container from now on until ctx
// ends. The simulated engine never breaks, so there is no EventResync.
func (r *Runtime) Events(ctx context.Context) <-chan runtime.Event {
	s := &subscriber{kick: make(chan struct{}, 1)}
	r.mu.Lock()
	r.subs[s] = struct{}{}
	r.mu.Unlock()
	out := make(chan runtime.Event)
	go func() {
		defer close(out)
		defer func() {
			r.mu.Lock()
			delete(r.subs, s)
			r.mu.Unlock()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.kick:
			}
			for _, ev := range s.drain() {
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

// emit sends ev about c to every subscriber; r.mu is held.
func (r *Runtime) emit(c *simContainer, ev runtime.Event) {
	if len(r.subs) == 0 {
		return
	}
	ev.ContainerID, ev.Name, ev.Time = c.c.ID, c.c.Name, r.clock.Now()
	ev.Labels = maps.Clone(c.c.Labels)
	for s := range r.subs {
		s.push(ev)
	}
}
