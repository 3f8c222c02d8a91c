package controller

import (
	"context"
	"log/slog"
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/store"
)

// ServicesOptions configure the service controller.
type ServicesOptions struct {
	Store    *store.Store
	Launcher Launcher
	ARNs     ecs.ARNs
	Logger   *slog.Logger
	Now      func() time.Time // defaults to time.Now
	// Workers is how many services are reconciled at once (default 4).
	Workers int
	// Resync is how often every service is looked at even when nothing
	// it watches changed (default 30 s): resources freed by other
	// services' tasks can let a failed placement succeed.
	Resync time.Duration
	// RetryPlacement is how soon a service whose tasks could not be
	// placed tries again (default 10 s).
	RetryPlacement time.Duration
}

// Services is the service controller: it keeps every service at its
// desired count and rolls its deployments. It is level-triggered: any
// change to a service, its tasks or its cluster's instances marks the
// service dirty, and a worker asks reconcile what to do with it now.
type Services struct {
	opts ServicesOptions
	log  *slog.Logger

	mu       sync.Mutex
	dirty    map[string]bool // service keys waiting for a worker
	busy     map[string]bool // service keys a worker holds
	timers   map[string]*time.Timer
	ready    chan struct{}              // signalled when dirty gains a key
	clusters map[string]map[string]bool // cluster → service keys
}

// NewServices builds the controller and starts following the store.
func NewServices(opts ServicesOptions) *Services {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Workers == 0 {
		opts.Workers = 4
	}
	if opts.Resync == 0 {
		opts.Resync = 30 * time.Second
	}
	if opts.RetryPlacement == 0 {
		opts.RetryPlacement = 10 * time.Second
	}
	c := &Services{
		opts:     opts,
		log:      opts.Logger,
		dirty:    map[string]bool{},
		busy:     map[string]bool{},
		timers:   map[string]*time.Timer{},
		ready:    make(chan struct{}, 1),
		clusters: map[string]map[string]bool{},
	}
	st := opts.Store
	st.Services.Observe(func(old, cur *store.Item[store.ServiceRecord]) {
		if cur == nil {
			c.forget(old.Key, old.Value.Cluster)
			return
		}
		c.remember(cur.Key, cur.Value.Cluster)
		c.mark(cur.Key)
	})
	st.Tasks.Observe(func(old, cur *store.Item[store.TaskRecord]) {
		switch {
		case cur != nil && cur.Value.Service != "":
			c.mark(cur.Value.Service)
		case cur == nil && old.Value.Service != "":
			c.mark(old.Value.Service)
		}
	})
	st.Instances.Observe(func(old, cur *store.Item[store.InstanceRecord]) {
		if old != nil && cur != nil && !instanceMatters(&old.Value.Instance, &cur.Value.Instance) {
			return
		}
		it := cur
		if it == nil {
			it = old
		}
		c.markCluster(it.Value.Cluster)
	})
	return c
}

// instanceMatters reports whether an instance changed in a way services
// see: its status, its agent's connection, or its attributes.
func instanceMatters(a, b *ecs.ContainerInstance) bool {
	return a.Status != b.Status || a.AgentConnected != b.AgentConnected || !slices.Equal(a.Attributes, b.Attributes)
}

func (c *Services) remember(key, cluster string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.clusters[cluster] == nil {
		c.clusters[cluster] = map[string]bool{}
	}
	c.clusters[cluster][key] = true
}

func (c *Services) forget(key, cluster string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.clusters[cluster], key)
	if t := c.timers[key]; t != nil {
		t.Stop()
		delete(c.timers, key)
	}
}

func (c *Services) mark(key string) {
	c.mu.Lock()
	c.dirty[key] = true
	c.mu.Unlock()
	c.wakeWorkers()
}

func (c *Services) markCluster(cluster string) {
	c.mu.Lock()
	for key := range c.clusters[cluster] {
		c.dirty[key] = true
	}
	c.mu.Unlock()
	c.wakeWorkers()
}

// markAt marks key dirty at t, replacing any earlier wake-up for it that
// is later than t.
func (c *Services) markAt(key string, t time.Time) {
	d := t.Sub(c.opts.Now())
	if d <= 0 {
		c.mark(key)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.timers[key]; old != nil {
		old.Stop()
	}
	c.timers[key] = time.AfterFunc(d, func() { c.mark(key) })
}

// take hands a worker one dirty service no other worker holds.
func (c *Services) take() (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for key := range c.dirty {
		if !c.busy[key] {
			delete(c.dirty, key)
			c.busy[key] = true
			return key, true
		}
	}
	return "", false
}

func (c *Services) release(key string) {
	c.mu.Lock()
	delete(c.busy, key)
	again := c.dirty[key]
	c.mu.Unlock()
	if again {
		c.mark(key)
	}
}

// Run reconciles services until ctx ends. Its goroutines carry the
// profiler label component=services, so a CPU profile shows its cost.
func (c *Services) Run(ctx context.Context) {
	pprof.Do(ctx, pprof.Labels("component", "services"), c.run)
}

func (c *Services) run(ctx context.Context) {
	var wg sync.WaitGroup
	for range c.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.work(ctx)
		}()
	}
	tick := time.NewTicker(c.opts.Resync)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			c.mu.Lock()
			for _, t := range c.timers {
				t.Stop()
			}
			c.mu.Unlock()
			return
		case <-tick.C:
			c.mu.Lock()
			for _, keys := range c.clusters {
				for key := range keys {
					c.dirty[key] = true
				}
			}
			c.mu.Unlock()
			c.wakeWorkers()
		}
	}
}

func (c *Services) wakeWorkers() {
	select {
	case c.ready <- struct{}{}:
	default:
	}
}

func (c *Services) work(ctx context.Context) {
	for {
		key, ok := c.take()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-c.ready:
				continue
			}
		}
		// Another worker may find more to do.
		c.wakeWorkers()
		if err := c.reconcile(ctx, key); err != nil && ctx.Err() == nil {
			c.log.Warn("reconcile service", "service", key, "err", err)
			c.markAt(key, c.opts.Now().Add(time.Second))
		}
		c.release(key)
	}
}
