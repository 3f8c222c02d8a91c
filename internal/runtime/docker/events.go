package docker

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"

	"github.com/gantry-dev/gantry/internal/runtime"
)

// Reconnection back-off of the event stream.
const (
	minEventBackoff = 100 * time.Millisecond
	maxEventBackoff = 5 * time.Second
)

// eventAttributes are the attributes of a container event that are not
// labels.
var eventAttributes = map[string]bool{"name": true, "image": true, "exitCode": true, "signal": true, "execDuration": true}

// Events streams events of managed containers until ctx ends, resubscribing
// with `since` when the stream breaks.
func (r *Runtime) Events(ctx context.Context) <-chan runtime.Event {
	out := make(chan runtime.Event, 64)
	// Subscribing takes a round trip; starting from now (the engine replays
	// its recent events) loses nothing that happens meanwhile.
	d := &dedup{since: time.Now(), atLast: make(map[string]struct{})}
	go r.streamEvents(ctx, d, out)
	return out
}

func (r *Runtime) streamEvents(ctx context.Context, d *dedup, out chan<- runtime.Event) {
	defer close(out)
	filters := make(client.Filters).
		Add("type", string(events.ContainerEventType)).
		Add("label", runtime.LabelManaged).
		Add("event", "start", "die", "oom", "health_status", "destroy")
	backoff := minEventBackoff
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if attempt > 0 {
			if !r.awaitEngine(ctx, &backoff) {
				return
			}
		}
		res := r.c.Events(ctx, client.EventsListOptions{Since: d.sinceParam(), Filters: filters})
		if attempt > 0 && !send(ctx, out, runtime.Event{Type: runtime.EventResync, Time: time.Now()}) {
			return
		}
		err := r.forward(ctx, res, d, out)
		if ctx.Err() != nil {
			return
		}
		r.log.WarnContext(ctx, "docker event stream broke; reconnecting", "err", err)
	}
}

// awaitEngine waits out the back-off and until the engine answers a ping.
func (r *Runtime) awaitEngine(ctx context.Context, backoff *time.Duration) bool {
	for {
		t := time.NewTimer(*backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		*backoff = min(*backoff*2, maxEventBackoff)
		pctx, cancel := r.call(ctx)
		_, err := r.c.Ping(pctx, client.PingOptions{})
		cancel()
		if err == nil {
			*backoff = minEventBackoff
			return true
		}
		if ctx.Err() != nil {
			return false
		}
	}
}

// forward relays one subscription's events until it fails.
func (r *Runtime) forward(ctx context.Context, res client.EventsResult, d *dedup, out chan<- runtime.Event) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-res.Err:
			if err == nil {
				err = fmt.Errorf("event stream ended")
			}
			return err
		case msg := <-res.Messages:
			if !d.fresh(msg) {
				continue
			}
			ev, ok := fromMessage(msg)
			if ok && !send(ctx, out, ev) {
				return ctx.Err()
			}
		}
	}
}

func send(ctx context.Context, out chan<- runtime.Event, ev runtime.Event) bool {
	select {
	case out <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

func fromMessage(msg events.Message) (runtime.Event, bool) {
	ev := runtime.Event{
		ContainerID: msg.Actor.ID,
		Name:        msg.Actor.Attributes["name"],
		Labels:      make(map[string]string, len(msg.Actor.Attributes)),
		Time:        messageTime(msg),
	}
	for k, v := range msg.Actor.Attributes {
		if !eventAttributes[k] {
			ev.Labels[k] = v
		}
	}
	action := string(msg.Action)
	switch {
	case action == "start":
		ev.Type = runtime.EventStart
	case action == "die":
		ev.Type = runtime.EventDie
		ev.ExitCode, _ = strconv.Atoi(msg.Actor.Attributes["exitCode"])
	case action == "oom":
		ev.Type = runtime.EventOOM
	case action == "destroy":
		ev.Type = runtime.EventDestroy
	case strings.HasPrefix(action, "health_status"):
		ev.Type = runtime.EventHealth
		_, status, _ := strings.Cut(action, ":")
		ev.Health = health(container.HealthStatus(strings.TrimSpace(status)))
		if ev.Health == runtime.HealthNone {
			return ev, false
		}
	default:
		return ev, false
	}
	return ev, true
}

func messageTime(msg events.Message) time.Time {
	if msg.TimeNano != 0 {
		return time.Unix(0, msg.TimeNano)
	}
	return time.Unix(msg.Time, 0)
}

// dedup remembers where the stream got to, so a resubscription starts there
// and drops what it already relayed.
type dedup struct {
	since  time.Time           // time of the last event relayed (or of the first subscription)
	atLast map[string]struct{} // events relayed with exactly that time
}

func (d *dedup) sinceParam() string {
	return fmt.Sprintf("%d.%09d", d.since.Unix(), d.since.Nanosecond())
}

func (d *dedup) fresh(msg events.Message) bool {
	t := messageTime(msg)
	key := msg.Actor.ID + "/" + string(msg.Action)
	switch {
	case t.Before(d.since):
		return false
	case t.Equal(d.since):
		if _, seen := d.atLast[key]; seen {
			return false
		}
	default:
		d.since = t
		d.atLast = make(map[string]struct{})
	}
	d.atLast[key] = struct{}{}
	return true
}
