package operation

import (
	"context"
	"sync"

	"github.com/google/uuid"

	"github.com/scoped-api/foundation/adapters/postgres"
)

// rowCacheEntries bounds the remembered rows (a few MiB at most).
const rowCacheEntries = 10_000

// rowCache remembers operations' last known rows and versions. It is a
// hint, never the truth: every write made from it is checked against the
// version in the database.
type rowCache struct {
	mu  sync.Mutex
	max int
	m   map[uuid.UUID]cachedRow
}

type cachedRow struct {
	row     row
	version int64
}

func newRowCache(capacity int) *rowCache {
	return &rowCache{max: capacity, m: map[uuid.UUID]cachedRow{}}
}

func (c *rowCache) get(id uuid.UUID) (row, int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	return e.row, e.version, ok
}

func (c *rowCache) put(r row, version int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[r.ID]; !ok && len(c.m) >= c.max {
		for k := range c.m { // evict an arbitrary entry: it is only a hint
			delete(c.m, k)
			break
		}
	}
	c.m[r.ID] = cachedRow{row: r, version: version}
}

func (c *rowCache) drop(id uuid.UUID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}

// remember puts a row just written, unless the write belongs to a unit of
// work that may still roll back: a remembered row that never committed
// could match the version of another writer's committed row and let a
// write apply to a state that was never stored.
func (c *rowCache) remember(ctx context.Context, r row, version int64) {
	if postgres.InUnitOfWork(ctx) {
		c.drop(r.ID)
		return
	}
	c.put(r, version)
}
