package agent

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/runtime"
)

// Stop reasons and container reasons, as ECS words them.
const (
	reasonEssentialExited = "Essential container in task exited"
	reasonOOM             = "OutOfMemoryError: Container killed due to memory usage"
	reasonPauseFailed     = "ResourceInitializationError: the task's network namespace container exited"
	maxReason             = 1024 // ECS's limit on reason and stoppedReason
)

// retryable reports whether err may pass by itself: the runner then tries
// the same step again later instead of failing the task.
func retryable(err error) bool { return errors.Is(err, runtime.ErrUnavailable) }

// startErr sorts out an error of a start step: nil when it is the task's
// own failure to record (a container cannot be pulled, created or
// started), errInterrupted when a stop cut it short, and err itself when
// it may pass.
func (r *taskRunner) startErr(err error) error {
	switch {
	case r.startCtx.Err() != nil:
		return errInterrupted
	case retryable(err):
		return err
	}
	return nil
}

// provision readies what the task's containers share: the pause container
// and its network. Then the task is PENDING.
func (r *taskRunner) provision() error {
	if r.reached(ecs.TaskPending) {
		return nil
	}
	if r.plan.needsPause {
		if err := r.ensurePause(); err != nil || r.stopping {
			return err
		}
	}
	r.setStatus(ecs.TaskPending)
	return nil
}

func (r *taskRunner) ensurePause() error {
	ctx := r.startCtx
	if r.pause.id == "" {
		network := runtime.NetworkNone
		if r.plan.networkMode == ecs.NetworkModeAwsvpc {
			var err error
			if network, err = r.taskNetwork(); err != nil {
				if err := r.startErr(err); err != nil {
					return err
				}
				r.failTask("ResourceInitializationError: unable to set up the task network: " + err.Error())
				return nil
			}
		}
		image, err := r.rt.PauseImage(ctx)
		if err != nil {
			if err := r.startErr(err); err != nil {
				return err
			}
			r.failTask("ResourceInitializationError: unable to prepare the pause image: " + err.Error())
			return nil
		}
		id, err := r.create(r.plan.pauseSpec(image, network), pauseContainerName)
		if err != nil {
			if err := r.startErr(err); err != nil {
				return err
			}
			r.failTask(err.Error())
			return nil
		}
		r.pause.id, r.pause.network = id, network
	}
	if r.pause.running {
		return nil
	}
	if err := r.rt.Start(ctx, r.pause.id); err != nil {
		if err := r.startErr(err); err != nil {
			return err
		}
		r.failTask(err.Error())
		return nil
	}
	obs, err := r.rt.Inspect(r.ctx, r.pause.id)
	if err != nil {
		return err
	}
	r.observePause(obs)
	return nil
}

// taskNetwork is the engine network of an awsvpc task: the one named like
// its first subnet when that exists, else the agent's task network.
func (r *taskRunner) taskNetwork() (string, error) {
	if r.plan.subnet != "" {
		n, err := r.rt.InspectNetwork(r.startCtx, r.plan.subnet)
		if err == nil {
			return n.Name, nil
		}
		if !errors.Is(err, runtime.ErrNotFound) {
			return "", err
		}
	}
	n, err := r.rt.EnsureNetwork(r.startCtx, r.cfg.TaskNetwork, labelsFor(r.cfg.Labels))
	if err != nil {
		return "", err
	}
	return n.Name, nil
}

// create creates a container; when the name is taken by the task's own
// container (a create whose answer was lost), it takes that one over.
func (r *taskRunner) create(spec runtime.ContainerSpec, name string) (string, error) {
	id, err := r.rt.Create(r.startCtx, spec)
	if err == nil || !errors.Is(err, runtime.ErrConflict) {
		return id, err
	}
	found, lerr := r.rt.List(r.startCtx, map[string]string{
		runtime.LabelTaskARN: r.plan.arn, runtime.LabelContainerName: name, LabelInstance: r.cfg.InstanceID,
	})
	if lerr != nil {
		return "", lerr
	}
	for _, c := range found {
		if c.Name == spec.Name {
			r.log.Info("took over a container created earlier", "container", name, "id", c.ID)
			return c.ID, nil
		}
	}
	return "", err
}

// prepare makes every image local (pullStartedAt/pullStoppedAt around it)
// and creates the containers, each after those it depends on.
func (r *taskRunner) prepare() error {
	if !r.reached(ecs.TaskPending) {
		return nil
	}
	if err := r.pullImages(); err != nil || r.stopping {
		return err
	}
	for _, c := range r.createOrder {
		if c.id != "" || c.failed || !c.imageReady || !r.sourcesCreated(c) {
			continue
		}
		spec, err := r.plan.containerSpec(c.plan, specContext{pauseID: r.pause.id, log: r.log})
		if err == nil {
			var id string
			if id, err = r.create(spec, c.plan.name); err == nil {
				c.id, c.status = id, containerCreated
				r.byID[id] = c
				continue
			}
			if err := r.startErr(err); err != nil {
				return err
			}
		}
		if r.failContainer(c, err.Error()); r.stopping {
			return nil
		}
	}
	return nil
}

func (r *taskRunner) pullImages() error {
	var need []*taskContainer
	for _, c := range r.containers {
		if !c.imageReady && !c.failed && c.id == "" {
			need = append(need, c)
		}
	}
	if len(need) == 0 {
		return nil
	}
	if r.times.pullStarted.IsZero() {
		r.times.pullStarted = r.now()
		r.publish() // a pull may take a while
	}
	infos := make(map[string]runtime.ImageInfo)
	for _, c := range need {
		info, ok := infos[c.plan.def.Image]
		if !ok {
			var err error
			info, err = r.rt.EnsureImage(r.startCtx, c.plan.def.Image)
			if err != nil {
				if err := r.startErr(err); err != nil {
					return err
				}
				if r.failContainer(c, err.Error()); r.stopping {
					return nil
				}
				continue
			}
			infos[c.plan.def.Image] = info
		}
		c.imageReady, c.digest = true, imageDigest(info)
	}
	r.times.pullStopped = r.now()
	return nil
}

// sourcesCreated: the containers c takes volumes from or links to exist,
// which the engine needs when it creates c.
func (r *taskRunner) sourcesCreated(c *taskContainer) bool {
	for _, d := range c.plan.deps {
		if d.condition == ecs.ContainerConditionSTART {
			if dc := r.byName[d.container]; dc != nil && dc.id == "" {
				return false
			}
		}
	}
	return true
}

// startReady starts every created container whose dependencies hold, and
// gives up on those whose dependencies never can.
func (r *taskRunner) startReady() error {
	if !r.reached(ecs.TaskPending) {
		return nil
	}
	for progress := true; progress && !r.stopping; {
		progress = false
		for _, c := range r.createOrder {
			if c.ran || c.failed {
				continue
			}
			ready, why := r.dependenciesMet(c)
			switch {
			case why != "":
				r.failContainer(c, why)
			case ready && c.status == containerCreated:
				if err := r.start(c); err != nil {
					return err
				}
			default:
				continue
			}
			progress = true
			if r.stopping {
				break
			}
		}
	}
	return nil
}

func (r *taskRunner) start(c *taskContainer) error {
	if err := r.rt.Start(r.startCtx, c.id); err != nil {
		if err := r.startErr(err); err != nil {
			return err
		}
		r.failContainer(c, err.Error())
		return nil
	}
	c.status, c.ran, c.startedAt = containerRunning, true, r.now()
	obs, err := r.rt.Inspect(r.ctx, c.id)
	if err != nil {
		r.pending[c.id] = true // look again on the next pass
		return nil
	}
	r.observe(c, obs)
	return nil
}

// dependenciesMet reports whether every condition c waits on holds, or
// why one never can.
func (r *taskRunner) dependenciesMet(c *taskContainer) (bool, string) {
	ready := true
	for _, d := range c.plan.deps {
		dc := r.byName[d.container]
		if dc == nil {
			continue
		}
		ok, why := r.condition(dc, d.condition)
		if why == "" && !ok && r.timedOut(d) {
			why = fmt.Sprintf("it did not reach it within its startTimeout of %s", dc.plan.startTimeout)
		}
		if why != "" {
			return false, fmt.Sprintf("CannotStartContainerError: container %s depends on %s reaching %s, which can no longer happen: %s",
				c.plan.name, d.container, d.condition, why)
		}
		ready = ready && ok
	}
	return ready, ""
}

// condition checks one dependency condition on dc: whether it holds, or
// why it never will.
func (r *taskRunner) condition(dc *taskContainer, cond ecs.ContainerCondition) (bool, string) {
	exited := dc.ran && dc.status == containerStopped
	if dc.failed {
		return false, "it did not start (" + firstLine(dc.reason) + ")"
	}
	switch cond {
	case ecs.ContainerConditionCOMPLETE:
		return exited, ""
	case ecs.ContainerConditionSUCCESS:
		if exited && (dc.exitCode == nil || *dc.exitCode != 0) {
			return false, "it exited with " + exitText(dc.exitCode)
		}
		return exited, ""
	case ecs.ContainerConditionHEALTHY:
		switch {
		case !dc.plan.healthCheck:
			return false, "it has no health check"
		case dc.healthy:
			return true, ""
		case exited:
			return false, "it exited before it was healthy"
		}
		return false, ""
	}
	return dc.ran, "" // START
}

// dependencyDeadline is when waiting on d gives up: the dependency's
// startTimeout after it started. START needs no deadline.
func (r *taskRunner) dependencyDeadline(d dependency) time.Time {
	dc := r.byName[d.container]
	if dc == nil || d.condition == ecs.ContainerConditionSTART || dc.plan.startTimeout <= 0 || !dc.ran {
		return time.Time{}
	}
	return dc.startedAt.Add(dc.plan.startTimeout)
}

func (r *taskRunner) timedOut(d dependency) bool {
	at := r.dependencyDeadline(d)
	return !at.IsZero() && !r.now().Before(at)
}

// checkRunning moves the task to RUNNING once every essential container
// has started and none had exited by the time the last one started.
func (r *taskRunner) checkRunning() {
	if r.reached(ecs.TaskActivating) || r.stopping {
		return
	}
	var last, firstExit time.Time
	for _, c := range r.essentials() {
		if !c.ran {
			return
		}
		at := c.engineAt
		if at.IsZero() {
			at = c.startedAt
		}
		if at.After(last) {
			last = at
		}
		if c.status == containerStopped && !c.finishedAt.IsZero() && (firstExit.IsZero() || c.finishedAt.Before(firstExit)) {
			firstExit = c.finishedAt
		}
	}
	if !firstExit.IsZero() && firstExit.Before(last) {
		return
	}
	if last.Before(r.times.pullStopped) {
		last = r.times.pullStopped
	}
	r.setStatus(ecs.TaskActivating)
	r.times.started = last
	r.setStatus(ecs.TaskRunning)
}

func (r *taskRunner) essentials() []*taskContainer {
	var out []*taskContainer
	for _, c := range r.containers {
		if c.plan.essential {
			out = append(out, c)
		}
	}
	if len(out) == 0 { // validation requires one; treat all as essential
		return r.containers
	}
	return out
}

// checkStop starts stopping the task when the server wants it stopped,
// an essential container exited or could not start, or the pause
// container died.
func (r *taskRunner) checkStop() {
	if r.stopping {
		return
	}
	if r.wantStop {
		r.beginStop("", "")
		return
	}
	for _, c := range r.essentials() {
		switch {
		case c.failed:
			r.beginStop(ecs.TaskStopCodeTaskFailedToStart, c.reason)
			return
		case c.ran && c.status == containerStopped:
			r.beginStop(ecs.TaskStopCodeEssentialContainerExited, reasonEssentialExited)
			return
		}
	}
	if r.pause.gone {
		if r.reached(ecs.TaskRunning) {
			r.beginStop(ecs.TaskStopCodeEssentialContainerExited, reasonEssentialExited)
		} else {
			r.failTask(reasonPauseFailed)
		}
	}
}

// failTask stops a task that could not start.
func (r *taskRunner) failTask(reason string) {
	r.beginStop(ecs.TaskStopCodeTaskFailedToStart, reason)
}

// beginStop stops the task: no container starts any more, those that never
// ran are done, and the running ones are stopped by stopContainers.
func (r *taskRunner) beginStop(code ecs.TaskStopCode, reason string) {
	if r.stopping {
		return
	}
	r.log.Info("stopping task", "stopCode", code, "reason", reason)
	r.stopping = true
	r.stopCode, r.stoppedReason = code, truncate(reason)
	r.cancelStart()
	now := r.now()
	r.times.stopping = now
	if !r.times.pullStarted.IsZero() && r.times.pullStopped.IsZero() {
		r.times.pullStopped = now
	}
	if r.status == ecs.TaskRunning {
		r.setStatus(ecs.TaskDeactivating)
	}
	r.setStatus(ecs.TaskStopping)
	for _, c := range r.containers {
		if !c.ran && c.status != containerStopped {
			c.status = containerStopped
		}
	}
}

// stopContainers stops the running containers, each once the containers
// depending on it have exited. When all have, the task is DEPROVISIONING.
func (r *taskRunner) stopContainers() error {
	running := false
	for _, c := range r.containers {
		if c.status != containerRunning {
			continue
		}
		running = true
		if c.stopping || r.now().Before(c.stopAgain) || r.hasRunningDependents(c) {
			continue
		}
		c.stopping = true
		r.stops.Add(1)
		go r.stopContainer(c.id, c.plan.stopTimeout)
	}
	if running {
		return nil
	}
	if r.times.executionStopped.IsZero() {
		at := time.Time{}
		for _, c := range r.containers {
			if c.finishedAt.After(at) {
				at = c.finishedAt
			}
		}
		if at.IsZero() {
			at = r.now()
		}
		r.times.executionStopped = at
	}
	r.setStatus(ecs.TaskDeprovisioning)
	return nil
}

// stopContainer runs beside the runner: a stop takes up to its timeout.
func (r *taskRunner) stopContainer(id string, timeout time.Duration) {
	defer r.stops.Done()
	err := r.rt.Stop(r.ctx, id, timeout)
	r.mu.Lock()
	r.inStops[id] = err
	r.mu.Unlock()
	r.wake()
}

func (r *taskRunner) hasRunningDependents(c *taskContainer) bool {
	for _, o := range r.containers {
		if o.status != containerRunning {
			continue
		}
		for _, d := range o.plan.deps {
			if d.container == c.plan.name {
				return true
			}
		}
	}
	return false
}

// deprovision removes the pause container, which releases the task's
// address; then the task is STOPPED.
func (r *taskRunner) deprovision() error {
	if r.status != ecs.TaskDeprovisioning {
		return nil
	}
	if r.pause.id != "" && !r.pause.removed {
		if err := r.rt.Remove(r.ctx, r.pause.id); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			return err
		}
		r.pause.removed, r.pause.running = true, false
	}
	now := r.now()
	r.times.stopped = now
	r.cleanupAt = now.Add(r.cfg.CleanupWait)
	r.setStatus(ecs.TaskStopped)
	return nil
}

// cleanup removes the task's containers and task-scoped volumes once the
// cleanup wait has passed; then the runner is finished.
func (r *taskRunner) cleanup() error {
	if r.finished || r.now().Before(r.cleanupAt) {
		return nil
	}
	for _, c := range r.containers {
		if c.id == "" || c.removed {
			continue
		}
		if err := r.remove(c.id); err != nil {
			return err
		}
		c.removed = true
	}
	// Containers whose create answer was lost carry the task's labels too.
	left, err := r.rt.List(r.ctx, map[string]string{runtime.LabelTaskARN: r.plan.arn, LabelInstance: r.cfg.InstanceID})
	if err != nil {
		return err
	}
	for _, c := range left {
		if err := r.remove(c.ID); err != nil {
			return err
		}
	}
	for _, name := range r.plan.taskScopedVolumes() {
		err := r.rt.RemoveVolume(r.ctx, name)
		switch {
		case err == nil, errors.Is(err, runtime.ErrNotFound):
		case retryable(err):
			return err
		default:
			r.log.Warn("could not remove a task volume", "volume", name, "err", err)
		}
	}
	r.finished = true
	return nil
}

func (r *taskRunner) remove(id string) error {
	err := r.rt.Remove(r.ctx, id)
	switch {
	case err == nil, errors.Is(err, runtime.ErrNotFound):
		return nil
	case retryable(err):
		return err
	}
	r.log.Warn("could not remove a container", "container", id, "err", err)
	return nil
}

// failContainer records that c never ran and never will; when c is
// essential, the task stops.
func (r *taskRunner) failContainer(c *taskContainer, reason string) {
	r.log.Info("container cannot run", "container", c.plan.name, "reason", reason)
	c.failed, c.status, c.reason = true, containerStopped, truncate(reason)
	r.checkStop()
}

func truncate(s string) string {
	if len(s) > maxReason {
		return s[:maxReason]
	}
	return s
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func exitText(code *int32) string {
	if code == nil {
		return "an unknown exit code"
	}
	return fmt.Sprintf("exit code %d", *code)
}

// imageDigest is the registry digest of an image ("sha256:…"), when it came
// from a registry.
func imageDigest(info runtime.ImageInfo) string {
	for _, rd := range info.RepoDigests {
		if _, d, ok := strings.Cut(rd, "@"); ok {
			return d
		}
	}
	return ""
}
