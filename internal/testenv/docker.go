package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/runtime"
	"github.com/gantry-dev/gantry/internal/runtime/docker"
)

// Docker test conventions.
const (
	// TestLabel marks every Docker object a test creates; its value comes
	// from CleanupLabel. `docker ps -a --filter label=gantry.test` lists
	// what tests left behind (nothing, when they pass or fail normally).
	TestLabel = "gantry.test"
	// BusyboxRef is the test image BusyboxImage builds.
	BusyboxRef = "gantry-test/busybox:1"

	hostBusybox = "/bin/busybox"
	recipeLabel = "gantry.test.recipe"
)

// busyboxApplets are linked to /bin/busybox in the test image.
var busyboxApplets = []string{
	"sh", "sleep", "httpd", "nc", "echo", "cat", "true", "false", "wget", "kill",
	"id", "test", "[", "pwd", "env", "ls", "mkdir", "touch", "grep", "printf", "hostname", "head", "ps",
}

// RequireDocker returns a runtime for the local Docker Engine, closed when
// the test ends. When no engine answers, the test is skipped, or fails in
// strict mode (GANTRY_REQUIRE_DOCKER=1).
func RequireDocker(t testing.TB) *docker.Runtime {
	t.Helper()
	r, err := docker.New(docker.Options{})
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = r.Ping(ctx)
		cancel()
		if err != nil {
			_ = r.Close()
		}
	}
	if err != nil {
		unavailable(t, fmt.Sprintf("no Docker Engine answers: %v", err))
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// unavailable skips the test, or fails it in strict mode.
func unavailable(t testing.TB, msg string) {
	t.Helper()
	if Strict() {
		t.Fatalf("%s (%s=1 requires Docker)", msg, StrictEnv)
	}
	t.Skipf("%s; skipping (set %s=1 to fail instead)", msg, StrictEnv)
}

var busybox struct {
	once sync.Once
	err  error
}

// BusyboxImage returns BusyboxRef, importing it into the local engine once
// per test process unless an identical image is already there. The image
// holds the host's static /bin/busybox (Debian busybox-static), symlinks
// for common applets, /etc/passwd with root and nobody, and
// /www/index.html; its command is /bin/sh.
func BusyboxImage(t testing.TB) string {
	t.Helper()
	r := RequireDocker(t)
	RequireTool(t, hostBusybox) // Debian busybox-static
	busybox.once.Do(func() { busybox.err = importBusybox(r) })
	if busybox.err != nil {
		t.Fatalf("building the busybox test image: %v", busybox.err)
	}
	return BusyboxRef
}

func importBusybox(r *docker.Runtime) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rootfs, err := busyboxRootFS()
	if err != nil {
		return err
	}
	sum := sha256.Sum256(rootfs)
	recipe := hex.EncodeToString(sum[:6])
	info, err := r.InspectImage(ctx, BusyboxRef)
	if err == nil && info.Labels[recipeLabel] == recipe {
		return nil
	}
	if err != nil && !errors.Is(err, runtime.ErrNotFound) {
		return err
	}
	changes := []string{`CMD ["/bin/sh"]`, "ENV PATH=/bin", "LABEL " + recipeLabel + "=" + recipe}
	return r.ImportImage(ctx, BusyboxRef, bytes.NewReader(rootfs), changes)
}

// busyboxRootFS builds the image's root filesystem as a tar, the same bytes
// for the same busybox binary.
func busyboxRootFS() ([]byte, error) {
	bin, err := os.ReadFile(hostBusybox)
	if err != nil {
		return nil, err
	}
	fs := newRootFS()
	fs.dir("bin/", 0o755)
	fs.dir("etc/", 0o755)
	fs.dir("root/", 0o700)
	fs.dir("tmp/", 0o1777)
	fs.dir("www/", 0o755)
	fs.file("bin/busybox", 0o755, bin)
	fs.file("etc/passwd", 0o644, []byte(passwd))
	fs.file("etc/group", 0o644, []byte(group))
	fs.file("www/index.html", 0o644, []byte("gantry\n"))
	for _, applet := range busyboxApplets {
		fs.symlink("bin/"+applet, "busybox")
	}
	return fs.bytes()
}

// CleanupLabel returns a value for TestLabel unique to this test. When the
// test ends, pass or fail, every container, volume and network carrying it
// is force-removed.
func CleanupLabel(t testing.TB) string {
	t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	value := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()) + "-" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		r, err := docker.New(docker.Options{})
		if err != nil {
			t.Errorf("cleanup of %s=%s: %v", TestLabel, value, err)
			return
		}
		defer func() { _ = r.Close() }()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		err = r.RemoveLabelled(ctx, map[string]string{TestLabel: value})
		if err != nil && !errors.Is(err, runtime.ErrUnavailable) {
			t.Errorf("cleanup of %s=%s: %v", TestLabel, value, err)
		}
	})
	return value
}
