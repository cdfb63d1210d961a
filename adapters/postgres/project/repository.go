// Package project stores projects with GORM on PostgreSQL or SQLite.
package project

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"io/fs"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/scoped-api/foundation/adapters/postgres"
	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/project"
	ports "github.com/scoped-api/foundation/ports/project"
)

//go:embed migrations
var migrations embed.FS

// Migrations returns the project context's schema migrations.
func Migrations() postgres.MigrationSet {
	pg, _ := fs.Sub(migrations, "migrations/postgres")
	lite, _ := fs.Sub(migrations, "migrations/sqlite")
	return postgres.MigrationSet{Context: "project", Postgres: pg, SQLite: lite}
}

// Repository stores projects in the projects table.
type Repository struct{ db *gorm.DB }

var _ ports.Repository = (*Repository)(nil)

// NewRepository returns a repository over db.
func NewRepository(db *postgres.DB) *Repository { return &Repository{db: db.Gorm} }

type row struct {
	ID          uuid.UUID  `gorm:"column:id;primaryKey"`
	Owner       string     `gorm:"column:owner"`
	Name        string     `gorm:"column:name"`
	Description string     `gorm:"column:description"`
	CreatedAt   time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt   time.Time  `gorm:"column:updated_at;autoUpdateTime:false"`
	DeletedAt   *time.Time `gorm:"column:deleted_at"`
	Version     int64      `gorm:"column:version"`
}

func (row) TableName() string { return "projects" }

func toRow(p *project.Project) row {
	return row{
		ID:          p.ID().UUID(),
		Owner:       p.Owner().String(),
		Name:        p.Name(),
		Description: p.Description(),
		CreatedAt:   p.CreatedAt(),
		UpdatedAt:   p.UpdatedAt(),
		DeletedAt:   p.DeletedAt(),
		Version:     int64(p.Version()),
	}
}

func toDomain(r row) *project.Project {
	owner, _ := kernel.ParseSubject(r.Owner) // rows are written from parsed subjects
	var deleted *time.Time
	if r.DeletedAt != nil {
		d := r.DeletedAt.UTC()
		deleted = &d
	}
	return project.Rehydrate(kernel.ProjectIDFrom(r.ID), owner, r.Name, r.Description, r.CreatedAt.UTC(), r.UpdatedAt.UTC(), deleted, kernel.Version(r.Version))
}

// errOwnerMismatch guards against a caller passing one owner as the scope
// and a project of another.
var errOwnerMismatch = errors.New("project repository: project owner differs from the scope")

// errChangedUnderLock means the locked row changed before the save: the
// lock did not hold, and the save is refused rather than lost.
var errChangedUnderLock = errors.New("project repository: the locked row changed before the save")

type memberRow struct {
	ProjectID        uuid.UUID `gorm:"column:project_id;primaryKey"`
	Subject          string    `gorm:"column:subject;primaryKey"`
	Role             string    `gorm:"column:role"`
	ProjectCreatedAt time.Time `gorm:"column:project_created_at"`
	CreatedAt        time.Time `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt        time.Time `gorm:"column:updated_at;autoUpdateTime:false"`
}

func (memberRow) TableName() string { return "project_members" }

func memberToDomain(r memberRow) *project.Member {
	subject, _ := kernel.ParseSubject(r.Subject) // rows are written from parsed subjects
	return project.RehydrateMember(kernel.ProjectIDFrom(r.ProjectID), subject, project.Role(r.Role), r.CreatedAt.UTC(), r.UpdatedAt.UTC())
}

// Add inserts p and its owner's membership.
func (r *Repository) Add(ctx context.Context, owner kernel.Subject, p *project.Project) error {
	if p.Owner() != owner {
		return errOwnerMismatch
	}
	rw := toRow(p)
	var err error
	if r.db.Dialector.Name() == "postgres" {
		// One statement, not a transaction of two: creating a project is a
		// hot write, and each round trip costs as much as the insert.
		err = postgres.Conn(ctx, r.db).Exec(addWithOwner, rw.ID, rw.Owner, rw.Name, rw.Description,
			rw.CreatedAt, rw.UpdatedAt, rw.Version, string(project.RoleOwner)).Error
	} else {
		err = postgres.InTx(ctx, r.db, func(tx *gorm.DB) error {
			if err := tx.Create(&rw).Error; err != nil {
				return err
			}
			return tx.Create(&memberRow{ProjectID: rw.ID, Subject: rw.Owner, Role: string(project.RoleOwner),
				ProjectCreatedAt: rw.CreatedAt, CreatedAt: rw.CreatedAt, UpdatedAt: rw.CreatedAt}).Error
		})
	}
	if postgres.IsDuplicate(err) {
		return project.ErrNameTaken
	}
	return postgres.Failure("add project", err)
}

// addWithOwner inserts a project and its owner member in one statement
// (PostgreSQL's data-modifying WITH; SQLite has none).
const addWithOwner = `WITH p AS (
	INSERT INTO projects (id, owner, name, description, created_at, updated_at, deleted_at, version)
	VALUES (?, ?, ?, ?, ?, ?, NULL, ?) RETURNING id, owner, created_at)
INSERT INTO project_members (project_id, subject, role, project_created_at, created_at, updated_at)
SELECT id, owner, ?, created_at, created_at, created_at FROM p`

// Role reads subject's role in the live project id.
func (r *Repository) Role(ctx context.Context, subject kernel.Subject, id kernel.ProjectID) (project.Role, error) {
	var role string
	err := postgres.Conn(ctx, r.db).Raw(
		`SELECT m.role FROM project_members m JOIN projects p ON p.id = m.project_id
		 WHERE m.project_id = ? AND m.subject = ? AND p.deleted_at IS NULL`, id.String(), subject.String(),
	).Row().Scan(&role)
	if errors.Is(err, sql.ErrNoRows) {
		return "", project.ErrNotFound
	}
	if err != nil {
		return "", postgres.Failure("find membership", err)
	}
	return project.Role(role), nil
}

// Get loads the live project the access is for. It is the hottest read of
// the API, so it uses a raw statement and scans it directly instead of
// GORM's reflection-based query builder (a third of the cost of the whole call).
func (r *Repository) Get(ctx context.Context, access kernel.ProjectAccess) (*project.Project, error) {
	var rw row
	err := postgres.Conn(ctx, r.db).Raw(
		`SELECT id, owner, name, description, created_at, updated_at, version FROM projects WHERE id = ? AND deleted_at IS NULL`,
		access.Project().String(),
	).Row().Scan(&rw.ID, &rw.Owner, &rw.Name, &rw.Description, &rw.CreatedAt, &rw.UpdatedAt, &rw.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, project.ErrNotFound
	}
	if err != nil {
		return nil, postgres.Failure("get project", err)
	}
	return toDomain(rw), nil
}

// List returns one page of the live projects subject is a member of,
// newest first, walking the membership index.
func (r *Repository) List(ctx context.Context, subject kernel.Subject, q ports.ListQuery) (ports.Page, error) {
	query := `SELECT p.id, p.owner, p.name, p.description, p.created_at, p.updated_at, p.version, m.role
		FROM project_members m JOIN projects p ON p.id = m.project_id
		WHERE m.subject = ? AND p.deleted_at IS NULL`
	args := []any{subject.String()}
	if q.Role != "" {
		query += ` AND m.role = ?`
		args = append(args, string(q.Role))
	}
	if q.After != nil {
		at := q.After.At.UTC()
		query += ` AND (m.project_created_at < ? OR (m.project_created_at = ? AND m.project_id < ?))`
		args = append(args, at, at, q.After.ID.String())
	}
	query += ` ORDER BY m.project_created_at DESC, m.project_id DESC LIMIT ?`
	args = append(args, q.Limit+1)
	rows, err := postgres.Conn(ctx, r.db).Raw(query, args...).Rows()
	if err != nil {
		return ports.Page{}, postgres.Failure("list projects", err)
	}
	defer func() { _ = rows.Close() }()
	type listed struct {
		row
		role string
	}
	var found []listed
	for rows.Next() {
		var l listed
		if err := rows.Scan(&l.ID, &l.Owner, &l.Name, &l.Description, &l.CreatedAt, &l.UpdatedAt, &l.Version, &l.role); err != nil {
			return ports.Page{}, postgres.Failure("list projects", err)
		}
		found = append(found, l)
	}
	if err := rows.Err(); err != nil {
		return ports.Page{}, postgres.Failure("list projects", err)
	}
	var page ports.Page
	found, page.Next = postgres.PageOf(found, q.Limit, func(l listed) (time.Time, uuid.UUID) { return l.CreatedAt, l.ID })
	page.Items = make([]ports.Membership, len(found))
	for i, l := range found {
		page.Items[i] = ports.Membership{Project: toDomain(l.row), Role: project.Role(l.role)}
	}
	return page, nil
}

func (r *Repository) lockLive(tx *gorm.DB, id kernel.ProjectID) (row, error) {
	var rw row
	err := tx.Where("id = ? AND deleted_at IS NULL", id.String()).
		Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).Take(&rw).Error
	if postgres.IsNotFound(err) {
		return rw, project.ErrNotFound
	}
	return rw, err
}

// save writes p over the row locked at version was.
func (r *Repository) save(tx *gorm.DB, p *project.Project, was int64) error {
	next := toRow(p)
	res := tx.Model(&row{}).Where("id = ? AND version = ?", next.ID.String(), was).Updates(map[string]any{
		"owner":       next.Owner,
		"name":        next.Name,
		"description": next.Description,
		"updated_at":  next.UpdatedAt,
		"deleted_at":  next.DeletedAt,
		"version":     next.Version,
	})
	if postgres.IsDuplicate(res.Error) {
		return project.ErrNameTaken
	}
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected != 1 {
		return errChangedUnderLock
	}
	return nil
}

// failure keeps domain errors and names everything else.
func failure(op string, err error) error {
	if err != nil && kernel.KindOf(err) != kernel.KindUnknown {
		return err
	}
	return postgres.Failure(op, err)
}

// Update locks the live project the access is for, applies fn and saves
// it; the save applies only at the version fn saw (under the lock it is
// still the stored one, so a miss is a broken lock, never a lost update).
func (r *Repository) Update(ctx context.Context, access kernel.ProjectAccess, fn func(p *project.Project) error) (*project.Project, error) {
	var out *project.Project
	err := postgres.InTx(ctx, r.db, func(tx *gorm.DB) error {
		rw, err := r.lockLive(tx, access.Project())
		if err != nil {
			return err
		}
		p := toDomain(rw)
		if err := fn(p); err != nil {
			return err
		}
		if err := r.save(tx, p, rw.Version); err != nil {
			return err
		}
		out = p
		return nil
	})
	if err != nil {
		return nil, failure("update project", err)
	}
	return out, nil
}

// Members returns one page of the project's members, by subject.
func (r *Repository) Members(ctx context.Context, access kernel.ProjectAccess, q ports.MemberQuery) (ports.MemberPage, error) {
	tx := postgres.Conn(ctx, r.db).Where("project_id = ?", access.Project().String())
	if q.After != nil {
		tx = tx.Where("subject > ?", q.After.String())
	}
	var rows []memberRow
	if err := tx.Order("subject").Limit(q.Limit + 1).Find(&rows).Error; err != nil {
		return ports.MemberPage{}, postgres.Failure("list members", err)
	}
	var page ports.MemberPage
	if len(rows) > q.Limit {
		rows = rows[:q.Limit]
		last := memberToDomain(rows[len(rows)-1]).Subject()
		page.Next = &last
	}
	page.Items = make([]*project.Member, len(rows))
	for i, rw := range rows {
		page.Items[i] = memberToDomain(rw)
	}
	return page, nil
}

// AddMember inserts m while the project is locked live.
func (r *Repository) AddMember(ctx context.Context, access kernel.ProjectAccess, m *project.Member) error {
	err := postgres.InTx(ctx, r.db, func(tx *gorm.DB) error {
		p, err := r.lockLive(tx, access.Project())
		if err != nil {
			return err
		}
		err = tx.Create(&memberRow{ProjectID: p.ID, Subject: m.Subject().String(), Role: string(m.Role()),
			ProjectCreatedAt: p.CreatedAt, CreatedAt: m.CreatedAt(), UpdatedAt: m.UpdatedAt()}).Error
		if postgres.IsDuplicate(err) {
			return project.ErrMemberExists
		}
		return err
	})
	return failure("add member", err)
}

func (r *Repository) lockMember(tx *gorm.DB, id kernel.ProjectID, subject kernel.Subject) (memberRow, error) {
	var rw memberRow
	err := tx.Where("project_id = ? AND subject = ?", id.String(), subject.String()).
		Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).Take(&rw).Error
	if postgres.IsNotFound(err) {
		return rw, project.ErrMemberNotFound
	}
	return rw, err
}

func (r *Repository) saveMember(tx *gorm.DB, m *project.Member) error {
	return tx.Model(&memberRow{}).Where("project_id = ? AND subject = ?", m.Project().String(), m.Subject().String()).
		Updates(map[string]any{"role": string(m.Role()), "updated_at": m.UpdatedAt()}).Error
}

// UpdateMember locks the live project and subject's membership, applies fn and saves it.
func (r *Repository) UpdateMember(ctx context.Context, access kernel.ProjectAccess, subject kernel.Subject, fn func(m *project.Member) error) (*project.Member, error) {
	var out *project.Member
	err := postgres.InTx(ctx, r.db, func(tx *gorm.DB) error {
		if _, err := r.lockLive(tx, access.Project()); err != nil {
			return err
		}
		rw, err := r.lockMember(tx, access.Project(), subject)
		if err != nil {
			return err
		}
		m := memberToDomain(rw)
		if err := fn(m); err != nil {
			return err
		}
		out = m
		return r.saveMember(tx, m)
	})
	if err != nil {
		return nil, failure("change member", err)
	}
	return out, nil
}

// RemoveMember locks the live project and subject's membership, and
// deletes it once fn agrees.
func (r *Repository) RemoveMember(ctx context.Context, access kernel.ProjectAccess, subject kernel.Subject, fn func(m *project.Member) error) error {
	err := postgres.InTx(ctx, r.db, func(tx *gorm.DB) error {
		if _, err := r.lockLive(tx, access.Project()); err != nil {
			return err
		}
		rw, err := r.lockMember(tx, access.Project(), subject)
		if err != nil {
			return err
		}
		if err := fn(memberToDomain(rw)); err != nil {
			return err
		}
		return tx.Where("project_id = ? AND subject = ?", rw.ProjectID.String(), rw.Subject).Delete(&memberRow{}).Error
	})
	return failure("remove member", err)
}

// Transfer locks the live project and both memberships, applies fn and
// saves the three; the owner is demoted before next is promoted, as the
// one-owner index requires.
func (r *Repository) Transfer(ctx context.Context, access kernel.ProjectAccess, next kernel.Subject, fn func(p *project.Project, owner, next *project.Member) error) (*project.Project, error) {
	var out *project.Project
	err := postgres.InTx(ctx, r.db, func(tx *gorm.DB) error {
		rw, err := r.lockLive(tx, access.Project())
		if err != nil {
			return err
		}
		p := toDomain(rw)
		ownerRow, err := r.lockMember(tx, access.Project(), p.Owner())
		if err != nil {
			return err
		}
		nextRow, err := r.lockMember(tx, access.Project(), next)
		if err != nil {
			return err
		}
		owner, heir := memberToDomain(ownerRow), memberToDomain(nextRow)
		if err := fn(p, owner, heir); err != nil {
			return err
		}
		if err := r.saveMember(tx, owner); err != nil {
			return err
		}
		if err := r.saveMember(tx, heir); err != nil {
			return err
		}
		if err := r.save(tx, p, rw.Version); err != nil {
			return err
		}
		out = p
		return nil
	})
	if err != nil {
		return nil, failure("transfer project", err)
	}
	return out, nil
}

type keyRow struct {
	ID           uuid.UUID  `gorm:"column:id;primaryKey"`
	ProjectID    uuid.UUID  `gorm:"column:project_id"`
	Name         string     `gorm:"column:name"`
	Permissions  string     `gorm:"column:permissions"`
	SecretDigest []byte     `gorm:"column:secret_digest"`
	CreatedBy    string     `gorm:"column:created_by"`
	CreatedAt    time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	ExpiresAt    *time.Time `gorm:"column:expires_at"`
	RevokedAt    *time.Time `gorm:"column:revoked_at"`
}

func (keyRow) TableName() string { return "project_keys" }

func toKeyRow(k *project.Key) keyRow {
	return keyRow{ID: k.ID().UUID(), ProjectID: k.Project().UUID(), Name: k.Name(), Permissions: k.Permissions().String(),
		SecretDigest: k.Digest(), CreatedBy: k.CreatedBy().String(), CreatedAt: k.CreatedAt(), ExpiresAt: k.ExpiresAt(), RevokedAt: k.RevokedAt()}
}

func keyToDomain(r keyRow) *project.Key {
	var may kernel.Permission
	for _, name := range strings.Fields(r.Permissions) {
		p, _ := kernel.ParsePermission(name) // written from the same names
		may |= p
	}
	by, _ := kernel.ParseSubject(r.CreatedBy)
	return project.RehydrateKey(kernel.IDFrom[kernel.KeyKind](r.ID), kernel.ProjectIDFrom(r.ProjectID), r.Name, may, r.SecretDigest,
		by, r.CreatedAt.UTC(), utc(r.ExpiresAt), utc(r.RevokedAt))
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// AddKey inserts k while the project is locked live.
func (r *Repository) AddKey(ctx context.Context, access kernel.ProjectAccess, k *project.Key) error {
	err := postgres.InTx(ctx, r.db, func(tx *gorm.DB) error {
		if _, err := r.lockLive(tx, access.Project()); err != nil {
			return err
		}
		rw := toKeyRow(k)
		rw.ProjectID = access.Project().UUID()
		return tx.Create(&rw).Error
	})
	return failure("add key", err)
}

// Keys returns one page of the project's keys, newest first.
func (r *Repository) Keys(ctx context.Context, access kernel.ProjectAccess, q ports.KeyQuery) (ports.KeyPage, error) {
	var rows []keyRow
	tx := postgres.Conn(ctx, r.db).Where("project_id = ?", access.Project().String())
	if err := postgres.NewestFirst(tx, q.After, q.Limit).Find(&rows).Error; err != nil {
		return ports.KeyPage{}, postgres.Failure("list keys", err)
	}
	var page ports.KeyPage
	rows, page.Next = postgres.PageOf(rows, q.Limit, func(r keyRow) (time.Time, uuid.UUID) { return r.CreatedAt, r.ID })
	page.Items = make([]*project.Key, len(rows))
	for i, rw := range rows {
		page.Items[i] = keyToDomain(rw)
	}
	return page, nil
}

// UpdateKey locks the key id of the access's project, applies fn and saves it.
func (r *Repository) UpdateKey(ctx context.Context, access kernel.ProjectAccess, id kernel.KeyID, fn func(k *project.Key) error) (*project.Key, error) {
	var out *project.Key
	err := postgres.InTx(ctx, r.db, func(tx *gorm.DB) error {
		var rw keyRow
		err := tx.Where("id = ? AND project_id = ?", id.String(), access.Project().String()).
			Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).Take(&rw).Error
		if postgres.IsNotFound(err) {
			return project.ErrKeyNotFound
		}
		if err != nil {
			return err
		}
		k := keyToDomain(rw)
		if err := fn(k); err != nil {
			return err
		}
		out = k
		return tx.Model(&keyRow{}).Where("id = ?", rw.ID.String()).Updates(map[string]any{"revoked_at": k.RevokedAt()}).Error
	})
	if err != nil {
		return nil, failure("update key", err)
	}
	return out, nil
}

// Key reads the key id, if its project is live.
func (r *Repository) Key(ctx context.Context, id kernel.KeyID) (*project.Key, error) {
	var rw keyRow
	err := postgres.Conn(ctx, r.db).Raw(
		`SELECT k.id, k.project_id, k.name, k.permissions, k.secret_digest, k.created_by, k.created_at, k.expires_at, k.revoked_at
		 FROM project_keys k JOIN projects p ON p.id = k.project_id WHERE k.id = ? AND p.deleted_at IS NULL`, id.String(),
	).Row().Scan(&rw.ID, &rw.ProjectID, &rw.Name, &rw.Permissions, &rw.SecretDigest, &rw.CreatedBy, &rw.CreatedAt, &rw.ExpiresAt, &rw.RevokedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, project.ErrKeyNotFound
	}
	if err != nil {
		return nil, postgres.Failure("find key", err)
	}
	return keyToDomain(rw), nil
}
