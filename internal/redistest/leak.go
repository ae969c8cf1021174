package redistest

import "go.uber.org/goleak"

// IgnoreClusterRefresh is the goleak option for test packages whose code
// under test runs a rueidis cluster client. After a topology refresh,
// rueidis closes the connections it replaced from a goroutine that sleeps
// 5 s first and has no owner to wait for; it ends by itself, so goleak
// must not count it:
//
//	goleak.VerifyTestMain(m, redistest.IgnoreClusterRefresh())
func IgnoreClusterRefresh() goleak.Option {
	return goleak.IgnoreAnyFunction("github.com/redis/rueidis.(*clusterClient)._refresh.func2")
}
