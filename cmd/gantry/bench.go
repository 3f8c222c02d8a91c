package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
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
	cmd.AddCommand(benchServicesCommand())
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
			var err error
			if opts.Logger, err = benchLogger(logLevel); err != nil {
				return err
			}
			opts.Out = cmd.OutOrStdout()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			_, err = bench.RunAPI(ctx, opts)
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
			return runFleetBench(cmd, logLevel, &opts.Logger, &opts.Out, func(ctx context.Context) error {
				if cpuProfile != "" {
					f, err := os.Create(cpuProfile)
					if err != nil {
						return err
					}
					defer f.Close()
					opts.CPUProfile = f
				}
				_, err := bench.RunScale(ctx, opts)
				return err
			})
		},
	}
	fleetFlags(cmd, &opts.Instances, &opts.Concurrency, &opts.Zones, &opts.Region, &opts.Stall, &logLevel,
		"give up when registration or the way to RUNNING makes no progress for this long")
	f := cmd.Flags()
	f.IntVar(&opts.Tasks, "tasks", 1000, "tasks to run, ten per RunTask call")
	f.StringVar(&opts.Strategy, "strategy", "", `placement strategy TYPE[:FIELD], comma-separated, e.g. "binpack:memory", "spread:attribute:ecs.availability-zone", "random" (default: none)`)
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the first RunTask to the last RUNNING to this file (samples are labelled role=server|agents|clients)")
	return cmd
}

func benchServicesCommand() *cobra.Command {
	var opts bench.ServicesOptions
	var logLevel string
	cmd := &cobra.Command{
		Use:   "services",
		Short: "Run many services on many simulated agents against an in-process server: create, idle, roll",
		Long: `Start an in-process server and --instances simulated agents (the sim
runtime, the real agent protocol over loopback), then, phase by phase, each
timed and with the process's CPU seconds over exactly that phase:
  1. register the instances and a task definition with a container health
     check (5 s interval);
  2. create --services services of --tasks-per-service tasks from
     --concurrency signed clients, and wait until every one is steady (one
     deployment, COMPLETED, all its tasks RUNNING);
  3. leave them alone for --steady-window: the idle cost of the services
     and the agents;
  4. force a new deployment of every service and wait until each
     completed;
  5. check that every service has exactly its tasks RUNNING, all of its
     PRIMARY deployment, and nothing else that is not STOPPED.
With --cpuprofile F, phases 2-4 are each profiled to F with the phase's name
before the extension (svc.prof: svc.create.prof, svc.steady.prof,
svc.rollout.prof); the service controller's samples carry
component=services. The last line of the report is machine-readable
key=value pairs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runFleetBench(cmd, logLevel, &opts.Logger, &opts.Out, func(ctx context.Context) error {
				_, err := bench.RunServices(ctx, opts)
				return err
			})
		},
	}
	fleetFlags(cmd, &opts.Instances, &opts.Concurrency, &opts.Zones, &opts.Region, &opts.Stall, &logLevel,
		"give up on registration, or on the services not yet steady, when nothing moves for this long")
	f := cmd.Flags()
	f.IntVar(&opts.Services, "services", 1000, "services to create")
	f.IntVar(&opts.TasksPerService, "tasks-per-service", 10, "desired count of each service")
	f.DurationVar(&opts.SteadyWindow, "steady-window", time.Minute, "how long to leave the steady services alone while measuring CPU")
	f.StringVar(&opts.CPUProfile, "cpuprofile", "", "write CPU profiles of the create, steady and rollout phases to this file name, the phase's name before its extension")
	return cmd
}

// fleetFlags adds the flags the runs on simulated agents share.
func fleetFlags(cmd *cobra.Command, instances, concurrency, zones *int, region *string, stall *time.Duration, logLevel *string, stallUsage string) {
	f := cmd.Flags()
	f.IntVar(instances, "instances", 100, "simulated container instances (agents in this process)")
	f.IntVar(concurrency, "concurrency", 32, "concurrent API clients")
	f.IntVar(zones, "zones", 3, "availability zones the instances spread over (zone-a, zone-b, …)")
	f.StringVar(region, "region", "us-east-1", "region to sign for")
	f.DurationVar(stall, "stall-timeout", 2*time.Minute, stallUsage)
	f.StringVar(logLevel, "log-level", "warn", "log level of the in-process server and agents: debug, info, warn or error")
}

// runFleetBench sets a run on simulated agents up (its log on stderr at
// logLevel, its report on the command's output) and runs it until it ends
// or is interrupted.
func runFleetBench(cmd *cobra.Command, logLevel string, log **slog.Logger, out *io.Writer, run func(context.Context) error) error {
	var err error
	if *log, err = benchLogger(logLevel); err != nil {
		return err
	}
	*out = cmd.OutOrStdout()
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		return fmt.Errorf("bench %s: %w", cmd.Name(), err)
	}
	return nil
}

// benchLogger logs to stderr at the level named.
func benchLogger(name string) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(name)); err != nil {
		return nil, err
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})), nil
}
