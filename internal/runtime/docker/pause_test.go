package docker_test

import (
	"archive/tar"
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/internal/runtime"
	"github.com/gantry-dev/gantry/internal/testenv"
)

// TestPauseImage imports a pause image under a test reference: once, for
// concurrent callers, and again over an image of that name made from
// something else. A container from it keeps running.
func TestPauseImage(t *testing.T) {
	r := testenv.RequireDocker(t)
	ctx := t.Context()
	ref := uniqueName("gantry-test/pause:")
	r.SetPauseRef(ref)
	var images []string // replaced ones, left untagged
	t.Cleanup(func() {
		for _, image := range append(images, ref) {
			_ = r.RemoveImage(context.WithoutCancel(ctx), image)
		}
	})

	refs := make([]string, 4)
	errs := make([]error, len(refs))
	var wg sync.WaitGroup
	for i := range refs {
		wg.Go(func() { refs[i], errs[i] = r.PauseImage(ctx) })
	}
	wg.Wait()
	for i := range refs {
		if errs[i] != nil || refs[i] != ref {
			t.Fatalf("PauseImage = %q, %v; want %q", refs[i], errs[i], ref)
		}
	}
	made, err := r.InspectImage(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	sum := made.Labels["gantry.pause.sum"]
	if sum == "" {
		t.Errorf("pause image labels = %v; want its content hash", made.Labels)
	}
	if again, err := r.PauseImage(ctx); err != nil || again != ref {
		t.Fatalf("PauseImage again = %q, %v", again, err)
	}
	if kept, err := r.InspectImage(ctx, ref); err != nil || kept.ID != made.ID {
		t.Errorf("after PauseImage again: image %+v, %v; want %s kept", kept, err, made.ID)
	}

	// Another image under that name is replaced, by a fresh Runtime too.
	if err := r.ImportImage(ctx, ref, bytes.NewReader(emptyTar(t)), []string{"LABEL gantry.pause.sum=other"}); err != nil {
		t.Fatal(err)
	}
	other, err := r.InspectImage(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	images = append(images, made.ID, other.ID)
	fresh := testenv.RequireDocker(t)
	fresh.SetPauseRef(ref)
	if got, err := fresh.PauseImage(ctx); err != nil || got != ref {
		t.Fatalf("PauseImage over another image = %q, %v", got, err)
	}
	if again, err := r.InspectImage(ctx, ref); err != nil || again.ID == other.ID || again.Labels["gantry.pause.sum"] != sum {
		t.Errorf("re-imported pause image = %+v, %v; want a new image labelled %s", again, err, sum)
	}

	// It runs until killed.
	spec := runtime.ContainerSpec{Image: ref, Labels: map[string]string{testenv.TestLabel: testenv.CleanupLabel(t)}}
	id, err := r.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // time to exit, were it to
	if c, err := r.Inspect(ctx, id); err != nil || c.State != runtime.StateRunning {
		t.Fatalf("pause container = %+v, %v; want running", c, err)
	}
	if err := r.Remove(ctx, id); err != nil {
		t.Fatal(err)
	}
}

// emptyTar is a root filesystem with one empty directory.
func emptyTar(t *testing.T) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
