package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/gantry-dev/gantry/internal/testenv"
)

const (
	crashRounds   = 3
	crashClients  = 32
	crashFamilies = 4
	callTimeout   = 5 * time.Second
)

// noRetries makes a failed call fail at once: after the kill nothing
// should wait on back-off.
func noRetries(o *ecs.Options) { o.Retryer = aws.NopRetryer{} }

// ack is a registration the server acknowledged.
type ack struct {
	family   string
	revision int32
	arn      string
}

// TestKillDuringRegistration SIGKILLs the server while 32 clients register
// task definitions, three times over one data directory, then checks that
// every acknowledged revision survived and that each family's revisions
// are exactly 1..max.
func TestKillDuringRegistration(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts a server several times")
	}
	bin := testenv.BuildGantry(t)
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials")
	testenv.WriteCredentials(t, creds)
	dataDir := filepath.Join(dir, "data")
	addr := testenv.FreeAddr(t)
	url := "http://" + addr

	var acked []ack
	for round := 1; round <= crashRounds; round++ {
		p := startServer(t, bin, addr, dataDir, "--credentials-file", creds)
		got := registerUntilKilled(t, url, p)
		t.Logf("round %d: %d registrations acknowledged before SIGKILL", round, len(got))
		acked = append(acked, got...)
	}
	t.Logf("total: %d acknowledged registrations over %d rounds", len(acked), crashRounds)

	startServer(t, bin, addr, dataDir, "--credentials-file", creds)
	client := testenv.ECS(url)
	maxRev := map[string]int32{}
	for i := range crashFamilies {
		family := crashFamily(i)
		maxRev[family] = checkRevisions(t, client, family)
	}
	checkAcked(t, client, acked, maxRev)
	for family, max := range maxRev {
		if got := register(t, client, family); got != max+1 {
			t.Errorf("%s: registering after the crashes gave revision %d, want %d", family, got, max+1)
		}
	}
}

func crashFamily(i int) string { return fmt.Sprintf("crash-%d", i%crashFamilies) }

func crashDefinition(family string) *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name:   aws.String("app"),
			Image:  aws.String("busybox"),
			Memory: aws.Int32(32),
		}},
	}
}

// registerUntilKilled runs the clients against p for a random 1–1.5 s,
// SIGKILLs p with requests in flight, and returns what was acknowledged.
// An error before the kill fails the test; errors after it are expected.
func registerUntilKilled(t *testing.T, url string, p *testenv.Process) []ack {
	var (
		mu      sync.Mutex
		acked   []ack
		killed  atomic.Bool
		stop    = make(chan struct{})
		wg      sync.WaitGroup
		preKill atomic.Int64
	)
	for i := range crashClients {
		client := testenv.ECS(url)
		family := crashFamily(i)
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
				out, err := client.RegisterTaskDefinition(ctx, crashDefinition(family), noRetries)
				cancel()
				switch {
				case err == nil:
					td := out.TaskDefinition
					mu.Lock()
					acked = append(acked, ack{aws.ToString(td.Family), td.Revision, aws.ToString(td.TaskDefinitionArn)})
					mu.Unlock()
				case !killed.Load():
					if preKill.Add(1) == 1 {
						t.Errorf("RegisterTaskDefinition failed before the kill: %v", err)
					}
				}
			}
		})
	}
	time.Sleep(time.Second + rand.N(500*time.Millisecond))
	killed.Store(true)
	p.Kill()
	close(stop)
	wg.Wait()
	if n := preKill.Load(); n > 0 {
		t.Errorf("%d registrations failed before the kill", n)
	}
	return acked
}

// checkRevisions lists a family's revisions with the paginator and checks
// they are exactly 1..max; it returns max.
func checkRevisions(t *testing.T, client *ecs.Client, family string) int32 {
	t.Helper()
	var revs []int32
	pages := ecs.NewListTaskDefinitionsPaginator(client, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(family)})
	for pages.HasMorePages() {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		page, err := pages.NextPage(ctx)
		cancel()
		if err != nil {
			t.Fatalf("ListTaskDefinitions %s: %v", family, err)
		}
		for _, arn := range page.TaskDefinitionArns {
			f, rev := splitARN(t, arn)
			if f != family {
				t.Errorf("ListTaskDefinitions(familyPrefix=%s) returned %s", family, arn)
				continue
			}
			revs = append(revs, rev)
		}
	}
	slices.Sort(revs)
	for i, rev := range revs {
		if rev != int32(i+1) {
			t.Fatalf("%s: revisions are not exactly 1..%d (gap or duplicate at position %d: %d); all: %v", family, len(revs), i+1, rev, revs)
		}
	}
	t.Logf("%s: revisions 1..%d", family, len(revs))
	return int32(len(revs))
}

// splitARN parses ".../task-definition/<family>:<revision>".
func splitARN(t *testing.T, arn string) (string, int32) {
	t.Helper()
	rest, revStr, ok := cutLast(arn, ":")
	_, family, ok2 := cutLast(rest, "/")
	rev, err := strconv.ParseInt(revStr, 10, 32)
	if !ok || !ok2 || err != nil {
		t.Fatalf("malformed task definition ARN %q", arn)
	}
	return family, int32(rev)
}

func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

// checkAcked describes every acknowledged revision (a few at a time) and
// checks it exists as acknowledged.
func checkAcked(t *testing.T, client *ecs.Client, acked []ack, maxRev map[string]int32) {
	t.Helper()
	seen := map[ack]bool{}
	jobs := make(chan ack)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for a := range jobs {
				describeAcked(t, client, a)
			}
		})
	}
	for _, a := range acked {
		if seen[a] {
			t.Errorf("revision %s:%d was acknowledged twice", a.family, a.revision)
		}
		seen[a] = true
		if a.revision > maxRev[a.family] {
			t.Errorf("acknowledged %s:%d is beyond the listed maximum %d", a.family, a.revision, maxRev[a.family])
		}
		jobs <- a
	}
	close(jobs)
	wg.Wait()
}

func describeAcked(t *testing.T, client *ecs.Client, a ack) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	ref := fmt.Sprintf("%s:%d", a.family, a.revision)
	out, err := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(ref)})
	if err != nil {
		t.Errorf("acknowledged %s is lost: %v", ref, err)
		return
	}
	td := out.TaskDefinition
	if aws.ToString(td.Family) != a.family || td.Revision != a.revision || aws.ToString(td.TaskDefinitionArn) != a.arn {
		t.Errorf("DescribeTaskDefinition(%s) = %s (%s:%d), want %s", ref, aws.ToString(td.TaskDefinitionArn), aws.ToString(td.Family), td.Revision, a.arn)
	}
}

func register(t *testing.T, client *ecs.Client, family string) int32 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	out, err := client.RegisterTaskDefinition(ctx, crashDefinition(family))
	if err != nil {
		t.Fatalf("RegisterTaskDefinition %s: %v", family, err)
	}
	return out.TaskDefinition.Revision
}
