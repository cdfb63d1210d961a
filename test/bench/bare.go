package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// bareServerEnv, set to a database URL, makes this program (or its test
// binary) serve the bare baseline on HTTP_ADDR instead of benchmarking:
// the benchmark starts itself as a child, so that the baseline, like the
// API, runs in a process of its own, apart from the load generator.
const bareServerEnv = "BENCH_BARE_SERVER"

// serveBareIfAsked serves the baseline until killed when bareServerEnv is
// set, and reports whether it was.
func serveBareIfAsked() bool {
	dbURL := os.Getenv(bareServerEnv)
	if dbURL == "" {
		return false
	}
	if err := serveBare(dbURL, os.Getenv("HTTP_ADDR")); err != nil {
		fmt.Fprintln(os.Stderr, "bare server:", err)
		os.Exit(1)
	}
	return true
}

// serveBare serves bareServer on a database the API has migrated.
func serveBare(dbURL, addr string) error {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dbURL+"&pool_max_conns=20")
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+bareProgressTable); err != nil {
		return err
	}
	h := bareServer(pool).(*gin.Engine)
	h.GET("/health/ready", func(c *gin.Context) { c.Status(http.StatusOK) })
	// What the API's Go collector calls this: the benchmark reads both alike.
	h.GET("/metrics", func(c *gin.Context) {
		s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
		metrics.Read(s)
		c.String(http.StatusOK, "go_memstats_alloc_bytes_total %d\n", s[0].Value.Uint64())
	})
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	return srv.Serve(ln)
}

// bareOwner owns the projects the bare server reads and changes: the
// API's caller, so that both serve the same rows. Its inserts go to
// another owner, whose names cannot collide with the API's.
const bareOwner = "alice"

// bareServer is the baseline: gin with no middleware, pgx with no ORM, the
// statements the repositories need for the same rows, and no
// authentication, validation, logging or telemetry.
func bareServer(pool *pgxpool.Pool) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/health/live", func(c *gin.Context) { c.JSON(200, gin.H{"status": "ok"}) })
	const columns = `id::text, name, description, created_at, updated_at`
	r.GET("/projects/:id", func(c *gin.Context) {
		var p bareProject
		err := pool.QueryRow(c, `SELECT `+columns+` FROM projects
			WHERE id = $1 AND owner = $2 AND deleted_at IS NULL`, c.Param("id"), bareOwner).
			Scan(&p.ID, &p.Name, &p.Description, &p.CreatedAt, &p.UpdatedAt)
		if err != nil {
			c.Status(404)
			return
		}
		c.JSON(200, p)
	})
	// The page and the next page's cursor, as the repository reads them:
	// one row more than the limit tells whether another page follows.
	r.GET("/projects", func(c *gin.Context) {
		limit := 20
		if s := c.Query("limit"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > 100 {
				c.Status(400)
				return
			}
			limit = n
		}
		rows, err := pool.Query(c, `SELECT `+columns+` FROM projects WHERE owner = $1 AND deleted_at IS NULL
			ORDER BY created_at DESC, id DESC LIMIT $2`, bareOwner, limit+1)
		if err != nil {
			c.Status(500)
			return
		}
		items := make([]bareProject, 0, limit+1)
		for rows.Next() {
			var p bareProject
			if err := rows.Scan(&p.ID, &p.Name, &p.Description, &p.CreatedAt, &p.UpdatedAt); err != nil {
				rows.Close()
				c.Status(500)
				return
			}
			items = append(items, p)
		}
		if rows.Err() != nil {
			c.Status(500)
			return
		}
		var out struct {
			Items      []bareProject `json:"items"`
			NextCursor string        `json:"next_cursor,omitempty"`
		}
		if len(items) > limit {
			items = items[:limit]
			last := items[limit-1]
			b, _ := json.Marshal(struct {
				T int64  `json:"t"`
				I string `json:"i"`
			}{last.CreatedAt.UnixMicro(), last.ID})
			out.NextCursor = base64.RawURLEncoding.EncodeToString(b)
		}
		out.Items = items
		c.JSON(200, out)
	})
	r.POST("/projects", func(c *gin.Context) {
		var in struct {
			Name        string `json:"name"`
			Description string `json:"description"`
		}
		if err := c.BindJSON(&in); err != nil {
			return
		}
		now := time.Now().UTC()
		p := bareProject{ID: uuid.Must(uuid.NewV7()).String(), Name: in.Name, Description: in.Description, CreatedAt: now, UpdatedAt: now}
		_, err := pool.Exec(c, `INSERT INTO projects (id, owner, name, description, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)`,
			p.ID, "bare", p.Name, p.Description, now)
		if err != nil {
			c.Status(500)
			return
		}
		c.JSON(201, p)
	})
	// PATCH does what the repository does, minus its scoping statement
	// (set_config of the caller, for row-level security): a transaction
	// that locks the live row, changes it and commits.
	r.PATCH("/projects/:id", func(c *gin.Context) {
		var in struct {
			Name        *string `json:"name"`
			Description *string `json:"description"`
		}
		if err := c.BindJSON(&in); err != nil {
			return
		}
		p, err := barePatch(c, pool, c.Param("id"), in.Name, in.Description)
		var pgErr *pgconn.PgError
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			c.Status(404)
		case errors.As(err, &pgErr) && pgErr.Code == "23505":
			c.Status(409)
		case err != nil:
			c.Status(500)
		default:
			c.JSON(200, p)
		}
	})
	fan := &bareFanOut{subs: map[string]map[chan []byte]struct{}{}}
	bareProgressRoutes(r, pool, fan)
	r.GET("/events/:id", fan.serve)
	return r
}

type bareProject struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func barePatch(ctx context.Context, pool *pgxpool.Pool, id string, name, description *string) (bareProject, error) {
	var p bareProject
	tx, err := pool.Begin(ctx)
	if err != nil {
		return p, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	err = tx.QueryRow(ctx, `SELECT id::text, name, description, created_at, updated_at FROM projects
		WHERE id = $1 AND owner = $2 AND deleted_at IS NULL FOR UPDATE`, id, bareOwner).
		Scan(&p.ID, &p.Name, &p.Description, &p.CreatedAt, &p.UpdatedAt)
	if err != nil {
		return p, err
	}
	if name != nil {
		p.Name = *name
	}
	if description != nil {
		p.Description = *description
	}
	p.UpdatedAt = time.Now().UTC()
	if _, err := tx.Exec(ctx, `UPDATE projects SET name = $3, description = $4, updated_at = $5 WHERE id = $1 AND owner = $2`,
		id, bareOwner, p.Name, p.Description, p.UpdatedAt); err != nil {
		return p, err
	}
	return p, tx.Commit(ctx)
}

// bareProgressTable stores the bare server's progress reports.
const bareProgressTable = `bench_progress (id uuid PRIMARY KEY, operation_id uuid NOT NULL,
	percent integer NOT NULL, message text NOT NULL, at timestamptz NOT NULL)`

// bareProgressServer is the throughput baseline of progress reports.
func bareProgressServer(pool *pgxpool.Pool) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	bareProgressRoutes(r, pool, nil)
	return r
}

// bareProgressRoutes adds POST /progress/:id: the report decoded and
// stored with one pgx INSERT, no authentication, no transaction, no
// outbox; with fan set, the event is then written to the streams of
// that id.
func bareProgressRoutes(r gin.IRoutes, pool *pgxpool.Pool, fan *bareFanOut) {
	r.POST("/progress/:id", func(c *gin.Context) {
		var in struct {
			Percent int    `json:"percent"`
			Message string `json:"message"`
		}
		if err := c.BindJSON(&in); err != nil {
			return
		}
		op, err := uuid.Parse(c.Param("id"))
		if err != nil {
			c.Status(400)
			return
		}
		now := time.Now().UTC()
		_, err = pool.Exec(c, `INSERT INTO bench_progress (id, operation_id, percent, message, at) VALUES ($1, $2, $3, $4, $5)`,
			uuid.Must(uuid.NewV7()), op, in.Percent, in.Message, now)
		if err != nil {
			c.Status(500)
			return
		}
		if fan != nil {
			fan.publish(op.String(), in.Percent, in.Message, now)
		}
		c.JSON(200, gin.H{"id": op.String(), "percent": in.Percent, "message": in.Message, "updated_at": now})
	})
}

// bareFanOut is the least a server can do to deliver an event to many
// Server-Sent Events streams: each stream is a hijacked connection with a
// goroutine and a channel; an event is encoded once and its bytes written
// to each connection, with no log, no replay, no sequencing, no
// keepalive and no limit.
type bareFanOut struct {
	mu   sync.Mutex
	seq  atomic.Int64
	subs map[string]map[chan []byte]struct{}
}

func (f *bareFanOut) serve(c *gin.Context) {
	id := c.Param("id")
	conn, _, err := c.Writer.Hijack()
	if err != nil {
		c.Status(500)
		return
	}
	ch := make(chan []byte, 1024)
	f.mu.Lock()
	if f.subs[id] == nil {
		f.subs[id] = map[chan []byte]struct{}{}
	}
	f.subs[id][ch] = struct{}{}
	f.mu.Unlock()
	go func() {
		defer func() {
			f.mu.Lock()
			delete(f.subs[id], ch)
			f.mu.Unlock()
			_ = conn.Close()
		}()
		head := "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n"
		if _, err := conn.Write([]byte(head)); err != nil {
			return
		}
		for b := range ch {
			if _, err := conn.Write(b); err != nil {
				return
			}
		}
	}()
}

type bareEvent struct {
	ID          string        `json:"id"`
	Type        string        `json:"type"`
	OperationID string        `json:"operation_id"`
	At          time.Time     `json:"at"`
	Operation   bareOperation `json:"operation"`
}

type bareOperation struct {
	ID        string    `json:"id"`
	Percent   int       `json:"percent"`
	Message   string    `json:"message"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (f *bareFanOut) publish(op string, percent int, message string, at time.Time) {
	seq := f.seq.Add(1)
	data, _ := json.Marshal(bareEvent{ID: strconv.FormatInt(seq, 10), Type: "progress", OperationID: op, At: at,
		Operation: bareOperation{ID: op, Percent: percent, Message: message, UpdatedAt: at}})
	msg := fmt.Appendf(nil, "id: %d\nevent: progress\ndata: %s\n\n", seq, data)
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs[op] {
		select {
		case ch <- msg:
		default: // a stream this far behind loses events: the bare server keeps no log
		}
	}
}
