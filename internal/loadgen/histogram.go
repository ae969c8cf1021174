package loadgen

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram geometry: values below 2^(histSubBits+1) have their own bucket;
// above that every power of two is split into 2^histSubBits buckets, so a
// bucket is never wider than 1/128 (0.8%) of the values it holds — the
// log-linear layout of HdrHistogram with 2 significant digits.
const (
	histSubBits  = 7
	histSubCount = 1 << histSubBits
	histBuckets  = (64-histSubBits-1)<<histSubBits + 2*histSubCount
)

// Histogram counts non-negative int64 samples (nanoseconds, here) in fixed
// log-linear buckets. Record is lock-free and allocation-free, so reader
// goroutines record into their own Histogram while a progress reporter reads
// it; Merge combines them for the final report. The zero value is not usable:
// create one with NewHistogram.
type Histogram struct {
	counts []atomic.Uint64
	total  atomic.Uint64
	max    atomic.Int64
	min    atomic.Int64
	sum    atomic.Int64
}

// NewHistogram returns an empty histogram (about 60 KB).
func NewHistogram() *Histogram {
	h := &Histogram{counts: make([]atomic.Uint64, histBuckets)}
	h.min.Store(math.MaxInt64)
	return h
}

// bucketOf returns the bucket index of v (v >= 0).
func bucketOf(v uint64) int {
	if v < 2*histSubCount {
		return int(v)
	}
	shift := bits.Len64(v) - histSubBits - 1
	return shift<<histSubBits + int(v>>uint(shift))
}

// bucketUpper returns the largest value that falls into bucket i.
func bucketUpper(i int) int64 {
	if i < 2*histSubCount {
		return int64(i)
	}
	shift := i>>histSubBits - 1
	mant := uint64(i&(histSubCount-1) + histSubCount)
	u := (mant+1)<<uint(shift) - 1
	if u > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(u)
}

// Record adds one sample; negative values count as zero.
func (h *Histogram) Record(v int64) {
	if v < 0 {
		v = 0
	}
	h.counts[bucketOf(uint64(v))].Add(1)
	h.total.Add(1)
	h.sum.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			break
		}
	}
	for {
		m := h.min.Load()
		if v >= m || h.min.CompareAndSwap(m, v) {
			break
		}
	}
}

// RecordDuration adds one duration sample.
func (h *Histogram) RecordDuration(d time.Duration) { h.Record(int64(d)) }

// Merge adds the counts of o into h. It may run concurrently with Record on
// o (the result is then a consistent-enough snapshot for progress output).
func (h *Histogram) Merge(o *Histogram) {
	for i := range o.counts {
		if n := o.counts[i].Load(); n != 0 {
			h.counts[i].Add(n)
		}
	}
	h.total.Add(o.total.Load())
	h.sum.Add(o.sum.Load())
	if m := o.max.Load(); m > h.max.Load() {
		h.max.Store(m)
	}
	if m := o.min.Load(); m < h.min.Load() {
		h.min.Store(m)
	}
}

// Count returns the number of samples.
func (h *Histogram) Count() uint64 { return h.total.Load() }

// Max returns the largest sample, or 0 when empty.
func (h *Histogram) Max() int64 { return h.max.Load() }

// Min returns the smallest sample, or 0 when empty.
func (h *Histogram) Min() int64 {
	if h.Count() == 0 {
		return 0
	}
	return h.min.Load()
}

// Mean returns the average sample, or 0 when empty.
func (h *Histogram) Mean() float64 {
	n := h.Count()
	if n == 0 {
		return 0
	}
	return float64(h.sum.Load()) / float64(n)
}

// Quantile returns the value at quantile q (0..1): the upper bound of the
// bucket holding the ceil(q·n)-th smallest sample, capped at Max, so it
// over-reports by at most one bucket width (<0.8%). It is 0 when empty.
func (h *Histogram) Quantile(q float64) int64 {
	n := h.Count()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			u := bucketUpper(i)
			if m := h.Max(); u > m {
				u = m
			}
			if m := h.Min(); u < m {
				u = m
			}
			return u
		}
	}
	return h.Max()
}

// reset empties h. It must not run concurrently with Record on h.
func (h *Histogram) reset() {
	for i := range h.counts {
		h.counts[i].Store(0)
	}
	h.total.Store(0)
	h.sum.Store(0)
	h.max.Store(0)
	h.min.Store(math.MaxInt64)
}
