package bench

import (
	"context"
	"crypto/rand"
	"fmt"
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

// startInProcess starts a server on a free loopback port and a temporary
// data directory, with a freshly generated key. stop closes the server and
// removes the directory.
func (t *target) startInProcess(ctx context.Context, opts APIOptions) (stop func(), err error) {
	dir, err := os.MkdirTemp("", "gantry-bench-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	creds := filepath.Join(dir, "credentials")
	if t.accessKey, t.secretKey, err = writeCredentials(creds); err != nil {
		return nil, err
	}
	s, err := server.Start(ctx, server.Options{
		Listen:          "127.0.0.1:0",
		DataDir:         filepath.Join(dir, "data"),
		CredentialsFile: creds,
		Region:          opts.Region,
		Logger:          opts.Logger,
	})
	if err != nil {
		return nil, fmt.Errorf("start in-process server: %w", err)
	}
	t.endpoint, t.inProcess = s.URL(), true
	return func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Close(closeCtx); err != nil {
			opts.Logger.Warn("close in-process server", "err", err)
		}
		os.RemoveAll(dir)
	}, nil
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
