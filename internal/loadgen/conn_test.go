package loadgen

import (
	"testing"
)

func TestJSONUint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		data, key string
		want      int64
		ok        bool
	}{
		{`{"seq":12,"topic_index":3}`, `"seq"`, 12, true},
		{`{"topic_index" : 3 , "seq": 7}`, `"topic_index"`, 3, true},
		{`{"pad":"\"seq\":","seq":9}`, `"seq"`, 9, true},
		{`{"topic_index":"bench:1","data":{"topic_index":4}}`, `"topic_index"`, 4, true},
		{`{"seq":-1}`, `"seq"`, 0, false},
		{`{"seq":}`, `"seq"`, 0, false},
		{`plain text`, `"seq"`, 0, false},
		{`{"sent_unix_nano":1732650000000000000}`, `"sent_unix_nano"`, 1732650000000000000, true},
	}
	for _, tc := range tests {
		got, ok := jsonUint([]byte(tc.data), tc.key)
		if got != tc.want || ok != tc.ok {
			t.Errorf("jsonUint(%s, %s) = %d, %v; want %d, %v", tc.data, tc.key, got, ok, tc.want, tc.ok)
		}
	}
}

func TestTopicStateObserve(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                             string
		seqs                             []int64
		wantUnique, wantGaps             uint64
		wantDup, wantReordered, wantLate int
	}{
		{"in order", []int64{0, 1, 2, 3}, 4, 0, 0, 0, 0},
		{"gap", []int64{0, 1, 5}, 3, 3, 0, 0, 0},
		{"duplicate", []int64{0, 1, 1, 2, 0}, 3, 0, 2, 0, 0},
		{"reordered", []int64{1, 0, 3, 2}, 4, 0, 0, 2, 0},
		{"late beyond window", []int64{0, 100, 1}, 3, 98, 0, 0, 1},
		{"jump then dup in window", []int64{0, 70, 70, 69}, 3, 68, 1, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := topicState{maxSeq: -1}
			var dup, re, late int
			for _, s := range tc.seqs {
				switch ts.observe(s) {
				case seqDup:
					dup++
				case seqReordered:
					re++
				case seqLate:
					late++
				}
			}
			if ts.unique != tc.wantUnique || ts.seqGaps() != tc.wantGaps || dup != tc.wantDup || re != tc.wantReordered || late != tc.wantLate {
				t.Fatalf("unique %d gaps %d dup %d reordered %d late %d", ts.unique, ts.seqGaps(), dup, re, late)
			}
		})
	}
}

func TestCheckID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		topics int
		ids    []string
		want   uint32
	}{
		{"increasing", 1, []string{"1-0", "1-1", "2-0", "10-0"}, 0},
		{"repeat", 1, []string{"1-0", "1-0"}, 1},
		{"backwards", 1, []string{"5-3", "5-2", "4-9"}, 2},
		{"malformed", 1, []string{"abc", "1", "1-x", "1-0_2-0"}, 4},
		{"multi ok", 2, []string{"0-0_5-0", "3-0_5-0", "3-0_6-0"}, 0},
		{"multi no advance", 2, []string{"3-0_5-0", "3-0_5-0"}, 1},
		{"multi one back", 2, []string{"3-0_5-0", "4-0_4-9"}, 1},
		{"multi wrong arity", 2, []string{"3-0", "3-0_4-0_5-0"}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := &conn{topics: make([]topicState, tc.topics)}
			s := &sink{st: newCounters(), c: c}
			for _, id := range tc.ids {
				s.checkID([]byte(id))
			}
			if c.idViolation != tc.want {
				t.Fatalf("violations %d, want %d", c.idViolation, tc.want)
			}
		})
	}
}
