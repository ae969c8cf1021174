package redistest

import "go.uber.org/goleak"

// IgnoreClusterClient is the goleak options for test packages whose code
// under test runs a rueidis cluster client, which starts two kinds of
// goroutines that have no owner to wait for and end by themselves:
//
//   - after a topology refresh, the closing of the connections it replaced,
//     which sleeps 5 s first;
//   - the lazy refresh after a node failed, which sleeps up to a second
//     first (and runs after the client closed, failing at once).
//
// Use:
//
//	goleak.VerifyTestMain(m, redistest.IgnoreClusterClient()...)
func IgnoreClusterClient() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreAnyFunction("github.com/redis/rueidis.(*clusterClient)._refresh.func2"),
		goleak.IgnoreAnyFunction("github.com/redis/rueidis.(*call).DelayDo.func1"),
	}
}
