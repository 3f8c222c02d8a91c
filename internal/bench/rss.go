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
func readRSS() (uint64, error) { return readStatus("VmRSS") }

// readPeakRSS returns the most this process has ever had resident, in
// bytes: VmHWM, the RSS high-water mark.
func readPeakRSS() (uint64, error) { return readStatus("VmHWM") }

func readStatus(field string) (uint64, error) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", field, err)
	}
	return parseStatusKB(status, field)
}

// parseVmRSS reads "VmRSS:   123456 kB" out of a /proc/PID/status file.
func parseVmRSS(status []byte) (uint64, error) { return parseStatusKB(status, "VmRSS") }

// parseStatusKB reads a "Field:   123456 kB" line of a /proc/PID/status
// file, in bytes.
func parseStatusKB(status []byte, field string) (uint64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), field+":")
		if !ok {
			continue
		}
		kb, ok := strings.CutSuffix(strings.TrimSpace(rest), " kB")
		n, err := strconv.ParseUint(strings.TrimSpace(kb), 10, 64)
		if !ok || err != nil {
			return 0, fmt.Errorf("read %s: malformed line %q", field, sc.Text())
		}
		return n * 1024, nil
	}
	return 0, fmt.Errorf("read %s: no %s line in /proc/self/status", field, field)
}
