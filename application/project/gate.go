package project

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/project"
	ports "github.com/scoped-api/foundation/ports/project"
	"github.com/scoped-api/foundation/ports/shared"
)

// Gate is the project context's answer to shared.ProjectGate: the one
// place that decides whether a caller may act in a project and what their
// role lets them do there, and the only code that mints
// kernel.ProjectAccess.
//
// It remembers a member's permissions for the cache TTL, per caller and
// project: a project never becomes visible to someone else through the
// cache. A change of membership on this instance (a role changed, a
// member removed, ownership transferred, the project deleted) is
// forgotten at once, and a removal or deletion closes what Revoked handed
// out; on another instance it takes effect after at most the TTL.
type Gate struct {
	repo  ports.Repository
	clock shared.Clock
	ttl   time.Duration
	max   int
	// keys answers for project keys' subjects; NewKeys sets it.
	keys *Keys

	mu       sync.Mutex
	yes      map[grantKey]grant
	watchers map[grantKey]map[*watcher]struct{}
}

var _ shared.ProjectGate = (*Gate)(nil)

type grantKey struct {
	subject kernel.Subject
	project kernel.ProjectID
}

type grant struct {
	may   kernel.Permission
	until time.Time
}

type watcher struct {
	once sync.Once
	ch   chan struct{}
}

func (w *watcher) fire() { w.once.Do(func() { close(w.ch) }) }

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
	return &Gate{
		repo: repo, clock: clock, ttl: s.CacheTTL, max: max(s.CacheEntries, 1),
		yes: map[grantKey]grant{}, watchers: map[grantKey]map[*watcher]struct{}{},
	}
}

// Access grants subject what their role allows in the live project id;
// it is project.ErrNotFound when they are not a member.
func (g *Gate) Access(ctx context.Context, subject kernel.Subject, id kernel.ProjectID) (kernel.ProjectAccess, error) {
	return g.access(ctx, subject, id, g.ttl)
}

// Recheck asks again for an access granted earlier, with an answer at
// most maxAge old: a long-lived stream's way to notice a removal made on
// another instance.
func (g *Gate) Recheck(ctx context.Context, access kernel.ProjectAccess, maxAge time.Duration) (kernel.ProjectAccess, error) {
	return g.access(ctx, access.Subject(), access.Project(), min(maxAge, g.ttl))
}

func (g *Gate) access(ctx context.Context, subject kernel.Subject, id kernel.ProjectID, maxAge time.Duration) (kernel.ProjectAccess, error) {
	if subject.IsZero() || id.IsZero() {
		return kernel.ProjectAccess{}, errNoScope
	}
	key := grantKey{subject, id}
	may, ok := g.remembered(key, maxAge)
	if !ok {
		var err error
		may, err = g.ask(ctx, subject, id)
		if errors.Is(err, project.ErrNotFound) {
			g.forget(subject, id) // a fresher answer than the one remembered
		}
		if err != nil {
			return kernel.ProjectAccess{}, err
		}
		g.remember(key, may)
	}
	return kernel.GrantProjectAccess(subject, id, may), nil
}

// ask is the question behind a cache miss: a person's role, or a key's
// own permissions in its one project.
func (g *Gate) ask(ctx context.Context, subject kernel.Subject, id kernel.ProjectID) (kernel.Permission, error) {
	if keyID, isKey := subject.Key(); isKey {
		if g.keys == nil {
			return 0, project.ErrNotFound
		}
		return g.keys.permissions(ctx, keyID, id)
	}
	role, err := g.repo.Role(ctx, subject, id)
	if err != nil {
		return 0, err
	}
	return role.Permissions(), nil
}

// Revoked is closed when this instance ends the access's subject's
// membership of its project, or deletes the project; stop releases it.
func (g *Gate) Revoked(access kernel.ProjectAccess) (revoked <-chan struct{}, stop func()) {
	key := grantKey{access.Subject(), access.Project()}
	w := &watcher{ch: make(chan struct{})}
	g.mu.Lock()
	set := g.watchers[key]
	if set == nil {
		set = map[*watcher]struct{}{}
		g.watchers[key] = set
	}
	set[w] = struct{}{}
	g.mu.Unlock()
	return w.ch, func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if set := g.watchers[key]; set != nil {
			delete(set, w)
			if len(set) == 0 {
				delete(g.watchers, key)
			}
		}
	}
}

func (g *Gate) remembered(key grantKey, maxAge time.Duration) (kernel.Permission, bool) {
	if maxAge <= 0 {
		return 0, false
	}
	now := g.clock.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	got, ok := g.yes[key]
	// An entry is g.ttl old when it expires: younger than maxAge means
	// it expires later than g.ttl-maxAge from now.
	if !ok || !now.Before(got.until) || got.until.Sub(now) <= g.ttl-maxAge {
		return 0, false
	}
	return got.may, true
}

func (g *Gate) remember(key grantKey, may kernel.Permission) {
	if g.ttl <= 0 {
		return
	}
	now := g.clock.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.yes) >= g.max {
		for k, got := range g.yes {
			if !now.Before(got.until) {
				delete(g.yes, k)
			}
		}
		if len(g.yes) >= g.max {
			clear(g.yes) // full of live answers: start over rather than grow
		}
	}
	g.yes[key] = grant{may: may, until: now.Add(g.ttl)}
}

// forget drops what the gate remembers of subject in project: their
// role changed.
func (g *Gate) forget(subject kernel.Subject, project kernel.ProjectID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.yes, grantKey{subject, project})
}

// revoke forgets subject in project and tells whoever watches that
// access: they are no longer a member.
func (g *Gate) revoke(subject kernel.Subject, project kernel.ProjectID) {
	key := grantKey{subject, project}
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.yes, key)
	for w := range g.watchers[key] {
		w.fire()
	}
}

// forgetProject drops everything the gate remembers of project and tells
// whoever watches it: it was deleted.
func (g *Gate) forgetProject(project kernel.ProjectID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for k := range g.yes {
		if k.project == project {
			delete(g.yes, k)
		}
	}
	for k, set := range g.watchers {
		if k.project == project {
			for w := range set {
				w.fire()
			}
		}
	}
}
