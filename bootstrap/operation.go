package bootstrap

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/scoped-api/foundation/adapters/http/httpkit"
	httpoperation "github.com/scoped-api/foundation/adapters/http/operation"
	"github.com/scoped-api/foundation/adapters/inproc"
	memoperation "github.com/scoped-api/foundation/adapters/memory/operation"
	pgoperation "github.com/scoped-api/foundation/adapters/postgres/operation"
	redisoperation "github.com/scoped-api/foundation/adapters/redis/operation"
	appoperation "github.com/scoped-api/foundation/application/operation"
	portsdiagnostics "github.com/scoped-api/foundation/ports/diagnostics"
	portsoperation "github.com/scoped-api/foundation/ports/operation"
	"github.com/scoped-api/foundation/ports/shared"
)

// OperationModule is the operation bounded context: operations, their
// events (stored with each change in an outbox, numbered and published by
// the relay), the hub that fans them out to this instance's streams, and
// the routes. Events travel through Redis when REDIS_URL is set, inside the
// process otherwise.
var OperationModule = fx.Module("operation",
	fx.Provide(
		fx.Private,
		fx.Annotate(pgoperation.NewRepository, fx.As(new(portsoperation.Repository))),
		pgoperation.NewEventLog,
		newOperationBus,
		newTicketStore,
		newHub,
		newRelay,
		newOperationService,
		newOperationHandler,
	),
	fx.Provide(
		fx.Annotate(func(h *httpoperation.Handler) httpkit.Routes { return h }, fx.ResultTags(`group:"routes"`)),
		fx.Annotate(pgoperation.Migrations, fx.ResultTags(`group:"migrations"`)),
		fx.Annotate(newOperationDiagnostics,
			fx.As(new(portsdiagnostics.OperationCounts)), fx.As(new(portsdiagnostics.Streams))),
	),
	fx.Invoke(runOperations),
)

func newOperationBus(r Redis, cfg Config, log *zap.Logger) portsoperation.Bus {
	if r.Client == nil {
		return memoperation.NewBus()
	}
	return redisoperation.NewBus(r.Client, cfg.Redis.KeyPrefix, log.Named("events"))
}

func newTicketStore(r Redis, cfg Config) portsoperation.TicketStore {
	if r.Client == nil {
		return memoperation.NewTicketStore()
	}
	return redisoperation.NewTicketStore(r.Client, cfg.Redis.KeyPrefix)
}

func newHub(cfg Config, store *pgoperation.EventLog, metrics shared.StreamMetrics, log *zap.Logger) *appoperation.Hub {
	l := log.Named("events")
	return appoperation.NewHub(store, metrics, appoperation.HubSettings{
		Buffer:               cfg.Streams.SubscriberBuffer,
		MaxStreamsPerSubject: cfg.Streams.MaxStreamsPerSubject,
		OnError: func(err error) {
			l.Warn("cannot read missed events from the log; streams end and their clients resume", zap.Error(err))
		},
	})
}

func newRelay(cfg Config, store *pgoperation.EventLog, bus portsoperation.Bus, clock shared.Clock, metrics shared.StreamMetrics, log *zap.Logger) *appoperation.Relay {
	l := log.Named("relay")
	var mu sync.Mutex
	var lastLogged time.Time
	return appoperation.NewRelay(store, bus, clock, metrics, appoperation.RelaySettings{
		Interval:  cfg.Streams.RelayInterval,
		Batch:     cfg.Streams.RelayBatch,
		Linger:    cfg.Streams.RelayLinger,
		Retention: cfg.Streams.HistoryRetention,
		// Pruning often enough that a short retention (in tests) is honoured.
		PruneEvery: min(cfg.Streams.HistoryRetention, time.Minute),
		OnError: func(err error) {
			// While Redis or the database is down the relay retries every
			// few seconds: one line every ten seconds is enough.
			mu.Lock()
			defer mu.Unlock()
			if time.Since(lastLogged) >= 10*time.Second {
				lastLogged = time.Now()
				l.Warn("events wait in the log; the relay retries", zap.Error(err))
			}
		},
	})
}

type operationServiceIn struct {
	fx.In
	Config  Config
	Repo    portsoperation.Repository
	Log     *pgoperation.EventLog
	Tickets portsoperation.TicketStore
	Gate    shared.ProjectGate
	Clock   shared.Clock
	IDs     shared.IDGenerator
	Hub     *appoperation.Hub
	Relay   *appoperation.Relay
}

func newOperationService(in operationServiceIn) portsoperation.Service {
	return appoperation.NewService(appoperation.Deps{
		Repo: in.Repo, Log: in.Log, Tickets: in.Tickets, Gate: in.Gate, Clock: in.Clock, IDs: in.IDs, Hub: in.Hub, Relay: in.Relay,
	}, appoperation.Settings{TicketTTL: in.Config.Streams.TicketTTL})
}

func newOperationHandler(cfg Config, svc portsoperation.Service) *httpoperation.Handler {
	return httpoperation.NewHandler(svc, httpoperation.StreamSettings{
		Keepalive:    cfg.Streams.Keepalive,
		MaxDuration:  cfg.Streams.MaxDuration,
		Retry:        cfg.Streams.Retry,
		WriteTimeout: cfg.Streams.WriteTimeout,
	})
}

func newOperationDiagnostics(svc portsoperation.Service) *inproc.OperationDiagnostics {
	return inproc.NewOperationDiagnostics(svc)
}

type operationRunIn struct {
	fx.In
	LC       fx.Lifecycle
	Config   Config
	Migrated Migrated
	Server   *Server
	Hub      *appoperation.Hub
	Relay    *appoperation.Relay
	Bus      portsoperation.Bus
	Handler  *httpoperation.Handler
	Log      *zap.Logger
}

// runOperations starts the hub (from the log's head, then subscribed to
// the bus) and the relay; at stop it ends every stream with a retry hint
// and waits for them within the shutdown timeout.
func runOperations(in operationRunIn) {
	ctx, cancel := context.WithCancel(context.Background())
	var relayDone sync.WaitGroup
	in.Server.RegisterOnShutdown(in.Hub.Shutdown)
	in.LC.Append(fx.Hook{
		OnStart: func(start context.Context) error {
			if err := in.Hub.Prime(start); err != nil {
				return fmt.Errorf("read the event log's head: %w", err)
			}
			if err := in.Bus.Subscribe(ctx, in.Hub); err != nil {
				return fmt.Errorf("subscribe to operation events (check REDIS_URL): %w", err)
			}
			relayDone.Add(1)
			go func() {
				defer relayDone.Done()
				in.Relay.Run(ctx)
			}()
			return nil
		},
		OnStop: func(stop context.Context) error {
			in.Hub.Shutdown()
			stop, done := context.WithTimeout(stop, in.Config.HTTP.ShutdownTimeout)
			defer done()
			err := in.Handler.Shutdown(stop)
			cancel()
			relayDone.Wait()
			if err != nil {
				in.Log.Warn("streams still open at the end of the shutdown timeout", zap.Error(err))
			}
			return nil
		},
	})
}
