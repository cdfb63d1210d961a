package bootstrap

import (
	"context"
	"sync"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/scoped-api/foundation/adapters/postgres"
	pgidempotency "github.com/scoped-api/foundation/adapters/postgres/idempotency"
	"github.com/scoped-api/foundation/ports/shared"
)

// CommitHook is told after a write that ran in an idempotent unit of work
// has committed: what its use case announced inside the unit (events to
// relay) was not visible to others before.
type CommitHook func()

// IdempotencyModule keeps idempotency keys in the database, with the
// writes they stand for, and prunes them after IDEMPOTENCY_KEY_RETENTION.
var IdempotencyModule = fx.Module("idempotency",
	fx.Provide(
		fx.Annotate(newIdempotencyStore, fx.As(new(shared.IdempotencyStore))),
		fx.Annotate(pgidempotency.Migrations, fx.ResultTags(`group:"migrations"`)),
	),
	fx.Invoke(pruneIdempotencyKeys),
)

func newIdempotencyStore(db *postgres.DB, clock shared.Clock, cfg Config) *pgidempotency.Store {
	return pgidempotency.NewStore(db, clock, cfg.Idempotency.KeyRetention)
}

// pruneIdempotencyKeys forgets expired keys in the background, often
// enough that the table stays near one retention's worth of keys (a key
// past its retention is ignored at once even before it is pruned).
func pruneIdempotencyKeys(lc fx.Lifecycle, store shared.IdempotencyStore, clock shared.Clock, cfg Config, _ Migrated, log *zap.Logger) {
	every := min(cfg.Idempotency.KeyRetention/4, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	var done sync.WaitGroup
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			done.Add(1)
			go func() {
				defer done.Done()
				tick := time.NewTicker(every)
				defer tick.Stop()
				for {
					select {
					case <-ctx.Done():
						return
					case <-tick.C:
						if _, err := store.Prune(ctx, clock.Now().Add(-cfg.Idempotency.KeyRetention)); err != nil && ctx.Err() == nil {
							log.Warn("cannot prune idempotency keys; retrying later", zap.Error(err))
						}
					}
				}
			}()
			return nil
		},
		OnStop: func(context.Context) error {
			cancel()
			done.Wait()
			return nil
		},
	})
}
