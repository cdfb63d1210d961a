package httpkit

import (
	"context"
	"net/http"
)

// A Continuation writes the rest of a response after the middleware chain
// has finished with its request: w and r are the server's own, below
// every wrapper, and r's context ends when the client goes away.
type Continuation func(w http.ResponseWriter, r *http.Request)

type continuationKey struct{}

type continuation struct{ run Continuation }

// Continuable lets handlers of HTTP/2 requests hand the rest of their
// response to a Continuation (Continue), which runs once the chain has
// returned: the request is logged, measured and traced as answered, as an
// HTTP/1.1 stream is when it takes its connection over, while the stream
// goes on in the request's own goroutine. HTTP/1.1 requests pass through
// untouched and cost nothing more.
func Continuable(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor < 2 {
			next.ServeHTTP(w, r)
			return
		}
		c := &continuation{}
		inner := r.WithContext(context.WithValue(r.Context(), continuationKey{}, c))
		// The chain runs on a goroutine of its own: the stack it grows (16 KiB
		// through gin and huma) goes with it, and a continuation that lives
		// for hours waits on this goroutine's small one.
		panicked := make(chan any, 1)
		go func() {
			defer func() { panicked <- recover() }()
			next.ServeHTTP(w, inner)
		}()
		if p := <-panicked; p != nil {
			panic(p) // where the server recovers it (http.ErrAbortHandler included)
		}
		if c.run != nil {
			c.run(w, r)
		}
	})
}

// Continue makes fn the rest of ctx's response; false when the request
// did not come through Continuable (HTTP/1.1, or a server without it).
// The handler must have sent its status and headers, and return soon.
func Continue(ctx context.Context, fn Continuation) bool {
	c, ok := ctx.Value(continuationKey{}).(*continuation)
	if !ok || c.run != nil {
		return false
	}
	c.run = fn
	return true
}
