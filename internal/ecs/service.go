package ecs

// CircuitBreakerThreshold is how many failed tasks fail a deployment of
// desired tasks: half of them, rounded up, at least 3 and at most 200, as
// the ECS API reference gives it.
func CircuitBreakerThreshold(desired int32) int32 {
	return min(max((desired+1)/2, 3), 200)
}
