package placement

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// host builds a connected host with 4 vCPU and 8 GiB and the given zone
// and instance type.
func host(id, zone, typ string) *Host {
	return &Host{
		ARN: "arn:ci/" + id, ID: id, CPU: 4096, Memory: 8192, AgentConnected: true,
		Reserved:   map[string]bool{"22/tcp": true},
		Attributes: map[string]string{"ecs.availability-zone": zone, "ecs.instance-type": typ},
	}
}

func cluster() []*Host {
	return []*Host{
		host("a1", "zone-a", "t3.small"), host("a2", "zone-a", "m5.large"),
		host("b1", "zone-b", "t3.small"), host("c1", "zone-c", "t3.medium"),
	}
}

func ids(hs []*Host) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.ID
	}
	return out
}

func mustParse(t testing.TB, s string) *Expression {
	t.Helper()
	e, err := ParseExpression(s)
	if err != nil {
		t.Fatalf("ParseExpression(%q): %v", s, err)
	}
	return e
}

func strategy(t testing.TB, typ, field string) Strategy {
	t.Helper()
	s, err := ParseStrategy(typ, field)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBinpack(t *testing.T) {
	tests := []struct {
		name  string
		field string
		req   Request
		setup func(hs []*Host)
		want  []string
	}{
		{"memory: the host with the least memory left first", "memory",
			Request{Count: 3, CPU: 256, Memory: 3000}, func(hs []*Host) { hs[2].UsedMemory = 2000 },
			[]string{"b1", "b1", "a1"}},
		{"cpu", "cpu",
			Request{Count: 2, CPU: 2048, Memory: 16}, func(hs []*Host) { hs[3].UsedCPU = 1024 },
			[]string{"c1", "a1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := cluster()
			tt.setup(hs)
			// Ties between equally full hosts go at random; these cases
			// have one best host at every step except where a1 is first
			// in a tie the seed settles.
			tt.req.Strategies = []Strategy{strategy(t, "binpack", tt.field)}
			chosen, failures := Place(hs, &tt.req, rand.New(rand.NewPCG(1, 2)))
			if failures != nil {
				t.Fatalf("failures: %v", failures)
			}
			got := ids(chosen)
			if diff := cmp.Diff(tt.want[:len(tt.want)-1], got[:len(got)-1]); diff != "" {
				t.Errorf("chosen (-want +got):\n%s", diff)
			}
		})
	}
}

// Spread over zones first, then binpack within the chosen zone.
func TestSpreadZoneThenBinpack(t *testing.T) {
	hs := cluster()
	hs[1].UsedMemory = 100 // a2 is fuller than a1
	req := Request{Count: 6, CPU: 16, Memory: 16, Group: "g", Strategies: []Strategy{
		strategy(t, "spread", "attribute:ecs.availability-zone"), strategy(t, "binpack", "memory")}}
	chosen, _ := Place(hs, &req, rand.New(rand.NewPCG(1, 2)))
	perZone := map[string]int{}
	for _, h := range chosen {
		perZone[h.Attributes["ecs.availability-zone"]]++
	}
	if fmt.Sprint(perZone) != "map[zone-a:2 zone-b:2 zone-c:2]" {
		t.Errorf("tasks per zone %v, want 2 each", perZone)
	}
	if hs[0].Groups["g"] != 0 || hs[1].Groups["g"] != 2 {
		t.Errorf("zone-a: a1 has %d, a2 %d; binpack should fill a2", hs[0].Groups["g"], hs[1].Groups["g"])
	}
}

func TestSpreadInstanceIDAndDistinct(t *testing.T) {
	hs := cluster()
	hs[0].Groups = map[string]int{"web": 1}
	req := Request{Count: 3, CPU: 1, Memory: 1, Group: "web", Strategies: []Strategy{strategy(t, "spread", "host")}}
	chosen, _ := Place(hs, &req, rand.New(rand.NewPCG(3, 4)))
	got := ids(chosen)
	slices.Sort(got)
	if fmt.Sprint(got) != "[a2 b1 c1]" {
		t.Errorf("spread by instance chose %v; want the three hosts without a web task", got)
	}

	req = Request{Count: 5, CPU: 1, Memory: 1, Group: "db", Distinct: true}
	chosen, failures := Place(cluster(), &req, rand.New(rand.NewPCG(5, 6)))
	if len(chosen) != 4 {
		t.Fatalf("distinctInstance placed %d of 5 on 4 hosts", len(chosen))
	}
	for _, f := range failures {
		if f.Reason != ReasonDistinctInstance {
			t.Errorf("failure %+v, want %s", f, ReasonDistinctInstance)
		}
	}
}

func TestPlaceFailureReasons(t *testing.T) {
	hs := cluster()
	hs[0].AgentConnected = false
	hs[1].UsedCPU = 4000
	hs[2].UsedMemory = 8000
	hs[3].Used = map[string]int{"80/tcp": 1}
	req := Request{Count: 1, CPU: 512, Memory: 512, Ports: []string{"80/tcp"}}
	_, failures := Place(hs, &req, rand.New(rand.NewPCG(1, 1)))
	want := []Failure{
		{"arn:ci/a1", ReasonAgent}, {"arn:ci/a2", ReasonCPU},
		{"arn:ci/b1", ReasonMemory}, {"arn:ci/c1", ReasonPorts},
	}
	if diff := cmp.Diff(want, failures); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}

	req = Request{Count: 1, CPU: 1, Memory: 1, Ports: []string{"22/tcp"}}
	if _, failures := Place(cluster(), &req, rand.New(rand.NewPCG(1, 1))); failures[0].Reason != ReasonPorts {
		t.Errorf("a reserved port: %v", failures)
	}
	req = Request{Count: 1, CPU: 1, Memory: 1, Requires: []Attribute{{Name: "ecs.capability.task-eni"}}}
	if _, failures := Place(cluster(), &req, rand.New(rand.NewPCG(1, 1))); failures[0].Reason != ReasonAttribute {
		t.Errorf("a missing required attribute: %v", failures)
	}
	req = Request{Count: 1, CPU: 1, Memory: 1, MemberOf: []*Expression{mustParse(t, "attribute:ecs.instance-type == c5.xlarge")}}
	if _, failures := Place(cluster(), &req, rand.New(rand.NewPCG(1, 1))); failures[0].Reason != ReasonMemberOf {
		t.Errorf("memberOf nobody matches: %v", failures)
	}
}

// The examples of ECS's placement documentation, as constraints.
func TestPlaceMemberOf(t *testing.T) {
	tests := []struct {
		expr string
		want []string // the hosts that may be chosen
	}{
		{"attribute:ecs.instance-type =~ t3.*", []string{"a1", "b1", "c1"}},
		{"attribute:ecs.instance-type == t3.small", []string{"a1", "b1"}},
		{"attribute:ecs.availability-zone in [zone-a, zone-c]", []string{"a1", "a2", "c1"}},
		{"attribute:ecs.instance-type =~ t3.* and attribute:ecs.availability-zone != zone-a", []string{"b1", "c1"}},
		{"not(task:group == database)", []string{"a2", "b1", "c1"}},
		{"task:group == database", []string{"a1"}},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			hs := cluster()
			hs[0].Groups = map[string]int{"database": 1}
			req := Request{Count: 40, CPU: 1, Memory: 1, Group: "x", MemberOf: []*Expression{mustParse(t, tt.expr)}}
			chosen, _ := Place(hs, &req, rand.New(rand.NewPCG(7, 8)))
			got := ids(chosen)
			slices.Sort(got)
			got = slices.Compact(got)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("hosts used (-want +got):\n%s", diff)
			}
		})
	}
}

// Anti-affinity reads the request's own placements: not(task:group == g)
// for group g puts at most one task on each host.
func TestMemberOfSeesEarlierTasksOfTheRequest(t *testing.T) {
	req := Request{Count: 6, CPU: 1, Memory: 1, Group: "g", MemberOf: []*Expression{mustParse(t, "not(task:group == g)")}}
	chosen, failures := Place(cluster(), &req, rand.New(rand.NewPCG(9, 9)))
	if len(chosen) != 4 || len(failures) != 4 || failures[0].Reason != ReasonMemberOf {
		t.Fatalf("placed %v with failures %v; want one per host, then MemberOf", ids(chosen), failures)
	}
}

// Random clusters and requests: nothing is ever over-committed, every
// constraint holds on every chosen host, and spread keeps the group's
// tasks within one of even across zones whenever capacity allows.
func TestPlaceProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 42))
	zones := []string{"z1", "z2", "z3"}
	types := []string{"t3.small", "m5.large"}
	memberOf := mustParse(t, "attribute:ecs.instance-type == t3.small")
	for round := range 300 {
		hs := make([]*Host, 1+rng.IntN(30))
		for i := range hs {
			hs[i] = host(fmt.Sprint(i), zones[rng.IntN(3)], types[rng.IntN(2)])
			hs[i].CPU, hs[i].Memory = 256*(1+rng.IntN(16)), 256*(1+rng.IntN(32))
			hs[i].AgentConnected = rng.IntN(10) > 0
		}
		req := Request{Count: 1 + rng.IntN(10), CPU: 64 * rng.IntN(16), Memory: 64 * (1 + rng.IntN(16)), Group: "g"}
		if rng.IntN(2) == 0 {
			req.Ports = []string{"8080/tcp"}
		}
		if rng.IntN(3) == 0 {
			req.MemberOf = []*Expression{memberOf}
		}
		req.Distinct = rng.IntN(4) == 0
		switch rng.IntN(4) {
		case 0:
			req.Strategies = []Strategy{strategy(t, "spread", "attribute:ecs.availability-zone")}
		case 1:
			req.Strategies = []Strategy{strategy(t, "binpack", "memory")}
		case 2:
			req.Strategies = []Strategy{strategy(t, "spread", "instanceId"), strategy(t, "binpack", "cpu")}
		}
		for range 1 + rng.IntN(4) { // several requests against the same hosts
			chosen, _ := Place(hs, &req, rng)
			for _, h := range chosen {
				if !h.AgentConnected || (req.MemberOf != nil && h.Attributes["ecs.instance-type"] != "t3.small") {
					t.Fatalf("round %d: chose %s which breaks a constraint", round, h.ID)
				}
			}
		}
		for _, h := range hs {
			if h.FreeCPU() < 0 || h.FreeMemory() < 0 || h.Used["8080/tcp"] > 1 {
				t.Fatalf("round %d: host %s over-committed: %+v", round, h.ID, h)
			}
			if req.Distinct && h.Groups["g"] > 1 {
				t.Fatalf("round %d: distinctInstance broken on %s", round, h.ID)
			}
		}
	}
}

func TestSpreadStaysEven(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 100 {
		var hs []*Host
		for i := range 3 + rng.IntN(20) {
			hs = append(hs, host(fmt.Sprint(i), fmt.Sprint("z", i%3), "t3.small"))
		}
		req := Request{Count: 10, CPU: 1, Memory: 1, Group: "g",
			Strategies: []Strategy{strategy(t, "spread", "attribute:ecs.availability-zone")}}
		for range 1 + rng.IntN(10) {
			Place(hs, &req, rng)
		}
		perZone := map[string]int{}
		for _, h := range hs {
			perZone[h.Attributes["ecs.availability-zone"]] += h.Groups["g"]
		}
		lo, hi := perZone["z0"], perZone["z0"]
		for _, n := range perZone {
			lo, hi = min(lo, n), max(hi, n)
		}
		if hi-lo > 1 {
			t.Fatalf("round %d: zones hold %v tasks; want within one of even", round, perZone)
		}
	}
}

func TestParseStrategy(t *testing.T) {
	tests := []struct {
		typ, field string
		want       Strategy
		err        bool
	}{
		{"binpack", "memory", Strategy{"binpack", "memory"}, false},
		{"binpack", "CPU", Strategy{"binpack", "cpu"}, false},
		{"binpack", "", Strategy{}, true},
		{"spread", "host", Strategy{"spread", "instanceId"}, false},
		{"spread", "instanceId", Strategy{"spread", "instanceId"}, false},
		{"spread", "attribute:ecs.availability-zone", Strategy{"spread", "attribute:ecs.availability-zone"}, false},
		{"spread", "attribute:", Strategy{}, true},
		{"spread", "zone", Strategy{}, true},
		{"random", "", Strategy{"random", ""}, false},
		{"random", "cpu", Strategy{}, true},
		{"fill", "", Strategy{}, true},
	}
	for _, tt := range tests {
		got, err := ParseStrategy(tt.typ, tt.field)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseStrategy(%q, %q) = %v, %v", tt.typ, tt.field, got, err)
		}
	}
}

func benchmarkPlace(b *testing.B, n int, req Request) {
	rng := rand.New(rand.NewPCG(1, 2))
	hs := make([]*Host, n)
	fresh := func() {
		for i := range hs {
			hs[i] = host(fmt.Sprint(i), fmt.Sprint("zone-", i%3), []string{"t3.small", "m5.large"}[i%2])
			hs[i].CPU, hs[i].Memory = 1<<20, 1<<20
		}
	}
	fresh()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%1000 == 999 {
			b.StopTimer()
			fresh()
			b.StartTimer()
		}
		if chosen, _ := Place(hs, &req, rng); len(chosen) != req.Count {
			b.Fatalf("placed %d of %d", len(chosen), req.Count)
		}
	}
	b.ReportMetric(float64(b.N*req.Count)/b.Elapsed().Seconds(), "decisions/s")
}

// BenchmarkPlace measures placement decisions (one task each) per second,
// ten tasks per request as RunTask sends them.
func BenchmarkPlace(b *testing.B) {
	memberOf := mustParse(b, "attribute:ecs.instance-type =~ t3.* and attribute:ecs.availability-zone in [zone-0, zone-1, zone-2]")
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("instances=%d/random", n), func(b *testing.B) {
			benchmarkPlace(b, n, Request{Count: 10, CPU: 16, Memory: 16, Group: "g"})
		})
		b.Run(fmt.Sprintf("instances=%d/binpack", n), func(b *testing.B) {
			benchmarkPlace(b, n, Request{Count: 10, CPU: 16, Memory: 16, Group: "g",
				Strategies: []Strategy{strategy(b, "binpack", "memory")}})
		})
		b.Run(fmt.Sprintf("instances=%d/spread+memberOf", n), func(b *testing.B) {
			benchmarkPlace(b, n, Request{Count: 10, CPU: 16, Memory: 16, Group: "g", MemberOf: []*Expression{memberOf},
				Strategies: []Strategy{strategy(b, "spread", "attribute:ecs.availability-zone")}})
		})
	}
}
