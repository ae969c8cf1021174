package loadgen

import (
	"math"
	"sync"
	"testing"
)

func TestHistogramBuckets(t *testing.T) {
	t.Parallel()
	values := []uint64{0, 1, 127, 128, 255, 256, 257, 1000, 1 << 20, 123456789, 1<<40 + 12345, math.MaxInt64}
	for v := uint64(0); v < 5000; v++ {
		values = append(values, v)
	}
	for _, v := range values {
		i := bucketOf(v)
		if i < 0 || i >= histBuckets {
			t.Fatalf("bucketOf(%d) = %d out of range", v, i)
		}
		if up := bucketUpper(i); uint64(up) < v {
			t.Fatalf("bucketUpper(bucketOf(%d)) = %d < v", v, up)
		}
		if i > 0 {
			if up := bucketUpper(i - 1); uint64(up) >= v {
				t.Fatalf("bucket %d below %d ends at %d", i-1, v, up)
			}
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		samples func(h *Histogram)
		q       float64
		want    int64
	}{
		{"uniform p50", uniform(1, 100000, 1000), 0.50, 50000 * 1000},
		{"uniform p90", uniform(1, 100000, 1000), 0.90, 90000 * 1000},
		{"uniform p99", uniform(1, 100000, 1000), 0.99, 99000 * 1000},
		{"uniform p999", uniform(1, 100000, 1000), 0.999, 99900 * 1000},
		{"uniform max", uniform(1, 100000, 1000), 1, 100000 * 1000},
		{"small exact", uniform(1, 100, 1), 0.5, 50},
		{"single", func(h *Histogram) { h.Record(4242) }, 0.99, 4242},
		{"outlier p999", func(h *Histogram) {
			for range 999 {
				h.Record(1_000_000)
			}
			h.Record(5_000_000_000)
		}, 0.999, 1_000_000},
		{"outlier max", func(h *Histogram) {
			for range 999 {
				h.Record(1_000_000)
			}
			h.Record(5_000_000_000)
		}, 1, 5_000_000_000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := NewHistogram()
			tc.samples(h)
			got := h.Quantile(tc.q)
			if rel := math.Abs(float64(got-tc.want)) / float64(tc.want); rel > 0.01 {
				t.Fatalf("Quantile(%v) = %d, want %d (±1%%), off by %.2f%%", tc.q, got, tc.want, rel*100)
			}
		})
	}
}

func uniform(from, to, scale int64) func(h *Histogram) {
	return func(h *Histogram) {
		for v := from; v <= to; v++ {
			h.Record(v * scale)
		}
	}
}

func TestHistogramMergeConcurrent(t *testing.T) {
	t.Parallel()
	parts := make([]*Histogram, 4)
	var wg sync.WaitGroup
	for i := range parts {
		parts[i] = NewHistogram()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for v := int64(1); v <= 10000; v++ {
				parts[i].Record(v*4 + int64(i))
			}
		}()
	}
	wg.Wait()
	all := NewHistogram()
	for _, p := range parts {
		all.Merge(p)
	}
	if all.Count() != 40000 {
		t.Fatalf("count %d", all.Count())
	}
	if all.Max() != 40003 || all.Min() != 4 {
		t.Fatalf("min %d max %d", all.Min(), all.Max())
	}
	if p50 := all.Quantile(0.5); math.Abs(float64(p50-20000)) > 200 {
		t.Fatalf("p50 %d", p50)
	}
	all.reset()
	if all.Count() != 0 || all.Quantile(0.5) != 0 {
		t.Fatalf("reset left %d samples", all.Count())
	}
}

func TestHistogramRecordNoAllocs(t *testing.T) {
	h := NewHistogram()
	v := int64(12345)
	if n := testing.AllocsPerRun(1000, func() { v += 7919; h.Record(v) }); n != 0 {
		t.Fatalf("Record allocates %v", n)
	}
}
