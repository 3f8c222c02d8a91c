package ecs

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// Task size limits outside Fargate: the ECS API reference documents task cpu
// for EC2 and EXTERNAL as 128 to 196608 units (0.125 to 192 vCPU); task memory
// there accepts any positive value.
const (
	minTaskCPU = 128
	maxTaskCPU = 196608
	// minContainerMemory is the smallest hard limit ECS documents a container
	// can start with (Docker reserves 4 MiB; Docker 20.10+ reserves 6 MiB).
	minContainerMemory = 4
)

// ParseTaskCPU reads a task-level cpu value as ECS accepts it: CPU units
// ("1024") or vCPUs ("1 vCPU", "0.5 vcpu"), and returns CPU units
// (1 vCPU = 1024 units). Errors are *Error.
func ParseTaskCPU(s string) (int, error) {
	n, ok := parseTaskSize(s, map[string]int{"": 1, "vcpu": 1024})
	if !ok {
		return 0, ClientError("Invalid 'cpu' setting for task.")
	}
	return n, nil
}

// ParseTaskMemory reads a task-level memory value as ECS accepts it: MiB
// ("512") or GB ("1GB", "2 gb", "0.5GB"), and returns MiB (1 GB = 1024 MiB).
// Errors are *Error.
func ParseTaskMemory(s string) (int, error) {
	n, ok := parseTaskSize(s, map[string]int{"": 1, "gb": 1024})
	if !ok {
		return 0, ClientError("Invalid 'memory' setting for task.")
	}
	return n, nil
}

// parseTaskSize reads "<decimal>[ ]<unit>" and returns decimal×scale when
// that is a whole number between 1 and MaxInt32. Units are case-insensitive.
// The decimal is parsed by hand so that forms strconv would accept ("1e3",
// "0x10", "Inf") are refused as ECS refuses them.
func parseTaskSize(s string, scales map[string]int) (int, bool) {
	s = strings.TrimSpace(s)
	end := 0
	for end < len(s) && (s[end] >= '0' && s[end] <= '9' || s[end] == '.') {
		end++
	}
	scale, ok := scales[strings.ToLower(strings.TrimSpace(s[end:]))]
	if !ok {
		return 0, false
	}
	whole, frac, _ := strings.Cut(s[:end], ".")
	if whole+frac == "" || len(whole) > 9 || len(frac) > 9 || strings.Contains(frac, ".") {
		return 0, false
	}
	w, _ := strconv.ParseInt("0"+whole, 10, 64)
	f, _ := strconv.ParseInt("0"+frac, 10, 64)
	den := int64(math.Pow10(len(frac)))
	num := w*den + f
	if num*int64(scale)%den != 0 {
		return 0, false // not a whole number of units, like "0.3 vCPU"
	}
	n := num * int64(scale) / den
	if n < 1 || n > math.MaxInt32 {
		return 0, false
	}
	return int(n), true
}

// fargateSizes are the task cpu/memory combinations Fargate runs, as listed
// in the ECS developer guide's task-cpu-memory-error page: for each cpu, the
// memory values from min to max in steps of step MiB.
var fargateSizes = []struct{ cpu, min, max, step int }{
	{256, 512, 512, 1},
	{256, 1024, 2048, 1024},
	{512, 1024, 4096, 1024},
	{1024, 2048, 8192, 1024},
	{2048, 4096, 16384, 1024},
	{4096, 8192, 30720, 1024},
	{8192, 16384, 61440, 4096},
	{16384, 32768, 122880, 8192},
}

// fargateSize reports whether Fargate has a configuration for cpu and memory.
func fargateSize(cpu, memory int) bool {
	for _, s := range fargateSizes {
		if s.cpu == cpu && memory >= s.min && memory <= s.max && (memory-s.min)%s.step == 0 {
			return true
		}
	}
	return false
}

// taskSize parses and normalises the task-level cpu and memory in place
// ("1 vCPU" becomes "1024") and applies the EC2/EXTERNAL cpu range. Fargate's
// own combinations are checked with the other Fargate rules.
func (c *checker) taskSize() *Error {
	if c.td.Cpu != "" {
		n, err := ParseTaskCPU(c.td.Cpu)
		if err != nil || n < minTaskCPU || n > maxTaskCPU {
			return ClientError("Invalid 'cpu' setting for task.")
		}
		c.cpu, c.td.Cpu = n, strconv.Itoa(n)
	}
	if c.td.Memory != "" {
		n, err := ParseTaskMemory(c.td.Memory)
		if err != nil {
			return err.(*Error)
		}
		c.mem, c.td.Memory = n, strconv.Itoa(n)
	}
	return nil
}

// containerMemory checks one container's cpu, memory and memoryReservation on
// their own; how they add up against the task is resources' job.
func (c *checker) containerMemory(i int, cd *ContainerDefinition) *Error {
	f := containerField(i)
	if cd.Cpu < 0 {
		return ClientError("%s.cpu must not be negative.", f)
	}
	mem, res := int32Value(cd.Memory), int32Value(cd.MemoryReservation)
	switch {
	case mem < 0:
		return ClientError("Invalid 'memory' setting for container '%s'. %s.memory must not be negative.", cd.Name, f)
	case res < 0:
		return ClientError("Invalid 'memoryReservation' setting for container '%s'. %s.memoryReservation must not be negative.", cd.Name, f)
	case mem == 0 && res == 0 && c.mem == 0:
		return ClientError("Invalid setting for container '%s'. At least one of 'memory' or 'memoryReservation' must be specified.", cd.Name)
	case mem > 0 && mem < minContainerMemory:
		return ClientError("Invalid 'memory' setting for container '%s'. %s.memory must be at least %d MiB.", cd.Name, f, minContainerMemory)
	case mem > 0 && res > mem:
		return ClientError("Invalid setting for container '%s'. %s.memory must be greater than or equal to memoryReservation.", cd.Name, f)
	}
	return nil
}

// resources checks the containers' cpu and memory against the task's, with
// the messages ECS returns for each case.
func (c *checker) resources() *Error {
	var cpu, reserved int64
	for _, cd := range c.td.ContainerDefinitions {
		cpu += int64(cd.Cpu)
		mem, res := int32Value(cd.Memory), int32Value(cd.MemoryReservation)
		if c.mem > 0 && int(mem) > c.mem {
			return ClientError("The 'memory' setting for container '%s' is greater than for the task.", cd.Name)
		}
		// Placement reserves memoryReservation when set, memory otherwise.
		if res > 0 {
			reserved += int64(res)
		} else {
			reserved += int64(mem)
		}
	}
	if c.cpu > 0 && cpu > int64(c.cpu) {
		return ClientError("The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'.")
	}
	if c.mem > 0 && reserved > int64(c.mem) {
		return ClientError("The sum of all container 'memoryReservation' values cannot be greater than the value of the task 'memory'.")
	}
	return nil
}

func int32Value(p *int32) int32 {
	if p == nil {
		return 0
	}
	return *p
}

// fargateSizeFirst applies Fargate's task-level rules before the container
// rules when the request requires Fargate, so that a Fargate task without a
// task size hears about that rather than about each container's memory.
func (c *checker) fargateSizeFirst() *Error {
	if !slices.Contains(c.td.RequiresCompatibilities, CompatibilityFARGATE) {
		return nil
	}
	return c.fargateTask()
}

// fargate returns the first Fargate rule the task definition breaks, or nil
// when it can run on Fargate.
func (c *checker) fargate() *Error {
	if err := c.fargateTask(); err != nil {
		return err
	}
	for _, v := range c.td.Volumes {
		if v.Host != nil && v.Host.SourcePath != "" {
			return ClientError("Fargate compatible task definitions do not support sourcePath")
		}
		if v.DockerVolumeConfiguration != nil {
			return ClientError("Fargate compatible task definitions do not support dockerVolumeConfiguration")
		}
	}
	for i := range c.td.ContainerDefinitions {
		if err := c.fargateContainer(i, &c.td.ContainerDefinitions[i]); err != nil {
			return err
		}
	}
	return nil
}

// fargateTask holds Fargate's rules for task-level parameters.
func (c *checker) fargateTask() *Error {
	td := c.td
	switch {
	case c.mode != NetworkModeAwsvpc:
		return ClientError("Fargate only supports network mode ‘awsvpc’.")
	case c.cpu == 0:
		return ClientError("Fargate requires that 'cpu' be defined at the task level.")
	case c.mem == 0:
		return ClientError("Fargate requires that 'memory' be defined at the task level.")
	case !fargateSize(c.cpu, c.mem):
		return ClientError("No Fargate configuration exists for given values: %d CPU, %d memory. See the Amazon ECS documentation for the valid values.", c.cpu, c.mem)
	case td.PidMode == PidModeHost:
		return ClientError("Tasks using the Fargate launch type do not support pidMode 'host'. The supported value for pidMode is 'task'.")
	case td.IpcMode != "":
		return ClientError("Tasks using the Fargate launch type do not support ipcMode.")
	}
	return nil
}

// fargateLogDrivers are the log drivers a Fargate task can use.
var fargateLogDrivers = []LogDriver{LogDriverAwslogs, LogDriverSplunk, LogDriverAwsfirelens}

func (c *checker) fargateContainer(i int, cd *ContainerDefinition) *Error {
	f := containerField(i)
	if cd.Privileged != nil && *cd.Privileged {
		return ClientError("%s.privileged: privileged containers are not supported by the Fargate launch type.", f)
	}
	if lp := cd.LinuxParameters; lp != nil {
		unsupported := []struct {
			name string
			set  bool
		}{
			{"devices", len(lp.Devices) > 0}, {"maxSwap", lp.MaxSwap != nil},
			{"swappiness", lp.Swappiness != nil}, {"sharedMemorySize", lp.SharedMemorySize != nil},
		}
		for _, u := range unsupported {
			if u.set {
				return ClientError("%s.linuxParameters.%s is not supported by the Fargate launch type.", f, u.name)
			}
		}
	}
	if lc := cd.LogConfiguration; lc != nil {
		if !slices.Contains(fargateLogDrivers, lc.LogDriver) {
			return ClientError("%s.logConfiguration.logDriver '%s' is not supported by the Fargate launch type; use awslogs, splunk or awsfirelens.", f, lc.LogDriver)
		}
		if lc.LogDriver == LogDriverAwslogs && c.td.ExecutionRoleArn == "" {
			return ClientError("Fargate requires task definition to have execution role ARN to support log driver awslogs.")
		}
	}
	if ecrImage(cd.Image) && c.td.ExecutionRoleArn == "" {
		return ClientError("Fargate requires task definition to have execution role ARN to support ECR images.")
	}
	if err := timeoutRange(f+".startTimeout", cd.StartTimeout, 2, 120); err != nil {
		return err
	}
	return timeoutRange(f+".stopTimeout", cd.StopTimeout, 2, 120)
}

// timeoutRange checks an optional number of seconds against a range.
func timeoutRange(field string, t *int32, lo, hi int32) *Error {
	if t != nil && (*t < lo || *t > hi) {
		return ClientError("%s must be between %d and %d seconds.", field, lo, hi)
	}
	return nil
}

// ecrImage reports whether image lives in a private ECR registry
// (<account>.dkr.ecr.<region>.amazonaws.com[.cn]/…), which needs registry
// credentials from the execution role.
func ecrImage(image string) bool {
	host, _, found := strings.Cut(image, "/")
	return found && strings.Contains(host, ".dkr.ecr") &&
		(strings.HasSuffix(host, ".amazonaws.com") || strings.HasSuffix(host, ".amazonaws.com.cn"))
}
