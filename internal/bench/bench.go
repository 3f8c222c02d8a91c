// Package bench measures Gantry under load for `gantry bench`. The API
// benchmark drives an ECS endpoint with concurrent SigV4-signed SDK clients,
// phase by phase, and reports requests, errors, throughput, latency
// percentiles and memory. It reports numbers and asserts none.
//
// Like cmd, it sits above the server package: without an endpoint it starts
// an in-process server on temporary state. It must not import testenv or
// anything test-only.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// APIOptions configure the API benchmark.
type APIOptions struct {
	// Endpoint is the server to measure, e.g. http://127.0.0.1:7700. Empty
	// starts an in-process server on a temporary data directory with
	// credentials of its own; only then is memory (RSS) reported.
	Endpoint  string
	AccessKey string // with Endpoint: the key to sign with
	SecretKey string
	Region    string        // defaults to us-east-1
	Clients   int           // concurrent clients; defaults to 32
	Duration  time.Duration // length of each phase; defaults to 10s
	Families  int           // task definition families to spread over; defaults to 8
	Out       io.Writer     // the report; defaults to discarding it
	Logger    *slog.Logger  // the in-process server's log; defaults to discarding it
}

func (o *APIOptions) setDefaults() error {
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.Clients == 0 {
		o.Clients = 32
	}
	if o.Duration == 0 {
		o.Duration = 10 * time.Second
	}
	if o.Families == 0 {
		o.Families = 8
	}
	outputDefaults(&o.Out, &o.Logger)
	switch {
	case o.Clients < 0 || o.Families < 0 || o.Duration < 0:
		return errors.New("clients, families and duration must be positive")
	case o.Endpoint != "" && (o.AccessKey == "" || o.SecretKey == ""):
		return errors.New("an endpoint needs an access key and a secret key")
	}
	return nil
}

// APIResult is what the API benchmark measured.
type APIResult struct {
	Register Summary // phase 1: RegisterTaskDefinition
	Describe Summary // phase 2: DescribeTaskDefinition
	// IdleRSS and LoadRSS are the process's resident memory in bytes right
	// after the in-process server started and after both phases. They
	// include the benchmark's own clients, and are zero when measuring an
	// external endpoint.
	IdleRSS, LoadRSS uint64
}

// RunAPI runs the API benchmark: RegisterTaskDefinition for Duration, then
// DescribeTaskDefinition of random registered revisions for Duration, each
// from Clients concurrent clients. It writes a report to Out whose last
// line is machine-readable key=value pairs.
func RunAPI(ctx context.Context, opts APIOptions) (*APIResult, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	res := &APIResult{}
	t := target{endpoint: opts.Endpoint, accessKey: opts.AccessKey, secretKey: opts.SecretKey}
	if t.endpoint == "" {
		stop, err := t.startInProcess(ctx, opts)
		if err != nil {
			return nil, err
		}
		defer stop()
		if res.IdleRSS, err = readRSS(); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(opts.Out, "gantry bench api: %s, %d clients, %d families, %s per phase\n",
		t.describe(), opts.Clients, opts.Families, opts.Duration)
	if res.IdleRSS > 0 {
		fmt.Fprintf(opts.Out, "idle RSS: %.1f MB\n", mb(res.IdleRSS))
	}
	if err := runPhases(ctx, opts, t, res); err != nil {
		return nil, err
	}
	if opts.Endpoint == "" {
		var err error
		if res.LoadRSS, err = readRSS(); err != nil {
			return nil, err
		}
		fmt.Fprintf(opts.Out, "RSS after load: %.1f MB\n", mb(res.LoadRSS))
	}
	fmt.Fprintln(opts.Out, res.keyValues())
	return res, nil
}

// runPhases runs the register phase, then the describe phase over what it
// registered.
func runPhases(ctx context.Context, opts APIOptions, t target, res *APIResult) error {
	clients := t.clients(opts.Clients, opts.Region)
	w := newWorkload(opts.Families)
	res.Register = runPhase(ctx, clients, opts.Duration, w.register)
	res.Register.print(opts.Out, "register")
	w.printFirstError(opts.Out)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if w.seal() == 0 {
		return errors.New("no task definition was registered; nothing to describe")
	}
	res.Describe = runPhase(ctx, clients, opts.Duration, w.describe)
	res.Describe.print(opts.Out, "describe")
	w.printFirstError(opts.Out)
	return ctx.Err()
}

// keyValues is the machine-readable summary line.
func (r *APIResult) keyValues() string {
	s := fmt.Sprintf("register_rps=%.1f register_p50_ms=%.2f register_p90_ms=%.2f register_p99_ms=%.2f register_errors=%d "+
		"describe_rps=%.1f describe_p50_ms=%.2f describe_p90_ms=%.2f describe_p99_ms=%.2f describe_errors=%d",
		r.Register.Throughput(), ms(r.Register.P50), ms(r.Register.P90), ms(r.Register.P99), r.Register.Errors,
		r.Describe.Throughput(), ms(r.Describe.P50), ms(r.Describe.P90), ms(r.Describe.P99), r.Describe.Errors)
	if r.IdleRSS > 0 {
		s += fmt.Sprintf(" idle_rss_mb=%.1f rss_mb=%.1f", mb(r.IdleRSS), mb(r.LoadRSS))
	}
	return s
}

func mb(bytes uint64) float64 { return float64(bytes) / (1 << 20) }

// outputDefaults makes an unset report writer discard the report and an
// unset logger discard the log.
func outputDefaults(out *io.Writer, log **slog.Logger) {
	if *out == nil {
		*out = io.Discard
	}
	if *log == nil {
		*log = slog.New(slog.DiscardHandler)
	}
}
