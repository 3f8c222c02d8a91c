// Package testenv holds test-only helpers: start a real server on temporary
// state, and hand out signed AWS SDK clients for it. Only _test.go files
// import it.
package testenv

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/gantry-dev/gantry/internal/server"
)

// Test credentials every test server accepts.
const (
	AccessKeyID     = "AKIAGANTRYTEST000001"
	SecretAccessKey = "gantry-test-secret-key-0000000000000000000"
	Region          = "us-east-1"
)

// Server is a running server for one test.
type Server struct {
	*server.Server
	DataDir string
}

// StartServer starts a server with embedded etcd in a temporary directory
// on a free loopback port; it stops when the test ends.
func StartServer(t testing.TB) *Server {
	t.Helper()
	return startServer(t, nil)
}

func startServer(t testing.TB, configure func(*server.Options)) *Server {
	t.Helper()
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials")
	WriteCredentials(t, creds)
	opts := server.Options{
		Listen:          "127.0.0.1:0",
		DataDir:         filepath.Join(dir, "data"),
		CredentialsFile: creds,
		Logger:          testLogger(),
	}
	if configure != nil {
		configure(&opts)
	}
	s, err := server.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	return &Server{Server: s, DataDir: filepath.Join(dir, "data")}
}

// WriteCredentials writes a shared-credentials file with the test key.
func WriteCredentials(t testing.TB, path string) {
	t.Helper()
	body := "[default]\naws_access_key_id = " + AccessKeyID + "\naws_secret_access_key = " + SecretAccessKey + "\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// ECS returns an SDK client for endpoint signed with the test key.
func ECS(endpoint string) *ecs.Client {
	return ECSWithKey(endpoint, AccessKeyID, SecretAccessKey)
}

// ECSWithKey returns an SDK client signing with any key.
func ECSWithKey(endpoint, id, secret string) *ecs.Client {
	cfg := aws.Config{
		Region:      Region,
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, ""),
	}
	return ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.BaseEndpoint = aws.String(endpoint) })
}
