package operation

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humagin"
	"go.uber.org/zap"

	"github.com/scoped-api/foundation/adapters/http/httpkit"
	"github.com/scoped-api/foundation/application/operation/streaming"
	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
)

type streamInput struct {
	ProjectID        string `path:"project_id" format:"uuid" doc:"The project's id"`
	Ticket           string `query:"ticket" doc:"A stream ticket, for clients that cannot send an Authorization header"`
	LastEventIDQuery string `query:"last_event_id" pattern:"^[0-9]{1,18}$" doc:"Resume after this event id on a first connect (the Last-Event-ID header wins)"`
	LastEventID      string `header:"Last-Event-ID" pattern:"^[0-9]{1,18}$" doc:"Resume after this event id"`
}

// operationStreamInput repeats streamInput's fields rather than embedding
// it: huma did not fill an embedded struct's path parameter.
type operationStreamInput struct {
	ProjectID        string `path:"project_id" format:"uuid" doc:"The project's id"`
	OperationID      string `path:"operation_id" format:"uuid" doc:"The operation's id"`
	Ticket           string `query:"ticket" doc:"A stream ticket, for clients that cannot send an Authorization header"`
	LastEventIDQuery string `query:"last_event_id" pattern:"^[0-9]{1,18}$" doc:"Resume after this event id on a first connect (the Last-Event-ID header wins)"`
	LastEventID      string `header:"Last-Event-ID" pattern:"^[0-9]{1,18}$" doc:"Resume after this event id"`
}

func (h *Handler) registerStreams(api huma.API, reg func(huma.Operation) huma.Operation) {
	security := []map[string][]string{{httpkit.BearerAuth: {}}, {httpkit.TicketAuth: {}}, {httpkit.PassAuth: {}}}
	responses := func(what string) map[string]*huma.Response {
		return map[string]*huma.Response{
			"200": {Description: "A text/event-stream of " + what + ". The first message of a fresh connect is a snapshot; " +
				"every message has an id to resume from with Last-Event-ID.",
				Content: map[string]*huma.MediaType{"text/event-stream": {Schema: &huma.Schema{Type: "string"}}}},
			"204": {Description: "The operation finished and the client has every event: stop reconnecting."},
		}
	}
	errs := []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound, http.StatusTooManyRequests, http.StatusServiceUnavailable}
	huma.Register(api, reg(huma.Operation{
		OperationID: "stream-operation-events", Method: http.MethodGet, Path: BasePath + "/{operation_id}/events",
		Summary:     "Stream an operation's events (Server-Sent Events)",
		Description: "Ends after the operation's terminal event, after SSE_MAX_DURATION, when the token expires or on shutdown; resume with Last-Event-ID.",
		Security:    security, Responses: responses("the operation's events"), Errors: errs,
	}), func(ctx context.Context, in *operationStreamInput) (*huma.StreamResponse, error) {
		id, err := operation.ParseID(in.OperationID)
		if err != nil {
			return nil, httpkit.FromError(ctx, err).WithLocation("body.", "path.")
		}
		return h.open(ctx, &streamInput{ProjectID: in.ProjectID, Ticket: in.Ticket, LastEventIDQuery: in.LastEventIDQuery, LastEventID: in.LastEventID}, &id)
	})
	huma.Register(api, reg(huma.Operation{
		OperationID: "stream-project-events", Method: http.MethodGet, Path: ProjectPath + "/events",
		Summary:     "Stream every operation event of a project (Server-Sent Events)",
		Description: "Ends after SSE_MAX_DURATION, when the token expires or on shutdown; resume with Last-Event-ID.",
		Security:    security, Responses: responses("every operation event of the project"), Errors: errs,
	}), func(ctx context.Context, in *streamInput) (*huma.StreamResponse, error) {
		return h.open(ctx, in, nil)
	})
}

// open checks everything that can still be answered with a status code,
// subscribes, and leaves the writing to a pump.
func (h *Handler) open(ctx context.Context, in *streamInput, op *operation.ID) (*huma.StreamResponse, error) {
	access, err := httpkit.Access(ctx)
	if err != nil {
		return nil, err
	}
	last, err := lastEventID(in)
	if err != nil {
		return nil, httpkit.FromError(ctx, err)
	}
	if httpkit.RequestOf(ctx).Method() == http.MethodHead {
		return h.head(ctx, access, op)
	}
	stream, err := h.streams.Open(ctx, access, op, last)
	if err != nil {
		return nil, httpkit.FromError(ctx, err)
	}
	if stream.Finished() && len(stream.Initial()) == 0 {
		stream.Close()
		return &huma.StreamResponse{Body: func(hctx huma.Context) { hctx.SetStatus(http.StatusNoContent) }}, nil
	}
	tokenExp := httpkit.RequestOf(ctx).TokenExpiresAt()
	// The stream outlives the request: serve takes its context from hctx
	// only for the request's logger.
	return &huma.StreamResponse{Body: func(hctx huma.Context) { h.serve(hctx, stream, tokenExp) }}, nil //nolint:contextcheck // see above
}

// head answers HEAD with the headers a stream would start with, and
// subscribes to nothing.
func (h *Handler) head(ctx context.Context, access kernel.ProjectAccess, op *operation.ID) (*huma.StreamResponse, error) {
	if op != nil {
		if _, err := h.svc.GetOperation(ctx, access, *op); err != nil {
			return nil, httpkit.FromError(ctx, err)
		}
	}
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		setStreamHeaders(hctx.SetHeader)
		hctx.SetStatus(http.StatusOK)
	}}, nil
}

// setStreamHeaders sets what every stream's response says about itself.
func setStreamHeaders(set func(name, value string)) {
	set("Content-Type", "text/event-stream; charset=utf-8")
	set("Cache-Control", "no-cache")
	set("X-Accel-Buffering", "no")
}

func lastEventID(in *streamInput) (*int64, error) {
	raw, field := in.LastEventID, "Last-Event-ID"
	if raw == "" {
		raw, field = in.LastEventIDQuery, "last_event_id"
	}
	if raw == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < 0 {
		return nil, kernel.Invalid("stream.last_event_id_invalid", "the last event id is not one this API issued",
			kernel.FieldError{Field: field, Message: "must be a non-negative integer"})
	}
	return &n, nil
}

// serve takes the connection over from the HTTP server: a stream outlives
// the server's write timeout, and a hijacked connection costs no server
// goroutine or buffers while it waits. An HTTP/2 stream shares its
// connection and cannot be taken over: it is written where it is (serveH2).
func (h *Handler) serve(hctx huma.Context, stream *streaming.Stream, tokenExp time.Time) {
	c := humagin.Unwrap(hctx)
	log := httpkit.Logger(hctx.Context())
	if c.Request.ProtoMajor >= 2 {
		h.serveH2(hctx, stream, tokenExp, log)
		return
	}
	header := c.Writer.Header().Clone()
	conn, _, err := c.Writer.Hijack()
	if err != nil {
		stream.Close()
		log.Error("cannot take over the connection for a stream", zap.Error(err))
		httpkit.WriteProblem(c.Writer, httpkit.NewProblem(hctx.Context(), http.StatusInternalServerError, "streaming is not available on this connection"))
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		// A small, fixed send buffer: the kernel would otherwise grow it to
		// megabytes per stream, and a consumer that stopped reading would
		// hide behind it instead of falling behind its bounded buffer.
		_ = tc.SetWriteBuffer(streamSendBuffer)
	}
	var b bytes.Buffer
	b.WriteString("HTTP/1.1 200 OK\r\n")
	header.Del("Content-Length")
	setStreamHeaders(header.Set)
	header.Set("Connection", "close")
	_ = header.Write(&b)
	b.WriteString("\r\n")
	h.writeOpening(&b, stream)
	h.pumps.Add(1)
	go h.pump(hijacked{conn: conn, timeout: h.settings.WriteTimeout}, b.Bytes(), stream, tokenExp, departureCheck(conn), nil, log)
}

// serveH2 sends the stream's headers now and leaves its body to a
// continuation, which the server runs in this request's goroutine once the
// middleware chain has returned: logs, metrics and traces see the stream
// opened, as on HTTP/1.1, and the request's context tells when the client
// resets the stream or the connection goes.
func (h *Handler) serveH2(hctx huma.Context, stream *streaming.Stream, tokenExp time.Time, log *zap.Logger) {
	header := humagin.Unwrap(hctx).Writer.Header()
	header.Del("Content-Length")
	setStreamHeaders(header.Set)
	var b bytes.Buffer
	h.writeOpening(&b, stream)
	head := b.Bytes()
	h.pumps.Add(1)
	if !httpkit.Continue(hctx.Context(), func(w http.ResponseWriter, r *http.Request) {
		opening := head
		head = nil // written once; the stream may wait for hours
		h.pump(newFlushed(w, h.settings.WriteTimeout), opening, stream, tokenExp, nil, r.Context().Done(), log)
	}) {
		h.pumps.Done()
		stream.Close()
		log.Error("cannot stream over HTTP/2: the server does not run continuations (httpkit.Continuable)")
		httpkit.WriteProblem(humagin.Unwrap(hctx).Writer, httpkit.NewProblem(hctx.Context(), http.StatusInternalServerError, "streaming is not available on this connection"))
		return
	}
	hctx.SetStatus(http.StatusOK)
}

// writeOpening appends what every stream starts with: the retry hint and
// the initial messages.
func (h *Handler) writeOpening(b *bytes.Buffer, stream *streaming.Stream) {
	writeRetry(b, h.settings.Retry)
	for _, m := range stream.Initial() {
		writeMessage(b, m)
	}
	stream.DropInitial()
}

// streamSendBuffer is each stream connection's kernel send buffer.
const streamSendBuffer = 64 << 10

// pump writes a stream until it ends. Whatever ends it, the client can
// resume from the last id it received and lose nothing.
//
// The client's departure shows either through left, polled (a hijacked
// connection), or through gone (an HTTP/2 stream's context). Everything
// the pump waits for besides events and departure runs on one timer
// (clock): an idle stream holds one timer, not five.
func (h *Handler) pump(conn streamConn, head []byte, stream *streaming.Stream, tokenExp time.Time, left func() bool, gone <-chan struct{}, log *zap.Logger) {
	defer h.pumps.Done()
	defer conn.close()
	defer stream.Close()
	if !conn.write(head) {
		return
	}
	clock := h.newClock(time.Now(), tokenExp, left != nil)
	timer := time.NewTimer(clock.wait(time.Now()))
	defer timer.Stop()
	draining := h.draining
	for {
		select {
		case <-stream.Ready():
			if !h.writeEvents(conn, stream, log) {
				return
			}
		case now := <-timer.C:
			switch clock.due(now) {
			case wakeExpiry:
				conn.write([]byte("event: token_expired\ndata: {}\n\n"))
				return
			case wakeLifetime:
				// The client reconnects after the retry hint and resumes.
				conn.write([]byte(": max duration reached; resume with Last-Event-ID\n\n"))
				return
			case wakeDrain:
				h.writeDrained(conn, clock.drainOffset)
				return
			case wakeDeparture:
				if left() {
					log.Debug("stream ended: the client left")
					return
				}
			case wakeKeepalive:
				if !conn.write([]byte(": keepalive\n\n")) {
					return
				}
			}
			timer.Reset(clock.wait(time.Now()))
		case <-gone:
			log.Debug("stream ended: the client left")
			return
		case <-stream.Revoked():
			conn.write([]byte(accessRevoked))
			return
		case <-draining:
			// Events keep flowing until this stream's own moment of the
			// window; a stream opened late in the drain ends soon after.
			draining = nil
			clock.drainOffset = h.drainOffset()
			clock.drain = h.drainStart.Add(clock.drainOffset)
			timer.Reset(clock.wait(time.Now()))
		}
	}
}

// writeEvents writes what the stream has queued; false when the stream
// is over, written to its end or broken.
func (h *Handler) writeEvents(conn streamConn, stream *streaming.Stream, log *zap.Logger) bool {
	events, done := stream.Take()
	var b bytes.Buffer
	for i := range events {
		h.frames.write(&b, &events[i])
	}
	if done {
		if err := stream.Err(); err != nil {
			log.Debug("stream ended by the server", zap.String("reason", err.Error()))
			writeRetry(&b, h.settings.Retry)
		}
		conn.write(b.Bytes())
		return false
	}
	return b.Len() == 0 || conn.write(b.Bytes())
}

// writeDrained ends a stream at its moment of the shutdown's drain window.
func (h *Handler) writeDrained(conn streamConn, offset time.Duration) {
	var b bytes.Buffer
	fmt.Fprintf(&b, ": shutting down (this stream ends %v into the %v drain window); resume with Last-Event-ID\n\n",
		offset.Round(time.Millisecond), h.settings.DrainWindow)
	writeRetry(&b, h.settings.Retry)
	conn.write(b.Bytes())
}

// accessRevoked ends a stream whose caller is no longer a member of its
// project; no retry hint follows, a reconnect would be refused.
const accessRevoked = "event: access_revoked\ndata: {}\n\n"

// drainOffset picks, uniformly, when in the drain window a stream ends.
func (h *Handler) drainOffset() time.Duration {
	if h.settings.DrainWindow <= 0 {
		return 0
	}
	return rand.N(h.settings.DrainWindow) //nolint:gosec // jitter, not a secret
}

// Shutdown ends every stream, each at a random moment of the drain window
// and with a retry hint, and waits until every pump has returned, or ctx
// ends. Streams opened meanwhile end within the window too.
func (h *Handler) Shutdown(ctx context.Context) error {
	h.drainOnce.Do(func() {
		h.drainStart = time.Now()
		close(h.draining)
	})
	done := make(chan struct{})
	go func() { h.pumps.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func writeRetry(b *bytes.Buffer, d time.Duration) {
	b.WriteString("retry: ")
	b.WriteString(strconv.FormatInt(d.Milliseconds(), 10))
	b.WriteString("\n\n")
}

type eventData struct {
	ID          string    `json:"id"`
	Type        string    `json:"type"`
	ProjectID   string    `json:"project_id"`
	OperationID string    `json:"operation_id"`
	At          time.Time `json:"at"`
	Operation   Operation `json:"operation"`
}

type operationSnapshot struct {
	Operation Operation `json:"operation"`
}

type projectSnapshot struct {
	Operations []Operation `json:"operations"`
}

type historyExpired struct {
	Detail string `json:"detail"`
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// writeMessage appends one SSE message. JSON never holds a raw newline, so
// every data field is one line.
func writeMessage(b *bytes.Buffer, m streaming.Message) {
	var data any
	switch {
	case m.Record != nil:
		r := m.Record
		data = eventData{ID: strconv.FormatInt(r.Seq, 10), Type: string(r.Type), ProjectID: r.Project.String(),
			OperationID: r.Operation.String(), At: r.At, Operation: toResponse(r.State)}
	case m.Event == streaming.MessageSnapshot && m.Operation != nil:
		data = operationSnapshot{Operation: toResponse(*m.Operation)}
	case m.Event == streaming.MessageSnapshot:
		ops := make([]Operation, len(m.Operations))
		for i, s := range m.Operations {
			ops[i] = toResponse(s)
		}
		data = projectSnapshot{Operations: ops}
	case m.Event == streaming.MessageHistoryExpired:
		data = historyExpired{Detail: "events after your last event id are no longer kept; the snapshot that follows is the current state"}
	default:
		data = struct{}{}
	}
	enc := bufPool.Get().(*bytes.Buffer)
	enc.Reset()
	defer bufPool.Put(enc)
	_ = json.NewEncoder(enc).Encode(data)
	b.WriteString("id: ")
	b.WriteString(strconv.FormatInt(m.ID, 10))
	b.WriteString("\nevent: ")
	b.WriteString(m.Event)
	b.WriteString("\ndata: ")
	b.Write(bytes.TrimRight(enc.Bytes(), "\n"))
	b.WriteString("\n\n")
}
