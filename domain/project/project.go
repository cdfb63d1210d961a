// Package project is the project aggregate: a named space owned by one subject.
package project

import (
	"strings"
	"time"

	"github.com/scoped-api/foundation/domain/kernel"
)

// Limits on a project's fields, in characters (not bytes).
const (
	MaxNameLength        = 200
	MaxDescriptionLength = 2000
)

// Errors a caller can act on. Compare with errors.Is.
var (
	ErrNotFound  = kernel.NotFound("project.not_found", "project not found")
	ErrNameTaken = kernel.Conflict("project.name_taken", "a project with this name already exists")
	ErrDeleted   = kernel.Conflict("project.deleted", "project is deleted")
)

// Project is a named space owned by one subject. Everything else in the
// product is scoped to a project.
type Project struct {
	id          kernel.ProjectID
	owner       kernel.Subject
	name        string
	description string
	createdAt   time.Time
	updatedAt   time.Time
	deletedAt   *time.Time
	version     kernel.Version
}

// New creates a project after checking every field; all failures are
// reported together.
func New(id kernel.ProjectID, owner kernel.Subject, name, description string, now time.Time) (*Project, error) {
	if id.IsZero() || owner.IsZero() {
		return nil, kernel.Invalid("project.scope_missing", "a project needs an id and an owner")
	}
	name = strings.TrimSpace(name)
	var fields []kernel.FieldError
	if f, ok := checkName(name); !ok {
		fields = append(fields, f)
	}
	if f, ok := checkDescription(description); !ok {
		fields = append(fields, f)
	}
	if len(fields) > 0 {
		return nil, invalid(fields...)
	}
	now = kernel.Timestamp(now)
	return &Project{id: id, owner: owner, name: name, description: description, createdAt: now, updatedAt: now}, nil
}

// Rehydrate rebuilds a project from storage without re-running creation
// rules (stored rows were valid when written).
func Rehydrate(id kernel.ProjectID, owner kernel.Subject, name, description string, createdAt, updatedAt time.Time, deletedAt *time.Time, version kernel.Version) *Project {
	return &Project{id: id, owner: owner, name: name, description: description, createdAt: createdAt, updatedAt: updatedAt, deletedAt: deletedAt, version: version}
}

// Change is a partial update; nil fields stay as they are.
type Change struct {
	Name        *string
	Description *string
}

// Apply changes the name and/or description, validating both before
// changing either; a change that changes nothing keeps the version.
func (p *Project) Apply(c Change, now time.Time) error {
	if p.deletedAt != nil {
		return ErrDeleted
	}
	var fields []kernel.FieldError
	name := p.name
	if c.Name != nil {
		name = strings.TrimSpace(*c.Name)
		if f, ok := checkName(name); !ok {
			fields = append(fields, f)
		}
	}
	description := p.description
	if c.Description != nil {
		description = *c.Description
		if f, ok := checkDescription(description); !ok {
			fields = append(fields, f)
		}
	}
	if len(fields) > 0 {
		return invalid(fields...)
	}
	if name == p.name && description == p.description {
		return nil
	}
	p.name, p.description = name, description
	p.updatedAt = kernel.Timestamp(now)
	p.version++
	return nil
}

// Delete marks the project deleted; the record is kept.
func (p *Project) Delete(now time.Time) error {
	if p.deletedAt != nil {
		return ErrDeleted
	}
	at := kernel.Timestamp(now)
	p.deletedAt = &at
	p.updatedAt = at
	p.version++
	return nil
}

func (p *Project) ID() kernel.ProjectID  { return p.id }
func (p *Project) Owner() kernel.Subject { return p.owner }
func (p *Project) Name() string          { return p.name }
func (p *Project) Description() string   { return p.description }
func (p *Project) CreatedAt() time.Time  { return p.createdAt }
func (p *Project) UpdatedAt() time.Time  { return p.updatedAt }
func (p *Project) DeletedAt() *time.Time { return p.deletedAt }
func (p *Project) IsDeleted() bool       { return p.deletedAt != nil }

// Version counts the project's saved changes; conditional writes name it.
func (p *Project) Version() kernel.Version { return p.version }

var (
	nameRule        = kernel.Text{Field: "name", Max: MaxNameLength, Required: true}
	descriptionRule = kernel.Text{Field: "description", Max: MaxDescriptionLength, Multiline: true}
)

func checkName(name string) (kernel.FieldError, bool) { return nameRule.Check(name) }

func checkDescription(d string) (kernel.FieldError, bool) { return descriptionRule.Check(d) }

func invalid(fields ...kernel.FieldError) error {
	return kernel.Invalid("project.invalid", "the project is not valid", fields...)
}
