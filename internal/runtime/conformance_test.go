package runtime_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gantry-dev/gantry/internal/runtime"
	"github.com/gantry-dev/gantry/internal/runtime/sim"
	"github.com/gantry-dev/gantry/internal/testenv"
)

// backend is one Runtime implementation under test.
type backend struct {
	rt     runtime.Runtime
	image  string
	labels map[string]string // on every container, so cleanup finds them
	real   bool              // real processes: files, network and cgroups can be checked
	// reopen returns a fresh Runtime on the same host, as after an agent
	// restart.
	reopen func(t *testing.T) runtime.Runtime
}

// conformanceCase is behaviour every Runtime shares. realOnly cases need
// real processes.
type conformanceCase struct {
	name     string
	realOnly bool
	run      func(t *testing.T, b *backend)
}

// TestConformance runs the shared cases against the Docker runtime (when an
// engine answers) and the simulated one (under synctest: no real waiting).
func TestConformance(t *testing.T) {
	t.Run("docker", func(t *testing.T) {
		image := testenv.BusyboxImage(t)
		for _, c := range conformanceCases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				c.run(t, &backend{
					rt:     testenv.RequireDocker(t),
					image:  image,
					labels: map[string]string{testenv.TestLabel: testenv.CleanupLabel(t)},
					real:   true,
					reopen: func(t *testing.T) runtime.Runtime { return testenv.RequireDocker(t) },
				})
			})
		}
	})
	t.Run("sim", func(t *testing.T) {
		for _, c := range conformanceCases {
			if c.realOnly {
				continue
			}
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				synctest.Test(t, func(t *testing.T) {
					rt := sim.New(sim.Options{Images: []string{testenv.BusyboxRef}, PullError: noRegistry})
					c.run(t, &backend{
						rt:     rt,
						image:  testenv.BusyboxRef,
						labels: map[string]string{testenv.TestLabel: "sim"},
						reopen: func(*testing.T) runtime.Runtime { return rt },
					})
				})
			})
		}
	})
}

// noRegistry fails every pull, as on a machine without a registry.
func noRegistry(ref string) error {
	return fmt.Errorf("pull access denied for %s, repository does not exist", ref)
}

// Commands shared by the cases. The simulated runtime understands them too
// (see sim.ParseBehavior).
var (
	// runTrapTerm runs until SIGTERM, then exits 0 at once.
	runTrapTerm = []string{"sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"}
	// runIgnoreTerm runs until SIGKILL.
	runIgnoreTerm = []string{"sh", "-c", "trap '' TERM; sleep 600 & wait"}
	// runHTTPD serves /www on port 8080.
	runHTTPD = []string{"httpd", "-f", "-p", "8080", "-h", "/www"}
)

// spec returns a container spec with the backend's image and labels.
func (b *backend) spec(cmd ...string) runtime.ContainerSpec {
	labels := map[string]string{runtime.LabelCluster: "conformance"}
	for k, v := range b.labels {
		labels[k] = v
	}
	return runtime.ContainerSpec{Name: uniqueName(), Image: b.image, Labels: labels, Command: cmd}
}

func uniqueName() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "gantry-test-" + hex.EncodeToString(b[:])
}

// create creates a container and removes it when the test ends.
func (b *backend) create(t *testing.T, spec runtime.ContainerSpec) string {
	t.Helper()
	id, err := b.rt.Create(t.Context(), spec)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	t.Cleanup(func() {
		err := b.rt.Remove(context.WithoutCancel(t.Context()), id)
		if err != nil && !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("Remove: %v", err)
		}
	})
	return id
}

// start creates and starts a container.
func (b *backend) start(t *testing.T, spec runtime.ContainerSpec) string {
	t.Helper()
	id := b.create(t, spec)
	if err := b.rt.Start(t.Context(), id); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return id
}

// waitFor re-inspects the container on each of its events until cond
// holds, failing the test after 30 s.
func waitFor(t *testing.T, rt runtime.Runtime, id, what string, cond func(runtime.Container) bool) runtime.Container {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	events := rt.Events(ctx)
	for {
		c, err := rt.Inspect(ctx, id)
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if cond(c) {
			return c
		}
		for changed := false; !changed; {
			ev, ok := <-events
			if !ok {
				t.Fatalf("timed out waiting for %s; last seen: state %v, exit code %d, health %v", what, c.State, c.ExitCode, c.Health)
			}
			changed = ev.ContainerID == id || ev.Type == runtime.EventResync
		}
	}
}

func exited(c runtime.Container) bool { return c.State == runtime.StateExited }

// waitExit waits for the container to exit and checks its exit code.
func waitExit(t *testing.T, rt runtime.Runtime, id string, code int) runtime.Container {
	t.Helper()
	c := waitFor(t, rt, id, "exit", exited)
	if c.ExitCode != code {
		t.Fatalf("exit code = %d, want %d (error %q)", c.ExitCode, code, c.Error)
	}
	return c
}
