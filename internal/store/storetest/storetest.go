// Package storetest starts a real store on a real embedded etcd for tests.
// Only _test.go files import it.
package storetest

import (
	"context"
	"testing"

	"github.com/gantry-dev/gantry/internal/etcdserver"
	"github.com/gantry-dev/gantry/internal/store"
)

// New starts an embedded etcd in a temporary directory and opens a store on
// it; both are closed when the test ends.
func New(t testing.TB) *store.Store {
	t.Helper()
	ctx := context.Background()
	etcd, err := etcdserver.Start(ctx, etcdserver.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("start etcd: %v", err)
	}
	t.Cleanup(etcd.Close)
	s, err := store.Open(ctx, store.Options{Client: etcd.Client()})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}
