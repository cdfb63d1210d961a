package operation

import (
	"context"
	"time"

	ports "github.com/scoped-api/foundation/ports/operation"
)

// PublishPending numbers every accepted event still in the outbox, in
// acceptance order, and publishes every numbered event the bus has not
// taken yet. Numbering excludes other instances only while it runs; two
// instances may publish at once, which costs a hub at most a read of the
// log (it puts events in order and drops those it has seen). An event is
// marked published only after the bus took it: while the bus is down,
// events wait in the log and leave, in order, once it is back.
//
// Numbering does not wait for the bus: when it fails, the step goes on
// numbering what waits (so that streams opening meanwhile find it in the
// log) and reports the failure at the end.
//
// What it published is marked by its next call, with the numbering (one
// round trip instead of two): until then another instance may publish it
// again, which hubs drop.
func (s *Service) PublishPending(ctx context.Context) error {
	s.publishing.Lock()
	defer s.publishing.Unlock()
	var publishErr error
	for {
		numbered, err := s.d.Relay.Sequence(ctx, s.settings.Batch, s.unmarked)
		if err != nil {
			return err
		}
		s.unmarked = ports.Range{}
		events := numbered.Events
		if publishErr == nil && numbered.Backlog {
			// Earlier events wait too: publish from the watermark.
			if events, err = s.d.Relay.Unpublished(ctx, s.settings.Batch); err != nil {
				return err
			}
		}
		if publishErr == nil && len(events) > 0 {
			if publishErr = s.d.Bus.Publish(ctx, events); publishErr == nil {
				s.unmarked = ports.Range{First: events[0].Seq, Last: events[len(events)-1].Seq}
			}
		}
		more := len(numbered.Events) == s.settings.Batch || (publishErr == nil && numbered.Backlog && len(events) == s.settings.Batch)
		if !more {
			break
		}
	}
	return publishErr
}

// MeasureRelayLag reads from the store how long the oldest accepted event
// has waited to be published (numbered or not; zero when none waits) and
// reports it. It asks the store rather than the relay, so a relay that is
// stuck, or that runs on no instance at all, still shows.
func (s *Service) MeasureRelayLag(ctx context.Context) (time.Duration, error) {
	at, ok, err := s.d.Relay.OldestUnpublished(ctx)
	if err != nil {
		return 0, err
	}
	lag := time.Duration(0)
	if ok {
		lag = max(s.d.Clock.Now().Sub(at), 0)
	}
	s.d.Metrics.RelayLag(lag)
	return lag, nil
}

// PruneHistory deletes published events older than the retention: a
// resume from before them is told the history expired. A zero retention
// keeps everything.
func (s *Service) PruneHistory(ctx context.Context) error {
	if s.settings.Retention <= 0 {
		return nil
	}
	_, err := s.d.Relay.Prune(ctx, s.d.Clock.Now().Add(-s.settings.Retention))
	return err
}
