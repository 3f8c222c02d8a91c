package testenv_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/runtime"
	"github.com/gantry-dev/gantry/internal/runtime/docker"
	"github.com/gantry-dev/gantry/internal/testenv"
)

// startApp runs the test application with args, removed when the test ends.
func startApp(t *testing.T, r *docker.Runtime, spec runtime.ContainerSpec) string {
	t.Helper()
	spec.Image = testenv.AppImage(t)
	spec.Labels = map[string]string{testenv.TestLabel: testenv.CleanupLabel(t)}
	id, err := r.Create(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Remove(context.WithoutCancel(t.Context()), id); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("Remove: %v", err)
		}
	})
	if err := r.Start(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	return id
}

// await polls the container until cond holds, failing after 30 s.
func await(t *testing.T, r *docker.Runtime, id, what string, cond func(runtime.Container) bool) runtime.Container {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := r.Inspect(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if cond(c) {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %+v", what, c)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func exited(c runtime.Container) bool { return c.State == runtime.StateExited }

func TestAppExitCode(t *testing.T) {
	t.Parallel()
	r := testenv.RequireDocker(t)
	id := startApp(t, r, runtime.ContainerSpec{Command: []string{"exit", "-code", "3", "-after", "200ms"}})
	if c := await(t, r, id, "exit", exited); c.ExitCode != 3 {
		t.Errorf("exit code = %d, want 3 (error %q)", c.ExitCode, c.Error)
	}
}

// TestAppServe serves HTTP on a dynamic host port, passes its health check
// (the app in check mode), answers another container fetching from it,
// and exits 0 on SIGTERM.
func TestAppServe(t *testing.T) {
	t.Parallel()
	r := testenv.RequireDocker(t)
	id := startApp(t, r, runtime.ContainerSpec{
		Command:  []string{"serve", "-port", "8080"},
		Hostname: "app-host",
		Env:      map[string]string{"GREETING": "hello"},
		Ports:    []runtime.PortMapping{{ContainerPort: 8080}},
		HealthCheck: &runtime.HealthCheck{
			Command:  []string{"CMD", "/app", "check", "-url", "http://127.0.0.1:8080/health"},
			Interval: 500 * time.Millisecond, Timeout: 2 * time.Second, Retries: 3,
		},
	})
	c := await(t, r, id, "healthy", func(c runtime.Container) bool { return c.Health == runtime.HealthHealthy || exited(c) })
	if c.Health != runtime.HealthHealthy || len(c.Ports) == 0 || len(c.Networks) == 0 {
		t.Fatalf("serving container = %+v; want healthy, with a host port and an address", c)
	}
	var got struct {
		Hostname string
		PID      int
		Env      map[string]string
	}
	body := get(t, fmt.Sprintf("http://127.0.0.1:%d/", c.Ports[0].HostPort), http.StatusOK)
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("GET / = %q: %v", body, err)
	}
	if got.Hostname != "app-host" || got.PID != 1 || got.Env["GREETING"] != "hello" || got.Env["PATH"] != "" {
		t.Errorf("GET / = %+v; want hostname app-host, pid 1, GREETING=hello, no PATH", got)
	}

	fetch := startApp(t, r, runtime.ContainerSpec{
		Command: []string{"fetch", "-url", "http://" + c.Networks[0].IPv4Address + ":8080/health"},
	})
	if f := await(t, r, fetch, "fetch", exited); f.ExitCode != 0 {
		t.Errorf("fetch from another container: exit code %d, want 0", f.ExitCode)
	}

	begin := time.Now()
	if err := r.Stop(t.Context(), id, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took > 5*time.Second {
		t.Errorf("Stop took %v; the app exits on SIGTERM", took)
	}
	if c := await(t, r, id, "exit", exited); c.ExitCode != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", c.ExitCode)
	}
}

// TestAppUnhealthyIgnoringTerm: HEALTHY=false fails /health, and with
// -ignore-sigterm only SIGKILL stops the app.
func TestAppUnhealthyIgnoringTerm(t *testing.T) {
	t.Parallel()
	r := testenv.RequireDocker(t)
	id := startApp(t, r, runtime.ContainerSpec{
		Command: []string{"serve", "-ignore-sigterm"},
		Env:     map[string]string{"HEALTHY": "false"},
		Ports:   []runtime.PortMapping{{ContainerPort: 8080}},
	})
	c := await(t, r, id, "ports", func(c runtime.Container) bool { return len(c.Ports) > 0 || exited(c) })
	get(t, fmt.Sprintf("http://127.0.0.1:%d/health", c.Ports[0].HostPort), http.StatusServiceUnavailable)

	const timeout = time.Second
	begin := time.Now()
	if err := r.Stop(t.Context(), id, timeout); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took < timeout {
		t.Errorf("Stop took %v, less than its timeout: SIGTERM was not ignored", took)
	}
	if c := await(t, r, id, "exit", exited); c.ExitCode != 137 {
		t.Errorf("exit code = %d, want 137 (SIGKILL)", c.ExitCode)
	}
}

// TestAppWrite writes a file into a bind mount, then keeps running.
func TestAppWrite(t *testing.T) {
	t.Parallel()
	r := testenv.RequireDocker(t)
	dir := t.TempDir()
	id := startApp(t, r, runtime.ContainerSpec{
		Command: []string{"write", "-file", "/out/greeting", "-text", "hi"},
		Mounts:  []runtime.Mount{{Type: runtime.MountBind, Source: dir, Target: "/out"}},
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(dir, "greeting"))
		if err == nil && string(b) == "hi" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("greeting = %q, %v; want what the app wrote", b, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if c, err := r.Inspect(t.Context(), id); err != nil || c.State != runtime.StateRunning {
		t.Errorf("after writing: %+v, %v; want it still running", c, err)
	}
}

// get polls url until it answers with status (the server may still be
// starting), failing after 15 s, and returns the body.
func get(t *testing.T, url string, status int) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == status && rerr == nil {
				return string(body)
			}
			err = fmt.Errorf("status %s, body %q", resp.Status, body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v; want status %d", url, err, status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
