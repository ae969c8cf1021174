package loadgen

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// clockTicks is USER_HZ, the unit of utime/stime in /proc/<pid>/stat. It is
// 100 on every Linux architecture Go supports (sysconf(_SC_CLK_TCK) needs
// cgo, which this tool avoids).
const clockTicks = 100

// ProcSample is one reading of a process's memory and CPU from /proc.
type ProcSample struct {
	// RSSKB is VmRSS from /proc/<pid>/status, in KiB.
	RSSKB int64 `json:"rss_kb"`
	// CPUTicks is utime+stime from /proc/<pid>/stat, in clock ticks
	// (1/100 s).
	CPUTicks int64 `json:"cpu_ticks"`
}

// CPUSeconds converts CPUTicks to seconds.
func (s ProcSample) CPUSeconds() float64 { return float64(s.CPUTicks) / clockTicks }

// SampleProc reads VmRSS and utime+stime of pid (0 means this process).
func SampleProc(pid int) (ProcSample, error) {
	dir := "/proc/self"
	if pid > 0 {
		dir = "/proc/" + strconv.Itoa(pid)
	}
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return ProcSample{}, fmt.Errorf("read status of pid %d: %w", pid, err)
	}
	rss, err := parseVMRSS(status)
	if err != nil {
		return ProcSample{}, fmt.Errorf("pid %d: %w", pid, err)
	}
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return ProcSample{}, fmt.Errorf("read stat of pid %d: %w", pid, err)
	}
	ticks, err := parseStatCPU(stat)
	if err != nil {
		return ProcSample{}, fmt.Errorf("pid %d: %w", pid, err)
	}
	return ProcSample{RSSKB: rss, CPUTicks: ticks}, nil
}

// parseVMRSS extracts the VmRSS line ("VmRSS:	  123456 kB") of
// /proc/<pid>/status, in KiB.
func parseVMRSS(status []byte) (int64, error) {
	for line := range bytes.SplitSeq(status, []byte{'\n'}) {
		rest, ok := bytes.CutPrefix(line, []byte("VmRSS:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) < 1 {
			break
		}
		n, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmRSS %q: %w", rest, err)
		}
		if len(f) > 1 && !bytes.EqualFold(f[1], []byte("kB")) {
			return 0, fmt.Errorf("VmRSS unit %q", f[1])
		}
		return n, nil
	}
	return 0, fmt.Errorf("no VmRSS line in status (kernel thread or zombie?)")
}

// parseStatCPU returns utime+stime (fields 14 and 15, proc(5)) of a
// /proc/<pid>/stat line. The command name (field 2) is in parentheses and may
// itself contain spaces and parentheses, so fields are counted after the last
// ')'.
func parseStatCPU(stat []byte) (int64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat %q: no command field", stat)
	}
	f := bytes.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("stat: only %d fields after the command", len(f))
	}
	u, err := strconv.ParseInt(string(f[11]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stat utime: %w", err)
	}
	s, err := strconv.ParseInt(string(f[12]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stat stime: %w", err)
	}
	return u + s, nil
}
