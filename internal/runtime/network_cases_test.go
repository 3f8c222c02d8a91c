package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gantry-dev/gantry/internal/runtime"
)

// network creates a uniquely named network with the backend's labels and
// removes it when the test ends.
func (b *backend) network(t *testing.T) runtime.Network {
	t.Helper()
	name := uniqueName()
	n, err := b.rt.EnsureNetwork(t.Context(), name, b.labels)
	if err != nil {
		t.Fatalf("EnsureNetwork: %v", err)
	}
	t.Cleanup(func() {
		if err := b.rt.RemoveNetwork(context.WithoutCancel(t.Context()), name); err != nil {
			t.Errorf("RemoveNetwork: %v", err)
		}
	})
	return n
}

func testNetworkLifecycle(t *testing.T, b *backend) {
	ctx := t.Context()
	name := uniqueName()
	if _, err := b.rt.InspectNetwork(ctx, name); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("InspectNetwork of a missing network: %v, want ErrNotFound", err)
	}
	if err := b.rt.RemoveNetwork(ctx, name); err != nil {
		t.Errorf("RemoveNetwork of a missing network: %v, want nil", err)
	}
	if _, err := b.rt.EnsureNetwork(ctx, "", b.labels); !errors.Is(err, runtime.ErrInvalidSpec) {
		t.Errorf("EnsureNetwork without a name: %v, want ErrInvalidSpec", err)
	}

	n, err := b.rt.EnsureNetwork(ctx, name, b.labels)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.rt.RemoveNetwork(context.WithoutCancel(ctx), name) })
	checkNetwork(t, n, name, withManaged(b.labels))

	other := maps.Clone(b.labels)
	other["gantry.other"] = "ignored"
	again, err := b.rt.EnsureNetwork(ctx, name, other)
	if err != nil || again.ID != n.ID {
		t.Errorf("second EnsureNetwork = %+v, %v; want the same network %s", again, err, n.ID)
	}
	got, err := b.rt.InspectNetwork(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(n, got); diff != "" {
		t.Errorf("InspectNetwork (-EnsureNetwork +InspectNetwork):\n%s", diff)
	}

	bridge, err := b.rt.InspectNetwork(ctx, runtime.NetworkBridge)
	if err != nil || bridge.Driver != "bridge" || len(bridge.Subnets) == 0 {
		t.Errorf("InspectNetwork(bridge) = %+v, %v; want the engine's bridge network", bridge, err)
	}
	if err := b.rt.RemoveNetwork(ctx, runtime.NetworkBridge); !errors.Is(err, runtime.ErrConflict) {
		t.Errorf("RemoveNetwork(bridge): %v, want ErrConflict", err)
	}

	if err := b.rt.RemoveNetwork(ctx, name); err != nil {
		t.Fatal(err)
	}
	if _, err := b.rt.InspectNetwork(ctx, name); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("InspectNetwork after RemoveNetwork: %v, want ErrNotFound", err)
	}
}

// checkNetwork checks a bridge network that EnsureNetwork made.
func checkNetwork(t *testing.T, n runtime.Network, name string, labels map[string]string) {
	t.Helper()
	if n.ID == "" || n.Name != name || n.Driver != "bridge" || len(n.Subnets) == 0 {
		t.Fatalf("network = %+v; want a bridge network called %s with a subnet", n, name)
	}
	subnet, err := netip.ParsePrefix(n.Subnets[0])
	if err != nil {
		t.Fatalf("subnet %q: %v", n.Subnets[0], err)
	}
	if gw, err := netip.ParseAddr(n.Gateway); err != nil || !subnet.Contains(gw) {
		t.Errorf("gateway %q is not an address in %s", n.Gateway, subnet)
	}
	for k, v := range labels {
		if n.Labels[k] != v {
			t.Errorf("network label %s = %q, want %q (labels %v)", k, n.Labels[k], v, n.Labels)
		}
	}
}

// testNetworkConcurrentEnsure: callers racing to create one network, from
// one Runtime and from several (as from several processes), all get it.
func testNetworkConcurrentEnsure(t *testing.T, b *backend) {
	name := uniqueName()
	t.Cleanup(func() { _ = b.rt.RemoveNetwork(context.WithoutCancel(t.Context()), name) })
	rts := []runtime.Runtime{b.rt, b.rt, b.reopen(t), b.reopen(t), b.reopen(t)}
	ids := make([]string, len(rts))
	errs := make([]error, len(rts))
	var wg sync.WaitGroup
	for i, rt := range rts {
		wg.Go(func() {
			n, err := rt.EnsureNetwork(t.Context(), name, b.labels)
			ids[i], errs[i] = n.ID, err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	n, err := b.rt.InspectNetwork(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		if id != n.ID {
			t.Errorf("caller %d got network %s, InspectNetwork %s", i, id, n.ID)
		}
	}
	if err := b.rt.RemoveNetwork(t.Context(), name); err != nil {
		t.Fatal(err)
	}
	if _, err := b.rt.InspectNetwork(t.Context(), name); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("InspectNetwork after RemoveNetwork: %v, want ErrNotFound (no duplicate left)", err)
	}
}

// testContainerOnNamedNetwork: a container on a named network has an
// address in its subnet, which other containers on it reach; the network
// cannot be removed while the container runs.
func testContainerOnNamedNetwork(t *testing.T, b *backend) {
	ctx := t.Context()
	n := b.network(t)
	spec := b.spec(runHTTPD...)
	spec.NetworkMode = n.Name
	id := b.start(t, spec)
	c := waitFor(t, b.rt, id, "running", func(c runtime.Container) bool { return c.State == runtime.StateRunning })
	ip := checkAttached(t, c, n)
	list, err := b.rt.List(ctx, b.labels)
	if err != nil {
		t.Fatal(err)
	}
	for _, lc := range list {
		if lc.ID == id {
			checkAttached(t, lc, n)
		}
	}

	if err := b.rt.RemoveNetwork(ctx, n.Name); !errors.Is(err, runtime.ErrConflict) {
		t.Errorf("RemoveNetwork with a running container on it: %v, want ErrConflict", err)
	}
	if b.real {
		client := b.spec("sh", "-c", fmt.Sprintf(`i=0
while [ $i -lt 100 ]; do
	wget -q -O /dev/null http://%s:8080/ && exit 0
	i=$((i+1)); sleep 0.1
done
exit 1`, ip))
		client.NetworkMode = n.Name
		waitExit(t, b.rt, b.start(t, client), 0)
	}
	if err := b.rt.Remove(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := b.rt.RemoveNetwork(ctx, n.Name); err != nil {
		t.Errorf("RemoveNetwork once the container is gone: %v", err)
	}
}

// checkAttached checks that c has one address, on n, and returns it.
func checkAttached(t *testing.T, c runtime.Container, n runtime.Network) string {
	t.Helper()
	if c.NetworkMode != n.Name || len(c.Networks) != 1 || c.Networks[0].Network != n.Name {
		t.Fatalf("container on %s: network mode %q, networks %+v", n.Name, c.NetworkMode, c.Networks)
	}
	ip, err := netip.ParseAddr(c.Networks[0].IPv4Address)
	if subnet, perr := netip.ParsePrefix(n.Subnets[0]); err != nil || perr != nil || !subnet.Contains(ip) {
		t.Fatalf("container address %q is not in the network's subnet %s", c.Networks[0].IPv4Address, n.Subnets[0])
	}
	return ip.String()
}

// testStartOnMissingNetwork: a container on a network that does not exist
// fails to start (or, on newer engines, to be created) with ErrNotFound.
func testStartOnMissingNetwork(t *testing.T, b *backend) {
	spec := b.spec(runTrapTerm...)
	spec.NetworkMode = uniqueName()
	id, err := b.rt.Create(t.Context(), spec)
	if err != nil {
		if !errors.Is(err, runtime.ErrCannotCreate) || !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("Create on a missing network: %v; want CannotCreateContainerError, ErrNotFound", err)
		}
		return
	}
	t.Cleanup(func() { _ = b.rt.Remove(context.WithoutCancel(t.Context()), id) })
	err = b.rt.Start(t.Context(), id)
	if !errors.Is(err, runtime.ErrCannotStart) || !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Start on a missing network: %v; want CannotStartContainerError, ErrNotFound", err)
	}
}

// testTaskNetwork is an awsvpc task as the agent runs it: a pause
// container from PauseImage on a named network holds the task's network
// namespace; the task's containers join it and share its localhost and
// hostname.
func testTaskNetwork(t *testing.T, b *backend) {
	ctx := t.Context()
	ref, err := b.rt.PauseImage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := b.rt.PauseImage(ctx); err != nil || again != ref {
		t.Errorf("second PauseImage = %q, %v; want %q", again, err, ref)
	}
	if info, err := b.rt.EnsureImage(ctx, ref); err != nil || info.Pulled {
		t.Errorf("EnsureImage(%q) = %+v, %v; want it local", ref, info, err)
	}
	n := b.network(t)
	pause := b.spec()
	pause.Image, pause.NetworkMode, pause.Hostname = ref, n.Name, "task-host"
	pauseID := b.start(t, pause)

	server := b.spec(runHTTPD...)
	server.NetworkMode = runtime.NetworkContainer(pauseID)
	b.start(t, server)
	if b.real {
		client := b.spec("sh", "-c", `i=0
while [ $i -lt 100 ]; do
	wget -q -O /dev/null http://127.0.0.1:8080/ && [ "$(hostname)" = task-host ] && exit 0
	i=$((i+1)); sleep 0.1
done
exit 1`)
		client.NetworkMode = runtime.NetworkContainer(pauseID)
		waitExit(t, b.rt, b.start(t, client), 0)
	}
	p, err := b.rt.Inspect(ctx, pauseID)
	if err != nil {
		t.Fatal(err)
	}
	if p.State != runtime.StateRunning {
		t.Fatalf("pause container: state %v, exit code %d, error %q; want running", p.State, p.ExitCode, p.Error)
	}
	checkAttached(t, p, n)

	// The pause program ignores SIGTERM: Stop waits out its timeout.
	const timeout = time.Second
	begin := time.Now()
	if err := b.rt.Stop(ctx, pauseID, timeout); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took < timeout {
		t.Errorf("Stop of the pause container took %v, less than its timeout %v", took, timeout)
	}
	waitExit(t, b.rt, pauseID, 137)
}
