package kernel

// Errors of a retried write's Idempotency-Key: the key names another
// request, or its first request is still running.
var (
	ErrIdempotencyKeyReused = &Error{Kind: KindInvalid, Code: "idempotency.key_reused",
		Message: "this Idempotency-Key was used for a different request; use a new key for a new request"}
	ErrIdempotencyInProgress = &Error{Kind: KindConflict, Code: "idempotency.in_progress",
		Message: "a request with this Idempotency-Key is still being processed; retry after it finishes"}
)
