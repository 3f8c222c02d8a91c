package agent

import (
	"errors"
	"slices"
	"time"

	"github.com/gantry-dev/gantry/internal/agentproto"
	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/runtime"
)

const reasonRemoved = "The container was removed outside the agent"

// adopt takes over containers that already exist, as they are.
func (r *taskRunner) adopt(adopted []runtime.Container) {
	var earliest time.Time
	for _, obs := range adopted {
		if obs.Labels[runtime.LabelTaskARN] != r.plan.arn {
			continue
		}
		name := obs.Labels[runtime.LabelContainerName]
		if name == pauseContainerName {
			r.pause.id = obs.ID
			r.observePause(obs)
			r.pending[obs.ID] = true
			continue
		}
		c := r.byName[name]
		if c == nil || c.id != "" && obs.Name != c.plan.engineName {
			r.log.Warn("found a container the task does not define; it is removed with the task", "container", obs.Name)
			continue
		}
		c.id, c.imageReady = obs.ID, true
		r.byID[obs.ID] = c
		r.observe(c, obs)
		r.pending[obs.ID] = true // events may have passed since the listing
		if earliest.IsZero() || obs.CreatedAt.Before(earliest) {
			earliest = obs.CreatedAt
		}
	}
	if earliest.IsZero() {
		return
	}
	// The images were there when the first container was created.
	r.times.pullStarted, r.times.pullStopped = earliest, earliest
	r.log.Info("adopted the task's containers", "containers", len(adopted))
	// Report at once how far the task had come, not PROVISIONING.
	if !r.plan.needsPause || r.pause.running {
		r.setStatus(ecs.TaskPending)
		r.checkRunning()
	}
}

// refresh inspects the containers that events named, or all of them after
// a resync.
func (r *taskRunner) refresh() error {
	if r.resync {
		for _, c := range r.containers {
			if c.id != "" && !c.removed {
				r.pending[c.id] = true
			}
		}
		if r.pause.id != "" && !r.pause.removed {
			r.pending[r.pause.id] = true
		}
		r.resync = false
	}
	for id := range r.pending {
		c := r.byID[id]
		isPause := id == r.pause.id && id != ""
		if c == nil && !isPause {
			delete(r.pending, id) // not ours, or not ours yet: our own calls look themselves
			continue
		}
		obs, err := r.rt.Inspect(r.ctx, id)
		switch {
		case errors.Is(err, runtime.ErrNotFound):
			if isPause {
				r.pauseVanished()
			} else {
				r.vanished(c)
			}
		case err != nil:
			return err
		case isPause:
			r.observePause(obs)
		default:
			r.observe(c, obs)
		}
		delete(r.pending, id)
	}
	return nil
}

// observe records what the runtime reports of c. A container never moves
// back: once stopped it stays stopped.
func (r *taskRunner) observe(c *taskContainer, obs runtime.Container) {
	if c.status == containerStopped && !r.startedAfterAll(c, obs) {
		return
	}
	switch obs.State {
	case runtime.StateCreated:
		c.status = containerCreated
	case runtime.StateRunning:
		if !c.ran {
			c.ran, c.startedAt = true, r.now()
			if !obs.StartedAt.IsZero() && obs.StartedAt.Before(c.startedAt) {
				c.startedAt = obs.StartedAt
			}
		}
		c.status, c.engineAt = containerRunning, obs.StartedAt
		if len(obs.Ports) > 0 {
			c.ports = slices.Clone(obs.Ports)
		}
		c.health = obs.Health
		if obs.Health == runtime.HealthHealthy {
			c.healthy = true
		}
	case runtime.StateExited:
		if obs.StartedAt.IsZero() && !c.ran {
			// The engine could not start it.
			why := obs.Error
			if why == "" {
				why = "the container exited before it started"
			}
			r.failContainer(c, runtime.ErrCannotStart.Error()+": "+why)
			return
		}
		if !c.ran {
			c.ran, c.startedAt = true, obs.StartedAt
		}
		code := int32(obs.ExitCode)
		c.status, c.exitCode, c.engineAt, c.finishedAt = containerStopped, &code, obs.StartedAt, obs.FinishedAt
		c.health = runtime.HealthNone // no longer checked: UNKNOWN
		if c.finishedAt.IsZero() {
			c.finishedAt = r.now()
		}
		switch {
		case obs.OOMKilled:
			c.reason = reasonOOM
		case obs.Error != "":
			c.reason = truncate(obs.Error)
		}
		r.log.Info("container exited", "container", c.plan.name, "exitCode", code, "reason", c.reason)
	}
}

// startedAfterAll: a container the runner gave up on before it ran (a
// stop cut its start short) runs after all, since the engine started it
// anyway. It is stopped like the others, unless the task is past that.
func (r *taskRunner) startedAfterAll(c *taskContainer, obs runtime.Container) bool {
	return !c.ran && !c.failed && obs.State == runtime.StateRunning && !r.reached(ecs.TaskDeprovisioning)
}

// vanished handles a container removed behind the runner's back.
func (r *taskRunner) vanished(c *taskContainer) {
	c.removed = true
	switch {
	case c.status == containerStopped:
	case c.ran:
		c.status, c.reason, c.finishedAt, c.health = containerStopped, reasonRemoved, r.now(), runtime.HealthNone
		c.exitCode = clonePtr(c.diedWith)
	default:
		r.failContainer(c, reasonRemoved)
	}
}

func (r *taskRunner) observePause(obs runtime.Container) {
	switch obs.State {
	case runtime.StateRunning:
		r.pause.running = true
		for _, n := range obs.Networks {
			if n.IPv4Address != "" && (r.pause.network == "" || n.Network == r.pause.network) {
				r.pause.ip = n.IPv4Address
				if r.pause.network == "" {
					r.pause.network = n.Network
				}
				break
			}
		}
		if len(obs.Ports) > 0 {
			r.pause.ports = slices.Clone(obs.Ports)
		}
	case runtime.StateExited:
		if r.pause.running || !obs.StartedAt.IsZero() {
			r.pauseVanished()
		}
	}
}

func (r *taskRunner) pauseVanished() {
	if !r.pause.removed {
		r.pause.gone = true
	}
	r.pause.running = false
}

// buildState is the task as observed, in the agent protocol's terms.
func (r *taskRunner) buildState() agentproto.TaskState {
	st := agentproto.TaskState{
		TaskArn:            r.plan.arn,
		LastStatus:         r.status,
		HealthStatus:       r.taskHealth(),
		StopCode:           r.stopCode,
		StoppedReason:      r.stoppedReason,
		PullStartedAt:      at(r.times.pullStarted),
		PullStoppedAt:      at(r.times.pullStopped),
		StartedAt:          at(r.times.started),
		StoppingAt:         at(r.times.stopping),
		ExecutionStoppedAt: at(r.times.executionStopped),
		StoppedAt:          at(r.times.stopped),
	}
	if r.plan.networkMode == ecs.NetworkModeAwsvpc {
		st.PrivateIPv4Address = r.pause.ip
	}
	for _, c := range r.containers {
		st.Containers = append(st.Containers, r.containerState(c))
	}
	return st
}

func (r *taskRunner) containerState(c *taskContainer) ecs.Container {
	out := ecs.Container{
		Name:            c.plan.name,
		RuntimeId:       c.id,
		LastStatus:      ecs.TaskPending,
		ExitCode:        clonePtr(c.exitCode),
		Reason:          c.reason,
		HealthStatus:    ecs.HealthStatusUNKNOWN,
		ImageDigest:     c.digest,
		NetworkBindings: r.bindings(c),
	}
	switch c.status {
	case containerRunning:
		out.LastStatus = ecs.TaskRunning
	case containerStopped:
		out.LastStatus = ecs.TaskStopped
	}
	if c.plan.healthCheck {
		out.HealthStatus = healthStatus(c.health)
	}
	if r.plan.networkMode == ecs.NetworkModeAwsvpc && r.pause.ip != "" {
		out.NetworkInterfaces = []ecs.NetworkInterface{{AttachmentId: r.plan.attachmentID(), PrivateIpv4Address: r.pause.ip}}
	}
	return out
}

// bindings are the container's ports on the host: as the engine bound them
// in bridge mode (dynamic ports resolved), the container ports themselves
// in host mode, and the pause container's in awsvpc mode.
func (r *taskRunner) bindings(c *taskContainer) []ecs.NetworkBinding {
	var ports []runtime.PortBinding
	switch r.plan.networkMode {
	case ecs.NetworkModeBridge:
		ports = c.ports
	case ecs.NetworkModeHost:
		if !c.ran {
			return nil
		}
		pms, _ := portMappings(c.plan.def.PortMappings, true)
		for _, pm := range pms {
			ports = append(ports, runtime.PortBinding{ContainerPort: pm.ContainerPort, HostPort: pm.ContainerPort, Protocol: pm.Protocol, HostIP: "0.0.0.0"})
		}
	case ecs.NetworkModeAwsvpc:
		if !c.ran {
			return nil
		}
		pms, _ := portMappings(c.plan.def.PortMappings, false)
		for _, b := range r.pause.ports {
			if slices.ContainsFunc(pms, func(pm runtime.PortMapping) bool {
				return pm.ContainerPort == b.ContainerPort && pm.Protocol == b.Protocol
			}) {
				ports = append(ports, b)
			}
		}
	}
	var out []ecs.NetworkBinding
	for _, b := range ports {
		cp, hp := int32(b.ContainerPort), int32(b.HostPort)
		proto := ecs.TransportProtocol(b.Protocol)
		if proto == "" {
			proto = ecs.TransportProtocolTcp
		}
		out = append(out, ecs.NetworkBinding{BindIP: b.HostIP, ContainerPort: &cp, HostPort: &hp, Protocol: proto})
	}
	return out
}

// taskHealth aggregates the essential containers that have a health
// check: any UNHEALTHY makes the task UNHEALTHY, all HEALTHY make it
// HEALTHY, and anything else (or no such container) is UNKNOWN.
func (r *taskRunner) taskHealth() ecs.HealthStatus {
	checked, healthy := 0, 0
	for _, c := range r.containers {
		if !c.plan.essential || !c.plan.healthCheck {
			continue
		}
		checked++
		switch healthStatus(c.health) {
		case ecs.HealthStatusUNHEALTHY:
			return ecs.HealthStatusUNHEALTHY
		case ecs.HealthStatusHEALTHY:
			healthy++
		}
	}
	if checked > 0 && healthy == checked {
		return ecs.HealthStatusHEALTHY
	}
	return ecs.HealthStatusUNKNOWN
}

func healthStatus(h runtime.HealthStatus) ecs.HealthStatus {
	switch h {
	case runtime.HealthHealthy:
		return ecs.HealthStatusHEALTHY
	case runtime.HealthUnhealthy:
		return ecs.HealthStatusUNHEALTHY
	}
	return ecs.HealthStatusUNKNOWN
}

func at(t time.Time) ecs.Timestamp {
	if t.IsZero() {
		return ecs.Timestamp{}
	}
	return ecs.At(t)
}
