package sim_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gantry-dev/gantry/internal/runtime"
	"github.com/gantry-dev/gantry/internal/runtime/sim"
)

const image = "app:1"

func newSim() *sim.Runtime { return sim.New(sim.Options{Images: []string{image}}) }

func spec(cmd ...string) runtime.ContainerSpec {
	return runtime.ContainerSpec{Image: image, Command: cmd}
}

func run(t *testing.T, rt *sim.Runtime, s runtime.ContainerSpec) string {
	t.Helper()
	id, err := rt.Create(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Start(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	return id
}

func inspect(t *testing.T, rt *sim.Runtime, id string) runtime.Container {
	t.Helper()
	c, err := rt.Inspect(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// collect drains what the subscription has delivered so far.
func collect(events <-chan runtime.Event) []string {
	var out []string
	for {
		synctest.Wait() // let the subscription deliver the next event
		select {
		case ev := <-events:
			s := ev.Type.String()
			switch ev.Type {
			case runtime.EventDie:
				s += fmt.Sprintf(" %d", ev.ExitCode)
			case runtime.EventHealth:
				s += " " + ev.Health.String()
			}
			out = append(out, s)
		default:
			return out
		}
	}
}

func TestParseBehavior(t *testing.T) {
	sh := func(script string) []string { return []string{"sh", "-c", script} }
	tests := []struct {
		cmd    []string
		health []string
		want   sim.Behavior
	}{
		{nil, nil, sim.Behavior{TermExitCode: 143}},
		{[]string{"httpd", "-f"}, nil, sim.Behavior{TermExitCode: 143}},
		{[]string{"exit", "3"}, nil, sim.Behavior{Exits: true, ExitCode: 3, TermExitCode: 143}},
		{[]string{"false"}, nil, sim.Behavior{Exits: true, ExitCode: 1, TermExitCode: 143}},
		{[]string{"sleep", "2.5"}, nil, sim.Behavior{Exits: true, RunFor: 2500 * time.Millisecond, TermExitCode: 143}},
		{sh("exit 300"), nil, sim.Behavior{Exits: true, ExitCode: 44, TermExitCode: 143}},
		{sh("sleep 1; sleep 2; exit 4"), nil, sim.Behavior{Exits: true, RunFor: 3 * time.Second, ExitCode: 4, TermExitCode: 143}},
		{sh("trap 'exit 0' TERM; sleep 600 & wait"), nil, sim.Behavior{Exits: true, RunFor: 600 * time.Second}},
		{sh("trap '' TERM; sleep infinity"), nil, sim.Behavior{IgnoreTerm: true, TermExitCode: 143}},
		{sh("echo hi; exit 1"), nil, sim.Behavior{TermExitCode: 143}},
		{nil, []string{"CMD-SHELL", "exit 1"}, sim.Behavior{TermExitCode: 143, Unhealthy: true}},
		{nil, []string{"CMD", "false"}, sim.Behavior{TermExitCode: 143, Unhealthy: true}},
		{nil, []string{"CMD-SHELL", "curl -f http://localhost/ || exit 1"}, sim.Behavior{TermExitCode: 143}},
		{nil, []string{"CMD", "true"}, sim.Behavior{TermExitCode: 143}},
	}
	for _, tt := range tests {
		s := spec(tt.cmd...)
		if tt.health != nil {
			s.HealthCheck = &runtime.HealthCheck{Command: tt.health}
		}
		if diff := cmp.Diff(tt.want, sim.ParseBehavior(s)); diff != "" {
			t.Errorf("ParseBehavior(%q, health %q) (-want +got):\n%s", tt.cmd, tt.health, diff)
		}
	}
}

func TestScriptedExitUsesTheClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newSim()
		events := rt.Events(t.Context())
		begin := time.Now()
		id := run(t, rt, spec("sleep", "5"))
		time.Sleep(5*time.Second - time.Nanosecond)
		if c := inspect(t, rt, id); c.State != runtime.StateRunning {
			t.Fatalf("state before 5 s = %v", c.State)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		c := inspect(t, rt, id)
		if c.State != runtime.StateExited || c.ExitCode != 0 || c.FinishedAt.Sub(begin) != 5*time.Second {
			t.Errorf("after 5 s: %+v", c)
		}
		if diff := cmp.Diff([]string{"start", "die 0"}, collect(events)); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
}

func TestRestartIgnoresTheLastRunsTimers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newSim()
		id := run(t, rt, spec("sleep", "5"))
		time.Sleep(2 * time.Second)
		if err := rt.Stop(t.Context(), id, time.Second); err != nil {
			t.Fatal(err)
		}
		if c := inspect(t, rt, id); c.ExitCode != 143 {
			t.Fatalf("exit code after SIGTERM = %d, want 143", c.ExitCode)
		}
		if err := rt.Start(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		time.Sleep(4 * time.Second) // past the first run's 5 s
		if c := inspect(t, rt, id); c.State != runtime.StateRunning {
			t.Fatalf("second run ended early: %+v", c)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if c := inspect(t, rt, id); c.State != runtime.StateExited || c.ExitCode != 0 {
			t.Fatalf("second run after 5 s: %+v", c)
		}
	})
}

func TestExitAndOOMKill(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newSim()
		events := rt.Events(t.Context())
		a, b := run(t, rt, spec()), run(t, rt, spec())
		if err := rt.Exit(a, 42); err != nil {
			t.Fatal(err)
		}
		if err := rt.OOMKill(b); err != nil {
			t.Fatal(err)
		}
		if c := inspect(t, rt, a); c.ExitCode != 42 || c.OOMKilled || len(c.Networks) != 0 {
			t.Errorf("after Exit: %+v", c)
		}
		if c := inspect(t, rt, b); c.ExitCode != 137 || !c.OOMKilled {
			t.Errorf("after OOMKill: %+v", c)
		}
		if diff := cmp.Diff([]string{"start", "start", "die 42", "oom", "die 137"}, collect(events)); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		if err := rt.Exit("missing", 1); !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("Exit of a missing container: %v", err)
		}
	})
}

func TestHealth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newSim()
		events := rt.Events(t.Context())
		s := spec()
		s.HealthCheck = &runtime.HealthCheck{Command: []string{"CMD-SHELL", "exit 1"}, Interval: 10 * time.Second, Retries: 3, StartPeriod: 5 * time.Second}
		id := run(t, rt, s)
		time.Sleep(30*time.Second - time.Nanosecond)
		if c := inspect(t, rt, id); c.Health != runtime.HealthStarting {
			t.Fatalf("health before 3 failed checks = %v", c.Health)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if err := rt.SetHealth(id, runtime.HealthHealthy); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"start", "health unhealthy", "health healthy"}, collect(events)); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
}

func TestPorts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := sim.New(sim.Options{Images: []string{image}, FirstHostPort: 60000})
		web := spec()
		web.Ports = []runtime.PortMapping{{ContainerPort: 80, HostPort: 8080}, {ContainerPort: 9090}, {ContainerPort: 9090, Protocol: runtime.UDP}}
		first := run(t, rt, web)
		want := []runtime.PortBinding{
			{ContainerPort: 80, HostPort: 8080, Protocol: runtime.TCP, HostIP: "0.0.0.0"},
			{ContainerPort: 9090, HostPort: 60000, Protocol: runtime.TCP, HostIP: "0.0.0.0"},
			{ContainerPort: 9090, HostPort: 60001, Protocol: runtime.UDP, HostIP: "0.0.0.0"},
		}
		if diff := cmp.Diff(want, inspect(t, rt, first).Ports); diff != "" {
			t.Errorf("ports (-want +got):\n%s", diff)
		}

		second, err := rt.Create(t.Context(), web)
		if err != nil {
			t.Fatal(err)
		}
		if err := rt.Start(t.Context(), second); !errors.Is(err, runtime.ErrCannotStart) || !errors.Is(err, runtime.ErrConflict) {
			t.Fatalf("Start with host port 8080 taken: %v; want CannotStartContainerError, ErrConflict", err)
		}
		if err := rt.Stop(t.Context(), first, 0); err != nil {
			t.Fatal(err)
		}
		if c := inspect(t, rt, first); len(c.Ports) != 0 {
			t.Errorf("stopped container still holds ports %+v", c.Ports)
		}
		if err := rt.Start(t.Context(), second); err != nil {
			t.Fatalf("Start once 8080 is free: %v", err)
		}

		host := spec()
		host.NetworkMode, host.Ports = runtime.NetworkHost, web.Ports
		if c := inspect(t, rt, run(t, rt, host)); len(c.Ports) != 0 || len(c.Networks) != 0 {
			t.Errorf("host-mode container: ports %+v, networks %+v; want none", c.Ports, c.Networks)
		}
	})
}

func TestRemoveRunningAndNetworkNamespace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newSim()
		ctx := t.Context()
		joiner := spec()
		joiner.NetworkMode = runtime.NetworkContainer("missing")
		if _, err := rt.Create(ctx, joiner); !errors.Is(err, runtime.ErrCannotCreate) || !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("Create joining a missing container: %v", err)
		}
		pause, err := rt.Create(ctx, spec())
		if err != nil {
			t.Fatal(err)
		}
		joiner.NetworkMode = runtime.NetworkContainer(pause)
		id, err := rt.Create(ctx, joiner)
		if err != nil {
			t.Fatal(err)
		}
		if err := rt.Start(ctx, id); !errors.Is(err, runtime.ErrCannotStart) {
			t.Errorf("Start joining a container that is not running: %v", err)
		}
		events := rt.Events(ctx)
		if err := rt.Start(ctx, pause); err != nil {
			t.Fatal(err)
		}
		if err := rt.Remove(ctx, pause); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"start", "die 137", "destroy"}, collect(events)); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
}

func TestVolumes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newSim()
		ctx := t.Context()
		s := spec()
		s.Mounts = []runtime.Mount{{Type: runtime.MountVolume, Source: "data", Target: "/data"}}
		id, err := rt.Create(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if err := rt.RemoveVolume(ctx, "data"); !errors.Is(err, runtime.ErrConflict) {
			t.Errorf("RemoveVolume in use: %v", err)
		}
		if err := rt.Remove(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := rt.RemoveVolume(ctx, "data"); err != nil {
			t.Errorf("RemoveVolume: %v", err)
		}
		if err := rt.RemoveVolume(ctx, "data"); !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("RemoveVolume again: %v", err)
		}
	})
}

func TestEnsureImageAndInfo(t *testing.T) {
	rt := sim.New(sim.Options{PullError: func(ref string) error {
		if ref == "private:1" {
			return errors.New("pull access denied")
		}
		return nil
	}})
	info, err := rt.EnsureImage(t.Context(), "public:1")
	if err != nil || !info.Pulled {
		t.Errorf("first EnsureImage = %+v, %v; want pulled", info, err)
	}
	if info, err := rt.EnsureImage(t.Context(), "public:1"); err != nil || info.Pulled {
		t.Errorf("second EnsureImage = %+v, %v; want local", info, err)
	}
	_, err = rt.EnsureImage(t.Context(), "private:1")
	if want := `CannotPullContainerError: pull image "private:1": pull access denied`; err == nil || err.Error() != want {
		t.Errorf("EnsureImage of a refused image: %v, want %q", err, want)
	}
	if _, err := rt.Create(t.Context(), runtime.ContainerSpec{Image: "private:1"}); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Create from a missing image: %v", err)
	}
	host, err := rt.Info(t.Context())
	if err != nil || host.CPUs != 2 || host.MemoryBytes != 4<<30 || host.RuntimeName != "sim" {
		t.Errorf("Info = %+v, %v", host, err)
	}
}

func TestEventsDoNotBlockTheHost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newSim()
		ctx, cancel := context.WithCancel(t.Context())
		events := rt.Events(ctx) // never read until the end
		for range 1000 {
			id := run(t, rt, spec())
			if err := rt.Remove(t.Context(), id); err != nil {
				t.Fatal(err)
			}
		}
		if got := len(collect(events)); got != 3000 {
			t.Errorf("got %d events, want 3000", got)
		}
		cancel()
		synctest.Wait()
		if _, open := <-events; open {
			t.Error("channel still open after ctx ended")
		}
	})
}

func BenchmarkLifecycle(b *testing.B) {
	rt := newSim()
	ctx := context.Background()
	s := spec()
	s.Ports = []runtime.PortMapping{{ContainerPort: 80}}
	for b.Loop() {
		id, err := rt.Create(ctx, s)
		if err != nil {
			b.Fatal(err)
		}
		if err := rt.Start(ctx, id); err != nil {
			b.Fatal(err)
		}
		if err := rt.Stop(ctx, id, time.Second); err != nil {
			b.Fatal(err)
		}
		if err := rt.Remove(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
}

func TestNetworkSubnetsAndAddresses(t *testing.T) {
	rt := newSim()
	ctx := t.Context()
	seen := make(map[string]bool)
	var last runtime.Network
	for i := range 20 {
		n, err := rt.EnsureNetwork(ctx, fmt.Sprintf("net-%d", i), nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(n.Subnets) != 1 || seen[n.Subnets[0]] || n.Labels[runtime.LabelManaged] != "true" {
			t.Fatalf("network %d = %+v; want a subnet of its own", i, n)
		}
		seen[n.Subnets[0]] = true
		last = n
	}
	if last.Subnets[0] != "10.200.5.0/24" || last.Gateway != "10.200.5.1" {
		t.Errorf("20th network = %+v; want 10.200.5.0/24", last)
	}
	s := spec()
	s.NetworkMode = last.Name
	var got []string
	for range 2 {
		got = append(got, inspect(t, rt, run(t, rt, s)).Networks[0].IPv4Address)
	}
	if diff := cmp.Diff([]string{"10.200.5.2", "10.200.5.3"}, got); diff != "" {
		t.Errorf("addresses (-want +got):\n%s", diff)
	}
}
