package testenv

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/gantry-dev/gantry/internal/agent"
	"github.com/gantry-dev/gantry/internal/server"
)

// StartServerWith starts a test server like StartServer after letting
// configure change its options.
func StartServerWith(t testing.TB, configure func(*server.Options)) *Server {
	t.Helper()
	return startServer(t, configure)
}

// Agent is an agent running for one test.
type Agent struct {
	*agent.Agent
	InstanceARN string
	DataDir     string
	stop        context.CancelFunc
	done        chan error
}

// StartAgent runs an agent against endpoint until the test ends (or Stop),
// signing its registration with the test key. Options left empty get a
// temporary data directory, the test logger and the test region. It
// returns once the agent registered.
func StartAgent(t testing.TB, endpoint string, opts agent.Options) *Agent {
	t.Helper()
	opts.Endpoint = endpoint
	if opts.DataDir == "" {
		opts.DataDir = t.TempDir()
	}
	if opts.Credentials == nil {
		opts.Credentials = credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, "")
	}
	if opts.Logger == nil {
		opts.Logger = testLogger().With("component", "agent")
	}
	a, err := agent.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ta := &Agent{Agent: a, DataDir: opts.DataDir, stop: cancel, done: make(chan error, 1)}
	go func() { ta.done <- a.Run(ctx) }()
	regCtx, regCancel := context.WithTimeout(ctx, 30*time.Second)
	defer regCancel()
	ta.InstanceARN, err = a.InstanceARN(regCtx)
	if err != nil {
		cancel()
		t.Fatalf("agent did not register: %v (run: %v)", err, <-ta.done)
	}
	t.Cleanup(func() { ta.Stop(t) })
	return ta
}

// Stop ends the agent as a crash would for its containers: they keep
// running. Stopping twice does nothing.
func (a *Agent) Stop(t testing.TB) {
	t.Helper()
	a.stop()
	select {
	case err, ok := <-a.done:
		if ok && err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("agent: %v", err)
		}
		close(a.done)
	default:
	}
}

func testLogger() *slog.Logger {
	level := slog.LevelWarn
	if testing.Verbose() {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}
