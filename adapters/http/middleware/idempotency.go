package middleware

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/scoped-api/foundation/adapters/http/httpkit"
	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/ports/shared"
)

// Idempotency headers.
const (
	IdempotencyKeyHeader = "Idempotency-Key"
	ReplayedHeader       = "Idempotent-Replayed"
	maxIdempotencyKey    = 255
)

// replayedHeaders are the response headers a replay repeats; the rest
// (correlation id, security headers, rate limits) belong to the retry.
var replayedHeaders = []string{"Content-Type", "Location", "ETag"}

// Idempotency is a huma middleware, after authentication and before the
// project gate (which then asks inside the unit of work), for the unsafe
// methods: a request with an Idempotency-Key runs
// in a unit of work that also stores its answer under the caller's key,
// so that a retry of a write that committed (even when its answer was
// lost or became a 503) gets that answer again instead of writing twice.
// The answer is held until the unit commits: a client never sees a
// success that did not commit. Only 2xx answers are kept; anything else
// rolls back, so retrying it runs the write again. committed is called
// after a kept write commits (its use case's wake-up calls came before).
func Idempotency(api huma.API, store shared.IdempotencyStore, committed func()) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		switch ctx.Method() {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next(ctx)
			return
		}
		var keys []string
		ctx.EachHeader(func(name, value string) {
			if http.CanonicalHeaderKey(name) == IdempotencyKeyHeader {
				keys = append(keys, value)
			}
		})
		r := httpkit.RequestOf(ctx.Context())
		if len(keys) == 0 || r.Subject().IsZero() {
			next(ctx)
			return
		}
		if len(keys) > 1 || !validKey(keys[0]) {
			p := httpkit.NewProblem(ctx.Context(), http.StatusBadRequest,
				"Idempotency-Key must be one header of 1 to 255 printable ASCII characters")
			p.Code = "idempotency.key_invalid"
			httpkit.WriteError(api, ctx, p)
			return
		}
		body, readErr := io.ReadAll(ctx.BodyReader())
		u := ctx.URL()
		sum := sha256.New()
		// The preconditions are part of the request: a retry sends the same.
		for _, part := range []string{ctx.Method(), u.Path, u.RawQuery, ctx.Header("If-Match")} {
			sum.Write([]byte(part))
			sum.Write([]byte{0})
		}
		sum.Write(body)
		req := shared.IdempotentRequest{Subject: r.Subject(), Key: keys[0]}
		sum.Sum(req.Fingerprint[:0])

		rec := &recorder{wrapped: ctx, body: &replayReader{data: body, err: readErr}, header: http.Header{}}
		answer, replayed, err := store.Run(ctx.Context(), req, func(unit context.Context) (shared.Answer, bool) {
			rec.unit = unit
			next(rec)
			return rec.answer(), rec.status >= 200 && rec.status < 300
		})
		switch {
		case errors.Is(err, kernel.ErrIdempotencyInProgress):
			ctx.SetHeader("Retry-After", "1")
			httpkit.WriteError(api, ctx, err)
			return
		case err != nil:
			httpkit.WriteError(api, ctx, err)
			return
		}
		if replayed {
			ctx.SetHeader(ReplayedHeader, "true")
			for _, h := range answer.Header {
				ctx.SetHeader(h[0], h[1])
			}
		} else {
			for name, values := range rec.header {
				for _, v := range values {
					ctx.AppendHeader(name, v)
				}
			}
			if answer.Status >= 200 && answer.Status < 300 && committed != nil {
				committed()
			}
		}
		ctx.SetStatus(answer.Status)
		_, _ = ctx.BodyWriter().Write(answer.Body)
	}
}

func validKey(k string) bool {
	if k == "" || len(k) > maxIdempotencyKey {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// wrapped lets recorder embed a huma.Context and still define Context().
type wrapped huma.Context

// recorder holds a response until its unit of work has committed.
type recorder struct {
	wrapped
	unit   context.Context
	body   io.Reader
	status int
	header http.Header
	buf    bytes.Buffer
}

func (r *recorder) Context() context.Context        { return r.unit }
func (r *recorder) BodyReader() io.Reader           { return r.body }
func (r *recorder) SetStatus(code int)              { r.status = code }
func (r *recorder) Status() int                     { return r.status }
func (r *recorder) SetHeader(name, value string)    { r.header.Set(name, value) }
func (r *recorder) AppendHeader(name, value string) { r.header.Add(name, value) }
func (r *recorder) BodyWriter() io.Writer           { return &r.buf }

func (r *recorder) answer() shared.Answer {
	a := shared.Answer{Status: r.status, Body: r.buf.Bytes()}
	if a.Status == 0 {
		a.Status = http.StatusOK
	}
	for _, name := range replayedHeaders {
		if v := r.header.Get(name); v != "" {
			a.Header = append(a.Header, [2]string{name, v})
		}
	}
	return a
}

// replayReader gives the handler the body the middleware read, and the
// error reading it ended with (a body over the limit), as the original
// reader would have.
type replayReader struct {
	data []byte
	err  error
}

func (b *replayReader) Read(p []byte) (int, error) {
	if len(b.data) == 0 {
		if b.err != nil {
			return 0, b.err
		}
		return 0, io.EOF
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	return n, nil
}

// DeclareIdempotency adds to every unsafe operation of the document what
// Idempotency applies to all of them: the Idempotency-Key header, the 400
// a malformed key gets, the 409 of a retry while the first request runs
// and the 422 of a key reused for another request. Call it once the routes
// are registered.
func DeclareIdempotency(api huma.API) {
	for _, item := range api.OpenAPI().Paths {
		for _, op := range []*huma.Operation{item.Post, item.Put, item.Patch, item.Delete} {
			if op == nil {
				continue
			}
			op.Parameters = append(op.Parameters, &huma.Param{
				Name: IdempotencyKeyHeader, In: "header",
				Description: "Makes a retry harmless: a request with a key seen before from the same caller " +
					"gets the first answer again (with Idempotent-Replayed: true) and writes nothing; keys are kept " +
					"for IDEMPOTENCY_KEY_RETENTION (24 h by default).",
				Schema: &huma.Schema{Type: huma.TypeString, MinLength: new(1), MaxLength: new(maxIdempotencyKey), Pattern: `^[ -~]+$`},
			})
			var problem map[string]*huma.MediaType
			for code, r := range op.Responses {
				if len(code) == 3 && code[0] == '4' && r.Content != nil {
					problem = r.Content
					break
				}
			}
			for code, what := range map[string]string{
				"400": "Bad Request: a malformed Idempotency-Key (code idempotency.key_invalid)",
				"409": "Conflict: among others, a request with this Idempotency-Key is still running (code idempotency.in_progress, with Retry-After)",
				"422": "Unprocessable Entity: among others, this Idempotency-Key was used for another request (code idempotency.key_reused)",
			} {
				if _, ok := op.Responses[code]; !ok {
					op.Responses[code] = &huma.Response{Description: what, Content: problem}
				}
			}
		}
	}
}
