package docker

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"

	"github.com/gantry-dev/gantry/internal/runtime"
)

// inspect2010 is (trimmed) what Docker 20.10 answers for a running
// container with a dynamic port, an unpublished port and a health check.
const inspect2010 = `{
  "Id": "4f1e57ce6eee4be3d2201f7b31e1e35ee9db3f9e7a6032388c30e390d584e955",
  "Created": "2026-11-21T10:14:09.845502495Z",
  "State": {"Status": "running", "Running": true, "Pid": 4242, "ExitCode": 0, "Error": "",
    "StartedAt": "2026-11-21T10:14:10.1Z", "FinishedAt": "0001-01-01T00:00:00Z",
    "Health": {"Status": "healthy", "FailingStreak": 0, "Log": []}},
  "Image": "sha256:2c722658311ea4e32e5dc5fc47b26ba9f76b1507b60bee33d1245b8db9afba34",
  "Name": "/web",
  "HostConfig": {"NetworkMode": "bridge", "CpuShares": 2, "Memory": 67108864, "MemoryReservation": 33554432,
    "PortBindings": {"8080/tcp": [{"HostIp": "", "HostPort": ""}]}},
  "Config": {"Image": "gantry-test/busybox:1", "Labels": {"gantry.managed": "true", "gantry.task-arn": "arn:task"}},
  "NetworkSettings": {
    "Ports": {"8080/tcp": [{"HostIp": "0.0.0.0", "HostPort": "49154"}, {"HostIp": "::", "HostPort": "49154"}], "9090/tcp": null},
    "Networks": {"bridge": {"IPAddress": "172.17.0.3", "GlobalIPv6Address": "", "MacAddress": "02:42:ac:11:00:03", "Gateway": "172.17.0.1"},
                 "idle": {"IPAddress": "", "MacAddress": ""}}
  }
}`

func TestFromInspect(t *testing.T) {
	var in container.InspectResponse
	if err := json.Unmarshal([]byte(inspect2010), &in); err != nil {
		t.Fatal(err)
	}
	want := runtime.Container{
		ID:          "4f1e57ce6eee4be3d2201f7b31e1e35ee9db3f9e7a6032388c30e390d584e955",
		Name:        "web",
		Image:       "gantry-test/busybox:1",
		ImageID:     "sha256:2c722658311ea4e32e5dc5fc47b26ba9f76b1507b60bee33d1245b8db9afba34",
		Labels:      map[string]string{"gantry.managed": "true", "gantry.task-arn": "arn:task"},
		NetworkMode: "bridge",
		State:       runtime.StateRunning,
		Health:      runtime.HealthHealthy,
		CreatedAt:   time.Date(2026, 11, 21, 10, 14, 9, 845502495, time.UTC),
		StartedAt:   time.Date(2026, 11, 21, 10, 14, 10, 100000000, time.UTC),
		Resources:   runtime.Resources{CPUShares: 2, MemoryBytes: 64 << 20, MemoryReservationBytes: 32 << 20},
		Ports: []runtime.PortBinding{
			{ContainerPort: 8080, HostPort: 49154, Protocol: runtime.TCP, HostIP: "0.0.0.0"},
			{ContainerPort: 8080, HostPort: 49154, Protocol: runtime.TCP, HostIP: "::"},
		},
		Networks: []runtime.NetworkAttachment{{Network: "bridge", IPv4Address: "172.17.0.3", MACAddress: "02:42:ac:11:00:03"}},
	}
	if diff := cmp.Diff(want, fromInspect(in)); diff != "" {
		t.Errorf("fromInspect (-want +got):\n%s", diff)
	}
}

func TestStateAndHealth(t *testing.T) {
	states := map[container.ContainerState]runtime.State{
		"created": runtime.StateCreated, "running": runtime.StateRunning, "paused": runtime.StateRunning,
		"restarting": runtime.StateRunning, "exited": runtime.StateExited, "dead": runtime.StateExited,
		"removing": runtime.StateExited, "bogus": runtime.StateUnknown,
	}
	for in, want := range states {
		if got := state(in); got != want {
			t.Errorf("state(%q) = %v, want %v", in, got, want)
		}
	}
	healths := map[container.HealthStatus]runtime.HealthStatus{
		"starting": runtime.HealthStarting, "healthy": runtime.HealthHealthy, "unhealthy": runtime.HealthUnhealthy,
		"none": runtime.HealthNone, "": runtime.HealthNone,
	}
	for in, want := range healths {
		if got := health(in); got != want {
			t.Errorf("health(%q) = %v, want %v", in, got, want)
		}
	}
}

// network2010 is (trimmed) how Docker 20.10 lists a bridge network.
const network2010 = `{
  "Name": "gantry-task", "Id": "3aca5ec96b55e1c6106e2975eb78bc91710d304a6987ca6752b9bf5b0ed607a6",
  "Created": "2026-11-21T10:33:43.275225939Z", "Scope": "local", "Driver": "bridge", "EnableIPv6": false,
  "IPAM": {"Driver": "default", "Options": {}, "Config": [{"Subnet": "172.22.0.0/16", "Gateway": "172.22.0.1"}]},
  "Internal": false, "Attachable": false, "Ingress": false, "ConfigFrom": {"Network": ""}, "ConfigOnly": false,
  "Containers": {}, "Options": {}, "Labels": {"gantry.managed": "true"}
}`

func TestFromNetwork(t *testing.T) {
	var in network.Summary
	if err := json.Unmarshal([]byte(network2010), &in); err != nil {
		t.Fatal(err)
	}
	want := runtime.Network{
		ID:      "3aca5ec96b55e1c6106e2975eb78bc91710d304a6987ca6752b9bf5b0ed607a6",
		Name:    "gantry-task",
		Driver:  "bridge",
		Subnets: []string{"172.22.0.0/16"},
		Gateway: "172.22.0.1",
		Labels:  map[string]string{"gantry.managed": "true"},
	}
	if diff := cmp.Diff(want, fromNetwork(in.Network)); diff != "" {
		t.Errorf("fromNetwork (-want +got):\n%s", diff)
	}
}
