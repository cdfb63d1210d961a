package note

import "go.uber.org/zap"

// log is a logger inside a use case: logging wraps use cases in bootstrap instead.
var log = zap.NewNop()
