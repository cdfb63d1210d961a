package operation

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
)

func recorded(result []byte) operation.Recorded {
	project := kernel.ProjectIDFrom(uuid.Must(uuid.NewV7()))
	id := operation.IDFrom(uuid.Must(uuid.NewV7()))
	at := time.Date(2026, 11, 25, 9, 0, 0, 123456000, time.UTC)
	return operation.Recorded{Seq: 42, Event: operation.Event{
		Type: operation.EventSucceeded, Project: project, Operation: id, At: at.Add(time.Second),
		State: operation.State{ID: id, Project: project, Kind: "import.csv", Status: operation.StatusSucceeded,
			Percent: 100, Message: "Zürich <done> & ✓", Result: result, Error: "line 1\n\"quoted\"",
			CreatedAt: at, UpdatedAt: at.Add(time.Second)},
	}}
}

func TestBusWireRoundTripsExactly(t *testing.T) {
	for name, result := range map[string][]byte{
		"no result":       nil,
		"compact":         []byte(`{"rows":1}`),
		"spaced and HTML": []byte(`{ "url": "https://x.example/?a=1&b=<2>",  "n": [1, 2.50, 3e2], "s": "\u00e9" }`),
		"scalar":          []byte(`"just a string"`),
	} {
		t.Run(name, func(t *testing.T) {
			want := recorded(result)
			data, err := encodeEvent(want)
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(data) {
				t.Fatalf("not JSON: %s", data)
			}
			if result == nil && strings.Contains(string(data), `"result"`) {
				t.Fatalf("a nil result is on the wire: %s", data)
			}
			got, err := decodeEvent(data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("\n got %#v\nwant %#v\nwire %s", got, want, data)
			}
		})
	}
}

func TestBusWireFields(t *testing.T) {
	ev := recorded([]byte(`{"rows":1}`))
	data, err := encodeEvent(ev)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	state, _ := m["state"].(map[string]any)
	if m["seq"] != 42.0 || m["type"] != "succeeded" || m["project_id"] != ev.Project.String() ||
		m["operation_id"] != ev.Operation.String() || m["at"] != "2026-11-25T09:00:01.123456Z" ||
		state["id"] != ev.State.ID.String() || state["project_id"] != ev.Project.String() || state["kind"] != "import.csv" ||
		state["status"] != "succeeded" || state["percent"] != 100.0 || state["error"] != ev.State.Error ||
		state["created_at"] != "2026-11-25T09:00:00.123456Z" || state["updated_at"] != "2026-11-25T09:00:01.123456Z" ||
		!reflect.DeepEqual(state["result"], map[string]any{"rows": 1.0}) {
		t.Fatalf("wire = %s", data)
	}
}

func TestBusWireTimesComeBackInUTC(t *testing.T) {
	ev := recorded(nil)
	paris := time.FixedZone("CET", 3600)
	ev.At, ev.State.CreatedAt, ev.State.UpdatedAt = ev.At.In(paris), ev.State.CreatedAt.In(paris), ev.State.UpdatedAt.In(paris)
	data, err := encodeEvent(ev)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeEvent(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][2]time.Time{{got.At, ev.At}, {got.State.CreatedAt, ev.State.CreatedAt}, {got.State.UpdatedAt, ev.State.UpdatedAt}} {
		if !pair[0].Equal(pair[1]) || pair[0].Location() != time.UTC {
			t.Fatalf("time %v came back as %v", pair[1], pair[0])
		}
	}
}

func TestBusWireRefusesAResultThatIsNotJSON(t *testing.T) {
	if _, err := encodeEvent(recorded([]byte(`{"rows":`))); err == nil {
		t.Fatal("an invalid result was encoded")
	}
}

func TestBusWireRejectsWhatItCannotDecode(t *testing.T) {
	ev := recorded(nil)
	good, err := encodeEvent(ev)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{
		"not JSON":           "hello",
		"bad project id":     strings.Replace(string(good), ev.Project.String(), "nope", 1),
		"bad operation id":   strings.Replace(string(good), `"operation_id":"`+ev.Operation.String(), `"operation_id":"x`, 1),
		"bad state id":       strings.Replace(string(good), `"id":"`+ev.State.ID.String(), `"id":"x`, 1),
		"bad state project":  strings.Replace(string(good), `"state":{"id":"`+ev.State.ID.String()+`","project_id":"`, `"state":{"id":"`+ev.State.ID.String()+`","project_id":"x`, 1),
		"time is not a time": strings.Replace(string(good), `"at":"2026`, `"at":"yesterday`, 1),
	} {
		if data == string(good) {
			t.Fatalf("%s: the test did not change the payload", name)
		}
		if _, err := decodeEvent([]byte(data)); err == nil {
			t.Errorf("%s: decoded %s", name, data)
		}
	}
}

func TestBusEscapeGlob(t *testing.T) {
	for in, want := range map[string]string{
		"":             "",
		"app:":         "app:",
		`a*b?c[d]e\f:`: `a\*b\?c\[d\]e\\f:`,
		"zürich:":      "zürich:",
	} {
		if got := escapeGlob(in); got != want {
			t.Errorf("escapeGlob(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBusBackoffGrowsToItsCap(t *testing.T) {
	want := []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond,
		800 * time.Millisecond, 1600 * time.Millisecond, 3200 * time.Millisecond, maxBackoff, maxBackoff}
	for i, w := range want {
		if got := backoff(i + 1); got != w {
			t.Errorf("backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := backoff(1000); got != maxBackoff {
		t.Errorf("backoff(1000) = %v", got)
	}
}
