package main

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gantry-dev/gantry/internal/bench"
)

func benchCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure Gantry under load (reports numbers, asserts none)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(benchAPICommand())
	cmd.AddCommand(benchScaleCommand())
	return cmd
}

func benchAPICommand() *cobra.Command {
	var opts bench.APIOptions
	var logLevel string
	cmd := &cobra.Command{
		Use:   "api",
		Short: "Load the ECS API with concurrent signed clients: register, then describe task definitions",
		Long: `Load the ECS API with concurrent signed clients: RegisterTaskDefinition for
--duration, then DescribeTaskDefinition for --duration. Without --endpoint an
in-process server on a temporary data directory is measured, memory included.
With --endpoint, the key comes from --access-key/--secret-key or else from
AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY. The last line of the report is
machine-readable key=value pairs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.Endpoint != "" {
				opts.AccessKey = cmp.Or(opts.AccessKey, os.Getenv("AWS_ACCESS_KEY_ID"))
				opts.SecretKey = cmp.Or(opts.SecretKey, os.Getenv("AWS_SECRET_ACCESS_KEY"))
				if opts.AccessKey == "" || opts.SecretKey == "" {
					return errors.New("--endpoint needs --access-key and --secret-key (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
				}
			}
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return err
			}
			opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			opts.Out = cmd.OutOrStdout()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			_, err := bench.RunAPI(ctx, opts)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Endpoint, "endpoint", "", "URL of the server to measure (default: start one in this process)")
	f.StringVar(&opts.AccessKey, "access-key", "", "access key ID to sign with, with --endpoint")
	f.StringVar(&opts.SecretKey, "secret-key", "", "secret access key to sign with, with --endpoint")
	f.StringVar(&opts.Region, "region", "us-east-1", "region to sign for")
	f.IntVar(&opts.Clients, "clients", 32, "concurrent clients")
	f.DurationVar(&opts.Duration, "duration", 10*time.Second, "length of each phase")
	f.IntVar(&opts.Families, "families", 8, "task definition families to spread registrations over")
	f.StringVar(&logLevel, "log-level", "warn", "log level of the in-process server: debug, info, warn or error")
	return cmd
}

func benchScaleCommand() *cobra.Command {
	var opts bench.ScaleOptions
	var logLevel, cpuProfile string
	cmd := &cobra.Command{
		Use:   "scale",
		Short: "Run many tasks on many simulated agents against an in-process server",
		Long: `Start an in-process server and --instances simulated agents (the sim
runtime, the real agent protocol over loopback), submit --tasks tasks with
RunTask from --concurrency signed clients, and wait until the agents report
every placed task RUNNING. Reports registration time, tasks per second from
the first RunTask to the last RUNNING, RunTask latency, peak memory and
etcd's size. The last line of the report is machine-readable key=value pairs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return err
			}
			opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			opts.Out = cmd.OutOrStdout()
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				opts.CPUProfile = f
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if _, err := bench.RunScale(ctx, opts); err != nil {
				return fmt.Errorf("bench scale: %w", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.Instances, "instances", 100, "simulated container instances (agents in this process)")
	f.IntVar(&opts.Tasks, "tasks", 1000, "tasks to run, ten per RunTask call")
	f.IntVar(&opts.Concurrency, "concurrency", 32, "concurrent RunTask clients")
	f.StringVar(&opts.Strategy, "strategy", "", `placement strategy TYPE[:FIELD], comma-separated, e.g. "binpack:memory", "spread:attribute:ecs.availability-zone", "random" (default: none)`)
	f.IntVar(&opts.Zones, "zones", 3, "availability zones the instances spread over (zone-a, zone-b, …)")
	f.StringVar(&opts.Region, "region", "us-east-1", "region to sign for")
	f.DurationVar(&opts.Stall, "stall-timeout", 2*time.Minute, "give up when registration or the way to RUNNING makes no progress for this long")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the first RunTask to the last RUNNING to this file (samples are labelled role=server|agents|clients)")
	f.StringVar(&logLevel, "log-level", "warn", "log level of the in-process server and agents: debug, info, warn or error")
	return cmd
}
