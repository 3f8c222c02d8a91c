package docker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/gantry-dev/gantry/internal/runtime"
)

// Create creates a container from spec without starting it.
func (r *Runtime) Create(ctx context.Context, spec runtime.ContainerSpec) (string, error) {
	what := "create container"
	if spec.Name != "" {
		what += fmt.Sprintf(" %q", spec.Name)
	}
	version, err := r.apiVersion(ctx)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", runtime.ErrCannotCreate, what, err)
	}
	opts, err := createOptions(spec, version)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", runtime.ErrCannotCreate, what, err)
	}
	ctx, cancel := r.call(ctx)
	defer cancel()
	res, err := r.c.ContainerCreate(ctx, opts)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", runtime.ErrCannotCreate, what, classify(err))
	}
	for _, w := range res.Warnings {
		r.log.WarnContext(ctx, "docker warning", "container", spec.Name, "warning", w)
	}
	r.rememberName(res.ID, spec.Name)
	return res.ID, nil
}

// Start starts a created or exited container.
func (r *Runtime) Start(ctx context.Context, id string) error {
	ctx, cancel := r.call(ctx)
	defer cancel()
	if _, err := r.c.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("%w: start container %s: %w", runtime.ErrCannotStart, r.describe(id), classify(err))
	}
	return nil
}

// Stop sends the stop signal, then SIGKILL after timeout.
func (r *Runtime) Stop(ctx context.Context, id string, timeout time.Duration) error {
	opts := client.ContainerStopOptions{}
	var grace time.Duration
	if timeout > 0 {
		secs := seconds(timeout)
		opts.Timeout = &secs
		grace = time.Duration(secs) * time.Second
	} else {
		var err error
		if grace, err = r.stopTimeout(ctx, id); err != nil {
			return fmt.Errorf("stop container %s: %w", r.describe(id), err)
		}
	}
	// The engine answers once the container has exited: allow the grace
	// period on top of the usual call timeout.
	ctx, cancel := context.WithTimeout(ctx, grace+r.callTimeout)
	defer cancel()
	if _, err := r.c.ContainerStop(ctx, id, opts); err != nil {
		return fmt.Errorf("stop container %s: %w", r.describe(id), classify(err))
	}
	return nil
}

// stopTimeout is the grace period the engine uses when Stop gives none: the
// container's own stop timeout, or the engine's default of 10 s.
func (r *Runtime) stopTimeout(ctx context.Context, id string) (time.Duration, error) {
	ctx, cancel := r.call(ctx)
	defer cancel()
	res, err := r.c.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return 0, classify(err)
	}
	if cfg := res.Container.Config; cfg != nil && cfg.StopTimeout != nil && *cfg.StopTimeout >= 0 {
		return time.Duration(*cfg.StopTimeout) * time.Second, nil
	}
	return 10 * time.Second, nil
}

// Remove force-removes a container with its anonymous volumes.
func (r *Runtime) Remove(ctx context.Context, id string) error {
	ctx, cancel := r.call(ctx)
	defer cancel()
	_, err := r.c.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil {
		return fmt.Errorf("remove container %s: %w", r.describe(id), classify(err))
	}
	r.forgetName(id)
	return nil
}

// Inspect reports a container's current state.
func (r *Runtime) Inspect(ctx context.Context, id string) (runtime.Container, error) {
	ctx, cancel := r.call(ctx)
	defer cancel()
	res, err := r.c.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return runtime.Container{}, fmt.Errorf("inspect container %s: %w", r.describe(id), classify(err))
	}
	c := fromInspect(res.Container)
	r.rememberName(c.ID, c.Name)
	return c, nil
}

// List reports every managed container carrying labels, inspecting each.
func (r *Runtime) List(ctx context.Context, labels map[string]string) ([]runtime.Container, error) {
	lctx, cancel := r.call(ctx)
	defer cancel()
	res, err := r.c.ContainerList(lctx, client.ContainerListOptions{All: true, Filters: labelFilters(labels)})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", classify(err))
	}
	out := make([]runtime.Container, 0, len(res.Items))
	for _, s := range res.Items {
		c, err := r.Inspect(ctx, s.ID)
		if errors.Is(err, runtime.ErrNotFound) {
			continue // removed since the listing
		}
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b runtime.Container) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// labelFilters matches managed objects carrying every one of labels.
func labelFilters(labels map[string]string) client.Filters {
	f := make(client.Filters).Add("label", runtime.LabelManaged)
	for k, v := range labels {
		f.Add("label", k+"="+v)
	}
	return f
}

func fromInspect(in container.InspectResponse) runtime.Container {
	c := runtime.Container{
		ID:        in.ID,
		Name:      trimName(in.Name),
		ImageID:   in.Image,
		CreatedAt: parseTime(in.Created),
	}
	if cfg := in.Config; cfg != nil {
		c.Image = cfg.Image
		c.Labels = cfg.Labels
	}
	if hc := in.HostConfig; hc != nil {
		c.NetworkMode = string(hc.NetworkMode)
		c.Resources = runtime.Resources{
			CPUShares:              hc.CPUShares,
			MemoryBytes:            hc.Memory,
			MemoryReservationBytes: hc.MemoryReservation,
		}
	}
	if st := in.State; st != nil {
		c.State = state(st.Status)
		c.ExitCode = st.ExitCode
		c.OOMKilled = st.OOMKilled
		c.Error = st.Error
		c.StartedAt = parseTime(st.StartedAt)
		c.FinishedAt = parseTime(st.FinishedAt)
		// The engine stamps StartedAt after the process is running, so a
		// process that exits at once can show a FinishedAt a little
		// before it; nothing finishes before it starts.
		if !c.FinishedAt.IsZero() && c.FinishedAt.Before(c.StartedAt) {
			c.FinishedAt = c.StartedAt
		}
		if st.Health != nil {
			c.Health = health(st.Health.Status)
		}
	}
	if ns := in.NetworkSettings; ns != nil {
		c.Ports = portBindings(ns)
		c.Networks = networks(ns)
	}
	return c
}

func portBindings(ns *container.NetworkSettings) []runtime.PortBinding {
	var out []runtime.PortBinding
	for port, bindings := range ns.Ports {
		for _, b := range bindings {
			hostPort, err := strconv.ParseUint(b.HostPort, 10, 16)
			if err != nil {
				continue
			}
			hostIP := ""
			if b.HostIP.IsValid() {
				hostIP = b.HostIP.String()
			}
			out = append(out, runtime.PortBinding{
				ContainerPort: port.Num(),
				HostPort:      uint16(hostPort),
				Protocol:      runtime.Protocol(port.Proto()),
				HostIP:        hostIP,
			})
		}
	}
	slices.SortFunc(out, func(a, b runtime.PortBinding) int {
		return cmp.Or(cmp.Compare(a.ContainerPort, b.ContainerPort), cmp.Compare(a.Protocol, b.Protocol),
			cmp.Compare(a.HostIP, b.HostIP), cmp.Compare(a.HostPort, b.HostPort))
	})
	return out
}

func networks(ns *container.NetworkSettings) []runtime.NetworkAttachment {
	var out []runtime.NetworkAttachment
	for name, ep := range ns.Networks {
		if ep == nil || !ep.IPAddress.IsValid() && !ep.GlobalIPv6Address.IsValid() {
			continue // not connected (the container is not running)
		}
		a := runtime.NetworkAttachment{Network: name}
		if ep.IPAddress.IsValid() {
			a.IPv4Address = ep.IPAddress.String()
		}
		if ep.GlobalIPv6Address.IsValid() {
			a.IPv6Address = ep.GlobalIPv6Address.String()
		}
		if len(ep.MacAddress) > 0 {
			a.MACAddress = ep.MacAddress.String()
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b runtime.NetworkAttachment) int { return cmp.Compare(a.Network, b.Network) })
	return out
}

func state(s container.ContainerState) runtime.State {
	switch s {
	case container.StateCreated:
		return runtime.StateCreated
	case container.StateRunning, container.StatePaused, container.StateRestarting:
		return runtime.StateRunning
	case container.StateExited, container.StateDead, container.StateRemoving:
		return runtime.StateExited
	}
	return runtime.StateUnknown
}

func health(s container.HealthStatus) runtime.HealthStatus {
	switch s {
	case container.Starting:
		return runtime.HealthStarting
	case container.Healthy:
		return runtime.HealthHealthy
	case container.Unhealthy:
		return runtime.HealthUnhealthy
	}
	return runtime.HealthNone
}

// parseTime reads the engine's RFC 3339 times; "0001-01-01T00:00:00Z" (not
// yet) and garbage both give the zero time.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t
}
