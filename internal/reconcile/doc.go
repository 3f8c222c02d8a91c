// Package reconcile decides what a service's scheduler does next. Given a
// service, its deployments, its tasks and its cluster's instances at one
// moment, Plan returns the tasks to start and stop, the deployments whose
// rollout changed, and the events to tell the user, as the ECS service
// scheduler would. It is pure: no I/O and no clock (now is an argument),
// so a plan is a function of its input and a second plan of the state the
// first one produces asks for nothing more.
//
// It imports ecs only; the controller package owns goroutines, timing
// and the store.
package reconcile
