package streaming

import (
	"context"
	"sync"
	"time"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/ports/shared"
)

// watches shares one recheck of the gate among all the streams a caller
// has open in one project: a caller's fifty streams cost one lookup per
// interval, not fifty, and no stream runs a timer of its own for it.
type watches struct {
	gate  shared.ProjectGate
	every time.Duration

	mu    sync.Mutex
	byKey map[watchKey]*watch
}

type watchKey struct {
	subject kernel.Subject
	project kernel.ProjectID
}

// watch is one (caller, project)'s recheck; ended is closed when the
// caller may no longer read the project's operations.
type watch struct {
	owner  *watches
	key    watchKey
	access kernel.ProjectAccess
	ended  chan struct{}
	stop   chan struct{}
	users  int // streams holding it; guarded by owner.mu

	endOnce  sync.Once
	failures int // only the loop touches it
}

func newWatches(gate shared.ProjectGate, every time.Duration) *watches {
	return &watches{gate: gate, every: every, byKey: map[watchKey]*watch{}}
}

// hold returns the watch of access's caller and project, starting it for
// the first stream; each hold is ended by one release.
func (ws *watches) hold(access kernel.ProjectAccess) *watch {
	key := watchKey{access.Subject(), access.Project()}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if w := ws.byKey[key]; w != nil {
		w.users++
		return w
	}
	w := &watch{owner: ws, key: key, access: access, ended: make(chan struct{}), stop: make(chan struct{}), users: 1}
	ws.byKey[key] = w
	revoked, unwatch := ws.gate.Revoked(access)
	go w.loop(revoked, unwatch)
	return w
}

// release lets go of one hold; the last one stops the watch.
func (w *watch) release() {
	ws := w.owner
	ws.mu.Lock()
	defer ws.mu.Unlock()
	w.users--
	if w.users > 0 {
		return
	}
	if ws.byKey[w.key] == w {
		delete(ws.byKey, w.key)
	}
	close(w.stop)
}

func (w *watch) loop(revoked <-chan struct{}, unwatch func()) {
	defer unwatch()
	tick := time.NewTicker(w.owner.every)
	defer tick.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-revoked:
			w.end()
			return
		case <-tick.C:
			if !w.recheck() {
				w.end()
				return
			}
		}
	}
}

// recheck asks the gate again, with an answer at most one interval old,
// so that a removal made on another instance ends the streams within
// twice that. A gate that cannot answer within the interval is given one
// more before they end (their clients resume without loss once it can).
func (w *watch) recheck() bool {
	ctx, cancel := context.WithTimeout(context.Background(), w.owner.every)
	defer cancel()
	access, err := w.owner.gate.Recheck(ctx, w.access, w.owner.every)
	switch {
	case err == nil:
		w.failures = 0
		return access.Allows(kernel.ReadOperations)
	case kernel.KindOf(err) == kernel.KindUnavailable || kernel.KindOf(err) == kernel.KindUnknown:
		w.failures++
		return w.failures < 2
	default:
		return false
	}
}

// end closes ended and lets a stream opened from now on start a fresh
// watch: it was granted after whatever ended this one.
func (w *watch) end() {
	w.endOnce.Do(func() {
		ws := w.owner
		ws.mu.Lock()
		if ws.byKey[w.key] == w {
			delete(ws.byKey, w.key)
		}
		ws.mu.Unlock()
		close(w.ended)
	})
}
