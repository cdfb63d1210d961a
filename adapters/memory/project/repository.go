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

// Repository is two maps guarded by a mutex.
type Repository struct {
	mu      sync.Mutex
	byID    map[kernel.ProjectID]*project.Project
	members map[kernel.ProjectID]map[kernel.Subject]*project.Member
	keys    map[kernel.KeyID]*project.Key
}

var _ ports.Repository = (*Repository)(nil)

// NewRepository returns an empty repository.
func NewRepository() *Repository {
	return &Repository{byID: map[kernel.ProjectID]*project.Project{}, members: map[kernel.ProjectID]map[kernel.Subject]*project.Member{},
		keys: map[kernel.KeyID]*project.Key{}}
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
	r.members[p.ID()] = map[kernel.Subject]*project.Member{owner: project.NewMember(p.ID(), owner, project.RoleOwner, p.CreatedAt())}
	return nil
}

func (r *Repository) live(id kernel.ProjectID) (*project.Project, bool) {
	p, ok := r.byID[id]
	if !ok || p.IsDeleted() {
		return nil, false
	}
	return p, true
}

// Role reads subject's role in the live project id.
func (r *Repository) Role(_ context.Context, subject kernel.Subject, id kernel.ProjectID) (project.Role, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.members[id][subject]
	if _, live := r.live(id); !live || !ok {
		return "", project.ErrNotFound
	}
	return m.Role(), nil
}

// Get returns the live project the access is for.
func (r *Repository) Get(_ context.Context, access kernel.ProjectAccess) (*project.Project, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.live(access.Project())
	if !ok {
		return nil, project.ErrNotFound
	}
	return clone(p), nil
}

// List returns one page of subject's live projects, newest first.
func (r *Repository) List(_ context.Context, subject kernel.Subject, q ports.ListQuery) (ports.Page, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var all []ports.Membership
	for id, p := range r.byID {
		m, ok := r.members[id][subject]
		if ok && !p.IsDeleted() && (q.Role == "" || q.Role == m.Role()) {
			all = append(all, ports.Membership{Project: p, Role: m.Role()})
		}
	}
	sort.Slice(all, func(i, j int) bool { return less(key(all[j].Project), key(all[i].Project)) })
	var page ports.Page
	for _, m := range all {
		if q.After != nil && !less(key(m.Project), *q.After) {
			continue
		}
		if len(page.Items) == q.Limit {
			next := key(page.Items[len(page.Items)-1].Project)
			page.Next = &next
			break
		}
		page.Items = append(page.Items, ports.Membership{Project: clone(m.Project), Role: m.Role})
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
	id := access.Project()
	r.mu.Lock()
	defer r.mu.Unlock()
	stored, ok := r.live(id)
	if !ok {
		return nil, project.ErrNotFound
	}
	p := clone(stored)
	if err := fn(p); err != nil {
		return nil, err
	}
	if !p.IsDeleted() && r.nameTaken(p.Owner(), p.Name(), id) {
		return nil, project.ErrNameTaken
	}
	r.byID[id] = clone(p)
	return clone(p), nil
}

func cloneMember(m *project.Member) *project.Member {
	c := *m
	return &c
}

// Members returns one page of the project's members, by subject.
func (r *Repository) Members(_ context.Context, access kernel.ProjectAccess, q ports.MemberQuery) (ports.MemberPage, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var all []*project.Member
	for s, m := range r.members[access.Project()] {
		if q.After == nil || s.String() > q.After.String() {
			all = append(all, m)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Subject().String() < all[j].Subject().String() })
	var page ports.MemberPage
	if len(all) > q.Limit {
		all = all[:q.Limit]
		last := all[len(all)-1].Subject()
		page.Next = &last
	}
	for _, m := range all {
		page.Items = append(page.Items, cloneMember(m))
	}
	return page, nil
}

// AddMember stores m in the live project.
func (r *Repository) AddMember(_ context.Context, access kernel.ProjectAccess, m *project.Member) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.live(access.Project()); !ok {
		return project.ErrNotFound
	}
	if _, ok := r.members[access.Project()][m.Subject()]; ok {
		return project.ErrMemberExists
	}
	r.members[access.Project()][m.Subject()] = cloneMember(m)
	return nil
}

func (r *Repository) member(id kernel.ProjectID, subject kernel.Subject) (*project.Member, error) {
	if _, ok := r.live(id); !ok {
		return nil, project.ErrNotFound
	}
	m, ok := r.members[id][subject]
	if !ok {
		return nil, project.ErrMemberNotFound
	}
	return cloneMember(m), nil
}

// UpdateMember applies fn to subject's membership under the lock.
func (r *Repository) UpdateMember(_ context.Context, access kernel.ProjectAccess, subject kernel.Subject, fn func(m *project.Member) error) (*project.Member, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, err := r.member(access.Project(), subject)
	if err != nil {
		return nil, err
	}
	if err := fn(m); err != nil {
		return nil, err
	}
	r.members[access.Project()][subject] = cloneMember(m)
	return m, nil
}

// RemoveMember deletes subject's membership once fn agrees.
func (r *Repository) RemoveMember(_ context.Context, access kernel.ProjectAccess, subject kernel.Subject, fn func(m *project.Member) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, err := r.member(access.Project(), subject)
	if err != nil {
		return err
	}
	if err := fn(m); err != nil {
		return err
	}
	delete(r.members[access.Project()], subject)
	return nil
}

// Transfer applies fn to the project and both memberships under the lock.
func (r *Repository) Transfer(_ context.Context, access kernel.ProjectAccess, next kernel.Subject, fn func(p *project.Project, owner, next *project.Member) error) (*project.Project, error) {
	id := access.Project()
	r.mu.Lock()
	defer r.mu.Unlock()
	stored, ok := r.live(id)
	if !ok {
		return nil, project.ErrNotFound
	}
	p := clone(stored)
	owner, err := r.member(id, p.Owner())
	if err != nil {
		return nil, err
	}
	heir, err := r.member(id, next)
	if err != nil {
		return nil, err
	}
	if err := fn(p, owner, heir); err != nil {
		return nil, err
	}
	if r.nameTaken(p.Owner(), p.Name(), id) {
		return nil, project.ErrNameTaken
	}
	r.byID[id] = clone(p)
	r.members[id][owner.Subject()] = cloneMember(owner)
	r.members[id][heir.Subject()] = cloneMember(heir)
	return clone(p), nil
}

func cloneKey(k *project.Key) *project.Key {
	return project.RehydrateKey(k.ID(), k.Project(), k.Name(), k.Permissions(), append([]byte(nil), k.Digest()...),
		k.CreatedBy(), k.CreatedAt(), k.ExpiresAt(), k.RevokedAt())
}

// AddKey stores k in the live project.
func (r *Repository) AddKey(_ context.Context, access kernel.ProjectAccess, k *project.Key) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.live(access.Project()); !ok {
		return project.ErrNotFound
	}
	if k.Project() != access.Project() {
		return errors.New("project repository: key of another project than the scope")
	}
	r.keys[k.ID()] = cloneKey(k)
	return nil
}

// Keys returns one page of the project's keys, newest first.
func (r *Repository) Keys(_ context.Context, access kernel.ProjectAccess, q ports.KeyQuery) (ports.KeyPage, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	keyOf := func(k *project.Key) kernel.Cursor { return kernel.Cursor{At: k.CreatedAt(), ID: k.ID().UUID()} }
	var all []*project.Key
	for _, k := range r.keys {
		if k.Project() == access.Project() && (q.After == nil || less(keyOf(k), *q.After)) {
			all = append(all, k)
		}
	}
	sort.Slice(all, func(i, j int) bool { return less(keyOf(all[j]), keyOf(all[i])) })
	var page ports.KeyPage
	if len(all) > q.Limit {
		all = all[:q.Limit]
		next := keyOf(all[len(all)-1])
		page.Next = &next
	}
	for _, k := range all {
		page.Items = append(page.Items, cloneKey(k))
	}
	return page, nil
}

// UpdateKey applies fn to the key id of the access's project.
func (r *Repository) UpdateKey(_ context.Context, access kernel.ProjectAccess, id kernel.KeyID, fn func(k *project.Key) error) (*project.Key, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	stored, ok := r.keys[id]
	if !ok || stored.Project() != access.Project() {
		return nil, project.ErrKeyNotFound
	}
	k := cloneKey(stored)
	if err := fn(k); err != nil {
		return nil, err
	}
	r.keys[id] = cloneKey(k)
	return k, nil
}

// Key returns the key id, if its project is live.
func (r *Repository) Key(_ context.Context, id kernel.KeyID) (*project.Key, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k, ok := r.keys[id]
	if !ok {
		return nil, project.ErrKeyNotFound
	}
	if _, live := r.live(k.Project()); !live {
		return nil, project.ErrKeyNotFound
	}
	return cloneKey(k), nil
}
