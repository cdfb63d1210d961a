package operation

import "context"

// PublishPending numbers every accepted event still in the outbox, in
// acceptance order, and publishes every numbered event the bus has not
// taken yet. It holds the relay lock, which at most one instance holds at
// a time, so events are numbered and published in one order. An event is
// marked published only after the bus took it: while the bus is down,
// events wait in the log and leave, in order, once it is back.
func (s *Service) PublishPending(ctx context.Context) error {
	unlock, err := s.d.Relay.Lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	for {
		n, err := s.d.Relay.Sequence(ctx, s.settings.Batch)
		if err != nil {
			return err
		}
		if n < s.settings.Batch {
			break
		}
	}
	for {
		events, err := s.d.Relay.Unpublished(ctx, s.settings.Batch)
		if err != nil {
			return err
		}
		if len(events) == 0 {
			break
		}
		if err := s.d.Bus.Publish(ctx, events); err != nil {
			s.reportLag(ctx)
			return err
		}
		if err := s.d.Relay.MarkPublished(ctx, events[len(events)-1].Seq); err != nil {
			return err
		}
		if len(events) < s.settings.Batch {
			break
		}
	}
	s.d.Metrics.RelayLag(0)
	return nil
}

func (s *Service) reportLag(ctx context.Context) {
	at, ok, err := s.d.Relay.OldestUnpublished(ctx)
	if err != nil || !ok {
		return
	}
	s.d.Metrics.RelayLag(s.d.Clock.Now().Sub(at))
}

// PruneHistory deletes published events older than the retention: a
// resume from before them is told the history expired. A zero retention
// keeps everything.
func (s *Service) PruneHistory(ctx context.Context) error {
	if s.settings.Retention <= 0 {
		return nil
	}
	unlock, err := s.d.Relay.Lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	_, err = s.d.Relay.Prune(ctx, s.d.Clock.Now().Add(-s.settings.Retention))
	return err
}
