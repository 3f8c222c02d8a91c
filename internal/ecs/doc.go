// Package ecs holds the ECS resource shapes exactly as they travel on the
// wire (shapes.go is generated from the ECS service model), plus the rules
// that belong to the shapes themselves: ARNs, names, timestamps and
// validation. The same types are what the store keeps and what handlers
// return; server-only bookkeeping lives in the store's records instead.
//
// It imports only the standard library.
package ecs

//go:generate go run gen_shapes.go -model ${ECS_SERVICE_MODEL}
