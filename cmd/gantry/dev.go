package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/spf13/cobra"

	"github.com/gantry-dev/gantry/internal/agent"
	"github.com/gantry-dev/gantry/internal/agentproto"
	"github.com/gantry-dev/gantry/internal/server"
)

func devCommand() *cobra.Command {
	var (
		opts        server.Options
		lvl         string
		runtimeName string
		labels      []string
		taskNetwork string
	)
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a whole ECS on this machine: the server, the cluster \"default\" and an agent on the local Docker Engine",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd.Flags()); err != nil {
				return err
			}
			logger, err := newLogger(lvl)
			if err != nil {
				return err
			}
			opts.Logger, opts.Out, opts.DefaultCluster = logger, cmd.OutOrStdout(), true
			containerLabels, err := parseAttributes(labels)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runDev(ctx, opts, runtimeName, containerLabels, taskNetwork)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Listen, "listen", "127.0.0.1:7700", "address the API listens on (HOST:PORT)")
	f.StringVar(&opts.DataDir, "data-dir", "./gantry-data", "directory for state, credentials and the agents' registrations")
	f.StringVar(&opts.Region, "region", "us-east-1", "region in the ARNs Gantry hands out")
	f.StringVar(&opts.Account, "account-id", "000000000000", "account ID in the ARNs Gantry hands out")
	f.StringVar(&opts.CredentialsFile, "credentials-file", "", "AWS shared-credentials file of the keys allowed to call the API (default: DATA_DIR/credentials, generated on first start)")
	f.StringVar(&runtimeName, "runtime", "docker", "container runtime: docker, or sim (simulated containers)")
	f.StringVar(&taskNetwork, "task-network", "gantry-task", "Docker network for awsvpc tasks whose subnet names no existing network")
	f.StringArrayVar(&labels, "container-label", nil, "extra label KEY=VALUE on every container the agents create; repeatable")
	f.StringVar(&lvl, "log-level", "info", "debug, info, warn or error")
	return cmd
}

// runDev starts the server, then two agents on the same engine: one joins
// the cluster "default" as a container instance (launch type EC2), the
// other is the server's FARGATE capacity.
func runDev(ctx context.Context, opts server.Options, runtimeName string, labels map[string]string, taskNetwork string) error {
	s, err := server.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer func() {
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Close(shutdown)
	}()
	principals := s.Principals()
	if len(principals) == 0 {
		return errors.New("the server has no credentials for its agents")
	}
	creds := credentials.NewStaticCredentialsProvider(principals[0].AccessKeyID, principals[0].SecretAccessKey, "")
	rt, closeRT, err := newRuntime(runtimeName)
	if err != nil {
		return err
	}
	defer closeRT()
	errc := make(chan error, 2)
	for _, capacity := range []string{agentproto.CapacityInstance, agentproto.CapacityFargate} {
		dir := "agent"
		if capacity == agentproto.CapacityFargate {
			dir = "fargate"
		}
		a, err := agent.New(agent.Options{
			Endpoint:    s.URL(),
			Cluster:     "default",
			Capacity:    capacity,
			DataDir:     filepath.Join(opts.DataDir, dir),
			Credentials: creds,
			Region:      opts.Region,
			Runtime:     rt,
			Labels:      labels,
			TaskNetwork: taskNetwork,
			Version:     version,
			Logger:      opts.Logger.With("component", "agent", "capacity", capacityName(capacity)),
		})
		if err != nil {
			return err
		}
		go func() { errc <- a.Run(ctx) }()
	}
	fmt.Fprintf(opts.Out, "Gantry is running at %s with the cluster \"default\" on this machine's Docker Engine. Press Ctrl-C to stop (containers keep running).\n", s.URL())
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return fmt.Errorf("agent: %w", err)
	}
}

func capacityName(c string) string {
	if c == agentproto.CapacityFargate {
		return "fargate"
	}
	return "instance"
}
