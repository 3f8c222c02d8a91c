package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/gantry-dev/gantry/internal/testenv"
)

const awsCLI = "/usr/bin/aws"

// startServer runs the built gantry binary as "gantry server" on addr with
// the given data directory and extra flags, and waits until it is healthy.
func startServer(t testing.TB, bin, addr, dataDir string, extra ...string) *testenv.Process {
	t.Helper()
	args := append([]string{"server", "--listen", addr, "--data-dir", dataDir, "--log-level", "warn"}, extra...)
	p := testenv.StartProcess(t, bin, args...)
	p.WaitHealthy(t, "http://"+addr)
	return p
}

// TestAWSCLI drives a gantry server process with the unmodified AWS CLI
// through e2e/aws-cli.sh.
func TestAWSCLI(t *testing.T) {
	testenv.RequireTool(t, awsCLI)
	testenv.RequireTool(t, "/bin/bash")
	bin := testenv.BuildGantry(t)
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials")
	testenv.WriteCredentials(t, creds)
	addr := testenv.FreeAddr(t)
	startServer(t, bin, addr, filepath.Join(dir, "data"), "--credentials-file", creds)

	cmd := exec.Command("bash", filepath.Join("..", "..", "e2e", "aws-cli.sh"))
	cmd.Env = append(withoutAWSEnv(os.Environ()),
		"GANTRY_ENDPOINT=http://"+addr,
		"AWS="+awsCLI,
		"AWS_ACCESS_KEY_ID="+testenv.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY="+testenv.SecretAccessKey,
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_PAGER=",
		"HOME="+t.TempDir(), // no user configuration or cached models interfere
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("e2e/aws-cli.sh: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("e2e: ok")) {
		t.Fatalf("e2e/aws-cli.sh exited 0 without \"e2e: ok\":\n%s", out)
	}
	t.Logf("e2e/aws-cli.sh:\n%s", out)
}

// withoutAWSEnv drops the caller's AWS_* settings (profiles, config files,
// endpoints) so only what the test sets reaches the CLI.
func withoutAWSEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "GANTRY_") {
			out = append(out, kv)
		}
	}
	return out
}

var exportRE = regexp.MustCompile(`(?m)^\s*export (AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY)=(\S+)\s*$`)

// exportedKeys reads the access key and secret from the export lines the
// server prints when it generates credentials.
func exportedKeys(stdout string) (id, secret string) {
	for _, m := range exportRE.FindAllStringSubmatch(stdout, -1) {
		switch m[1] {
		case "AWS_ACCESS_KEY_ID":
			id = m[2]
		case "AWS_SECRET_ACCESS_KEY":
			secret = m[2]
		}
	}
	return id, secret
}

// TestFirstStartGeneratesCredentials starts a server without a credentials
// file: it must create DATA_DIR/credentials (mode 0600), tell the user how
// to use it, accept those keys, and keep them across a restart.
func TestFirstStartGeneratesCredentials(t *testing.T) {
	bin := testenv.BuildGantry(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	addr := testenv.FreeAddr(t)
	url := "http://" + addr

	first := startServer(t, bin, addr, dataDir)
	id, secret := exportedKeys(first.Stdout())
	if id == "" || secret == "" {
		t.Fatalf("first start printed no export lines for the key; stdout:\n%s", first.Stdout())
	}
	if !strings.Contains(first.Stdout(), "export AWS_DEFAULT_REGION=us-east-1") {
		t.Errorf("stdout lacks the region export line:\n%s", first.Stdout())
	}
	path := filepath.Join(dataDir, "credentials")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("credentials file: %v", err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("credentials file mode = %#o, want 0600", mode)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(before), id) || !strings.Contains(string(before), secret) {
		t.Errorf("credentials file does not hold the printed key:\n%s", before)
	}
	listClusters(t, url, id, secret)
	if err := first.Stop(); err != nil {
		t.Fatalf("stop first server: %v", err)
	}

	second := startServer(t, bin, addr, dataDir)
	if strings.Contains(second.Stdout(), "export AWS_ACCESS_KEY_ID") {
		t.Errorf("restart generated credentials again; stdout:\n%s", second.Stdout())
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Errorf("restart changed the credentials file:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	listClusters(t, url, id, secret)
}

func listClusters(t *testing.T, url, id, secret string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := testenv.ECSWithKey(url, id, secret).ListClusters(ctx, &ecs.ListClustersInput{}); err != nil {
		t.Fatalf("ListClusters with the generated key: %v", err)
	}
}

// TestVersion runs "gantry version".
func TestVersion(t *testing.T) {
	bin := testenv.BuildGantry(t)
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("gantry version: %v\n%s", err, out)
	}
	if !strings.HasPrefix(string(out), "gantry ") {
		t.Errorf("gantry version printed %q, want a line starting with \"gantry \"", out)
	}
}

// TestDevTasks starts `gantry dev` and drives it with the aws CLI through
// e2e/tasks.sh: real containers on the local Docker Engine, reached over
// a dynamic host port and at an awsvpc task's private IP.
func TestDevTasks(t *testing.T) {
	testenv.RequireTool(t, awsCLI)
	testenv.RequireDocker(t)
	image := testenv.BusyboxImage(t)
	label := testenv.CleanupLabel(t)
	bin := testenv.BuildGantry(t)
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials")
	testenv.WriteCredentials(t, creds)
	addr := testenv.FreeAddr(t)
	p := testenv.StartProcess(t, bin, "dev", "--listen", addr, "--data-dir", filepath.Join(dir, "data"),
		"--credentials-file", creds, "--container-label", testenv.TestLabel+"="+label, "--task-network", "gantry-e2e-"+label)
	p.WaitHealthy(t, "http://"+addr)
	cmd := exec.Command("bash", filepath.Join("..", "..", "e2e", "tasks.sh"))
	cmd.Env = append(withoutAWSEnv(os.Environ()),
		"GANTRY_ENDPOINT=http://"+addr,
		"IMAGE="+image,
		"AWS="+awsCLI,
		"AWS_ACCESS_KEY_ID="+testenv.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY="+testenv.SecretAccessKey,
		"AWS_DEFAULT_REGION="+testenv.Region,
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("e2e/tasks.sh: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "e2e: ok") {
		t.Fatalf("e2e/tasks.sh exited 0 without \"e2e: ok\":\n%s", out)
	}
	t.Logf("e2e/tasks.sh:\n%s", out)
}

// TestDevServices starts `gantry dev` and drives an ECS service with the
// aws CLI through e2e/services.sh: create-service, a rolling update,
// delete-service --force, each followed by the CLI's own waiter
// (services-stable, services-inactive), polling every second.
func TestDevServices(t *testing.T) {
	testenv.RequireTool(t, awsCLI)
	testenv.RequireDocker(t)
	image := testenv.AppImage(t)
	label := testenv.CleanupLabel(t)
	bin := testenv.BuildGantry(t)
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials")
	testenv.WriteCredentials(t, creds)
	addr := testenv.FreeAddr(t)
	p := testenv.StartProcess(t, bin, "dev", "--listen", addr, "--data-dir", filepath.Join(dir, "data"),
		"--credentials-file", creds, "--container-label", testenv.TestLabel+"="+label, "--task-network", "gantry-e2e-"+label)
	p.WaitHealthy(t, "http://"+addr)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", filepath.Join("..", "..", "e2e", "services.sh"))
	cmd.Env = append(withoutAWSEnv(os.Environ()),
		"GANTRY_ENDPOINT=http://"+addr,
		"IMAGE="+image,
		"AWS="+awsCLI,
		"AWS_ACCESS_KEY_ID="+testenv.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY="+testenv.SecretAccessKey,
		"AWS_DEFAULT_REGION="+testenv.Region,
		"WAITER_DELAY=1",
		"HOME="+t.TempDir(), // no user configuration or models of its own interfere
	)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("e2e/services.sh: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "e2e: ok") {
		t.Fatalf("e2e/services.sh exited 0 without \"e2e: ok\":\n%s", out)
	}
	t.Logf("e2e/services.sh in %s:\n%s", time.Since(start).Round(time.Millisecond), out)
}
