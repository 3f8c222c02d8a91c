package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// readRSS returns this process's resident set size in bytes, from the
// VmRSS line of /proc/self/status (Linux only).
func readRSS() (uint64, error) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("read RSS: %w", err)
	}
	return parseVmRSS(status)
}

// parseVmRSS reads "VmRSS:   123456 kB" out of a /proc/PID/status file.
func parseVmRSS(status []byte) (uint64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		kb, ok := strings.CutSuffix(strings.TrimSpace(rest), " kB")
		n, err := strconv.ParseUint(strings.TrimSpace(kb), 10, 64)
		if !ok || err != nil {
			return 0, fmt.Errorf("read RSS: malformed line %q", sc.Text())
		}
		return n * 1024, nil
	}
	return 0, fmt.Errorf("read RSS: no VmRSS line in /proc/self/status")
}
