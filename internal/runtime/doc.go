// Package runtime is the agent's only view of containers: the Runtime
// interface, the ContainerSpec it creates containers from, the Container and
// Event shapes it reports, and the error kinds it returns.
//
// The package owns the boundary, not an implementation. runtime/docker
// implements it over the Docker Engine API and is the only package in Gantry
// that imports the Docker SDK; runtime/sim implements it in memory, without
// processes, for scale runs and agent tests. This package imports the
// standard library only and nothing of Gantry's, so either side of the
// boundary can change without the other noticing.
//
// The agent owns nothing durable: what it needs to rebuild its view after a
// restart lives in labels on each container. Every container a Runtime
// creates carries LabelManaged; the agent adds the others:
//
//	gantry.managed          "true" on every container Gantry created
//	gantry.cluster          the cluster name
//	gantry.task-arn         the task ARN
//	gantry.container-name   the container's name in the task definition
//	gantry.task-definition  the task definition ARN (family:revision)
//
// List and Events see only containers that carry LabelManaged, so containers
// Gantry did not create are never touched.
package runtime

// Label keys Gantry puts on the containers it creates.
const (
	LabelManaged        = "gantry.managed"
	LabelCluster        = "gantry.cluster"
	LabelTaskARN        = "gantry.task-arn"
	LabelContainerName  = "gantry.container-name"
	LabelTaskDefinition = "gantry.task-definition"
)
