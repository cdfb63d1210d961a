package operation

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scoped-api/foundation/application/operation/streaming"
	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
)

func recorded(seq int64, message string) operation.Recorded {
	id := operation.IDFrom(uuid.Must(uuid.NewV7()))
	project := kernel.ProjectIDFrom(uuid.Must(uuid.NewV7()))
	at := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	return operation.Recorded{Seq: seq, Event: operation.Event{Type: operation.EventProgress, Project: project, Operation: id, At: at,
		State: operation.State{ID: id, Project: project, Kind: "import", Status: operation.StatusRunning, Percent: 40, Message: message, CreatedAt: at, UpdatedAt: at}}}
}

// TestAnEventIsEncodedOnceForAllItsStreams: the frame a stream writes is
// the message writeMessage makes, byte for byte, and the next stream gets
// the same bytes without encoding them again; an event pushed out of the
// cache, or another event with the same sequence number, is encoded anew.
func TestAnEventIsEncodedOnceForAllItsStreams(t *testing.T) {
	f := newFrames()
	r := recorded(7, "halfway")
	var want bytes.Buffer
	writeMessage(&want, streaming.Message{ID: r.Seq, Event: string(r.Type), Record: &r})

	first := bytes.NewBufferString(": before\n\n")
	f.write(first, &r)
	if got := bytes.TrimPrefix(first.Bytes(), []byte(": before\n\n")); !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("frame\n%s\nwant\n%s", got, want.Bytes())
	}
	key := frameKey{r.Seq, r.Operation, r.Type}
	cached := f.byKey[key]
	var second bytes.Buffer
	f.write(&second, &r)
	if !bytes.Equal(second.Bytes(), want.Bytes()) || &f.byKey[key][0] != &cached[0] {
		t.Fatal("the second stream did not get the cached frame")
	}

	reissued := recorded(7, "another log's seventh event")
	var other bytes.Buffer
	f.write(&other, &reissued)
	if bytes.Equal(other.Bytes(), want.Bytes()) || !bytes.Contains(other.Bytes(), []byte("another log")) {
		t.Fatalf("an event with a reused sequence number got another event's frame: %s", other.Bytes())
	}

	for i := range frameCacheSize {
		e := recorded(int64(100+i), "filler")
		f.write(new(bytes.Buffer), &e)
	}
	if len(f.byKey) != frameCacheSize {
		t.Fatalf("the cache holds %d frames, want at most %d", len(f.byKey), frameCacheSize)
	}
	if _, ok := f.byKey[key]; ok {
		t.Fatal("the oldest frame was not evicted")
	}
	var again bytes.Buffer
	f.write(&again, &r)
	if !bytes.Equal(again.Bytes(), want.Bytes()) {
		t.Fatal("an evicted event is not encoded again")
	}
}
