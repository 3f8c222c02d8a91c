// Package integration_test runs the control plane and agents together, as
// users run them: a real server on embedded etcd, real agents speaking the
// agent protocol, and the AWS SDK as the client. The container runtime is
// the simulated one for control-plane behaviour and the Docker Engine for
// what only real containers can show.
package integration_test
