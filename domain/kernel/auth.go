package kernel

// What authentication answers when it cannot establish the caller: the
// class of failure, never which check failed.
var (
	ErrTokenMissing = Unauthorized("auth.token_missing", "a bearer token is required")
	ErrTokenInvalid = Unauthorized("auth.token_invalid", "the bearer token is not valid")
	ErrTokenExpired = Unauthorized("auth.token_expired", "the bearer token has expired")
)
