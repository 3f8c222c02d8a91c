// Package agent runs one host's share of the cluster: it registers the
// host, syncs with the control plane (reporting what it observes,
// receiving what is desired for its instance) and runs one task runner
// per task on the container runtime. It owns nothing durable: Docker
// labels on every container let a restarted agent re-adopt its containers
// without restarting them. It imports no server package.
package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/gantry-dev/gantry/internal/runtime"
)

// LabelInstance names the instance whose agent made a container, so two
// agents sharing an engine never touch each other's containers.
const LabelInstance = "gantry.instance"

// Options configure an agent.
type Options struct {
	Endpoint string // the control plane, e.g. http://127.0.0.1:7700
	Cluster  string // defaults to "default"
	// Capacity is agentproto.CapacityInstance (a container instance) or
	// CapacityFargate (capacity the control plane uses for FARGATE tasks).
	Capacity    string
	DataDir     string // where the agent remembers its registration
	Credentials aws.CredentialsProvider
	Region      string // signing region; defaults to us-east-1
	Runtime     runtime.Runtime

	Attributes       map[string]string // custom attributes
	AvailabilityZone string            // defaults to "local"
	InstanceType     string            // defaults to "gantry.local"

	Labels      map[string]string // extra labels on everything the agent creates
	TaskNetwork string            // Docker network for awsvpc tasks; defaults to "gantry-task"
	CleanupWait time.Duration     // how long stopped containers are kept; defaults to 1 h
	StopTimeout time.Duration     // default grace between SIGTERM and SIGKILL; defaults to 30 s
	Version     string            // reported as versionInfo.agentVersion

	HTTPClient *http.Client
	Logger     *slog.Logger
}

func (o *Options) setDefaults() {
	if o.Cluster == "" {
		o.Cluster = "default"
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.AvailabilityZone == "" {
		o.AvailabilityZone = "local"
	}
	if o.InstanceType == "" {
		o.InstanceType = "gantry.local"
	}
	if o.TaskNetwork == "" {
		o.TaskNetwork = "gantry-task"
	}
	if o.CleanupWait == 0 {
		o.CleanupWait = time.Hour
	}
	if o.StopTimeout == 0 {
		o.StopTimeout = 30 * time.Second
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.HTTPClient == nil {
		// Longer than any long-poll the server holds.
		o.HTTPClient = &http.Client{Timeout: 2 * time.Minute}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Agent is one host's agent.
type Agent struct {
	opts   Options
	log    *slog.Logger
	client *client
	rt     runtime.Runtime

	mu         sync.Mutex
	instance   string // container instance ARN
	instanceID string
	token      string
	digest     string
	revision   int64 // of the last desired state applied
	// heard is, per task, the version of its state the server last
	// acknowledged; a sync reports only states newer than that.
	heard      map[string]int
	runners    map[string]*taskRunner // by task ARN
	registered chan struct{}          // closed after the first registration

	wake chan struct{} // a runner's state changed
}

// New checks options and returns an agent; Run starts it.
func New(opts Options) (*Agent, error) {
	opts.setDefaults()
	switch {
	case opts.Endpoint == "":
		return nil, errors.New("agent: an endpoint is required")
	case opts.Runtime == nil:
		return nil, errors.New("agent: a runtime is required")
	case opts.Credentials == nil:
		return nil, errors.New("agent: AWS credentials are required to register")
	case opts.DataDir == "":
		return nil, errors.New("agent: a data directory is required")
	}
	return &Agent{
		opts:       opts,
		log:        opts.Logger,
		client:     &client{endpoint: opts.Endpoint, http: opts.HTTPClient, creds: opts.Credentials, region: opts.Region},
		rt:         opts.Runtime,
		runners:    map[string]*taskRunner{},
		heard:      map[string]int{},
		registered: make(chan struct{}),
		wake:       make(chan struct{}, 1),
	}, nil
}

// InstanceARN waits for the first registration and returns the container
// instance ARN.
func (a *Agent) InstanceARN(ctx context.Context) (string, error) {
	select {
	case <-a.registered:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.instance, nil
}

// Run registers, re-adopts containers and syncs until ctx ends, or the
// instance is deregistered (ErrDeregistered). Containers keep running
// when it returns.
func (a *Agent) Run(ctx context.Context) error {
	info, err := a.hostInfo(ctx)
	if err != nil {
		return err
	}
	if err := a.registerWithRetry(ctx, info); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := a.rt.Events(ctx)
	adopted, err := a.adoptable(ctx)
	if err != nil {
		return err
	}
	go a.dispatch(ctx, events)
	errc := make(chan error, 2)
	go func() { errc <- a.pollLoop(ctx, info, adopted) }()
	go func() { errc <- a.reportLoop(ctx, info) }()
	err = <-errc
	cancel()
	if ctx.Err() != nil && !errors.Is(err, ErrDeregistered) {
		return nil
	}
	return err
}

// hostInfo waits for the container engine to answer.
func (a *Agent) hostInfo(ctx context.Context) (runtime.HostInfo, error) {
	b := newBackoff()
	for {
		info, err := a.rt.Info(ctx)
		if err == nil {
			return info, nil
		}
		a.log.Warn("container engine not answering; retrying", "err", err)
		if !b.wait(ctx) {
			return runtime.HostInfo{}, ctx.Err()
		}
	}
}

// savedState is what the agent keeps in its data directory: which
// registration to resume after a restart.
type savedState struct {
	ContainerInstanceArn string `json:"containerInstanceArn"`
	Cluster              string `json:"cluster"`
	Capacity             string `json:"capacity,omitempty"`
}

func (a *Agent) statePath() string { return filepath.Join(a.opts.DataDir, "agent-state.json") }

func (a *Agent) loadState() savedState {
	var s savedState
	raw, err := os.ReadFile(a.statePath())
	if err == nil && json.Unmarshal(raw, &s) == nil && s.Cluster == a.opts.Cluster && s.Capacity == a.opts.Capacity {
		return s
	}
	return savedState{}
}

func (a *Agent) saveState(s savedState) error {
	if err := os.MkdirAll(a.opts.DataDir, 0o700); err != nil {
		return err
	}
	raw, _ := json.Marshal(s)
	tmp := a.statePath() + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, a.statePath())
}

func (a *Agent) registerWithRetry(ctx context.Context, info runtime.HostInfo) error {
	b := newBackoff()
	for {
		err := a.register(ctx, info)
		var perm *permanentError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &perm), errors.Is(err, ErrDeregistered):
			return fmt.Errorf("agent: register: %w", err)
		}
		a.log.Warn("registration failed; retrying", "err", err)
		if !b.wait(ctx) {
			return ctx.Err()
		}
	}
}

func (a *Agent) register(ctx context.Context, info runtime.HostInfo) error {
	prev := a.loadState()
	req := a.registration(info)
	req.ContainerInstanceArn = prev.ContainerInstanceArn
	resp, err := a.client.register(ctx, req)
	if err != nil {
		return err
	}
	if err := a.saveState(savedState{ContainerInstanceArn: resp.ContainerInstanceArn, Cluster: a.opts.Cluster, Capacity: a.opts.Capacity}); err != nil {
		return fmt.Errorf("save registration in %s: %w", a.opts.DataDir, err)
	}
	a.mu.Lock()
	first := a.instance == ""
	a.instance, a.token = resp.ContainerInstanceArn, resp.Token
	a.revision = 0 // a registration starts a new conversation
	clear(a.heard)
	a.instanceID = arnID(resp.ContainerInstanceArn)
	a.mu.Unlock()
	if first {
		close(a.registered)
	}
	a.log.Info("registered", "containerInstanceArn", resp.ContainerInstanceArn, "resumed", prev.ContainerInstanceArn == resp.ContainerInstanceArn)
	return nil
}

// backoff doubles a wait from 100 ms up to 5 s.
type backoff struct{ d time.Duration }

func newBackoff() *backoff { return &backoff{d: 100 * time.Millisecond} }

func (b *backoff) wait(ctx context.Context) bool {
	t := time.NewTimer(b.d)
	defer t.Stop()
	b.d = min(2*b.d, 5*time.Second)
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (b *backoff) reset() { b.d = 100 * time.Millisecond }
