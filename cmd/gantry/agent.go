package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/spf13/cobra"

	"github.com/gantry-dev/gantry/internal/agent"
	"github.com/gantry-dev/gantry/internal/agentproto"
	"github.com/gantry-dev/gantry/internal/runtime"
	"github.com/gantry-dev/gantry/internal/runtime/docker"
	"github.com/gantry-dev/gantry/internal/runtime/sim"
)

func agentCommand() *cobra.Command {
	var (
		opts                                       agent.Options
		attributes, labels                         []string
		runtimeName, credentialsFile, profile, lvl string
		fargate                                    bool
	)
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the agent: register this host with a cluster and run its tasks on Docker",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd.Flags()); err != nil {
				return err
			}
			logger, err := newLogger(lvl)
			if err != nil {
				return err
			}
			opts.Logger = logger
			if opts.Attributes, err = parseAttributes(attributes); err != nil {
				return err
			}
			if opts.Labels, err = parseAttributes(labels); err != nil {
				return err
			}
			if fargate {
				opts.Capacity = agentproto.CapacityFargate
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if opts.Credentials, err = loadCredentials(ctx, credentialsFile, profile, opts.Region); err != nil {
				return err
			}
			rt, closeRT, err := newRuntime(runtimeName)
			if err != nil {
				return err
			}
			defer closeRT()
			opts.Runtime, opts.Version = rt, version
			return runAgent(ctx, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Endpoint, "endpoint", "http://127.0.0.1:7700", "URL of the Gantry server")
	f.StringVar(&opts.Cluster, "cluster", "default", "cluster to join")
	f.StringVar(&opts.DataDir, "data-dir", "./gantry-agent", "directory where the agent remembers its registration")
	f.StringArrayVar(&attributes, "attribute", nil, "custom attribute NAME=VALUE (or NAME); repeatable")
	f.StringVar(&opts.AvailabilityZone, "availability-zone", "local", "value of the ecs.availability-zone attribute")
	f.StringVar(&opts.InstanceType, "instance-type", "gantry.local", "value of the ecs.instance-type attribute")
	f.StringVar(&runtimeName, "runtime", "docker", "container runtime: docker, or sim (simulated containers, for scale tests)")
	f.StringVar(&credentialsFile, "credentials-file", "", "AWS shared-credentials file to register with (default: the AWS SDK's usual places)")
	f.StringVar(&profile, "profile", "", "profile in the credentials file")
	f.StringVar(&opts.Region, "region", "us-east-1", "region to sign the registration for")
	f.StringVar(&opts.TaskNetwork, "task-network", "gantry-task", "Docker network for awsvpc tasks whose subnet names no existing network")
	f.DurationVar(&opts.CleanupWait, "task-cleanup-wait", time.Hour, "how long stopped tasks' containers are kept for docker logs")
	f.StringArrayVar(&labels, "container-label", nil, "extra label KEY=VALUE on every container the agent creates; repeatable")
	f.BoolVar(&fargate, "fargate", false, "offer this host as the control plane's FARGATE capacity instead of as a container instance")
	f.StringVar(&lvl, "log-level", "info", "debug, info, warn or error")
	return cmd
}

func runAgent(ctx context.Context, opts agent.Options) error {
	a, err := agent.New(opts)
	if err != nil {
		return err
	}
	err = a.Run(ctx)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func parseAttributes(list []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range list {
		name, value, _ := strings.Cut(kv, "=")
		if name == "" {
			return nil, fmt.Errorf("--attribute %q: want NAME=VALUE", kv)
		}
		out[name] = value
	}
	return out, nil
}

// loadCredentials finds AWS credentials as the AWS CLI does, optionally
// from a given file and profile.
func loadCredentials(ctx context.Context, file, profile, region string) (aws.CredentialsProvider, error) {
	var loaders []func(*config.LoadOptions) error
	if file != "" {
		loaders = append(loaders, config.WithSharedCredentialsFiles([]string{file}))
	}
	if profile != "" {
		loaders = append(loaders, config.WithSharedConfigProfile(profile))
	}
	loaders = append(loaders, config.WithRegion(region))
	cfg, err := config.LoadDefaultConfig(ctx, loaders...)
	if err != nil {
		return nil, fmt.Errorf("load AWS credentials: %w", err)
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return nil, fmt.Errorf("no AWS credentials to register with (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or --credentials-file and --profile): %w", err)
	}
	return cfg.Credentials, nil
}

func newRuntime(name string) (runtime.Runtime, func(), error) {
	switch name {
	case "docker":
		rt, err := docker.New(docker.Options{})
		if err != nil {
			return nil, nil, err
		}
		return rt, func() { _ = rt.Close() }, nil
	case "sim":
		return sim.New(sim.Options{}), func() {}, nil
	}
	return nil, nil, fmt.Errorf("--runtime %q: want docker or sim", name)
}
