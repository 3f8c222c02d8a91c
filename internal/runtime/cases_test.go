package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gantry-dev/gantry/internal/runtime"
	"github.com/gantry-dev/gantry/internal/testenv"
)

var conformanceCases = []conformanceCase{
	{name: "Lifecycle", run: testLifecycle},
	{name: "ExitCode", run: testExitCode},
	{name: "StopTrappingTERM", run: testStopTrappingTERM},
	{name: "StopIgnoringTERM", run: testStopIgnoringTERM},
	{name: "EventsDie", run: testEventsDie},
	{name: "ListAfterRestart", run: testListAfterRestart},
	{name: "EnsureImage", run: testEnsureImage},
	{name: "NameConflict", run: testNameConflict},
	{name: "Resources", run: testResources},
	{name: "DynamicHostPort", run: testDynamicHostPort},
	{name: "HealthHealthy", run: testHealthHealthy},
	{name: "HealthUnhealthy", run: testHealthUnhealthy},
	{name: "ProcessSettings", realOnly: true, run: testProcessSettings},
	{name: "StartFailure", realOnly: true, run: testStartFailure},
	{name: "BindMount", realOnly: true, run: testBindMount},
	{name: "NamedVolume", realOnly: true, run: testNamedVolume},
	{name: "SharedNetworkNamespace", realOnly: true, run: testSharedNetworkNamespace},
	{name: "NetworkLifecycle", run: testNetworkLifecycle},
	{name: "NetworkConcurrentEnsure", run: testNetworkConcurrentEnsure},
	{name: "ContainerOnNamedNetwork", run: testContainerOnNamedNetwork},
	{name: "StartOnMissingNetwork", run: testStartOnMissingNetwork},
	{name: "TaskNetwork", run: testTaskNetwork},
}

func testLifecycle(t *testing.T, b *backend) {
	ctx := t.Context()
	spec := b.spec(runTrapTerm...)
	id := b.create(t, spec)
	c, err := b.rt.Inspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != id || c.Name != spec.Name || c.Image != b.image || c.State != runtime.StateCreated || !c.StartedAt.IsZero() {
		t.Fatalf("after Create: %+v", c)
	}
	// The engine adds the image's labels; the spec's and LabelManaged must be there.
	for k, v := range withManaged(spec.Labels) {
		if c.Labels[k] != v {
			t.Errorf("label %s = %q, want %q (labels %v)", k, c.Labels[k], v, c.Labels)
		}
	}
	if err := b.rt.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := b.rt.Start(ctx, id); err != nil {
		t.Fatalf("Start of a running container: %v", err)
	}
	c, err = b.rt.Inspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if c.State != runtime.StateRunning || c.StartedAt.IsZero() || c.StartedAt.Before(c.CreatedAt) {
		t.Fatalf("after Start: state %v, created %v, started %v", c.State, c.CreatedAt, c.StartedAt)
	}
	if err := b.rt.Stop(ctx, id, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	c, err = b.rt.Inspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if c.State != runtime.StateExited || c.FinishedAt.Before(c.StartedAt) {
		t.Fatalf("after Stop: state %v, started %v, finished %v", c.State, c.StartedAt, c.FinishedAt)
	}
	if err := b.rt.Stop(ctx, id, time.Second); err != nil {
		t.Fatalf("Stop of a stopped container: %v", err)
	}
	if err := b.rt.Remove(ctx, id); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"Inspect": func() error { _, err := b.rt.Inspect(ctx, id); return err }(),
		"Start":   b.rt.Start(ctx, id),
		"Stop":    b.rt.Stop(ctx, id, time.Second),
		"Remove":  b.rt.Remove(ctx, id),
	} {
		if !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("%s after Remove: %v, want ErrNotFound", name, err)
		}
	}
}

func withManaged(labels map[string]string) map[string]string {
	out := map[string]string{runtime.LabelManaged: "true"}
	for k, v := range labels {
		out[k] = v
	}
	return out
}

func testExitCode(t *testing.T, b *backend) {
	id := b.start(t, b.spec("sh", "-c", "exit 3"))
	c := waitExit(t, b.rt, id, 3)
	if c.FinishedAt.Before(c.StartedAt) || c.OOMKilled {
		t.Errorf("exited container: %+v", c)
	}
}

func testStopTrappingTERM(t *testing.T, b *backend) {
	id := b.start(t, b.spec(runTrapTerm...))
	waitFor(t, b.rt, id, "running", func(c runtime.Container) bool { return c.State == runtime.StateRunning })
	begin := time.Now()
	if err := b.rt.Stop(t.Context(), id, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took > 10*time.Second {
		t.Errorf("Stop took %v; the container exits on SIGTERM", took)
	}
	waitExit(t, b.rt, id, 0)
}

func testStopIgnoringTERM(t *testing.T, b *backend) {
	spec := b.spec(runIgnoreTerm...)
	spec.StopTimeout = time.Second // what a zero Stop timeout would use
	id := b.start(t, spec)
	const timeout = 2 * time.Second
	begin := time.Now()
	if err := b.rt.Stop(t.Context(), id, timeout); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took < timeout {
		t.Errorf("Stop took %v, less than its timeout %v", took, timeout)
	}
	waitExit(t, b.rt, id, 137)

	// A zero timeout uses the container's own StopTimeout.
	if err := b.rt.Start(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	begin = time.Now()
	if err := b.rt.Stop(t.Context(), id, 0); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took < spec.StopTimeout || took >= timeout+5*time.Second {
		t.Errorf("Stop with zero timeout took %v, want about the container's %v", took, spec.StopTimeout)
	}
	waitExit(t, b.rt, id, 137)
}

func testEventsDie(t *testing.T, b *backend) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	events := b.rt.Events(ctx)
	spec := b.spec("sh", "-c", "exit 7")
	id := b.start(t, spec)
	var got []string
	for ev := range events {
		if ev.ContainerID != id {
			continue
		}
		got = append(got, ev.Type.String())
		if ev.Type != runtime.EventDie {
			continue
		}
		if ev.ExitCode != 7 || ev.Name != spec.Name || ev.Labels[testenv.TestLabel] != b.labels[testenv.TestLabel] ||
			ev.Labels[runtime.LabelManaged] != "true" || ev.Time.IsZero() {
			t.Errorf("die event: %+v", ev)
		}
		if diff := cmp.Diff([]string{"start", "die"}, got); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
		return
	}
	t.Fatalf("no die event; got %v", got)
}

func testListAfterRestart(t *testing.T, b *backend) {
	task := map[string]string{runtime.LabelTaskARN: "arn:aws:ecs:us-east-1:000000000000:task/conformance/" + uniqueName()}
	spec := b.spec(runTrapTerm...)
	for k, v := range task {
		spec.Labels[k] = v
	}
	running := b.start(t, spec)
	spec.Name = uniqueName()
	created := b.create(t, spec)

	fresh := b.reopen(t)
	for k, v := range b.labels {
		task[k] = v
	}
	got, err := fresh.List(t.Context(), task)
	if err != nil {
		t.Fatal(err)
	}
	states := make(map[string]runtime.State)
	for _, c := range got {
		states[c.ID] = c.State
	}
	want := map[string]runtime.State{running: runtime.StateRunning, created: runtime.StateCreated}
	if diff := cmp.Diff(want, states); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	task[runtime.LabelTaskARN] += "-other"
	if got, err := fresh.List(t.Context(), task); err != nil || len(got) != 0 {
		t.Errorf("List of another task = %v, %v; want none", got, err)
	}
}

func testEnsureImage(t *testing.T, b *backend) {
	info, err := b.rt.EnsureImage(t.Context(), b.image)
	if err != nil {
		t.Fatal(err)
	}
	if info.Pulled || info.ID == "" || info.Ref != b.image {
		t.Errorf("EnsureImage of a local image = %+v; want it found, not pulled", info)
	}

	const missing = "gantry-test/does-not-exist:1"
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err = b.rt.EnsureImage(ctx, missing)
	if !errors.Is(err, runtime.ErrCannotPull) || !strings.HasPrefix(err.Error(), "CannotPullContainerError: ") ||
		!strings.Contains(err.Error(), missing) {
		t.Errorf("EnsureImage(%q) = %v; want a CannotPullContainerError naming the image", missing, err)
	}
}

func testNameConflict(t *testing.T, b *backend) {
	spec := b.spec(runTrapTerm...)
	b.create(t, spec)
	_, err := b.rt.Create(t.Context(), spec)
	if !errors.Is(err, runtime.ErrConflict) || !errors.Is(err, runtime.ErrCannotCreate) ||
		!strings.HasPrefix(err.Error(), "CannotCreateContainerError: ") || !strings.Contains(err.Error(), spec.Name) {
		t.Errorf("second Create with the same name: %v; want CannotCreateContainerError, ErrConflict", err)
	}
	spec.Name, spec.Image = uniqueName(), "gantry-test/does-not-exist:1"
	if _, err := b.rt.Create(t.Context(), spec); !errors.Is(err, runtime.ErrNotFound) || !errors.Is(err, runtime.ErrCannotCreate) {
		t.Errorf("Create from a missing image: %v; want CannotCreateContainerError, ErrNotFound", err)
	}
}

func testResources(t *testing.T, b *backend) {
	// The cgroup v1 file, or v2's.
	check := `limit=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max); ` +
		`[ "$limit" = 67108864 ] || { echo "limit $limit"; exit 1; }`
	spec := b.spec(runTrapTerm...)
	if b.real {
		spec.Command = []string{"sh", "-c", check}
	}
	spec.MemoryMiB, spec.MemoryReservationMiB, spec.CPUShares = 64, 32, 1
	id := b.start(t, spec)
	c, err := b.rt.Inspect(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	want := runtime.Resources{CPUShares: 2, MemoryBytes: 64 << 20, MemoryReservationBytes: 32 << 20}
	if diff := cmp.Diff(want, c.Resources); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
	if b.real {
		waitExit(t, b.rt, id, 0)
	}
}

func testDynamicHostPort(t *testing.T, b *backend) {
	spec := b.spec(runHTTPD...)
	spec.Ports = []runtime.PortMapping{{ContainerPort: 8080}, {ContainerPort: 8081, Protocol: runtime.UDP}}
	id := b.start(t, spec)
	c := waitFor(t, b.rt, id, "running", func(c runtime.Container) bool { return c.State == runtime.StateRunning })
	var port uint16
	for _, p := range c.Ports {
		if p.ContainerPort == 8080 && p.Protocol == runtime.TCP && (p.HostIP == "0.0.0.0" || port == 0) {
			port = p.HostPort
		}
	}
	if port == 0 || !hasBinding(c.Ports, 8081, runtime.UDP) {
		t.Fatalf("ports = %+v; want dynamic host ports for 8080/tcp and 8081/udp", c.Ports)
	}
	if len(c.Networks) == 0 || c.Networks[0].IPv4Address == "" {
		t.Errorf("networks = %+v; want an address on the bridge", c.Networks)
	}
	if b.real {
		body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", port))
		if body != "gantry\n" {
			t.Errorf("GET = %q, want the image's index.html", body)
		}
	}
}

func hasBinding(ps []runtime.PortBinding, port uint16, proto runtime.Protocol) bool {
	for _, p := range ps {
		if p.ContainerPort == port && p.Protocol == proto && p.HostPort != 0 {
			return true
		}
	}
	return false
}

// httpGet polls url until it answers 200 OK (the server may still be
// starting), with a deadline.
func httpGet(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && rerr == nil {
				return string(body)
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("GET %s: %v", url, err)
		case <-tick.C:
		}
	}
}

func testHealthHealthy(t *testing.T, b *backend) {
	spec := b.spec(runHTTPD...)
	spec.HealthCheck = &runtime.HealthCheck{
		Command:  []string{"CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:8080/"},
		Interval: time.Second, Timeout: time.Second, Retries: 3,
	}
	id := b.start(t, spec)
	if c, _ := b.rt.Inspect(t.Context(), id); c.Health != runtime.HealthStarting && c.Health != runtime.HealthHealthy {
		t.Errorf("health right after Start = %v, want starting", c.Health)
	}
	waitFor(t, b.rt, id, "healthy", func(c runtime.Container) bool { return c.Health == runtime.HealthHealthy })
}

func testHealthUnhealthy(t *testing.T, b *backend) {
	spec := b.spec(runTrapTerm...)
	spec.HealthCheck = &runtime.HealthCheck{
		Command:  []string{"CMD-SHELL", "exit 1"},
		Interval: time.Second, Timeout: time.Second, Retries: 2,
	}
	id := b.start(t, spec)
	c := waitFor(t, b.rt, id, "unhealthy", func(c runtime.Container) bool { return c.Health != runtime.HealthStarting })
	if c.Health != runtime.HealthUnhealthy || c.State != runtime.StateRunning {
		t.Errorf("health = %v, state = %v; want unhealthy and still running", c.Health, c.State)
	}
}

func testProcessSettings(t *testing.T, b *backend) {
	script := `[ "$FOO" = "bar baz" ] || exit 11
[ "$(pwd)" = /tmp ] || exit 12
[ "$(id -u):$(id -g)" = 65534:65534 ] || exit 13
[ "$(hostname)" = gantry-host ] || exit 14
[ "$1" = arg ] || exit 15
grep -q "^10.1.2.3[[:space:]]*db.internal" /etc/hosts || exit 16
exit 0`
	spec := b.spec(script, "sh", "arg")
	spec.EntryPoint = []string{"/bin/sh", "-c"}
	spec.Env = map[string]string{"FOO": "bar baz"}
	spec.WorkingDir, spec.User, spec.Hostname = "/tmp", "nobody", "gantry-host"
	spec.ExtraHosts = []runtime.HostEntry{{Hostname: "db.internal", IPAddress: "10.1.2.3"}}
	spec.Init, spec.ReadonlyRootFilesystem = true, true
	spec.Ulimits = []runtime.Ulimit{{Name: "nofile", Soft: 1024, Hard: 2048}}
	waitExit(t, b.rt, b.start(t, spec), 0)
}

func testStartFailure(t *testing.T, b *backend) {
	id := b.create(t, b.spec("/does-not-exist"))
	err := b.rt.Start(t.Context(), id)
	if !errors.Is(err, runtime.ErrCannotStart) || !strings.HasPrefix(err.Error(), "CannotStartContainerError: ") {
		t.Fatalf("Start of a missing executable: %v; want CannotStartContainerError", err)
	}
	if c, err := b.rt.Inspect(t.Context(), id); err != nil || c.State == runtime.StateRunning || c.Error == "" {
		t.Errorf("after a failed Start: %+v, %v; want not running, with the engine's error", c, err)
	}
}

func testBindMount(t *testing.T, b *backend) {
	in, out := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(in, "hello"), []byte("gantry"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := b.spec("sh", "-c", `[ "$(cat /in/hello)" = gantry ] || exit 11
touch /in/x 2>/dev/null && exit 12
echo written > /out/result`)
	spec.Mounts = []runtime.Mount{
		{Type: runtime.MountBind, Source: in, Target: "/in", ReadOnly: true},
		{Type: runtime.MountBind, Source: out, Target: "/out"},
	}
	waitExit(t, b.rt, b.start(t, spec), 0)
	got, err := os.ReadFile(filepath.Join(out, "result"))
	if err != nil || string(got) != "written\n" {
		t.Errorf("host file = %q, %v; want what the container wrote", got, err)
	}
}

func testNamedVolume(t *testing.T, b *backend) {
	name := uniqueName()
	mount := runtime.Mount{Type: runtime.MountVolume, Source: name, Target: "/v", VolumeLabels: b.labels}
	writer := b.spec("sh", "-c", "echo shared > /v/data")
	writer.Mounts = []runtime.Mount{mount}
	writerID := b.start(t, writer)
	waitExit(t, b.rt, writerID, 0)

	mount.ReadOnly = true
	reader := b.spec("sh", "-c", `[ "$(cat /v/data)" = shared ] || exit 11; touch /v/x 2>/dev/null && exit 12; exit 0`)
	reader.Mounts = []runtime.Mount{mount}
	readerID := b.start(t, reader)
	waitExit(t, b.rt, readerID, 0)

	if err := b.rt.RemoveVolume(t.Context(), name); !errors.Is(err, runtime.ErrConflict) {
		t.Errorf("RemoveVolume of a volume in use: %v, want ErrConflict", err)
	}
	for _, id := range []string{writerID, readerID} {
		if err := b.rt.Remove(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.rt.RemoveVolume(t.Context(), name); err != nil {
		t.Errorf("RemoveVolume: %v", err)
	}
	if err := b.rt.RemoveVolume(t.Context(), name); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("RemoveVolume of a removed volume: %v, want ErrNotFound", err)
	}
}

// testSharedNetworkNamespace is an awsvpc task: a pause container holds the
// network namespace; a server and a client join it and talk over localhost.
func testSharedNetworkNamespace(t *testing.T, b *backend) {
	pause := b.spec(runTrapTerm...)
	pause.Hostname = "task-host"
	pauseID := b.start(t, pause)

	server := b.spec(runHTTPD...)
	server.NetworkMode = runtime.NetworkContainer(pauseID)
	serverID := b.start(t, server)

	client := b.spec("sh", "-c", `i=0
while [ $i -lt 100 ]; do
	wget -q -O /dev/null http://127.0.0.1:8080/ && [ "$(hostname)" = task-host ] && exit 0
	i=$((i+1)); sleep 0.1
done
exit 1`)
	client.NetworkMode = runtime.NetworkContainer(pauseID)
	waitExit(t, b.rt, b.start(t, client), 0)

	p, err := b.rt.Inspect(t.Context(), pauseID)
	if err != nil || len(p.Networks) == 0 || p.Networks[0].IPv4Address == "" {
		t.Errorf("pause container networks = %+v, %v; want an address", p.Networks, err)
	}
	s, err := b.rt.Inspect(t.Context(), serverID)
	if err != nil || s.NetworkMode != "container:"+pauseID {
		t.Errorf("server network mode = %q, %v; want the pause container's", s.NetworkMode, err)
	}
}
