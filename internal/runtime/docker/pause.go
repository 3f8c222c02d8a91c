package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/gantry-dev/gantry/internal/runtime"
)

// PauseRef is the pause image PauseImage makes. Change the tag whenever
// the pause program changes.
const PauseRef = "gantry/pause:1"

// pauseSumLabel carries a hash of the image's root filesystem, so an image
// of that name made from something else is replaced.
const pauseSumLabel = "gantry.pause.sum"

// pauseImage is the pause image's root filesystem for this engine.
type pauseImage struct {
	rootfs []byte
	sum    string
}

// PauseImage imports PauseRef from a root filesystem holding only the pause
// program (see pauseExecutable) for the engine's architecture, unless an
// identical image is there already.
func (r *Runtime) PauseImage(ctx context.Context) (string, error) {
	r.pauseMu.Lock()
	defer r.pauseMu.Unlock()
	if r.pause == nil {
		p, err := r.buildPause(ctx)
		if err != nil {
			return "", fmt.Errorf("pause image: %w", err)
		}
		r.pause = p
	}
	info, err := r.InspectImage(ctx, r.pauseRef)
	if err == nil && info.Labels[pauseSumLabel] == r.pause.sum {
		return r.pauseRef, nil
	}
	if err != nil && !errors.Is(err, runtime.ErrNotFound) {
		return "", fmt.Errorf("pause image: %w", err)
	}
	r.log.InfoContext(ctx, "importing the pause image", "image", r.pauseRef)
	changes := []string{`ENTRYPOINT ["/pause"]`, "LABEL " + pauseSumLabel + "=" + r.pause.sum}
	if err := r.ImportImage(ctx, r.pauseRef, bytes.NewReader(r.pause.rootfs), changes); err != nil {
		return "", fmt.Errorf("pause image: %w", err)
	}
	return r.pauseRef, nil
}

func (r *Runtime) buildPause(ctx context.Context) (*pauseImage, error) {
	host, err := r.Info(ctx)
	if err != nil {
		return nil, err
	}
	bin, err := pauseExecutable(goArch(host.Arch))
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	h := &tar.Header{
		Name: "pause", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bin)),
		ModTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), // the same bytes every time
	}
	if err := tw.WriteHeader(h); err != nil {
		return nil, err
	}
	if _, err := tw.Write(bin); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(buf.Bytes())
	return &pauseImage{rootfs: buf.Bytes(), sum: hex.EncodeToString(sum[:8])}, nil
}

// goArch turns the architecture the engine reports (uname's, e.g.
// "x86_64") into Go's name for it.
func goArch(engineArch string) string {
	switch engineArch {
	case "x86_64", "amd64":
		return "amd64"
	case "aarch64", "arm64":
		return "arm64"
	}
	return engineArch
}
