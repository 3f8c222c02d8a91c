// Package server composes the control plane: state in etcd (embedded or
// external), the store, the ECS API behind the AWS protocol layer, metrics
// and health. It holds no logic of its own. Only cmd and test helpers
// import it.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gantry-dev/gantry/internal/agentapi"
	"github.com/gantry-dev/gantry/internal/api"
	"github.com/gantry-dev/gantry/internal/awsapi"
	"github.com/gantry-dev/gantry/internal/controller"
	"github.com/gantry-dev/gantry/internal/ecs"
	"github.com/gantry-dev/gantry/internal/etcdserver"
	"github.com/gantry-dev/gantry/internal/store"
)

// Options configure a control-plane server.
type Options struct {
	Listen          string   // HOST:PORT; defaults to 127.0.0.1:7700
	DataDir         string   // defaults to ./gantry-data
	CredentialsFile string   // defaults to DATA_DIR/credentials, generated on first start
	Region          string   // defaults to us-east-1
	Account         string   // defaults to 000000000000
	EtcdEndpoints   []string // an external etcd cluster instead of the embedded member
	Logger          *slog.Logger
	// AgentPollTimeout is how long an agent's sync is held (default 20 s);
	// AgentDisconnectAfter is the silence after which an agent counts as
	// disconnected (default 3 × AgentPollTimeout).
	AgentPollTimeout     time.Duration
	AgentDisconnectAfter time.Duration
	// TaskRetention is how long STOPPED tasks stay describable (default
	// 3 h; ECS keeps them at least an hour).
	TaskRetention time.Duration
	// DefaultCluster creates the cluster "default" at start if it is not
	// active, as `gantry dev` wants.
	DefaultCluster bool
	// Out receives the lines a person needs, such as how to use freshly
	// generated credentials. Defaults to discarding them.
	Out io.Writer
}

func (o *Options) setDefaults() {
	if o.Listen == "" {
		o.Listen = "127.0.0.1:7700"
	}
	if o.DataDir == "" {
		o.DataDir = "gantry-data"
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.Account == "" {
		o.Account = "000000000000"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.TaskRetention == 0 {
		o.TaskRetention = 3 * time.Hour
	}
}

// Server is a running control plane.
type Server struct {
	opts     Options
	listener net.Listener
	http     *http.Server
	etcd     *etcdserver.Server // nil with an external cluster
	store    *store.Store
	keys     *awsapi.Keyring
	served   chan error
	stop     context.CancelFunc // ends the background loops
	loops    sync.WaitGroup
}

// Start brings the control plane up and serves until Close.
func Start(ctx context.Context, opts Options) (s *Server, err error) {
	opts.setDefaults()
	s = &Server{opts: opts, served: make(chan error, 1), stop: func() {}}
	defer func() {
		if err != nil {
			s.closeState()
		}
	}()
	keys, generated, err := loadCredentials(opts)
	if err != nil {
		return nil, err
	}
	if err := s.openState(ctx); err != nil {
		return nil, err
	}
	s.listener, err = net.Listen("tcp", opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", opts.Listen, err)
	}
	s.keys = keys
	handler, ecsAPI := s.routes(keys)
	if opts.DefaultCluster {
		if _, err := ecsAPI.CreateCluster(ctx, &ecs.CreateClusterRequest{ClusterName: "default"}); err != nil {
			return nil, fmt.Errorf("create the default cluster: %w", err)
		}
	}
	s.http = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() { s.served <- s.http.Serve(s.listener) }()
	if generated != nil {
		printCredentialsHelp(opts, generated, s.URL())
	}
	opts.Logger.Info("gantry server listening", "addr", s.Addr(), "region", opts.Region, "data_dir", opts.DataDir)
	return s, nil
}

func (s *Server) openState(ctx context.Context) error {
	storeOpts := store.Options{Endpoints: s.opts.EtcdEndpoints, Logger: s.opts.Logger.With("component", "store")}
	if len(s.opts.EtcdEndpoints) == 0 {
		etcd, err := etcdserver.Start(ctx, etcdserver.Options{Dir: s.opts.DataDir})
		if err != nil {
			return err
		}
		s.etcd = etcd
		storeOpts.Client = etcd.Client()
	}
	st, err := store.Open(ctx, storeOpts)
	if err != nil {
		return err
	}
	s.store = st
	return nil
}

func (s *Server) routes(keys *awsapi.Keyring) (http.Handler, *api.API) {
	log := s.opts.Logger.With("component", "api")
	sched := controller.NewScheduler(s.store, s.opts.Logger.With("component", "scheduler"), 0)
	ecsAPI := api.New(api.Options{Store: s.store, Region: s.opts.Region, Account: s.opts.Account, Logger: log, Scheduler: sched})
	verifier := &awsapi.Verifier{Keys: keys}
	agents := agentapi.New(agentapi.Options{
		Store:           s.store,
		ARNs:            ecs.ARNs{Region: s.opts.Region, Account: s.opts.Account},
		Verifier:        verifier,
		Logger:          s.opts.Logger.With("component", "agentapi"),
		PollTimeout:     s.opts.AgentPollTimeout,
		DisconnectAfter: s.opts.AgentDisconnectAfter,
	})
	services := controller.NewServices(controller.ServicesOptions{
		Store:    s.store,
		Launcher: ecsAPI,
		ARNs:     ecs.ARNs{Region: s.opts.Region, Account: s.opts.Account},
		Logger:   s.opts.Logger.With("component", "services"),
	})
	retention := &controller.Retention{Store: s.store, Keep: s.opts.TaskRetention, Logger: s.opts.Logger.With("component", "retention")}
	ctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	s.loops.Add(4)
	go func() { defer s.loops.Done(); sched.Run(ctx) }()
	go func() { defer s.loops.Done(); services.Run(ctx) }()
	go func() { defer s.loops.Done(); agents.Run(ctx) }()
	go func() { defer s.loops.Done(); retention.Run(ctx) }()
	m := newMetrics()
	mux := http.NewServeMux()
	mux.Handle("/agent/", agents.Handler())
	mux.Handle("/", awsapi.NewHandler(awsapi.Options{
		Services: []awsapi.Service{ecsAPI.Service()},
		Verifier: verifier,
		Logger:   log,
		Observe:  m.observe,
	}))
	mux.Handle("GET /metrics", m.handler())
	mux.HandleFunc("GET /healthz", s.healthz)
	return mux, ecsAPI
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Healthy(ctx); err != nil {
		http.Error(w, "etcd unavailable: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	io.WriteString(w, "ok\n")
}

// Principals are the credentials allowed to call the API, for an agent
// running in the same process.
func (s *Server) Principals() []awsapi.Principal { return s.keys.Principals() }

// Addr is the address the API listens on.
func (s *Server) Addr() string { return s.listener.Addr().String() }

// URL is the endpoint clients use, e.g. for --endpoint-url.
func (s *Server) URL() string { return "http://" + s.Addr() }

// Close stops serving, letting requests in flight finish within ctx, then
// closes the state.
func (s *Server) Close(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	if serr := <-s.served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	s.closeState()
	return err
}

func (s *Server) closeState() {
	s.stop()
	s.loops.Wait()
	if s.store != nil {
		s.store.Close()
	}
	if s.etcd != nil {
		s.etcd.Close()
	}
}
