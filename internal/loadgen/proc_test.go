package loadgen

import (
	"os"
	"testing"
)

func TestSampleProcSelf(t *testing.T) {
	t.Parallel()
	for _, pid := range []int{0, os.Getpid()} {
		s, err := SampleProc(pid)
		if err != nil {
			t.Fatalf("pid %d: %v", pid, err)
		}
		if s.RSSKB <= 0 {
			t.Fatalf("pid %d: RSS %d", pid, s.RSSKB)
		}
		if s.CPUTicks < 0 {
			t.Fatalf("pid %d: CPU %d", pid, s.CPUTicks)
		}
	}
	if _, err := SampleProc(1 << 30); err == nil {
		t.Fatal("no error for a missing pid")
	}
}

func TestParseVmRSS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    int64
		wantErr bool
	}{
		{"normal", "Name:\tx\nVmPeak:\t 999 kB\nVmRSS:\t   12345 kB\nThreads:\t3\n", 12345, false},
		{"missing", "Name:\tkthreadd\nThreads:\t1\n", 0, true},
		{"garbage", "VmRSS:\tlots kB\n", 0, true},
		{"wrong unit", "VmRSS:\t12 MB\n", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseVMRSS([]byte(tc.in))
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("got %d, %v; want %d, err=%v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestParseStatCPU(t *testing.T) {
	t.Parallel()
	rest := " S 1 2 3 4 5 6 7 8 9 10 111 222 13 14 15"
	tests := []struct {
		name    string
		in      string
		want    int64
		wantErr bool
	}{
		{"plain", "123 (gateway)" + rest, 333, false},
		{"comm with spaces and parens", "123 (a) b (c))" + rest, 333, false},
		{"truncated", "123 (x) S 1 2", 0, true},
		{"no comm", "123 x S", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseStatCPU([]byte(tc.in))
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("got %d, %v; want %d, err=%v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestParseMetrics(t *testing.T) {
	t.Parallel()
	body := `# HELP ssegate_gateway_connections open SSE streams
# TYPE ssegate_gateway_connections gauge
ssegate_gateway_connections 42
ssegate_gateway_connections_opened_total 100
ssegate_gateway_events_delivered_total{shard="a"} 1.5e3
ssegate_gateway_events_delivered_total{shard="b",x="}"} 500 1732650000000
go_goroutines 7
`
	got := parseMetrics([]byte(body))
	if got.Connections != 42 || got.Delivered != 2000 {
		t.Fatalf("got %+v", got)
	}
}
