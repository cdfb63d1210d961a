// Package operation carries the operation context's events between
// instances over Redis pub/sub and keeps its stream tickets in Redis.
package operation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
	ports "github.com/scoped-api/foundation/ports/operation"
)

// Bus carries events over Redis pub/sub. Every event goes to its
// operation's channel, {prefix}progress:{project_id}:{operation_id}, and to
// its project's channel, {prefix}progress:{project_id}, for tools that
// watch one project; a subscriber listens to the operation channels only,
// with one pattern, so it receives each event once.
type Bus struct {
	client  redis.UniversalClient
	prefix  string
	pattern string
	log     *zap.Logger
}

var _ ports.Bus = (*Bus)(nil)

// Reconnection backoff while Redis is unreachable: go-redis redials on
// every Receive, so without a pause an outage would spin.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// NewBus returns a bus whose channels all start with keyPrefix, which
// separates deployments sharing one Redis. The prefix may contain glob
// metacharacters: they are escaped in the subscription pattern.
func NewBus(client redis.UniversalClient, keyPrefix string, log *zap.Logger) *Bus {
	if log == nil {
		log = zap.NewNop()
	}
	return &Bus{
		client:  client,
		prefix:  keyPrefix,
		pattern: escapeGlob(keyPrefix) + "progress:*:*",
		log:     log.Named("redis_bus"),
	}
}

// Publish sends every event to its operation's and its project's channel,
// in order, in one pipeline: one round trip per call.
func (b *Bus) Publish(ctx context.Context, events []operation.Recorded) error {
	if len(events) == 0 {
		return nil
	}
	payloads := make([][]byte, len(events))
	for i, ev := range events {
		p, err := encodeEvent(ev)
		if err != nil {
			return fmt.Errorf("redis bus: encode event %d: %w", ev.Seq, err)
		}
		payloads[i] = p
	}
	_, err := b.client.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		for i, ev := range events {
			pipe.Publish(ctx, b.operationChannel(ev.Project, ev.Operation), payloads[i])
			pipe.Publish(ctx, b.projectChannel(ev.Project), payloads[i])
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis bus: publish %d events: %w", len(events), err)
	}
	return nil
}

func (b *Bus) operationChannel(p kernel.ProjectID, op operation.ID) string {
	return b.prefix + "progress:" + p.String() + ":" + op.String()
}

func (b *Bus) projectChannel(p kernel.ProjectID) string {
	return b.prefix + "progress:" + p.String()
}

// Subscribe opens one pattern subscription on its own connection and
// returns once Redis has confirmed it. Every sink call is made from one
// delivery goroutine: first Resync, for the confirmation Subscribe waited
// for (harmless on a fresh subscription, and it keeps "every confirmation
// resyncs" a rule without exceptions), then each event in arrival order,
// and Resync again after every resubscription go-redis makes when the
// connection breaks. When ctx ends the subscription is closed and the
// goroutine returns, even while Redis is down.
func (b *Bus) Subscribe(ctx context.Context, sink ports.Sink) error {
	ps := b.client.PSubscribe(ctx) // no pattern yet: nothing is sent
	closed := make(chan struct{})
	// Closing the PubSub is how a blocked Receive or a dial is interrupted.
	stop := context.AfterFunc(ctx, func() {
		_ = ps.Close()
		close(closed)
	})
	fail := func(err error) error {
		if stop() {
			_ = ps.Close()
		}
		if ctx.Err() != nil {
			err = errors.Join(ctx.Err(), err)
		}
		return fmt.Errorf("redis bus: subscribe to %s: %w", b.pattern, err)
	}
	if err := ps.PSubscribe(ctx, b.pattern); err != nil {
		return fail(err)
	}
	for {
		msg, err := ps.Receive(ctx)
		if err != nil {
			return fail(err)
		}
		if isConfirmation(msg) {
			break
		}
	}
	go b.deliver(ctx, ps, closed, sink)
	return nil
}

func isConfirmation(msg any) bool {
	s, ok := msg.(*redis.Subscription)
	return ok && s.Kind == "psubscribe"
}

// deliver runs the subscription until ctx ends. Errors from Receive are
// how go-redis reports a broken connection; it reconnects and
// resubscribes on the next Receive, and the confirmation that follows
// triggers Resync. Consecutive errors back off up to maxBackoff. A peer
// that vanishes without closing the connection is noticed by the TCP
// keep-alive of go-redis's dialer (about 45s).
func (b *Bus) deliver(ctx context.Context, ps *redis.PubSub, closed <-chan struct{}, sink ports.Sink) {
	defer func() { <-closed }() // the PubSub is closed by the AfterFunc
	sink.Resync()
	failures := 0
	for {
		msg, err := ps.Receive(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			failures++
			if failures == 1 {
				b.log.Warn("event subscription lost; reconnecting", zap.Error(err))
			} else {
				b.log.Debug("event subscription still down", zap.Error(err), zap.Int("attempt", failures))
			}
			if !sleep(ctx, backoff(failures)) {
				return
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind != "psubscribe" {
				continue
			}
			if failures > 0 {
				b.log.Info("event subscription restored", zap.Int("attempts", failures))
			}
			failures = 0
			sink.Resync()
		case *redis.Message:
			failures = 0
			ev, err := decodeEvent([]byte(m.Payload))
			if err != nil {
				b.log.Error("undecodable event skipped", zap.String("channel", m.Channel), zap.Error(err))
				continue
			}
			// A pattern can also match another prefix's channels when one
			// prefix extends another ("" and "progress:x:"); the exact
			// channel tells them apart.
			if m.Channel != b.operationChannel(ev.Project, ev.Operation) {
				b.log.Debug("event of another channel skipped", zap.String("channel", m.Channel))
				continue
			}
			sink.Deliver(ev)
		}
	}
}

// backoff is the pause after the n-th consecutive failure: none after the
// first (go-redis has already redialled), then doubling from minBackoff.
func backoff(n int) time.Duration {
	if n <= 1 {
		return 0
	}
	d := minBackoff
	for i := 2; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// sleep waits d or until ctx ends, reporting whether ctx is still alive.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// escapeGlob makes s match itself in a Redis glob pattern.
func escapeGlob(s string) string {
	var sb strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '*', '?', '[', ']':
			sb.WriteByte('\\')
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// wireEvent is the JSON an event travels as between instances; it belongs
// to this adapter alone, so the domain carries no tags.
type wireEvent struct {
	Seq         int64     `json:"seq"`
	Type        string    `json:"type"`
	ProjectID   string    `json:"project_id"`
	OperationID string    `json:"operation_id"`
	At          time.Time `json:"at"`
	State       wireState `json:"state"`
}

type wireState struct {
	ID        string    `json:"id"`
	ProjectID string    `json:"project_id"`
	Kind      string    `json:"kind"`
	Status    string    `json:"status"`
	Percent   int       `json:"percent"`
	Message   string    `json:"message"`
	Error     string    `json:"error"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Result is the last field on the wire: encodeEvent appends it by
	// hand, because encoding/json would compact it.
	Result json.RawMessage `json:"result,omitempty"`
}

// encodeEvent writes ev as JSON. The result document is copied byte for
// byte (encoding/json would compact it and escape HTML characters), so
// an event decodes to exactly the value that was published.
func encodeEvent(ev operation.Recorded) ([]byte, error) {
	s := ev.State
	w := wireEvent{
		Seq: ev.Seq, Type: string(ev.Type), ProjectID: ev.Project.String(), OperationID: ev.Operation.String(),
		At: ev.At.UTC(),
		State: wireState{
			ID: s.ID.String(), ProjectID: s.Project.String(), Kind: s.Kind, Status: string(s.Status),
			Percent: s.Percent, Message: s.Message, Error: s.Error,
			CreatedAt: s.CreatedAt.UTC(), UpdatedAt: s.UpdatedAt.UTC(),
		},
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(w); err != nil {
		return nil, err
	}
	out := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if s.Result == nil {
		return out, nil
	}
	if !json.Valid(s.Result) {
		return nil, errors.New("the result is not a JSON document")
	}
	// out ends with the closing braces of state and of the event.
	out = append(out[:len(out)-2], `,"result":`...)
	out = append(out, s.Result...)
	return append(out, "}}"...), nil
}

func decodeEvent(data []byte) (operation.Recorded, error) {
	var w wireEvent
	if err := json.Unmarshal(data, &w); err != nil {
		return operation.Recorded{}, err
	}
	project, err := kernel.ParseProjectID(w.ProjectID)
	if err != nil {
		return operation.Recorded{}, fmt.Errorf("project_id: %w", err)
	}
	opID, err := operation.ParseID(w.OperationID)
	if err != nil {
		return operation.Recorded{}, fmt.Errorf("operation_id: %w", err)
	}
	stateID, err := operation.ParseID(w.State.ID)
	if err != nil {
		return operation.Recorded{}, fmt.Errorf("state.id: %w", err)
	}
	stateProject, err := kernel.ParseProjectID(w.State.ProjectID)
	if err != nil {
		return operation.Recorded{}, fmt.Errorf("state.project_id: %w", err)
	}
	var result []byte
	if w.State.Result != nil {
		result = []byte(w.State.Result)
	}
	return operation.Recorded{
		Seq: w.Seq,
		Event: operation.Event{
			Type: operation.EventType(w.Type), Project: project, Operation: opID, At: w.At.UTC(),
			State: operation.State{
				ID: stateID, Project: stateProject, Kind: w.State.Kind, Status: operation.Status(w.State.Status),
				Percent: w.State.Percent, Message: w.State.Message, Result: result, Error: w.State.Error,
				CreatedAt: w.State.CreatedAt.UTC(), UpdatedAt: w.State.UpdatedAt.UTC(),
			},
		},
	}, nil
}
