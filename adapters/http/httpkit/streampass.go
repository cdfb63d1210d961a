package httpkit

import (
	"net/http"
	"time"
)

// StreamPassCookie is the name of the cookie that carries a stream pass:
// HttpOnly, SameSite=Strict, scoped by its Path to the one stream it
// opens, so a browser's EventSource presents it on each reconnect and
// no script can read it.
const StreamPassCookie = "stream_pass"

// PassCookie is the Set-Cookie of a pass for the stream at path. Its
// Max-Age is rounded down: the browser drops it no later than the server.
func PassCookie(code, path string, expires, now time.Time, secure bool) http.Cookie {
	maxAge := int(expires.Sub(now) / time.Second)
	if maxAge < 1 {
		maxAge = -1 // expires within the second: delete it
	}
	//nolint:gosec // Secure exactly when the client came over TLS: a browser drops a Secure cookie set over plain HTTP
	return http.Cookie{
		Name: StreamPassCookie, Value: code, Path: path, MaxAge: maxAge,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode,
	}
}

// RemovedPassCookie deletes the pass cookie of the stream at path.
func RemovedPassCookie(path string, secure bool) http.Cookie {
	//nolint:gosec // as in PassCookie
	return http.Cookie{
		Name: StreamPassCookie, Path: path, MaxAge: -1,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode,
	}
}
