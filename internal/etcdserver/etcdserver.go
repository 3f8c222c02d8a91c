// Package etcdserver runs the embedded etcd that holds Gantry's state when no
// external cluster is given. It owns the etcd process lifecycle only; what is
// stored is the store package's business.
package etcdserver

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
)

// Options configure the embedded member.
type Options struct {
	// Dir is the data directory; etcd keeps its WAL and snapshots in Dir/etcd.
	Dir string
	// Name is the member name; defaults to "gantry".
	Name string
	// ClientURL and PeerURL are where the member listens. Both default to
	// http://127.0.0.1:0 (a free port): a single member talks to itself only,
	// and Gantry reaches it in-process.
	ClientURL, PeerURL string
	// InitialCluster is etcd's "name=peerURL,…"; defaults to this member alone.
	InitialCluster string
	// LogLevel is etcd's own log level; defaults to "fatal" because etcd logs
	// through its own logger and is noisy at shutdown.
	LogLevel string
	// StartTimeout bounds the wait for the member to become ready.
	StartTimeout time.Duration
}

// Server is a running embedded etcd member.
type Server struct {
	etcd   *embed.Etcd
	client *clientv3.Client
}

// Start starts the member and waits until it serves.
func Start(ctx context.Context, opts Options) (*Server, error) {
	cfg, err := config(opts)
	if err != nil {
		return nil, err
	}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("start embedded etcd in %s: %w", cfg.Dir, err)
	}
	timeout := opts.StartTimeout
	if timeout == 0 {
		timeout = time.Minute
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd: %w", err)
	case <-time.After(timeout):
		e.Close()
		return nil, errors.New("embedded etcd did not become ready in time")
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
	return &Server{etcd: e, client: v3client.New(e.Server)}, nil
}

func config(opts Options) (*embed.Config, error) {
	cfg := embed.NewConfig()
	cfg.Dir = filepath.Join(opts.Dir, "etcd")
	if opts.Name != "" {
		cfg.Name = opts.Name
	} else {
		cfg.Name = "gantry"
	}
	cfg.LogLevel = opts.LogLevel
	if cfg.LogLevel == "" {
		cfg.LogLevel = "fatal"
	}
	client, err := parseURL(opts.ClientURL)
	if err != nil {
		return nil, fmt.Errorf("etcd client URL: %w", err)
	}
	peer, err := parseURL(opts.PeerURL)
	if err != nil {
		return nil, fmt.Errorf("etcd peer URL: %w", err)
	}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*client}, []url.URL{*client}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*peer}, []url.URL{*peer}
	cfg.InitialCluster = opts.InitialCluster
	if cfg.InitialCluster == "" {
		cfg.InitialCluster = cfg.Name + "=" + peer.String()
	}
	// Keep a bounded history: the store compacts, and the backend should not
	// grow without limit between compactions.
	cfg.AutoCompactionMode = "revision"
	cfg.AutoCompactionRetention = "10000"
	return cfg, nil
}

func parseURL(s string) (*url.URL, error) {
	if s == "" {
		s = "http://127.0.0.1:0"
	}
	return url.Parse(s)
}

// Client is an in-process client of the member: no network hop.
func (s *Server) Client() *clientv3.Client { return s.client }

// Close stops the member; it is safe to call more than once.
func (s *Server) Close() {
	s.client.Close()
	s.etcd.Close()
}
