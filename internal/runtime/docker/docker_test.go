package docker

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/gantry-dev/gantry/internal/runtime"
)

func TestUnreachableEngineIsUnavailable(t *testing.T) {
	r, err := New(Options{Host: "unix://" + filepath.Join(t.TempDir(), "no.sock")})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Ping(t.Context()); !errors.Is(err, runtime.ErrUnavailable) {
		t.Errorf("Ping: %v, want ErrUnavailable", err)
	}
	_, err = r.Inspect(t.Context(), "web")
	if !errors.Is(err, runtime.ErrUnavailable) {
		t.Errorf("Inspect: %v, want ErrUnavailable", err)
	}
	_, err = r.Create(t.Context(), runtime.ContainerSpec{Image: "busybox"})
	if !errors.Is(err, runtime.ErrUnavailable) || !errors.Is(err, runtime.ErrCannotCreate) {
		t.Errorf("Create: %v, want CannotCreateContainerError, ErrUnavailable", err)
	}
}
