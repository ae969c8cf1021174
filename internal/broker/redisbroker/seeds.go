package redisbroker

import (
	"errors"
	"fmt"
	"strings"

	"github.com/redis/rueidis"
)

// ErrSeedsNotCluster is a configuration error: the Redis URL lists extra
// seed addresses (?addr=), which make rueidis treat Redis as a Cluster, but
// the server is a standalone one. Retrying cannot help; the URL must change.
var ErrSeedsNotCluster = errors.New("addr= seeds are for Redis Cluster; this server is standalone (cluster_enabled:0): " +
	"remove the addr= parameters from the Redis URL, or list the nodes of a cluster")

// explainConnect turns the error of connecting with co into one that says
// what to fix when the cause is known, else returns it unchanged. rueidis
// asks a multi-address URL's first node for CLUSTER SLOTS, and a standalone
// Redis answers "ERR This instance has cluster support disabled".
func explainConnect(err error, co rueidis.ClientOption) error {
	var re *rueidis.RedisError
	if len(co.InitAddress) > 1 && co.Sentinel.MasterSet == "" && errors.As(err, &re) &&
		strings.Contains(re.Error(), "cluster support disabled") {
		return fmt.Errorf("redis %s: %w (%w)", strings.Join(co.InitAddress, ","), ErrSeedsNotCluster, err)
	}
	return err
}
