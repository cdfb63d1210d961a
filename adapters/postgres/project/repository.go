// Package project stores projects with GORM on PostgreSQL or SQLite.
package project

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"io/fs"
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

// Add inserts p.
func (r *Repository) Add(ctx context.Context, owner kernel.Subject, p *project.Project) error {
	if p.Owner() != owner {
		return errOwnerMismatch
	}
	rw := toRow(p)
	err := postgres.Conn(ctx, r.db).Create(&rw).Error
	if postgres.IsDuplicate(err) {
		return project.ErrNameTaken
	}
	return postgres.Failure("add project", err)
}

func (r *Repository) live(tx *gorm.DB, owner kernel.Subject) *gorm.DB {
	return tx.Where("owner = ? AND deleted_at IS NULL", owner.String())
}

// Visible reports whether id is a live project of owner.
func (r *Repository) Visible(ctx context.Context, owner kernel.Subject, id kernel.ProjectID) error {
	var one int
	err := postgres.Conn(ctx, r.db).Raw(
		`SELECT 1 FROM projects WHERE id = ? AND owner = ? AND deleted_at IS NULL`, id.String(), owner.String(),
	).Row().Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return project.ErrNotFound
	}
	return postgres.Failure("find project", err)
}

// Get loads the live project the access is for. It is the hottest read of
// the API, so it uses a raw statement and scans it directly instead of
// GORM's reflection-based query builder (a third of the cost of the whole call).
func (r *Repository) Get(ctx context.Context, access kernel.ProjectAccess) (*project.Project, error) {
	var rw row
	err := postgres.Conn(ctx, r.db).Raw(
		`SELECT id, name, description, created_at, updated_at, version FROM projects WHERE id = ? AND owner = ? AND deleted_at IS NULL`,
		access.Project().String(), access.Subject().String(),
	).Row().Scan(&rw.ID, &rw.Name, &rw.Description, &rw.CreatedAt, &rw.UpdatedAt, &rw.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, project.ErrNotFound
	}
	if err != nil {
		return nil, postgres.Failure("get project", err)
	}
	rw.Owner = access.Subject().String()
	return toDomain(rw), nil
}

// List returns one page of owner's live projects, newest first.
func (r *Repository) List(ctx context.Context, owner kernel.Subject, q ports.ListQuery) (ports.Page, error) {
	var rows []row
	err := postgres.NewestFirst(r.live(postgres.Conn(ctx, r.db), owner), q.After, q.Limit).Find(&rows).Error
	if err != nil {
		return ports.Page{}, postgres.Failure("list projects", err)
	}
	var page ports.Page
	rows, page.Next = postgres.PageOf(rows, q.Limit, func(r row) (time.Time, uuid.UUID) { return r.CreatedAt, r.ID })
	page.Items = make([]*project.Project, len(rows))
	for i, rw := range rows {
		page.Items[i] = toDomain(rw)
	}
	return page, nil
}

// Update locks the live project the access is for, applies fn and saves
// it; the save applies only at the version fn saw (under the lock it is
// still the stored one, so a miss is a broken lock, never a lost update).
func (r *Repository) Update(ctx context.Context, access kernel.ProjectAccess, fn func(p *project.Project) error) (*project.Project, error) {
	owner, id := access.Subject(), access.Project()
	var out *project.Project
	err := postgres.InTx(ctx, r.db, func(tx *gorm.DB) error {
		var rw row
		err := r.live(tx, owner).Where("id = ?", id.String()).
			Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).Take(&rw).Error
		if postgres.IsNotFound(err) {
			return project.ErrNotFound
		}
		if err != nil {
			return err
		}
		p := toDomain(rw)
		if err := fn(p); err != nil {
			return err
		}
		next := toRow(p)
		res := tx.Model(&row{}).Where("id = ? AND owner = ? AND version = ?", next.ID.String(), next.Owner, rw.Version).Updates(map[string]any{
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
		out = p
		return nil
	})
	if err != nil {
		if kernel.KindOf(err) != kernel.KindUnknown {
			return nil, err
		}
		return nil, postgres.Failure("update project", err)
	}
	return out, nil
}
