package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gantry-dev/gantry/internal/server"
)

func serverCommand() *cobra.Command {
	var opts server.Options
	var logLevel string
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane: the ECS API on etcd",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnv(cmd.Flags()); err != nil {
				return err
			}
			logger, err := newLogger(logLevel)
			if err != nil {
				return err
			}
			opts.Logger, opts.Out = logger, cmd.OutOrStdout()
			return runServer(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Listen, "listen", "127.0.0.1:7700", "address the API listens on (HOST:PORT)")
	f.StringVar(&opts.DataDir, "data-dir", "./gantry-data", "directory for the embedded etcd and generated credentials")
	f.StringVar(&opts.CredentialsFile, "credentials-file", "", "AWS shared-credentials file of the keys allowed to call the API (default: DATA_DIR/credentials, generated on first start)")
	f.StringVar(&opts.Region, "region", "us-east-1", "region in the ARNs Gantry hands out")
	f.StringVar(&opts.Account, "account-id", "000000000000", "account ID in the ARNs Gantry hands out")
	f.StringSliceVar(&opts.EtcdEndpoints, "etcd-endpoints", nil, "use this etcd cluster (comma-separated URLs) instead of the embedded one")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

func runServer(ctx context.Context, opts server.Options) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := server.Start(ctx, opts)
	if err != nil {
		return err
	}
	<-ctx.Done()
	opts.Logger.Info("shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.Close(shutdown)
}

func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, err
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})), nil
}
