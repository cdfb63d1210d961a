// Package operation implements the operation context's use cases: the
// operations themselves, their figures, and publishing the events every
// change records. Event streams are the streaming subpackage.
package operation

import (
	"errors"
	"sync"
	"time"

	"github.com/scoped-api/foundation/application/operation/streaming"
	"github.com/scoped-api/foundation/domain/kernel"
	ports "github.com/scoped-api/foundation/ports/operation"
	"github.com/scoped-api/foundation/ports/shared"
)

// Deps are what the use cases need; all are required.
type Deps struct {
	Repo  ports.Repository
	Log   ports.EventLog
	Relay ports.RelayStore
	Bus   ports.Bus
	// Trigger is told after every accepted change, so that its events
	// leave at once rather than at the relay's next poll.
	Trigger ports.RelayTrigger
	// Hub counts the streams connected to this instance.
	Hub     *streaming.Hub
	Clock   shared.Clock
	IDs     shared.IDGenerator
	Metrics shared.StreamMetrics
}

// Settings tune publishing.
type Settings struct {
	// Batch is the most events one step of PublishPending numbers or publishes.
	Batch int
	// Retention is how long published events stay in the log for resumes.
	Retention time.Duration
}

// Service holds the operation use cases, one file each.
type Service struct {
	d        Deps
	settings Settings

	// publishing serialises PublishPending; unmarked is the range it
	// published and has not marked yet.
	publishing sync.Mutex
	unmarked   ports.Range
}

// NewService builds the use cases.
func NewService(d Deps, s Settings) *Service {
	if d.Repo == nil || d.Log == nil || d.Relay == nil || d.Bus == nil || d.Trigger == nil || d.Hub == nil ||
		d.Clock == nil || d.IDs == nil || d.Metrics == nil || s.Batch < 1 {
		panic("operation.NewService: nil dependency or no batch size")
	}
	return &Service{d: d, settings: s}
}

// errNoScope is a programming error: a driving adapter called a use case
// without a granted access. It is not a domain kind, so it surfaces as a 500.
var errNoScope = errors.New("operation: use case called without an access")

// requireAccess checks that the access was granted and allows may.
func requireAccess(access kernel.ProjectAccess, may kernel.Permission) error {
	if access.IsZero() {
		return errNoScope
	}
	return access.Require(may)
}
