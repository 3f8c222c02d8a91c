package testenv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/runtime"
	"github.com/gantry-dev/gantry/internal/runtime/docker"
)

const (
	// AppRef is the test application image AppImage builds.
	AppRef = "gantry-test/app:1"
	// AppPackage is the import path of the program in it.
	AppPackage = "github.com/gantry-dev/gantry/internal/testenv/testapp"
)

var app struct {
	once sync.Once
	err  error
}

// AppImage returns AppRef, building it into the local engine once per test
// process unless an identical image is already there. The image holds
// only /app, a static build of AppPackage whose arguments choose what it
// does (serve HTTP, exit with a code, sleep, check or fetch a URL, write a
// file; see its package comment), /etc/passwd with root and nobody, and
// /tmp. Its entrypoint is /app and its command "serve", so a container
// without a command serves HTTP on port 8080; Command: []string{"exit",
// "-code", "3"} makes it exit 3.
func AppImage(t testing.TB) string {
	t.Helper()
	r := RequireDocker(t)
	app.once.Do(func() { app.err = importApp(r) })
	if app.err != nil {
		t.Fatalf("building the test application image: %v", app.err)
	}
	return AppRef
}

func importApp(r *docker.Runtime) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	host, err := r.Info(ctx)
	if err != nil {
		return err
	}
	bin, err := buildApp(ctx, goArch(host.Arch))
	if err != nil {
		return err
	}
	fs := newRootFS()
	fs.file("app", 0o755, bin)
	fs.dir("etc/", 0o755)
	fs.file("etc/passwd", 0o644, []byte(passwd))
	fs.file("etc/group", 0o644, []byte(group))
	fs.dir("tmp/", 0o1777)
	rootfs, err := fs.bytes()
	if err != nil {
		return err
	}
	sum := sha256.Sum256(rootfs)
	recipe := hex.EncodeToString(sum[:6])
	info, err := r.InspectImage(ctx, AppRef)
	if err == nil && info.Labels[recipeLabel] == recipe {
		return nil
	}
	if err != nil && !errors.Is(err, runtime.ErrNotFound) {
		return err
	}
	changes := []string{`ENTRYPOINT ["/app"]`, `CMD ["serve"]`, "LABEL " + recipeLabel + "=" + recipe}
	return r.ImportImage(ctx, AppRef, bytes.NewReader(rootfs), changes)
}

// buildApp builds AppPackage as a static Linux executable for goarch. The
// build is reproducible, so an unchanged program gives the same bytes.
func buildApp(ctx context.Context, goarch string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "gantry-testapp-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "app")
	cmd := exec.CommandContext(ctx, goTool(), "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", out, AppPackage)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	if output, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build %s: %w\n%s", AppPackage, err, output)
	}
	return os.ReadFile(out)
}

// goArch turns the architecture the engine reports (uname's, e.g.
// "x86_64") into Go's name for it.
func goArch(engineArch string) string {
	switch engineArch {
	case "x86_64":
		return "amd64"
	case "aarch64":
		return "arm64"
	}
	return engineArch
}
