package controller

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/internal/placement"
	"github.com/gantry-dev/gantry/internal/store"
)

// Batching limits. A transaction stays within etcd's default limits (128
// operations, 1.5 MiB per request) so an external cluster accepts it too.
const (
	maxBatchJobs     = 512
	maxTxnOps        = 120 // compares: one per task created and per instance checked
	maxTxnBytes      = 1 << 20
	maxCommits       = 4 // transactions in flight; more queue into the next batch
	maxPlaceAttempts = 20
)

// ReasonFargate is the failure when no Fargate capacity can take a task.
const ReasonFargate = "RESOURCE:FARGATE"

// ErrNoInstances means a cluster has no registered container instances.
var ErrNoInstances = errors.New("no container instances are registered in the cluster")

// Placement asks the scheduler for tasks.
type Placement struct {
	Cluster string
	Fargate bool // on Fargate capacity rather than the cluster's instances
	Request placement.Request
	// Hosts, when set, are the instance IDs to start one task on each,
	// as StartTask asks; Request.Count is then ignored.
	Hosts []string
	// Build makes the record of one task placed on host. It runs inside
	// the scheduler and must not block.
	Build func(host *store.InstanceRecord) *store.TaskRecord
}

// Result is what the scheduler did with a Placement: the tasks committed
// and, for those it could not place, the reasons.
type Result struct {
	Tasks    []*store.TaskRecord
	Failures []placement.Failure
}

// Scheduler places tasks. It keeps a ledger of every host fed by the
// store's watch, places whatever requests are queued as one batch against
// it, and commits the batch in as few transactions as etcd allows, so many
// concurrent RunTask calls cost a few round trips. Only this loop creates
// tasks, so it never promises the same resources twice; each transaction
// also checks that the instances it uses did not change meanwhile.
type Scheduler struct {
	store *store.Store
	log   *slog.Logger
	queue chan *job
	slots chan struct{}
	done  chan struct{} // closed when Run returns

	mu  sync.Mutex // guards ledger and rng
	l   *ledger
	rng *rand.Rand
}

type job struct {
	p     *Placement
	reply chan reply
	// plan, filled while placing
	tasks    []*store.TaskRecord
	keys     []string
	failures []placement.Failure
	checks   []store.Write
	err      error
	// writes, made when the plan is committed
	writes []store.Write
	size   int
}

type reply struct {
	res *Result
	err error
}

// NewScheduler builds the ledger from the store's cache and keeps it
// current. seed fixes the random choices, for tests; 0 seeds from the clock.
func NewScheduler(st *store.Store, log *slog.Logger, seed uint64) *Scheduler {
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Scheduler{
		store: st,
		log:   log,
		queue: make(chan *job, maxBatchJobs),
		slots: make(chan struct{}, maxCommits),
		done:  make(chan struct{}),
		l:     newLedger(),
		rng:   rand.New(rand.NewPCG(seed, seed>>1|1)),
	}
	hostObserver := func(capacity bool) func(old, cur *store.Item[store.InstanceRecord]) {
		return func(old, cur *store.Item[store.InstanceRecord]) {
			s.mu.Lock()
			defer s.mu.Unlock()
			if cur == nil {
				s.l.deleteHost(old.Value.ID)
				return
			}
			s.l.putHost(cur, capacity)
		}
	}
	st.Instances.Observe(hostObserver(false))
	st.Capacity.Observe(hostObserver(true))
	st.Tasks.Observe(func(old, cur *store.Item[store.TaskRecord]) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if cur == nil {
			s.l.putTask(old.Key, nil)
			return
		}
		s.l.putTask(cur.Key, cur.Value)
	})
	return s
}

// ErrStopped means the scheduler is not running.
var ErrStopped = errors.New("the scheduler has stopped")

// Place queues p and waits for its answer.
func (s *Scheduler) Place(ctx context.Context, p *Placement) (*Result, error) {
	j := &job{p: p, reply: make(chan reply, 1)}
	select {
	case s.queue <- j:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.done:
		return nil, ErrStopped
	}
	select {
	case r := <-j.reply:
		return r.res, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.done:
		return nil, ErrStopped
	}
}

// Run places queued requests until ctx ends. While transactions are in
// flight, new requests gather into the next batch.
func (s *Scheduler) Run(ctx context.Context) {
	var commits sync.WaitGroup
	defer close(s.done)
	defer commits.Wait()
	for {
		var first *job
		select {
		case <-ctx.Done():
			return
		case first = <-s.queue:
		}
		select {
		case s.slots <- struct{}{}:
		case <-ctx.Done():
			first.reply <- reply{err: ctx.Err()}
			return
		}
		batch := s.drain(first)
		s.planAll(batch)
		commits.Go(func() {
			defer func() { <-s.slots }()
			s.commit(ctx, batch)
		})
	}
}

func (s *Scheduler) drain(first *job) []*job {
	batch := []*job{first}
	for len(batch) < maxBatchJobs {
		select {
		case j := <-s.queue:
			batch = append(batch, j)
		default:
			return batch
		}
	}
	return batch
}

// planAll places every job of a batch against the ledger, in order.
func (s *Scheduler) planAll(batch []*job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range batch {
		s.plan(j)
	}
}

// plan places one job and records its tasks in the ledger as held.
func (s *Scheduler) plan(j *job) {
	j.tasks, j.keys, j.failures, j.checks, j.err, j.writes = nil, nil, nil, nil, nil, nil
	p := j.p
	var entries []*hostEntry
	if len(p.Hosts) > 0 {
		entries = s.targets(j)
	} else {
		entries = s.l.candidates(p.Cluster, p.Fargate)
		if !p.Fargate && len(entries) == 0 && s.l.registered(p.Cluster) == 0 {
			j.err = ErrNoInstances
			return
		}
	}
	req := p.Request
	if len(p.Hosts) > 0 {
		req.Count = 1
	}
	hold := req.Holding()
	seen := map[string]bool{}
	place := func(hs []*hostEntry) {
		hosts := make([]*placement.Host, len(hs))
		for i, e := range hs {
			hosts[i] = e.host
		}
		chosen, failures := placement.Place(hosts, &req, s.rng)
		j.failures = append(j.failures, failures...)
		for _, h := range chosen {
			e := s.l.hosts[h.ID]
			rec := p.Build(e.record)
			key := taskKey(p.Cluster, rec.Task.TaskArn)
			// Place took the request's holding; the ledger keeps the
			// record's, which is what the watch will report.
			h.Release(hold)
			s.l.take(key, holdOf(rec))
			j.tasks, j.keys = append(j.tasks, rec), append(j.keys, key)
			if !seen[e.key] {
				seen[e.key] = true
				j.checks = append(j.checks, s.unchanged(e))
			}
		}
	}
	if len(p.Hosts) > 0 {
		for _, e := range entries {
			place([]*hostEntry{e})
		}
	} else {
		place(entries)
	}
	if p.Fargate && len(j.tasks) < req.Count {
		j.failures = []placement.Failure{{Reason: ReasonFargate}}
	}
}

// targets are the hosts a StartTask names; unknown ones fail as MISSING.
func (s *Scheduler) targets(j *job) []*hostEntry {
	var out []*hostEntry
	for _, id := range j.p.Hosts {
		e, ok := s.l.hosts[id]
		if !ok || e.capacity {
			j.failures = append(j.failures, placement.Failure{ARN: id, Reason: "MISSING"})
			continue
		}
		out = append(out, e)
	}
	return out
}

func (s *Scheduler) unchanged(e *hostEntry) store.Write {
	if e.capacity {
		return s.store.Capacity.Unchanged(e.key, e.modRev)
	}
	return s.store.Instances.Unchanged(e.key, e.modRev)
}

// unplan takes a job's tasks back out of the ledger.
func (s *Scheduler) unplan(j *job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, key := range j.keys {
		if h, ok := s.l.holds[key]; ok {
			s.l.release(key, h)
		}
	}
}

// commit writes a batch in transactions of whole jobs, concurrently so
// etcd can group them into one disk write, and answers each job.
func (s *Scheduler) commit(ctx context.Context, batch []*job) {
	var txns sync.WaitGroup
	var chunk []*job
	ops, size := 0, 0
	flush := func() {
		if len(chunk) > 0 {
			c := chunk
			txns.Go(func() { s.commitChunk(ctx, c) })
		}
		chunk, ops, size = nil, 0, 0
	}
	for _, j := range batch {
		if j.err != nil || len(j.tasks) == 0 {
			s.answer([]*job{j}, nil)
			continue
		}
		j.encode(s.store)
		n, b := len(j.writes), j.size
		if ops+n > maxTxnOps || size+b > maxTxnBytes {
			flush()
		}
		chunk = append(chunk, j)
		ops, size = ops+n, size+b
	}
	flush()
	txns.Wait()
}

// commitChunk commits some jobs in one transaction. When an instance they
// use changed meanwhile, each job is placed again against the fresh ledger
// and committed on its own, so a busy cluster cannot starve a batch.
func (s *Scheduler) commitChunk(ctx context.Context, jobs []*job) {
	err := s.commitJobs(ctx, jobs)
	if !errors.Is(err, store.ErrConflict) {
		s.answer(jobs, err)
		return
	}
	var retries sync.WaitGroup
	for _, j := range jobs {
		retries.Go(func() {
			for attempt := 2; ; attempt++ {
				s.log.Debug("placement met an instance change; placing again", "attempt", attempt)
				s.planAll([]*job{j})
				if j.err != nil || len(j.tasks) == 0 {
					s.answer([]*job{j}, nil)
					return
				}
				err := s.commitJobs(ctx, []*job{j})
				if !errors.Is(err, store.ErrConflict) || attempt == maxPlaceAttempts {
					s.answer([]*job{j}, err)
					return
				}
			}
		})
	}
	retries.Wait()
}

// commitJobs writes the jobs' tasks in one transaction; on failure their
// tasks leave the ledger.
func (s *Scheduler) commitJobs(ctx context.Context, jobs []*job) error {
	var writes []store.Write
	for _, j := range jobs {
		if j.writes == nil {
			j.encode(s.store)
		}
		writes = append(writes, j.writes...)
	}
	_, err := s.store.Commit(ctx, writes...)
	if err != nil {
		for _, j := range jobs {
			s.unplan(j)
		}
	}
	return err
}

// answer replies to each job: its plan, or err.
func (s *Scheduler) answer(jobs []*job, err error) {
	for _, j := range jobs {
		if err != nil {
			j.reply <- reply{err: err}
		} else {
			j.reply <- j.answer()
		}
	}
}

// encode makes the job's writes: its tasks, and the checks that the
// instances it chose are as the plan saw them.
func (j *job) encode(st *store.Store) {
	j.writes, j.size = make([]store.Write, 0, len(j.tasks)+len(j.checks)), 0
	for i, rec := range j.tasks {
		w := st.Tasks.Create(j.keys[i], rec)
		j.writes, j.size = append(j.writes, w), j.size+w.Size()
	}
	j.writes = append(j.writes, j.checks...)
}

func (j *job) answer() reply {
	if j.err != nil {
		return reply{err: j.err}
	}
	return reply{res: &Result{Tasks: j.tasks, Failures: j.failures}}
}
