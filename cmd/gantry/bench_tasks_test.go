package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/gantry-dev/gantry/internal/testenv"
)

// BenchmarkTaskStart measures, against separate `gantry server` and
// `gantry agent` processes on the local Docker Engine, RunTask→RUNNING
// latency over 20 tasks next to `docker run -d` of the same image, then the
// agent's memory and CPU while it idles with those 20 tasks running. Run
// it with -benchtime=1x; it reports numbers and asserts none.
func BenchmarkTaskStart(b *testing.B) {
	const samples = 20
	testenv.RequireDocker(b)
	image := testenv.BusyboxImage(b)
	label := testenv.CleanupLabel(b)
	bin := testenv.BuildGantry(b)
	dir := b.TempDir()
	creds := filepath.Join(dir, "credentials")
	testenv.WriteCredentials(b, creds)
	addr := testenv.FreeAddr(b)
	url := "http://" + addr
	startServer(b, bin, addr, filepath.Join(dir, "server"), "--credentials-file", creds)
	client := testenv.ECS(url)
	ctx := context.Background()
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("bench")}); err != nil {
		b.Fatal(err)
	}
	agent := testenv.StartProcess(b, bin, "agent", "--endpoint", url, "--cluster", "bench",
		"--data-dir", filepath.Join(dir, "agent"), "--credentials-file", creds,
		"--container-label", testenv.TestLabel+"="+label, "--log-level", "warn")
	waitForInstance(b, client)
	if _, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("bench-sleep"),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("sleep"), Image: aws.String(image), Memory: aws.Int32(16),
			Command: []string{"sleep", "3600"},
		}},
	}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		var gantry, docker []time.Duration
		for range samples {
			gantry = append(gantry, runToRunning(b, client))
			docker = append(docker, dockerRun(b, image, label))
		}
		p50g, p99g := percentile(gantry, 50), percentile(gantry, 99)
		p50d, p99d := percentile(docker, 50), percentile(docker, 99)
		b.ReportMetric(ms(p50g), "runtask_p50_ms")
		b.ReportMetric(ms(p99g), "runtask_p99_ms")
		b.ReportMetric(ms(p50d), "dockerrun_p50_ms")
		b.ReportMetric(ms(p99d), "dockerrun_p99_ms")
		b.ReportMetric(ms(p50g)/ms(p50d), "ratio_p50")
		rss, cpu := idle(b, agent.Pid(), 30*time.Second)
		b.ReportMetric(rss, "agent_idle_rss_mb")
		b.ReportMetric(cpu, "agent_idle_cpu_pct")
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, (len(s)*p+99)/100-1)]
}

func waitForInstance(b *testing.B, client *ecs.Client) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		out, err := client.ListContainerInstances(context.Background(), &ecs.ListContainerInstancesInput{Cluster: aws.String("bench")})
		if err == nil && len(out.ContainerInstanceArns) == 1 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.Fatal("the agent never registered")
}

// runToRunning is the time from calling RunTask until DescribeTasks first
// shows the task RUNNING.
func runToRunning(b *testing.B, client *ecs.Client) time.Duration {
	ctx := context.Background()
	start := time.Now()
	out, err := client.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("bench"), TaskDefinition: aws.String("bench-sleep")})
	if err != nil || len(out.Tasks) != 1 {
		b.Fatalf("RunTask: %v %+v", err, out)
	}
	arn := aws.ToString(out.Tasks[0].TaskArn)
	for time.Since(start) < time.Minute {
		d, err := client.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("bench"), Tasks: []string{arn}})
		if err != nil {
			b.Fatal(err)
		}
		switch aws.ToString(d.Tasks[0].LastStatus) {
		case "RUNNING":
			return time.Since(start)
		case "STOPPED":
			b.Fatalf("task stopped: %s", aws.ToString(d.Tasks[0].StoppedReason))
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.Fatal("task never ran")
	return 0
}

// dockerRun times `docker run -d` of the same image and command.
func dockerRun(b *testing.B, image, label string) time.Duration {
	start := time.Now()
	out, err := exec.Command("docker", "run", "-d", "--label", testenv.TestLabel+"="+label, "--memory", "16m", image, "sleep", "3600").CombinedOutput()
	if err != nil {
		b.Fatalf("docker run: %v: %s", err, out)
	}
	return time.Since(start)
}

// idle samples a process's resident memory and its CPU use over window.
func idle(b *testing.B, pid int, window time.Duration) (rssMB, cpuPct float64) {
	before := cpuTicks(b, pid)
	time.Sleep(window)
	after := cpuTicks(b, pid)
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			rssMB = kb / 1024
		}
	}
	const ticksPerSecond = 100 // USER_HZ on Linux
	return rssMB, 100 * float64(after-before) / ticksPerSecond / window.Seconds()
}

func cpuTicks(b *testing.B, pid int) int64 {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name, which is in parentheses.
	fields := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return utime + stime
}
