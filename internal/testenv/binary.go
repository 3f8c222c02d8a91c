package testenv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// GantryPackage is the import path of the gantry command.
const GantryPackage = "github.com/gantry-dev/gantry/cmd/gantry"

var gantryBinary struct {
	once sync.Once
	path string
	err  error
}

// BuildGantry builds the gantry binary once per test process and returns
// its path. The binary lives in a directory of its own under the system
// temporary directory, keyed by the module's location, and is replaced
// atomically, so test binaries of several packages may build it at once.
func BuildGantry(t testing.TB) string {
	t.Helper()
	gantryBinary.once.Do(func() {
		gantryBinary.path, gantryBinary.err = buildGantry()
	})
	if gantryBinary.err != nil {
		t.Fatalf("build gantry: %v", gantryBinary.err)
	}
	return gantryBinary.path
}

// goTool is the go command of the toolchain running the tests.
func goTool() string {
	path := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(path); err != nil {
		return "go" // a relocated toolchain: trust PATH
	}
	return path
}

func buildGantry() (string, error) {
	gomod, err := exec.Command(goTool(), "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	sum := sha256.Sum256(bytes.TrimSpace(gomod))
	dir := filepath.Join(os.TempDir(), "gantry-test-bin", hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, "gantry-*.tmp")
	if err != nil {
		return "", err
	}
	tmp.Close()
	defer os.Remove(tmp.Name()) // only left behind when the build failed
	out, err := exec.Command(goTool(), "build", "-o", tmp.Name(), GantryPackage).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", GantryPackage, err, out)
	}
	bin := filepath.Join(dir, "gantry")
	if err := os.Rename(tmp.Name(), bin); err != nil {
		return "", err
	}
	return bin, nil
}

// FreeAddr returns a loopback HOST:PORT that was free a moment ago. Another
// process may take the port before the caller listens on it, which is good
// enough for tests.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// Process is a gantry child process started by a test.
type Process struct {
	t      testing.TB
	cmd    *exec.Cmd
	stdout syncBuffer
	stderr syncBuffer
	done   chan struct{} // closed once the process has exited
	err    error         // Wait's result, valid after done
}

// StartProcess runs bin with args (for example "server", "--listen", …) in
// a process group of its own, capturing its stdout and stderr. GANTRY_*
// variables of the test's environment are not passed on, so only args
// configure it. The process is killed when the test ends, and its output is
// logged if the test failed.
func StartProcess(t testing.TB, bin string, args ...string) *Process {
	t.Helper()
	p := &Process{t: t, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = withoutGantryEnv(os.Environ())
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("output of %s %s:\n%s", filepath.Base(bin), strings.Join(args, " "), p.Output())
		}
	})
	return p
}

func withoutGantryEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, "GANTRY_") {
			out = append(out, kv)
		}
	}
	return out
}

// Pid is the child's process ID.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Stdout is what the process has written to its standard output so far.
func (p *Process) Stdout() string { return p.stdout.String() }

// Output is everything the process has written so far, stdout then stderr.
func (p *Process) Output() string {
	return "--- stdout ---\n" + p.stdout.String() + "--- stderr ---\n" + p.stderr.String()
}

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Kill sends SIGKILL to the process group and waits for the process to
// exit. It does nothing if the process has already exited.
func (p *Process) Kill() {
	if p.Exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM and waits up to 10 seconds for the process to exit,
// killing it after that. It returns the exit error, if any.
func (p *Process) Stop() error {
	if p.Exited() {
		return p.err
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(10 * time.Second):
		p.Kill()
		return errors.New("did not exit within 10s of SIGTERM; killed")
	}
}

// WaitHealthy polls GET url/healthz until it answers 200, failing the test
// after 30 seconds or as soon as the process exits.
func (p *Process) WaitHealthy(t testing.TB, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var last string
	for {
		ok, why := healthy(ctx, url+"/healthz")
		if ok {
			return
		}
		last = why
		select {
		case <-p.done:
			t.Fatalf("gantry exited before %s/healthz answered (%v); last: %s\n%s", url, p.err, last, p.Output())
		case <-ctx.Done():
			t.Fatalf("%s/healthz did not answer 200 within 30s; last: %s", url, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func healthy(ctx context.Context, url string) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err.Error()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err.Error()
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, resp.Status
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
