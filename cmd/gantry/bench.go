package main

import (
	"cmp"
	"errors"
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
