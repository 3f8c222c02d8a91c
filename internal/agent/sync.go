package agent

import (
	"context"
	"errors"
	"time"

	"github.com/gantry-dev/gantry/internal/agentproto"
	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/runtime"
)

// adoptable finds the containers this instance made before a restart,
// grouped by task ARN.
func (a *Agent) adoptable(ctx context.Context) (map[string][]runtime.Container, error) {
	a.mu.Lock()
	id := a.instanceID
	a.mu.Unlock()
	b := newBackoff()
	for {
		cs, err := a.rt.List(ctx, map[string]string{LabelInstance: id})
		if err == nil {
			byTask := map[string][]runtime.Container{}
			for _, c := range cs {
				arn := c.Labels[runtime.LabelTaskARN]
				byTask[arn] = append(byTask[arn], c)
			}
			return byTask, nil
		}
		a.log.Warn("list containers failed; retrying", "err", err)
		if !b.wait(ctx) {
			return nil, ctx.Err()
		}
	}
}

// dispatch hands each runtime event to the runner of the task it belongs
// to; a resync goes to every runner.
func (a *Agent) dispatch(ctx context.Context, events <-chan runtime.Event) {
	for ev := range events {
		a.mu.Lock()
		var targets []*taskRunner
		if ev.Type == runtime.EventResync {
			for _, r := range a.runners {
				targets = append(targets, r)
			}
		} else if r, ok := a.runners[ev.Labels[runtime.LabelTaskARN]]; ok {
			targets = append(targets, r)
		}
		a.mu.Unlock()
		for _, r := range targets {
			r.HandleEvent(ev)
		}
	}
}

func (a *Agent) notify() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// pollLoop long-polls for the desired state. Its first sync adopts the
// containers found at start.
func (a *Agent) pollLoop(ctx context.Context, info runtime.HostInfo, adopted map[string][]runtime.Container) error {
	b := newBackoff()
	first := true
	for ctx.Err() == nil {
		err := a.syncOnce(ctx, !first, adopted)
		if err == nil {
			if first {
				a.dropOrphans(ctx, adopted)
			}
			first = false
			b.reset()
			continue
		}
		if err := a.recover(ctx, err, info); err != nil {
			return err
		}
		if !b.wait(ctx) {
			break
		}
	}
	return ctx.Err()
}

// reportLoop sends what the runners observe as soon as it changes.
func (a *Agent) reportLoop(ctx context.Context, info runtime.HostInfo) error {
	b := newBackoff()
	<-a.registered
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-a.wake:
		}
		// Coalesce a burst of changes into one report.
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := a.syncOnce(ctx, false, nil); err != nil {
			if err := a.recover(ctx, err, info); err != nil {
				return err
			}
			a.notify()
			if !b.wait(ctx) {
				return ctx.Err()
			}
			continue
		}
		b.reset()
	}
}

// recover handles a failed sync: a refused token means registering again,
// a deregistered instance ends the agent, anything else is retried.
func (a *Agent) recover(ctx context.Context, err error, info runtime.HostInfo) error {
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, ErrDeregistered):
		a.log.Error("this container instance was deregistered; the agent stops and leaves its containers running", "err", err)
		return err
	case errors.Is(err, errUnauthorized):
		a.log.Warn("instance token refused; registering again", "err", err)
		return a.registerWithRetry(ctx, info)
	}
	a.log.Warn("sync failed; retrying", "err", err)
	return nil
}

// syncOnce reports the runner states the server has not heard yet and
// applies the desired state it answers with. Runners that finished and
// whose final state was delivered are forgotten.
func (a *Agent) syncOnce(ctx context.Context, wait bool, adopted map[string][]runtime.Container) error {
	a.mu.Lock()
	req := &agentproto.SyncRequest{Digest: a.digest, Revision: a.revision, Wait: wait, Tasks: []agentproto.TaskState{}}
	token := a.token
	var finished []string
	sent := map[string]int{}
	for arn, r := range a.runners {
		if st, v := r.StateVersion(); v > a.heard[arn] {
			req.Tasks = append(req.Tasks, st)
			sent[arn] = v
		}
		select {
		case <-r.Done():
			finished = append(finished, arn)
		default:
		}
	}
	a.mu.Unlock()
	resp, err := a.client.sync(ctx, token, req)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for arn, v := range sent {
		a.heard[arn] = max(a.heard[arn], v)
	}
	for _, arn := range finished {
		delete(a.runners, arn)
		delete(a.heard, arn)
	}
	// An answer older than one already applied would undo it: stop tasks
	// placed meanwhile, or restart ones since stopped.
	if resp.Changed && resp.Revision >= a.revision {
		a.apply(ctx, resp, adopted)
	}
	return nil
}

// apply starts runners for new tasks and passes stops on; a task the
// server no longer lists is stopped too. Callers hold a.mu.
func (a *Agent) apply(ctx context.Context, resp *agentproto.SyncResponse, adopted map[string][]runtime.Container) {
	for _, t := range resp.Tasks {
		if _, ok := a.runners[t.TaskArn]; t.Known && !ok {
			// The server thinks this agent holds a task it does not:
			// forget what was applied, so the next answer is complete.
			a.log.Warn("told of a task as known that this agent does not hold; asking for the whole desired state", "task", t.TaskArn)
			a.digest, a.revision = "", 0
			a.notify()
			return
		}
	}
	a.digest, a.revision = resp.Digest, resp.Revision
	listed := map[string]bool{}
	for _, t := range resp.Tasks {
		listed[t.TaskArn] = true
		if r, ok := a.runners[t.TaskArn]; ok {
			r.Desire(t.DesiredStatus)
			continue
		}
		a.runners[t.TaskArn] = startTask(ctx, a.taskConfig(), t, adopted[t.TaskArn])
		delete(adopted, t.TaskArn)
		if t.DesiredStatus == ecs.TaskStopped {
			a.runners[t.TaskArn].Desire(ecs.TaskStopped)
		}
	}
	for arn, r := range a.runners {
		if !listed[arn] && r.State().LastStatus != ecs.TaskStopped {
			r.Desire(ecs.TaskStopped)
		}
	}
	a.notify()
}

func (a *Agent) taskConfig() taskConfig {
	return taskConfig{
		Runtime:     a.rt,
		InstanceID:  a.instanceID,
		Labels:      a.opts.Labels,
		TaskNetwork: a.opts.TaskNetwork,
		CleanupWait: a.opts.CleanupWait,
		StopTimeout: a.opts.StopTimeout,
		Notify:      a.notify,
		Now:         time.Now,
		Logger:      a.log,
	}
}

// dropOrphans stops containers of tasks the control plane no longer knows
// (they stopped while the agent was away, or were never placed here) and
// removes them after the cleanup wait.
func (a *Agent) dropOrphans(ctx context.Context, adopted map[string][]runtime.Container) {
	a.mu.Lock()
	var orphans []runtime.Container
	for arn, cs := range adopted {
		if _, ok := a.runners[arn]; !ok {
			orphans = append(orphans, cs...)
		}
		delete(adopted, arn)
	}
	a.mu.Unlock()
	for _, c := range orphans {
		a.log.Info("stopping a container whose task is not desired here", "container", c.Name, "task", c.Labels[runtime.LabelTaskARN])
		go func() {
			if err := a.rt.Stop(ctx, c.ID, a.opts.StopTimeout); err != nil && ctx.Err() == nil {
				a.log.Warn("stop orphaned container", "container", c.Name, "err", err)
			}
			select {
			case <-time.After(a.opts.CleanupWait):
				_ = a.rt.Remove(ctx, c.ID)
			case <-ctx.Done():
			}
		}()
	}
}
