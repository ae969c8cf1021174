package loadgen

import (
	"testing"
	"time"
)

func TestParseCommandStats(t *testing.T) {
	t.Parallel()
	info := "# Commandstats\r\n" +
		"cmdstat_xrange:calls=12,usec=25,usec_per_call=2.08,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_evalsha:calls=30,usec=299,usec_per_call=9.97,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_xadd:calls=20,usec=47,usec_per_call=2.35,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_xinfo|stream:calls=5,usec=5,usec_per_call=1.00,rejected_calls=0,failed_calls=0\r\n"
	got, err := parseCommandStats(info)
	if err != nil {
		t.Fatal(err)
	}
	if got["xrange"] != 12 || got["evalsha"] != 30 || got["xadd"] != 20 || got["xinfo|stream"] != 5 || len(got) != 4 {
		t.Fatalf("%v", got)
	}
	before := CommandStats{"xrange": 2, "evalsha": 10, "xadd": 5, "xinfo|stream": 5, "info": 3}
	rc := redisCommands(before, got, 2*time.Second)
	if rc.Publishes != 15 || rc.ReaderScripts != 5 || rc.HistoryReads != 10 || rc.Seconds != 2 {
		t.Fatalf("%+v", rc)
	}
	if _, ok := rc.ByCommand["xinfo|stream"]; ok || len(rc.ByCommand) != 3 {
		t.Fatalf("unchanged commands kept: %v", rc.ByCommand)
	}
	if n := rc.ByCommand.names(); n[0] != "evalsha" || n[1] != "xadd" {
		t.Fatalf("order %v", n)
	}
	for _, bad := range []string{"cmdstat_get\n", "cmdstat_get:usec=1\n", "cmdstat_get:calls=x\n"} {
		if _, err := parseCommandStats(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
