package project

import (
	"context"
	"sync"
	"time"

	"github.com/scoped-api/foundation/domain/kernel"
	ports "github.com/scoped-api/foundation/ports/project"
	"github.com/scoped-api/foundation/ports/shared"
)

// Gate is the project context's answer to shared.ProjectGate: the one
// place that decides whether a caller may act in a project, and the only
// code that mints kernel.ProjectAccess.
//
// It remembers a "yes" for the cache TTL, per caller and project: a
// project never becomes visible to someone else through the cache; a
// project deleted on this instance is forgotten at once (DeleteProject
// tells the gate), on another instance after at most the TTL.
type Gate struct {
	repo  ports.Repository
	clock shared.Clock
	ttl   time.Duration
	max   int

	mu  sync.Mutex
	yes map[grantKey]time.Time
}

var _ shared.ProjectGate = (*Gate)(nil)

type grantKey struct {
	subject kernel.Subject
	project kernel.ProjectID
}

// GateSettings bound the gate's cache; a zero CacheTTL remembers nothing.
type GateSettings struct {
	CacheTTL     time.Duration
	CacheEntries int
}

// NewGate asks repo, remembering answers as s says.
func NewGate(repo ports.Repository, clock shared.Clock, s GateSettings) *Gate {
	if repo == nil || clock == nil {
		panic("project.NewGate: nil dependency")
	}
	return &Gate{repo: repo, clock: clock, ttl: s.CacheTTL, max: max(s.CacheEntries, 1), yes: map[grantKey]time.Time{}}
}

// Access grants subject access to the live project id they own; it is
// project.ErrNotFound otherwise.
func (g *Gate) Access(ctx context.Context, subject kernel.Subject, id kernel.ProjectID) (kernel.ProjectAccess, error) {
	if subject.IsZero() || id.IsZero() {
		return kernel.ProjectAccess{}, errNoScope
	}
	key := grantKey{subject, id}
	if !g.remembers(key) {
		if err := g.repo.Visible(ctx, subject, id); err != nil {
			return kernel.ProjectAccess{}, err
		}
		g.remember(key)
	}
	return kernel.GrantProjectAccess(subject, id), nil
}

func (g *Gate) remembers(key grantKey) bool {
	if g.ttl <= 0 {
		return false
	}
	now := g.clock.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	until, ok := g.yes[key]
	return ok && now.Before(until)
}

func (g *Gate) remember(key grantKey) {
	if g.ttl <= 0 {
		return
	}
	now := g.clock.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.yes) >= g.max {
		for k, until := range g.yes {
			if !now.Before(until) {
				delete(g.yes, k)
			}
		}
		if len(g.yes) >= g.max {
			clear(g.yes) // full of live answers: start over rather than grow
		}
	}
	g.yes[key] = now.Add(g.ttl)
}

// forget drops what the gate remembers about the access's project.
func (g *Gate) forget(access kernel.ProjectAccess) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.yes, grantKey{access.Subject(), access.Project()})
}
