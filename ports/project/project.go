// Package project declares what the project context needs: its repository.
package project

import (
	"context"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/project"
)

// Repository stores projects and their members. A method that creates or
// lists takes the caller right after the context; one that reads or
// changes a project takes the access the gate granted to it. There is
// deliberately no way to load a project by id alone, and a project the
// caller is not a member of is reported as project.ErrNotFound.
type Repository interface {
	// Add stores a new project and its owner as its one member; a live
	// project of the same owner with the same name is project.ErrNameTaken.
	Add(ctx context.Context, owner kernel.Subject, p *project.Project) error
	// Role is the gate's question: subject's role in the live project id,
	// or project.ErrNotFound when it is not live or they are no member.
	Role(ctx context.Context, subject kernel.Subject, id kernel.ProjectID) (project.Role, error)
	// Get returns the live project the access is for.
	Get(ctx context.Context, access kernel.ProjectAccess) (*project.Project, error)
	// List returns the live projects subject is a member of, newest
	// first, after the cursor, with subject's role in each.
	List(ctx context.Context, subject kernel.Subject, q ListQuery) (Page, error)
	// Update loads the live project the access is for, locks it, lets fn
	// change it and saves the result in one transaction. fn sees the
	// stored project, its Version included, and nobody else can change it
	// before the save: a conditional write checks the version inside fn.
	// An error from fn aborts the save; the saved project has the version
	// fn's change gave it.
	Update(ctx context.Context, access kernel.ProjectAccess, fn func(p *project.Project) error) (*project.Project, error)

	// Members returns one page of the project's members, by subject.
	Members(ctx context.Context, access kernel.ProjectAccess, q MemberQuery) (MemberPage, error)
	// AddMember stores m in the live project; a subject that is already
	// a member is project.ErrMemberExists.
	AddMember(ctx context.Context, access kernel.ProjectAccess, m *project.Member) error
	// UpdateMember loads subject's membership of the live project, lets
	// fn change it and saves it in one transaction (project.ErrMemberNotFound
	// when there is none).
	UpdateMember(ctx context.Context, access kernel.ProjectAccess, subject kernel.Subject, fn func(m *project.Member) error) (*project.Member, error)
	// RemoveMember deletes subject's membership once fn, shown it, agrees.
	RemoveMember(ctx context.Context, access kernel.ProjectAccess, subject kernel.Subject, fn func(m *project.Member) error) error
	// Transfer locks the live project, its owner's membership and next's,
	// lets fn change the three and saves them in one transaction
	// (project.ErrMemberNotFound when next is no member; project.ErrNameTaken
	// when next already owns a live project of that name).
	Transfer(ctx context.Context, access kernel.ProjectAccess, next kernel.Subject, fn func(p *project.Project, owner, next *project.Member) error) (*project.Project, error)

	// AddKey stores k in the live project.
	AddKey(ctx context.Context, access kernel.ProjectAccess, k *project.Key) error
	// Keys returns one page of the project's keys, newest first, revoked ones included.
	Keys(ctx context.Context, access kernel.ProjectAccess, q KeyQuery) (KeyPage, error)
	// UpdateKey loads the key id of the access's project, lets fn change
	// it and saves it in one transaction (project.ErrKeyNotFound when there is none).
	UpdateKey(ctx context.Context, access kernel.ProjectAccess, id kernel.KeyID, fn func(k *project.Key) error) (*project.Key, error)
	// Key is the key authenticator's question, asked before any access
	// exists: the key id of a live project, or project.ErrKeyNotFound.
	Key(ctx context.Context, id kernel.KeyID) (*project.Key, error)
}

// KeyQuery selects one page of keys. Limit is already within 1..kernel.MaxPageLimit.
type KeyQuery struct {
	Limit int
	After *kernel.Cursor
}

// KeyPage is one page of keys; Next is nil on the last page.
type KeyPage struct {
	Items []*project.Key
	Next  *kernel.Cursor
}

// ListQuery selects one page. Limit is already within 1..kernel.MaxPageLimit;
// a non-empty Role keeps only the projects where the caller has that role.
type ListQuery struct {
	Limit int
	After *kernel.Cursor
	Role  project.Role
}

// Page is one page of projects; Next is nil on the last page.
type Page struct {
	Items []Membership
	Next  *kernel.Cursor
}

// Membership is a project as one of its members sees it.
type Membership struct {
	Project *project.Project
	Role    project.Role
}

// MemberQuery selects one page of members, ordered by subject; After is
// the last subject of the previous page.
type MemberQuery struct {
	Limit int
	After *kernel.Subject
}

// MemberPage is one page of members; Next is nil on the last page.
type MemberPage struct {
	Items []*project.Member
	Next  *kernel.Subject
}
