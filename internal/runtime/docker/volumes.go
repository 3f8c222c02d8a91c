package docker

import (
	"context"
	"errors"
	"fmt"

	"github.com/moby/moby/client"

	"github.com/gantry-dev/gantry/internal/runtime"
)

// RemoveVolume removes a named volume.
func (r *Runtime) RemoveVolume(ctx context.Context, name string) error {
	ctx, cancel := r.call(ctx)
	defer cancel()
	if _, err := r.c.VolumeRemove(ctx, name, client.VolumeRemoveOptions{}); err != nil {
		return fmt.Errorf("remove volume %q: %w", name, classify(err))
	}
	return nil
}

// RemoveLabelled force-removes every container, then every volume and
// network, that carries all of labels, whether Gantry manages it or not.
// Objects that vanish meanwhile are not an error. It exists for cleaning up
// after tests and for purging a host.
func (r *Runtime) RemoveLabelled(ctx context.Context, labels map[string]string) error {
	if len(labels) == 0 {
		return fmt.Errorf("remove labelled objects: no labels given")
	}
	f := make(client.Filters)
	for k, v := range labels {
		f.Add("label", k+"="+v)
	}
	var errs []error
	lctx, cancel := r.call(ctx)
	cs, err := r.c.ContainerList(lctx, client.ContainerListOptions{All: true, Filters: f})
	cancel()
	errs = append(errs, classify(err))
	for _, c := range cs.Items {
		errs = append(errs, ignoreNotFound(r.Remove(ctx, c.ID)))
	}
	lctx, cancel = r.call(ctx)
	vs, err := r.c.VolumeList(lctx, client.VolumeListOptions{Filters: f})
	cancel()
	errs = append(errs, classify(err))
	for _, v := range vs.Items {
		errs = append(errs, ignoreNotFound(r.RemoveVolume(ctx, v.Name)))
	}
	lctx, cancel = r.call(ctx)
	ns, err := r.c.NetworkList(lctx, client.NetworkListOptions{Filters: f})
	cancel()
	errs = append(errs, classify(err))
	for _, n := range ns.Items {
		rctx, cancel := r.call(ctx)
		_, err := r.c.NetworkRemove(rctx, n.ID, client.NetworkRemoveOptions{})
		cancel()
		errs = append(errs, ignoreNotFound(classify(err)))
	}
	return errors.Join(errs...)
}

func ignoreNotFound(err error) error {
	if errors.Is(err, runtime.ErrNotFound) {
		return nil
	}
	return err
}
