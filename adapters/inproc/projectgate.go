// Package inproc holds the anti-corruption adapters through which one
// bounded context calls another inside the process. It is the only
// package that may touch two contexts.
package inproc

import (
	"context"
	"sync"
	"time"

	"github.com/scoped-api/foundation/domain/kernel"
	portsproject "github.com/scoped-api/foundation/ports/project"
	"github.com/scoped-api/foundation/ports/shared"
)

// ProjectGate answers shared.ProjectGate with the project context's use cases.
type ProjectGate struct {
	projects portsproject.Service
	cache    *VisibilityCache
}

var _ shared.ProjectGate = (*ProjectGate)(nil)

// NewProjectGate adapts the project use cases; every question is asked.
func NewProjectGate(projects portsproject.Service) *ProjectGate {
	return &ProjectGate{projects: projects}
}

// NewCachedProjectGate adapts the project use cases and remembers, for the
// cache's TTL, that a subject may see a project. Only "yes" is remembered,
// per subject: a project never becomes visible to someone else through the
// cache; a project its owner deletes on this instance is forgotten at once
// (ForgetDeleted), on another instance after at most the TTL.
func NewCachedProjectGate(projects portsproject.Service, cache *VisibilityCache) *ProjectGate {
	return &ProjectGate{projects: projects, cache: cache}
}

// Visible returns nil when subject owns the live project id; the project
// context's not-found error otherwise.
func (g *ProjectGate) Visible(ctx context.Context, subject kernel.Subject, id kernel.ProjectID) error {
	if g.cache.has(subject, id) {
		return nil
	}
	if _, err := g.projects.GetProject(ctx, subject, id); err != nil {
		return err
	}
	g.cache.remember(subject, id)
	return nil
}

// VisibilityCache remembers recent "yes" answers of the gate. A nil or
// zero-TTL cache remembers nothing.
type VisibilityCache struct {
	ttl time.Duration
	max int
	mu  sync.Mutex
	m   map[visibilityKey]time.Time
}

type visibilityKey struct {
	subject kernel.Subject
	project kernel.ProjectID
}

// NewVisibilityCache keeps answers for ttl, at most capacity of them.
func NewVisibilityCache(ttl time.Duration, capacity int) *VisibilityCache {
	return &VisibilityCache{ttl: ttl, max: capacity, m: map[visibilityKey]time.Time{}}
}

func (c *VisibilityCache) has(subject kernel.Subject, id kernel.ProjectID) bool {
	if c == nil || c.ttl <= 0 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	until, ok := c.m[visibilityKey{subject, id}]
	return ok && time.Now().Before(until)
}

func (c *VisibilityCache) remember(subject kernel.Subject, id kernel.ProjectID) {
	if c == nil || c.ttl <= 0 {
		return
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k, until := range c.m {
			if now.After(until) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= c.max {
			c.m = map[visibilityKey]time.Time{} // full of live answers: start over rather than grow
		}
	}
	c.m[visibilityKey{subject, id}] = now.Add(c.ttl)
}

func (c *VisibilityCache) forget(subject kernel.Subject, id kernel.ProjectID) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, visibilityKey{subject, id})
}

// ForgetDeleted passes the project use cases through and drops a deleted
// project from the cache, so that this instance stops seeing it at once.
type ForgetDeleted struct {
	portsproject.Service
	cache *VisibilityCache
}

// NewForgetDeleted wraps projects.
func NewForgetDeleted(projects portsproject.Service, cache *VisibilityCache) *ForgetDeleted {
	return &ForgetDeleted{Service: projects, cache: cache}
}

// DeleteProject deletes, then forgets.
func (f *ForgetDeleted) DeleteProject(ctx context.Context, owner kernel.Subject, id kernel.ProjectID) error {
	err := f.Service.DeleteProject(ctx, owner, id)
	f.cache.forget(owner, id)
	return err
}
