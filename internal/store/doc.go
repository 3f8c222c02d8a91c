// Package store is Gantry's typed repository over etcd, the only state there
// is. Every object is one key under a versioned prefix holding a JSON envelope
// with a schema version. Reads come from an in-memory cache that one watch
// keeps current; writes are etcd transactions that compare revisions, so
// concurrent writers never lose each other's updates, and a write returns only
// once the cache has seen it (read-your-writes within a server).
//
// It is the only package that imports the etcd client. It must not import
// api, controller, server or agent packages.
package store
