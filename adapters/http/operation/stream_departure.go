package operation

import "time"

// maxDepartureCheck is the longest a stream goes without looking whether
// its client has left, whatever the keepalive.
const maxDepartureCheck = 5 * time.Second

// departureInterval is how often a stream looks whether its client has
// left: min(keepalive/2, 5 s), so that a client that reloads its page finds
// the slots of its old streams free again instead of being refused 429
// until two keepalive writes have failed.
func departureInterval(keepalive time.Duration) time.Duration {
	return max(min(keepalive/2, maxDepartureCheck), time.Millisecond)
}
