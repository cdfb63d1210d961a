package operation

import (
	"bytes"
	"sync"

	"github.com/scoped-api/foundation/application/operation/streaming"
	"github.com/scoped-api/foundation/domain/operation"
)

// frameCacheSize is how many recent events stay encoded: enough for a
// burst to reach every stream that is behind by less than a buffer.
const frameCacheSize = 256

// frames encodes each live event once for all the streams it reaches:
// the encoding depends on the event alone, and was most of what a
// delivery cost when every stream encoded it again.
type frames struct {
	mu    sync.Mutex
	byKey map[frameKey][]byte
	ring  [frameCacheSize]frameKey
	next  int
}

// frameKey names an event beyond its sequence number, which a reset log
// could issue again during one process's life.
type frameKey struct {
	seq int64
	op  operation.ID
	typ operation.EventType
}

func newFrames() *frames { return &frames{byKey: make(map[frameKey][]byte, frameCacheSize)} }

// write appends r's SSE message to b, encoding it only if no other stream
// did so recently. The cached bytes are never changed after they are made.
func (f *frames) write(b *bytes.Buffer, r *operation.Recorded) {
	key := frameKey{seq: r.Seq, op: r.Operation, typ: r.Type}
	f.mu.Lock()
	frame, ok := f.byKey[key]
	f.mu.Unlock()
	if ok {
		b.Write(frame)
		return
	}
	start := b.Len()
	writeMessage(b, streaming.Message{ID: r.Seq, Event: string(r.Type), Record: r})
	frame = bytes.Clone(b.Bytes()[start:])
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.byKey[key]; ok {
		return // encoded meanwhile by another stream
	}
	delete(f.byKey, f.ring[f.next])
	f.ring[f.next] = key
	f.next = (f.next + 1) % frameCacheSize
	f.byKey[key] = frame
}
