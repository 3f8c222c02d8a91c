package placement

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFirstFit(t *testing.T) {
	hosts := func() []FitHost {
		return []FitHost{
			{ARN: "a", CPU: 1024, Memory: 1024, Ports: map[string]bool{"22/tcp": true}},
			{ARN: "b", CPU: 2048, Memory: 512},
		}
	}
	tests := []struct {
		name     string
		demand   Demand
		count    int
		chosen   []int
		failures []Failure
	}{
		{"fills the first host first", Demand{CPU: 512, Memory: 256}, 3, []int{0, 0, 1}, nil},
		{"memory runs out", Demand{CPU: 256, Memory: 600}, 2, []int{0},
			[]Failure{{"a", ReasonMemory}, {"b", ReasonMemory}}},
		{"cpu checked first", Demand{CPU: 4096, Memory: 4096}, 1, nil,
			[]Failure{{"a", ReasonCPU}, {"b", ReasonCPU}}},
		{"a fixed port once per host", Demand{CPU: 1, Memory: 1, Ports: []string{"80/tcp"}}, 3, []int{0, 1},
			[]Failure{{"a", ReasonPorts}, {"b", ReasonPorts}}},
		{"reserved ports refuse", Demand{CPU: 1, Memory: 1, Ports: []string{"22/tcp"}}, 1, []int{1}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chosen, failures := FirstFit(hosts(), tt.demand, tt.count)
			if diff := cmp.Diff(tt.chosen, chosen); diff != "" {
				t.Errorf("chosen (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.failures, failures); diff != "" {
				t.Errorf("failures (-want +got):\n%s", diff)
			}
		})
	}
}
