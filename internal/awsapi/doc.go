// Package awsapi owns the AWS JSON 1.1 wire protocol and SigV4 verification:
// routing by X-Amz-Target, decoding request bodies, encoding results and
// errors, request IDs, and the shared-credentials keyring that signatures are
// checked against. It knows no ECS action; handlers plug in as Ops.
//
// It imports no other gantry package.
package awsapi
