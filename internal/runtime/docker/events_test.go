package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/moby/api/types/events"

	"github.com/gantry-dev/gantry/internal/runtime"
)

func message(id, action string, at time.Time, attrs map[string]string) events.Message {
	return events.Message{
		Type: events.ContainerEventType, Action: events.Action(action),
		Actor:    events.Actor{ID: id, Attributes: attrs},
		Time:     at.Unix(),
		TimeNano: at.UnixNano(),
	}
}

func TestFromMessage(t *testing.T) {
	at := time.Unix(1700000000, 5)
	attrs := map[string]string{"name": "web", "image": "busybox", "exitCode": "3", "gantry.task-arn": "arn"}
	tests := []struct {
		action string
		want   runtime.Event
		ok     bool
	}{
		{"start", runtime.Event{Type: runtime.EventStart}, true},
		{"die", runtime.Event{Type: runtime.EventDie, ExitCode: 3}, true},
		{"oom", runtime.Event{Type: runtime.EventOOM}, true},
		{"destroy", runtime.Event{Type: runtime.EventDestroy}, true},
		{"health_status: healthy", runtime.Event{Type: runtime.EventHealth, Health: runtime.HealthHealthy}, true},
		{"health_status: unhealthy", runtime.Event{Type: runtime.EventHealth, Health: runtime.HealthUnhealthy}, true},
		{"health_status: running", runtime.Event{}, false},
		{"exec_start: sh", runtime.Event{}, false},
	}
	for _, tt := range tests {
		got, ok := fromMessage(message("c1", tt.action, at, attrs))
		if ok != tt.ok {
			t.Errorf("%q: ok = %v, want %v", tt.action, ok, tt.ok)
		}
		if !ok {
			continue
		}
		want := tt.want
		want.ContainerID, want.Name, want.Time = "c1", "web", at
		want.Labels = map[string]string{"gantry.task-arn": "arn"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.action, diff)
		}
	}
}

// fakeEngine speaks just enough of the Engine API for the event stream: the
// first subscription sends one event and breaks; later ones replay it (which
// must be dropped), send another, and stay open.
type fakeEngine struct {
	first events.Message
	next  events.Message

	mu      sync.Mutex
	queries []string // "since" of each subscription
	filters []string
}

func (f *fakeEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/_ping":
		w.Header().Set("Api-Version", "1.41")
		fmt.Fprint(w, "OK")
	case strings.HasSuffix(r.URL.Path, "/events"):
		f.mu.Lock()
		f.queries = append(f.queries, r.URL.Query().Get("since"))
		f.filters = append(f.filters, r.URL.Query().Get("filters"))
		n := len(f.queries)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		_ = enc.Encode(f.first)
		if n == 1 {
			return // the stream breaks
		}
		_ = enc.Encode(f.next)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	default:
		http.NotFound(w, r)
	}
}

func TestEventsReconnect(t *testing.T) {
	now := time.Now()
	labels := map[string]string{"name": "web", runtime.LabelManaged: "true"}
	engine := &fakeEngine{
		first: message("c1", "start", now.Add(time.Second), labels),
		next:  message("c1", "die", now.Add(2*time.Second), map[string]string{"name": "web", "exitCode": "3"}),
	}
	srv := httptest.NewServer(engine)
	defer srv.Close()
	r, err := New(Options{Host: "tcp://" + srv.Listener.Addr().String(), CallTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	ch := r.Events(ctx)
	var got []string
	for ev := range ch {
		got = append(got, fmt.Sprintf("%v %s %d", ev.Type, ev.ContainerID, ev.ExitCode))
		if ev.Type == runtime.EventDie {
			break
		}
	}
	want := []string{"start c1 0", "resync  0", "die c1 3"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	cancel()
	for range ch { // the channel closes when ctx ends
	}

	engine.mu.Lock()
	defer engine.mu.Unlock()
	if len(engine.queries) < 2 {
		t.Fatalf("subscriptions: %v", engine.queries)
	}
	at := now.Add(time.Second)
	if wantSince := fmt.Sprintf("%d.%09d", at.Unix(), at.Nanosecond()); engine.queries[1] != wantSince {
		t.Errorf("resubscribed with since=%s, want the last event's time %s", engine.queries[1], wantSince)
	}
	if f := engine.filters[0]; !strings.Contains(f, runtime.LabelManaged) || !strings.Contains(f, `"container"`) {
		t.Errorf("filters = %s; want managed containers only", f)
	}
}
