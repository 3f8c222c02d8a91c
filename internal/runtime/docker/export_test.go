package docker

import (
	"context"

	"github.com/moby/moby/client"
)

// Hooks for the tests of package docker_test, which use the real engine
// through testenv.

// SetPauseRef makes PauseImage make ref instead of PauseRef.
func (r *Runtime) SetPauseRef(ref string) { r.pauseRef = ref }

// CreateNetworkUnchecked creates a bridge network as EnsureNetwork does but
// without looking first, as a racing process would.
func (r *Runtime) CreateNetworkUnchecked(ctx context.Context, name string, netLabels map[string]string) (string, error) {
	res, err := r.c.NetworkCreate(ctx, name, client.NetworkCreateOptions{Driver: "bridge", Labels: labels(netLabels)})
	return res.ID, classify(err)
}

// NetworkIDs lists the IDs of the networks called name, oldest first.
func (r *Runtime) NetworkIDs(ctx context.Context, name string) ([]string, error) {
	found, err := r.findNetworks(ctx, name)
	var ids []string
	for _, n := range found {
		ids = append(ids, n.ID)
	}
	return ids, err
}

// RemoveImage removes the image ref.
func (r *Runtime) RemoveImage(ctx context.Context, ref string) error {
	_, err := r.c.ImageRemove(ctx, ref, client.ImageRemoveOptions{})
	return classify(err)
}
