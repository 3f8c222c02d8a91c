package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/gantry-dev/gantry/internal/server"
)

// target is the endpoint under load and the key to sign with.
type target struct {
	endpoint             string
	accessKey, secretKey string
	inProcess            bool
}

// startInProcess points t at a local server; stop closes it and removes
// its directory.
func (t *target) startInProcess(ctx context.Context, opts APIOptions) (stop func(), err error) {
	l, err := startLocalServer(ctx, opts.Region, opts.Logger)
	if err != nil {
		return nil, err
	}
	*t = l.target
	return l.close, nil
}

// localServer is a server on a free loopback port, with a temporary
// directory holding its data and a freshly generated key.
type localServer struct {
	dir    string
	server *server.Server
	target target
	log    *slog.Logger
}

func startLocalServer(ctx context.Context, region string, log *slog.Logger) (l *localServer, err error) {
	dir, err := os.MkdirTemp("", "gantry-bench-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	l = &localServer{dir: dir, log: log}
	creds := filepath.Join(dir, "credentials")
	if l.target.accessKey, l.target.secretKey, err = writeCredentials(creds); err != nil {
		return nil, err
	}
	l.server, err = server.Start(ctx, server.Options{
		Listen:          "127.0.0.1:0",
		DataDir:         filepath.Join(dir, "data"),
		CredentialsFile: creds,
		Region:          region,
		Logger:          log,
	})
	if err != nil {
		return nil, fmt.Errorf("start in-process server: %w", err)
	}
	l.target.endpoint, l.target.inProcess = l.server.URL(), true
	return l, nil
}

// etcdBytes is the size of etcd's backend file, free pages included.
func (l *localServer) etcdBytes() int64 {
	fi, err := os.Stat(filepath.Join(l.dir, "data", "etcd", "member", "snap", "db"))
	if err != nil {
		return 0
	}
	return fi.Size()
}

func (l *localServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.server.Close(ctx); err != nil {
		l.log.Warn("close in-process server", "err", err)
	}
	os.RemoveAll(l.dir)
}

// writeCredentials writes a shared-credentials file (mode 0600) holding
// one random key in a [default] section.
func writeCredentials(path string) (id, secret string, err error) {
	id = "AKIA" + randomString("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
	secret = randomString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40)
	body := fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", id, secret)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		return "", "", fmt.Errorf("write credentials: %w", err)
	}
	return id, secret, nil
}

// randomString draws n characters from alphabet, whose length must divide
// 256 so that every character is equally likely.
func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func (t *target) describe() string {
	if t.inProcess {
		return "in-process server at " + t.endpoint
	}
	return t.endpoint
}

// clients returns n independent SDK clients (each with its own connection
// pool), signing with the target's key and never retrying, so every error
// is counted.
func (t *target) clients(n int, region string) []*ecs.Client {
	cfg := aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(t.accessKey, t.secretKey, ""),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	}
	out := make([]*ecs.Client, n)
	for i := range out {
		out[i] = ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.BaseEndpoint = aws.String(t.endpoint) })
	}
	return out
}
