package runtime

// DefaultTaskNetwork is the engine network that awsvpc tasks' pause
// containers join unless the task names another (an ECS subnet ID, such as
// "subnet-abc", that names an existing engine network).
const DefaultTaskNetwork = "gantry-task"

// Network is an engine network that containers can join.
type Network struct {
	ID      string
	Name    string
	Driver  string            // "bridge", "host", "null", …
	Subnets []string          // CIDR blocks, e.g. "172.18.0.0/16"; empty for host and none
	Gateway string            // the first IPv4 gateway, e.g. "172.18.0.1"; "" when none
	Labels  map[string]string // as created: the caller's plus LabelManaged
}
