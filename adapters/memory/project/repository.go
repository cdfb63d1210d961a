// Package project stores projects in memory: a real adapter of the port for
// fast tests of the application layer.
package project

import (
	"bytes"
	"context"
	"errors"
	"sort"
	"sync"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/project"
	ports "github.com/scoped-api/foundation/ports/project"
)

// Repository is a map guarded by a mutex.
type Repository struct {
	mu   sync.Mutex
	byID map[kernel.ProjectID]*project.Project
}

var _ ports.Repository = (*Repository)(nil)

// NewRepository returns an empty repository.
func NewRepository() *Repository {
	return &Repository{byID: map[kernel.ProjectID]*project.Project{}}
}

var errOwnerMismatch = errors.New("project repository: project owner differs from the scope")

// clone keeps callers from changing stored state without Update.
func clone(p *project.Project) *project.Project {
	c := *p
	if d := p.DeletedAt(); d != nil {
		v := *d
		return project.Rehydrate(c.ID(), c.Owner(), c.Name(), c.Description(), c.CreatedAt(), c.UpdatedAt(), &v, c.Version())
	}
	return &c
}

func (r *Repository) nameTaken(owner kernel.Subject, name string, except kernel.ProjectID) bool {
	for id, p := range r.byID {
		if id != except && p.Owner() == owner && !p.IsDeleted() && p.Name() == name {
			return true
		}
	}
	return false
}

// Add stores p.
func (r *Repository) Add(_ context.Context, owner kernel.Subject, p *project.Project) error {
	if p.Owner() != owner {
		return errOwnerMismatch
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, exists := r.byID[p.ID()]; exists {
		return errors.New("project repository: duplicate id")
	}
	if r.nameTaken(owner, p.Name(), p.ID()) {
		return project.ErrNameTaken
	}
	r.byID[p.ID()] = clone(p)
	return nil
}

func (r *Repository) live(owner kernel.Subject, id kernel.ProjectID) (*project.Project, bool) {
	p, ok := r.byID[id]
	if !ok || p.Owner() != owner || p.IsDeleted() {
		return nil, false
	}
	return p, true
}

// Visible reports whether id is a live project of owner.
func (r *Repository) Visible(_ context.Context, owner kernel.Subject, id kernel.ProjectID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.live(owner, id); !ok {
		return project.ErrNotFound
	}
	return nil
}

// Get returns the live project the access is for.
func (r *Repository) Get(_ context.Context, access kernel.ProjectAccess) (*project.Project, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.live(access.Subject(), access.Project())
	if !ok {
		return nil, project.ErrNotFound
	}
	return clone(p), nil
}

// List returns one page of owner's live projects, newest first.
func (r *Repository) List(_ context.Context, owner kernel.Subject, q ports.ListQuery) (ports.Page, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var all []*project.Project
	for _, p := range r.byID {
		if p.Owner() == owner && !p.IsDeleted() {
			all = append(all, p)
		}
	}
	sort.Slice(all, func(i, j int) bool { return less(key(all[j]), key(all[i])) })
	var page ports.Page
	for _, p := range all {
		if q.After != nil && !less(key(p), *q.After) {
			continue
		}
		if len(page.Items) == q.Limit {
			next := key(page.Items[len(page.Items)-1])
			page.Next = &next
			break
		}
		page.Items = append(page.Items, clone(p))
	}
	return page, nil
}

func key(p *project.Project) kernel.Cursor {
	return kernel.Cursor{At: p.CreatedAt(), ID: p.ID().UUID()}
}

// less orders keyset positions by (time, id) ascending.
func less(a, b kernel.Cursor) bool {
	if !a.At.Equal(b.At) {
		return a.At.Before(b.At)
	}
	return bytes.Compare(a.ID[:], b.ID[:]) < 0
}

// Update applies fn to the live project the access is for, under the lock.
func (r *Repository) Update(_ context.Context, access kernel.ProjectAccess, fn func(p *project.Project) error) (*project.Project, error) {
	owner, id := access.Subject(), access.Project()
	r.mu.Lock()
	defer r.mu.Unlock()
	stored, ok := r.live(owner, id)
	if !ok {
		return nil, project.ErrNotFound
	}
	p := clone(stored)
	if err := fn(p); err != nil {
		return nil, err
	}
	if !p.IsDeleted() && r.nameTaken(owner, p.Name(), id) {
		return nil, project.ErrNameTaken
	}
	r.byID[id] = clone(p)
	return clone(p), nil
}
