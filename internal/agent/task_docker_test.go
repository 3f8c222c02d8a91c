package agent_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/agent"
	"github.com/gantry-dev/gantry/internal/agentproto"
	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/runtime"
	"github.com/gantry-dev/gantry/internal/runtime/docker"
	"github.com/gantry-dev/gantry/internal/testenv"
)

// dockerEnv runs task runners on the local Docker Engine for one test.
// Everything they create carries the test's cleanup label, so it is
// removed when the test ends, pass or fail.
type dockerEnv struct {
	t     *testing.T
	rt    *docker.Runtime
	image string
	cfg   agent.TaskConfig
	ctx   context.Context

	mu      sync.Mutex
	runners map[string]*agent.TaskRunner
}

func newDockerEnv(t *testing.T) *dockerEnv {
	t.Parallel()
	rt := testenv.RequireDocker(t)
	image := testenv.AppImage(t)
	label := testenv.CleanupLabel(t)
	ctx, cancel := context.WithCancel(context.Background())
	e := &dockerEnv{
		t: t, rt: rt, image: image, ctx: ctx,
		runners: make(map[string]*agent.TaskRunner),
		cfg: agent.TaskConfig{
			Runtime:     rt,
			InstanceID:  "i-" + ecs.NewID()[:12],
			Labels:      map[string]string{testenv.TestLabel: label},
			TaskNetwork: "gantry-test-" + ecs.NewID()[:12],
			CleanupWait: 200 * time.Millisecond,
			StopTimeout: 2 * time.Second,
		},
	}
	events := rt.Events(ctx)
	pumped := make(chan struct{})
	go func() {
		defer close(pumped)
		for ev := range events {
			e.mu.Lock()
			var targets []*agent.TaskRunner
			for arn, r := range e.runners {
				if ev.Type == runtime.EventResync || ev.Labels[runtime.LabelTaskARN] == arn {
					targets = append(targets, r)
				}
			}
			e.mu.Unlock()
			for _, r := range targets {
				r.HandleEvent(ev)
			}
		}
	}()
	// Registered after CleanupLabel's, so it runs first: the runners end
	// before their containers are removed.
	t.Cleanup(func() {
		cancel()
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, r := range e.runners {
			<-r.Exited()
		}
		<-pumped
	})
	return e
}

func (e *dockerEnv) start(ctx context.Context, task agentproto.Task, adopted []runtime.Container) *agent.TaskRunner {
	if ctx == nil {
		ctx = e.ctx
	}
	r := agent.StartTask(ctx, e.cfg, task, adopted)
	e.mu.Lock()
	e.runners[task.TaskArn] = r
	e.mu.Unlock()
	return r
}

func (e *dockerEnv) task(mode ecs.NetworkMode, cds ...ecs.ContainerDefinition) agentproto.Task {
	for i := range cds {
		if cds[i].Image == "" {
			cds[i].Image = e.image
		}
	}
	return agentproto.Task{
		TaskArn:       "arn:aws:ecs:us-east-1:123456789012:task/test/" + ecs.NewID(),
		ClusterArn:    "arn:aws:ecs:us-east-1:123456789012:cluster/test",
		DesiredStatus: ecs.TaskRunning,
		Definition: ecs.TaskDefinition{
			TaskDefinitionArn: "arn:aws:ecs:us-east-1:123456789012:task-definition/it:1",
			Family:            "it", Revision: 1, NetworkMode: mode, ContainerDefinitions: cds,
		},
	}
}

// await polls the runner's state until cond holds, failing after limit.
func await(t *testing.T, r *agent.TaskRunner, what string, limit time.Duration, cond func(agentproto.TaskState) bool) agentproto.TaskState {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		st := r.State()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %v waiting for %s; state: %s", limit, what, show(st))
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func awaitStatus(t *testing.T, r *agent.TaskRunner, status string, limit time.Duration) agentproto.TaskState {
	t.Helper()
	return await(t, r, "task "+status, limit, func(st agentproto.TaskState) bool { return st.LastStatus == status })
}

func show(st agentproto.TaskState) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s health=%s stopCode=%q reason=%q ip=%s", st.LastStatus, st.HealthStatus, st.StopCode, st.StoppedReason, st.PrivateIPv4Address)
	for _, c := range st.Containers {
		code := "-"
		if c.ExitCode != nil {
			code = strconv.Itoa(int(*c.ExitCode))
		}
		fmt.Fprintf(&b, "\n  %s %s exit=%s health=%s reason=%q bindings=%d", c.Name, c.LastStatus, code, c.HealthStatus, c.Reason, len(c.NetworkBindings))
	}
	return b.String()
}

func named(st agentproto.TaskState, name string) ecs.Container {
	for _, c := range st.Containers {
		if c.Name == name {
			return c
		}
	}
	return ecs.Container{}
}

func ptr[T any](v T) *T { return &v }

// get fetches url, retrying for a few seconds while the server comes up.
func get(t *testing.T, url string) string {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	var last error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := client.Get(url)
		if err != nil {
			last = err
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return string(body)
		}
		last = fmt.Errorf("%s", resp.Status)
	}
	t.Fatalf("GET %s: %v", url, last)
	return ""
}

func (e *dockerEnv) stopAndClean(r *agent.TaskRunner, arn string) agentproto.TaskState {
	e.t.Helper()
	r.Desire(ecs.TaskStopped)
	st := awaitStatus(e.t, r, ecs.TaskStopped, 15*time.Second)
	select {
	case <-r.Done():
	case <-time.After(15 * time.Second):
		e.t.Fatal("the runner did not clean up")
	}
	left, err := e.rt.List(context.Background(), map[string]string{runtime.LabelTaskARN: arn})
	if err != nil || len(left) != 0 {
		e.t.Errorf("after cleanup: %d containers left (%v)", len(left), err)
	}
	return st
}

func TestDockerBridgeDynamicPort(t *testing.T) {
	e := newDockerEnv(t)
	web := ecs.ContainerDefinition{Name: "web", PortMappings: []ecs.PortMapping{{ContainerPort: ptr(int32(8080))}},
		Environment: []ecs.KeyValuePair{{Name: "GREETING", Value: "hello"}}}
	task := e.task("", web)
	r := e.start(nil, task, nil)
	st := awaitStatus(t, r, ecs.TaskRunning, 30*time.Second)
	w := named(st, "web")
	if len(w.NetworkBindings) == 0 || *w.NetworkBindings[0].HostPort == 0 || *w.NetworkBindings[0].ContainerPort != 8080 {
		t.Fatalf("bindings: %s", show(st))
	}
	body := get(t, "http://127.0.0.1:"+strconv.Itoa(int(*w.NetworkBindings[0].HostPort))+"/")
	if !strings.Contains(body, "hello") {
		t.Errorf("the app answered %s", body)
	}
	st = e.stopAndClean(r, task.TaskArn)
	if c := named(st, "web"); c.ExitCode == nil || *c.ExitCode != 0 || st.StopCode != "" {
		t.Errorf("stopped: %s", show(st))
	}
}

func TestDockerHostMode(t *testing.T) {
	e := newDockerEnv(t)
	_, port, _ := net.SplitHostPort(testenv.FreeAddr(t))
	web := ecs.ContainerDefinition{Name: "web", Command: []string{"serve", "-port", port},
		PortMappings: []ecs.PortMapping{{ContainerPort: ptr(int32(mustAtoi(t, port)))}}}
	task := e.task(ecs.NetworkModeHost, web)
	r := e.start(nil, task, nil)
	st := awaitStatus(t, r, ecs.TaskRunning, 30*time.Second)
	if b := named(st, "web").NetworkBindings; len(b) != 1 || strconv.Itoa(int(*b[0].HostPort)) != port {
		t.Errorf("bindings: %s", show(st))
	}
	get(t, "http://127.0.0.1:"+port+"/health")
	e.stopAndClean(r, task.TaskArn)
}

func TestDockerNoneMode(t *testing.T) {
	e := newDockerEnv(t)
	// With no network, fetching the host fails: the job exits 1.
	job := ecs.ContainerDefinition{Name: "job", Essential: ptr(false), Command: []string{"fetch", "-url", "http://1.1.1.1/"}}
	task := e.task(ecs.NetworkModeNone, ecs.ContainerDefinition{Name: "app", Command: []string{"sleep"}}, job)
	r := e.start(nil, task, nil)
	st := await(t, r, "the job to exit", 30*time.Second, func(st agentproto.TaskState) bool {
		return named(st, "job").LastStatus == ecs.TaskStopped
	})
	if c := named(st, "job"); c.ExitCode == nil || *c.ExitCode != 1 || st.LastStatus != ecs.TaskRunning {
		t.Errorf("none mode: %s", show(st))
	}
	c, err := e.rt.Inspect(context.Background(), named(st, "app").RuntimeId)
	if err != nil || c.NetworkMode != "none" || len(c.Networks) != 0 {
		t.Errorf("app container: %+v %v", c, err)
	}
	e.stopAndClean(r, task.TaskArn)
}

func TestDockerAwsvpc(t *testing.T) {
	e := newDockerEnv(t)
	web := ecs.ContainerDefinition{Name: "web", PortMappings: []ecs.PortMapping{{ContainerPort: ptr(int32(8080))}}}
	// The client reaches web on 127.0.0.1: they share the task's network
	// namespace. Its health check proves it.
	client := ecs.ContainerDefinition{Name: "client", Command: []string{"sleep"},
		HealthCheck: &ecs.HealthCheck{Command: []string{"CMD", "/app", "check", "-url", "http://127.0.0.1:8080/health"},
			Interval: ptr(int32(1)), Retries: ptr(int32(10))}}
	task := e.task(ecs.NetworkModeAwsvpc, web, client)
	task.Network = &ecs.NetworkConfiguration{AwsvpcConfiguration: &ecs.AwsVpcConfiguration{Subnets: []string{"subnet-absent"}}}
	r := e.start(nil, task, nil)
	st := await(t, r, "a healthy task", 30*time.Second, func(st agentproto.TaskState) bool {
		return st.LastStatus == ecs.TaskRunning && st.HealthStatus == ecs.HealthStatusHEALTHY
	})
	if st.PrivateIPv4Address == "" || len(named(st, "web").NetworkInterfaces) != 1 ||
		named(st, "web").NetworkInterfaces[0].PrivateIpv4Address != st.PrivateIPv4Address {
		t.Fatalf("awsvpc task: %s", show(st))
	}
	n, err := e.rt.InspectNetwork(context.Background(), e.cfg.TaskNetwork)
	if err != nil {
		t.Fatalf("task network: %v", err)
	}
	if n.Labels[testenv.TestLabel] == "" {
		t.Errorf("task network labels %v", n.Labels)
	}
	get(t, "http://"+st.PrivateIPv4Address+":8080/health")
	e.stopAndClean(r, task.TaskArn)
}

func TestDockerStopTimeout(t *testing.T) {
	e := newDockerEnv(t)
	stubborn := ecs.ContainerDefinition{Name: "stubborn", Command: []string{"sleep", "-ignore-sigterm"}, StopTimeout: ptr(int32(2))}
	task := e.task("", stubborn)
	r := e.start(nil, task, nil)
	awaitStatus(t, r, ecs.TaskRunning, 30*time.Second)
	// RUNNING means the process exists, not that it has set SIGTERM aside
	// yet; a stop in between ends it at once (seen as exit code 2 under load).
	time.Sleep(500 * time.Millisecond)
	begin := time.Now()
	r.Desire(ecs.TaskStopped)
	st := awaitStatus(t, r, ecs.TaskStopped, 8*time.Second)
	took := time.Since(begin)
	if c := named(st, "stubborn"); c.ExitCode == nil || *c.ExitCode != 137 {
		t.Errorf("stopped: %s", show(st))
	}
	if took < 1500*time.Millisecond || took > 5*time.Second {
		t.Errorf("the stop took %v; its stopTimeout is 2s", took)
	}
}

func TestDockerHealthAndEssentialExit(t *testing.T) {
	e := newDockerEnv(t)
	check := func(port string) *ecs.HealthCheck {
		return &ecs.HealthCheck{Command: []string{"CMD", "/app", "check", "-url", "http://127.0.0.1:" + port + "/health"},
			Interval: ptr(int32(1)), Timeout: ptr(int32(2)), Retries: ptr(int32(2))}
	}
	good := ecs.ContainerDefinition{Name: "good", HealthCheck: check("8080")}
	bad := ecs.ContainerDefinition{Name: "bad", HealthCheck: check("8080"), Environment: []ecs.KeyValuePair{{Name: "HEALTHY", Value: "false"}}}
	// The essential "quitter" exits 3 once both health checks settled.
	quitter := ecs.ContainerDefinition{Name: "quitter", Command: []string{"exit", "-code", "3", "-after", "5s"}}
	task := e.task("", good, bad, quitter)
	r := e.start(nil, task, nil)
	st := await(t, r, "health checks to settle", 30*time.Second, func(st agentproto.TaskState) bool {
		return named(st, "good").HealthStatus == ecs.HealthStatusHEALTHY && named(st, "bad").HealthStatus == ecs.HealthStatusUNHEALTHY
	})
	if st.LastStatus != ecs.TaskRunning || st.HealthStatus != ecs.HealthStatusUNHEALTHY || named(st, "quitter").HealthStatus != ecs.HealthStatusUNKNOWN {
		t.Errorf("health: %s", show(st))
	}
	st = awaitStatus(t, r, ecs.TaskStopped, 30*time.Second)
	if q := named(st, "quitter"); st.StopCode != ecs.TaskStopCodeEssentialContainerExited || q.ExitCode == nil || *q.ExitCode != 3 ||
		st.StoppedReason != "Essential container in task exited" {
		t.Errorf("stopped: %s", show(st))
	}
}

func TestDockerAdoption(t *testing.T) {
	e := newDockerEnv(t)
	web := ecs.ContainerDefinition{Name: "web", PortMappings: []ecs.PortMapping{{ContainerPort: ptr(int32(8080))}}}
	task := e.task(ecs.NetworkModeAwsvpc, web, ecs.ContainerDefinition{Name: "side", Essential: ptr(false), Command: []string{"sleep"}})
	ctx, cancel := context.WithCancel(context.Background())
	first := e.start(ctx, task, nil)
	before := awaitStatus(t, first, ecs.TaskRunning, 30*time.Second)
	cancel()
	<-first.Exited()

	listed, err := e.rt.List(context.Background(), map[string]string{agent.LabelInstance: e.cfg.InstanceID})
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 3 { // web, side and the pause container
		t.Fatalf("%d containers after the runner ended, want 3", len(listed))
	}
	second := e.start(nil, task, listed)
	after := awaitStatus(t, second, ecs.TaskRunning, 10*time.Second)
	for _, name := range []string{"web", "side"} {
		if a, b := named(after, name), named(before, name); a.RuntimeId != b.RuntimeId || a.LastStatus != ecs.TaskRunning {
			t.Errorf("%s before %+v, after adoption %+v", name, b, a)
		}
	}
	if d := after.StartedAt.Sub(before.StartedAt.Time); after.PrivateIPv4Address != before.PrivateIPv4Address || d < -time.Second || d > time.Second {
		t.Errorf("adopted: %s\nbefore: %s", show(after), show(before))
	}
	get(t, "http://"+after.PrivateIPv4Address+":8080/health")
	st := e.stopAndClean(second, task.TaskArn)
	if named(st, "web").RuntimeId != named(before, "web").RuntimeId {
		t.Errorf("stopped: %s", show(st))
	}
}

func TestDockerVolumes(t *testing.T) {
	e := newDockerEnv(t)
	busybox := testenv.BusyboxImage(t)
	writer := ecs.ContainerDefinition{Name: "writer", Command: []string{"write", "-file", "/data/greeting", "-text", "hi"},
		MountPoints: []ecs.MountPoint{{SourceVolume: "scratch", ContainerPath: "/data"}}}
	reader := ecs.ContainerDefinition{Name: "reader", Image: busybox, Essential: ptr(false),
		Command:     []string{"sh", "-c", "until test -f /data/greeting; do sleep 0.1; done; test \"$(cat /data/greeting)\" = hi"},
		VolumesFrom: []ecs.VolumeFrom{{SourceContainer: "writer", ReadOnly: ptr(true)}}}
	task := e.task("", writer, reader)
	task.Definition.Volumes = []ecs.Volume{{Name: "scratch"}}
	r := e.start(nil, task, nil)
	st := await(t, r, "the reader to finish", 30*time.Second, func(st agentproto.TaskState) bool {
		return named(st, "reader").LastStatus == ecs.TaskStopped
	})
	if c := named(st, "reader"); c.ExitCode == nil || *c.ExitCode != 0 {
		t.Errorf("the reader did not read what the writer wrote: %s", show(st))
	}
	e.stopAndClean(r, task.TaskArn)
	volume := "ecs-it-1-scratch-" + task.TaskArn[strings.LastIndexByte(task.TaskArn, '/')+1:][:12]
	if err := e.rt.RemoveVolume(context.Background(), volume); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("the task volume %s after cleanup: %v", volume, err)
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
