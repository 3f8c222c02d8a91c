package integration_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/gantry-dev/gantry/internal/agent"
	"github.com/gantry-dev/gantry/internal/runtime/docker"
	"github.com/gantry-dev/gantry/internal/testenv"
)

// dockerEnv is an env whose agents run containers on the local Docker
// Engine, every object labelled for this test and removed when it ends.
type dockerEnv struct {
	*env
	rt    *docker.Runtime
	image string
	label string
}

func newDockerEnv(t *testing.T) *dockerEnv {
	t.Helper()
	rt := testenv.RequireDocker(t)
	image := testenv.AppImage(t)
	label := testenv.CleanupLabel(t) // before the server and agents: removes containers after they stop
	return &dockerEnv{env: newEnv(t), rt: rt, image: image, label: label}
}

// dockerAgent starts an agent on the Docker Engine with the test's labels
// and a 1 s default stop timeout.
func (d *dockerEnv) dockerAgent(configure ...func(*agent.Options)) *testenv.Agent {
	d.t.Helper()
	labelled := func(o *agent.Options) {
		o.Labels = map[string]string{testenv.TestLabel: d.label}
		o.TaskNetwork = "gantry-it-" + d.label
		o.StopTimeout = time.Second
	}
	return d.agent(d.rt, append([]func(*agent.Options){labelled}, configure...)...)
}

// healthCheck asks the test app for its /health every 5 s (ECS's
// minimum interval), failing after one bad answer, with no start period.
func healthCheck() *types.HealthCheck {
	return &types.HealthCheck{
		Command:     []string{"CMD", "/app", "check", "-url", "http://127.0.0.1:8080/health"},
		Interval:    aws.Int32(5),
		Timeout:     aws.Int32(2),
		Retries:     aws.Int32(1),
		StartPeriod: aws.Int32(0),
	}
}

// registerWeb registers family as the test app serving HTTP on 8080 in
// bridge mode, published on a dynamic host port, with VERSION=version in
// its environment and the container health check; change adjusts the
// container definition. It returns the revision's ARN.
func (d *dockerEnv) registerWeb(family, version string, change ...func(*types.ContainerDefinition)) string {
	d.t.Helper()
	c := types.ContainerDefinition{
		Name: aws.String("web"), Image: aws.String(d.image), Essential: aws.Bool(true),
		Memory: aws.Int32(24), StopTimeout: aws.Int32(1),
		Command:      []string{"serve", "-port", "8080"},
		Environment:  []types.KeyValuePair{{Name: aws.String("VERSION"), Value: aws.String(version)}},
		PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080), HostPort: aws.Int32(0), Protocol: types.TransportProtocolTcp}},
		HealthCheck:  healthCheck(),
	}
	for _, f := range change {
		f(&c)
	}
	return d.register(&ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family), NetworkMode: types.NetworkModeBridge,
		ContainerDefinitions: []types.ContainerDefinition{c},
	})
}

func (e *env) createService(in *ecs.CreateServiceInput) types.Service {
	e.t.Helper()
	in.Cluster = aws.String(e.cluster)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := e.ecs.CreateService(ctx, in)
	if err != nil {
		e.t.Fatalf("CreateService %s: %v", aws.ToString(in.ServiceName), err)
	}
	return *out.Service
}

func (e *env) updateService(in *ecs.UpdateServiceInput) types.Service {
	e.t.Helper()
	in.Cluster = aws.String(e.cluster)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := e.ecs.UpdateService(ctx, in)
	if err != nil {
		e.t.Fatalf("UpdateService %s: %v", aws.ToString(in.Service), err)
	}
	return *out.Service
}

// service describes one service; the error is the caller's to judge.
func (e *env) service(ctx context.Context, name string) (types.Service, error) {
	out, err := e.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(e.cluster), Services: []string{name}})
	if err != nil {
		return types.Service{}, err
	}
	if len(out.Services) != 1 {
		return types.Service{}, fmt.Errorf("DescribeServices(%s): failures %s", name, failures(out.Failures))
	}
	return out.Services[0], nil
}

// waitService polls DescribeServices until cond holds and returns the
// service then; after timeout it fails the test, showing the service.
func (e *env) waitService(name string, timeout time.Duration, what string, cond func(types.Service) bool) types.Service {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	var last types.Service
	var lastErr error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s, err := e.service(ctx, name)
		cancel()
		if err == nil {
			last, lastErr = s, nil
			if cond(s) {
				return s
			}
		} else {
			lastErr = err
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.t.Fatalf("service %s: no %s after %s (last error %v)\n%s\n%s", name, what, timeout, lastErr, showService(last), e.showTasks(name))
	return last
}

// steady is the ServicesStable waiter's condition plus a COMPLETED
// rollout and the steady-state event.
func steady(s types.Service) bool {
	return aws.ToString(s.Status) == "ACTIVE" && len(s.Deployments) == 1 &&
		s.Deployments[0].RolloutState == types.DeploymentRolloutStateCompleted &&
		s.RunningCount == s.DesiredCount && s.PendingCount == 0 &&
		len(s.Events) > 0 && strings.HasSuffix(aws.ToString(s.Events[0].Message), "has reached a steady state.")
}

// waitSteady waits for steady and returns the service.
func (e *env) waitSteady(name string, timeout time.Duration) types.Service {
	e.t.Helper()
	return e.waitService(name, timeout, "steady state", steady)
}

// eventIndex is the index in s.Events (newest first) of the newest
// message containing text, or -1.
func eventIndex(s types.Service, text string) int {
	return slices.IndexFunc(s.Events, func(ev types.ServiceEvent) bool { return strings.Contains(aws.ToString(ev.Message), text) })
}

func showService(s types.Service) string {
	var b strings.Builder
	fmt.Fprintf(&b, "service %s status %s desired %d running %d pending %d\n", aws.ToString(s.ServiceName), aws.ToString(s.Status), s.DesiredCount, s.RunningCount, s.PendingCount)
	for _, d := range s.Deployments {
		fmt.Fprintf(&b, "  deployment %s %s %s td %s desired %d running %d pending %d failed %d: %s\n", aws.ToString(d.Id), aws.ToString(d.Status),
			d.RolloutState, lastPart(aws.ToString(d.TaskDefinition)), d.DesiredCount, d.RunningCount, d.PendingCount, d.FailedTasks, aws.ToString(d.RolloutStateReason))
	}
	for i, ev := range s.Events {
		if i == 25 {
			break
		}
		fmt.Fprintf(&b, "  event %s %s\n", aws.ToTime(ev.CreatedAt).Format("15:04:05.000"), aws.ToString(ev.Message))
	}
	return b.String()
}

func (e *env) showTasks(service string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tasks, err := e.serviceTasks(ctx, service)
	if err != nil {
		return "tasks: " + err.Error()
	}
	var b strings.Builder
	for _, t := range tasks {
		fmt.Fprintf(&b, "  task %s %s/%s health %s td %s by %s on %s stop %s %q\n", lastPart(aws.ToString(t.TaskArn)), aws.ToString(t.LastStatus),
			aws.ToString(t.DesiredStatus), t.HealthStatus, lastPart(aws.ToString(t.TaskDefinitionArn)), aws.ToString(t.StartedBy),
			lastPart(aws.ToString(t.ContainerInstanceArn)), t.StopCode, aws.ToString(t.StoppedReason))
	}
	return b.String()
}

func lastPart(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

// serviceTasks describes every task of the service, wanted RUNNING or
// STOPPED (ListTasks lists one desired status at a time).
func (e *env) serviceTasks(ctx context.Context, service string) ([]types.Task, error) {
	var arns []string
	for _, st := range []types.DesiredStatus{types.DesiredStatusRunning, types.DesiredStatusStopped} {
		p := ecs.NewListTasksPaginator(e.ecs, &ecs.ListTasksInput{Cluster: aws.String(e.cluster), ServiceName: aws.String(service), DesiredStatus: st})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return nil, err
			}
			for _, a := range out.TaskArns {
				if !slices.Contains(arns, a) {
					arns = append(arns, a)
				}
			}
		}
	}
	var tasks []types.Task
	for chunk := range slices.Chunk(arns, 100) {
		out, err := e.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(e.cluster), Tasks: chunk})
		if err != nil {
			return nil, err
		}
		tasks = append(tasks, out.Tasks...)
	}
	slices.SortFunc(tasks, func(a, b types.Task) int { return strings.Compare(aws.ToString(a.TaskArn), aws.ToString(b.TaskArn)) })
	return tasks, nil
}

// liveTasks are the service's tasks not STOPPED and wanted RUNNING.
func (e *env) liveTasks(service string) []types.Task {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tasks, err := e.serviceTasks(ctx, service)
	if err != nil {
		e.t.Fatal(err)
	}
	return slices.DeleteFunc(tasks, func(t types.Task) bool {
		return aws.ToString(t.LastStatus) == "STOPPED" || aws.ToString(t.DesiredStatus) != "RUNNING"
	})
}

func healthyTask(t types.Task) bool {
	return aws.ToString(t.LastStatus) == "RUNNING" && aws.ToString(t.DesiredStatus) == "RUNNING" && t.HealthStatus == types.HealthStatusHealthy
}

// sample is one look at a service's tasks.
type sample struct {
	at      time.Time
	healthy int // RUNNING, wanted RUNNING, HEALTHY
	live    int // not STOPPED
	tasks   []types.Task
}

// watcher samples a service's tasks every interval until stopped,
// remembering the extremes and when each task was first seen wanted
// STOPPED.
type watcher struct {
	e        *env
	service  string
	mu       sync.Mutex
	samples  int
	errors   int
	latest   sample
	stopSeen map[string]time.Time // task ARN → first sample with desiredStatus STOPPED
	onSample func(sample)
	stop     chan struct{}
	done     chan struct{}
}

func (e *env) watch(service string, interval time.Duration, onSample func(sample)) *watcher {
	w := &watcher{e: e, service: service, stopSeen: map[string]time.Time{}, onSample: onSample, stop: make(chan struct{}), done: make(chan struct{})}
	go w.run(interval)
	e.t.Cleanup(w.Stop)
	return w
}

func (w *watcher) run(interval time.Duration) {
	defer close(w.done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		tasks, err := w.e.serviceTasks(ctx, w.service)
		cancel()
		now := time.Now()
		w.mu.Lock()
		if err != nil {
			w.errors++
		} else {
			s := sample{at: now, tasks: tasks}
			for _, t := range tasks {
				if aws.ToString(t.LastStatus) != "STOPPED" {
					s.live++
				}
				if healthyTask(t) {
					s.healthy++
				}
				if aws.ToString(t.DesiredStatus) == "STOPPED" {
					if _, ok := w.stopSeen[aws.ToString(t.TaskArn)]; !ok {
						w.stopSeen[aws.ToString(t.TaskArn)] = now
					}
				}
			}
			w.samples++
			w.latest = s
			if w.onSample != nil {
				w.onSample(s)
			}
		}
		w.mu.Unlock()
		select {
		case <-w.stop:
			return
		case <-tick.C:
		}
	}
}

// Stop ends the sampling; stopping twice does nothing.
func (w *watcher) Stop() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

func (w *watcher) snapshot() sample {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.latest
}

// stoppedSince reports when the watcher first saw task wanted STOPPED.
func (w *watcher) stoppedSince(task string) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	at, ok := w.stopSeen[task]
	return at, ok
}
