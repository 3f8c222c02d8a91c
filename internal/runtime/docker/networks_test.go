package docker_test

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"testing"

	"github.com/gantry-dev/gantry/internal/runtime"
	"github.com/gantry-dev/gantry/internal/testenv"
)

func uniqueName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// TestEnsureNetworkKeepsTheOldest: engines before API 1.44 let two
// creators make two networks of one name. Every lookup then picks the
// oldest, and EnsureNetwork removes the younger.
func TestEnsureNetworkKeepsTheOldest(t *testing.T) {
	r := testenv.RequireDocker(t)
	ctx := t.Context()
	labels := map[string]string{testenv.TestLabel: testenv.CleanupLabel(t)}
	name := uniqueName("gantry-test-")
	first, err := r.CreateNetworkUnchecked(ctx, name, labels)
	if err != nil {
		t.Fatal(err)
	}
	second, err := r.CreateNetworkUnchecked(ctx, name, labels)
	switch {
	case errors.Is(err, runtime.ErrConflict):
		t.Log("this engine refuses a second network of one name")
	case err != nil:
		t.Fatal(err)
	default:
		if ids, err := r.NetworkIDs(ctx, name); err != nil || !slices.Equal(ids, []string{first, second}) {
			t.Fatalf("networks called %s: %v, %v; want %s then %s", name, ids, err, first, second)
		}
		if n, err := r.InspectNetwork(ctx, name); err != nil || n.ID != first {
			t.Errorf("InspectNetwork with a duplicate = %+v, %v; want the oldest, %s", n, err, first)
		}
	}
	n, err := r.EnsureNetwork(ctx, name, labels)
	if err != nil || n.ID != first {
		t.Fatalf("EnsureNetwork = %+v, %v; want the oldest, %s", n, err, first)
	}
	if ids, err := r.NetworkIDs(ctx, name); err != nil || !slices.Equal(ids, []string{first}) {
		t.Errorf("after EnsureNetwork: networks %v, %v; want only %s", ids, err, first)
	}
	if _, err := r.CreateNetworkUnchecked(ctx, name, labels); err == nil {
		if err := r.RemoveNetwork(ctx, name); err != nil { // every one of the name
			t.Fatal(err)
		}
		if ids, err := r.NetworkIDs(ctx, name); err != nil || len(ids) != 0 {
			t.Errorf("after RemoveNetwork: networks %v, %v; want none", ids, err)
		}
	}
}
