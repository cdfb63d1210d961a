package operation

import "time"

// wake is what a stream's clock woke it for.
type wake int

const (
	wakeNothing wake = iota
	wakeExpiry
	wakeLifetime
	wakeDrain
	wakeDeparture
	wakeKeepalive
)

// streamClock holds the moments a pump wakes at without an event; a zero
// moment never comes.
type streamClock struct {
	keepalive, departure, lifetime, expiry, drain time.Time
	keepaliveEvery, departureEvery                time.Duration
	drainOffset                                   time.Duration
}

// newClock starts a stream's clock at now; departures are looked for
// only where the pump polls for them.
func (h *Handler) newClock(now, tokenExp time.Time, departures bool) *streamClock {
	c := &streamClock{keepaliveEvery: h.settings.Keepalive, lifetime: now.Add(h.settings.MaxDuration), expiry: tokenExp}
	c.keepalive = now.Add(c.keepaliveEvery)
	if departures {
		c.departureEvery = departureInterval(h.settings.Keepalive)
		c.departure = now.Add(c.departureEvery)
	}
	return c
}

// next is the earliest moment to come.
func (c *streamClock) next() time.Time {
	next := c.keepalive
	for _, t := range [...]time.Time{c.departure, c.lifetime, c.expiry, c.drain} {
		if !t.IsZero() && t.Before(next) {
			next = t
		}
	}
	return next
}

// wait is how long from now until next.
func (c *streamClock) wait(now time.Time) time.Duration { return max(c.next().Sub(now), 0) }

// due says which moment has come at now, the one that ends the stream
// first, and moves a periodic one on by its period.
func (c *streamClock) due(now time.Time) wake {
	reached := func(t time.Time) bool { return !t.IsZero() && !now.Before(t) }
	switch {
	case reached(c.expiry):
		return wakeExpiry
	case reached(c.lifetime):
		return wakeLifetime
	case reached(c.drain):
		return wakeDrain
	case reached(c.departure):
		c.departure = later(c.departure, c.departureEvery, now)
		return wakeDeparture
	case reached(c.keepalive):
		c.keepalive = later(c.keepalive, c.keepaliveEvery, now)
		return wakeKeepalive
	}
	return wakeNothing
}

// later moves t on by whole periods until it is after now, as a ticker
// does: a stream that was busy skips the beats it missed.
func later(t time.Time, every time.Duration, now time.Time) time.Time {
	every = max(every, time.Millisecond)
	beats := int64(now.Sub(t)/every) + 1
	return t.Add(time.Duration(beats) * every)
}
