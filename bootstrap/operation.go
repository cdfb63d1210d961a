package bootstrap

import (
	"context"
	"fmt"
	"sync"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/scoped-api/foundation/adapters/http/health"
	"github.com/scoped-api/foundation/adapters/http/httpkit"
	"github.com/scoped-api/foundation/adapters/http/middleware"
	httpoperation "github.com/scoped-api/foundation/adapters/http/operation"
	"github.com/scoped-api/foundation/adapters/inproc"
	memoperation "github.com/scoped-api/foundation/adapters/memory/operation"
	pgoperation "github.com/scoped-api/foundation/adapters/postgres/operation"
	redisoperation "github.com/scoped-api/foundation/adapters/redis/operation"
	workeroperation "github.com/scoped-api/foundation/adapters/worker/operation"
	appoperation "github.com/scoped-api/foundation/application/operation"
	"github.com/scoped-api/foundation/application/operation/streaming"
	portsdiagnostics "github.com/scoped-api/foundation/ports/diagnostics"
	portsoperation "github.com/scoped-api/foundation/ports/operation"
	"github.com/scoped-api/foundation/ports/shared"
)

// OperationModule is the operation bounded context: operations, their
// events (stored with each change in an outbox, numbered and published by
// the relay worker), the streams that fan them out to this instance's
// clients, and the routes. Events travel through Redis when REDIS_URL is
// set, inside the process otherwise.
var OperationModule = fx.Module("operation",
	fx.Provide(
		fx.Private,
		fx.Annotate(pgoperation.NewRepository, fx.As(new(portsoperation.Repository))),
		fx.Annotate(pgoperation.NewEventLog, fx.As(new(portsoperation.EventLog)), fx.As(new(portsoperation.RelayStore))),
		newOperationBus,
		newTicketStore,
		newHub,
		newRelay,
		fx.Annotate(func(r *workeroperation.Relay) *workeroperation.Relay { return r }, fx.As(new(portsoperation.RelayTrigger))),
		newOperationService,
		newStreams,
		newOperationHandler,
	),
	fx.Provide(
		fx.Annotate(func(h *httpoperation.Handler) httpkit.Routes { return h }, fx.ResultTags(`group:"routes"`)),
		fx.Annotate(func(h *httpoperation.Handler) *httpoperation.Handler { return h }, fx.As(new(middleware.TicketRedeemer))),
		fx.Annotate(pgoperation.Migrations, fx.ResultTags(`group:"migrations"`)),
		fx.Annotate(inproc.NewOperationFigures, fx.As(new(portsdiagnostics.Operations))),
		fx.Annotate(func(r *workeroperation.Relay) CommitHook { return r.EventsAccepted }, fx.ResultTags(`group:"committed"`)),
		fx.Annotate(relayCheck, fx.ResultTags(`group:"readiness"`)),
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

func newHub(cfg Config, store portsoperation.RelayStore, metrics shared.StreamMetrics, log *zap.Logger) *streaming.Hub {
	l := log.Named("events")
	return streaming.NewHub(store, metrics, streaming.HubSettings{
		Buffer:               cfg.Streams.SubscriberBuffer,
		MaxStreamsPerSubject: cfg.Streams.MaxStreamsPerSubject,
		OnError: func(err error) {
			l.Warn("cannot read missed events from the log; streams end and their clients resume", zap.Error(err))
		},
	})
}

func newRelay(cfg Config, log *zap.Logger) *workeroperation.Relay {
	l := log.Named("relay")
	var mu sync.Mutex
	var lastLogged time.Time
	return workeroperation.NewRelay(workeroperation.RelaySettings{
		Interval: cfg.Streams.RelayInterval,
		Linger:   cfg.Streams.RelayLinger,
		// Pruning often enough that a short retention (in tests) is honoured.
		PruneEvery: min(cfg.Streams.HistoryRetention, time.Minute),
		MaxLag:     cfg.Streams.RelayMaxLag,
		OnStall: func(h workeroperation.Health) {
			l.Warn("events wait for the relay longer than EVENTS_RELAY_MAX_LAG; streams do not receive them",
				zap.Duration("lag", h.Lag), zap.Duration("max_lag", cfg.Streams.RelayMaxLag), zap.String("cause", h.Cause))
		},
		OnRecover: func(stalled time.Duration) {
			l.Info("the relay caught up", zap.Duration("stalled_for", stalled))
		},
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

// relayCheck shows a stalled relay in readiness. It is not required: a
// stalled relay delays events on every instance alike, so taking this one
// out of rotation would not help; the reason tells an operator where to look.
func relayCheck(r *workeroperation.Relay, cfg Config) health.Check {
	return health.Check{Name: "relay", Report: func() health.Report {
		h := r.Health()
		if !h.Stalled {
			return health.Report{Status: "ok"}
		}
		return health.Report{Status: "degraded", Since: &h.Since,
			Reason: fmt.Sprintf("the oldest unpublished event has waited %s, more than EVENTS_RELAY_MAX_LAG (%s): %s",
				h.Lag.Round(time.Second), cfg.Streams.RelayMaxLag, h.Cause)}
	}}
}

type operationServiceIn struct {
	fx.In
	Config  Config
	Repo    portsoperation.Repository
	Log     portsoperation.EventLog
	Relay   portsoperation.RelayStore
	Bus     portsoperation.Bus
	Trigger portsoperation.RelayTrigger
	Hub     *streaming.Hub
	Clock   shared.Clock
	IDs     shared.IDGenerator
	Metrics shared.StreamMetrics
}

func newOperationService(in operationServiceIn) *appoperation.Service {
	return appoperation.NewService(appoperation.Deps{
		Repo: in.Repo, Log: in.Log, Relay: in.Relay, Bus: in.Bus, Trigger: in.Trigger, Hub: in.Hub,
		Clock: in.Clock, IDs: in.IDs, Metrics: in.Metrics,
	}, appoperation.Settings{Batch: in.Config.Streams.RelayBatch, Retention: in.Config.Streams.HistoryRetention})
}

type streamsIn struct {
	fx.In
	Config  Config
	Hub     *streaming.Hub
	Repo    portsoperation.Repository
	Log     portsoperation.EventLog
	Tickets portsoperation.TicketStore
	Trigger portsoperation.RelayTrigger
	Clock   shared.Clock
	Gate    shared.ProjectGate
}

func newStreams(in streamsIn) *streaming.Streams {
	return streaming.NewStreams(streaming.Deps{
		Hub: in.Hub, Repo: in.Repo, Log: in.Log, Tickets: in.Tickets, Trigger: in.Trigger, Clock: in.Clock,
		Gate: in.Gate, Recheck: streamRecheck(in.Config.Projects.GateCacheTTL),
	}, streaming.Lifetimes{Ticket: in.Config.Streams.TicketTTL, Pass: in.Config.Streams.PassTTL})
}

// streamRecheck is how often a caller's open streams in a project ask
// the gate again (one recheck shared by all of them): half
// the gate's cache TTL, with answers at most that old, so that a member
// removed on another instance loses their streams within the TTL.
func streamRecheck(gateTTL time.Duration) time.Duration {
	if gateTTL <= 0 {
		return 500 * time.Millisecond
	}
	return gateTTL / 2
}

func newOperationHandler(cfg Config, svc *appoperation.Service, streams *streaming.Streams) *httpoperation.Handler {
	return httpoperation.NewHandler(svc, streams, httpoperation.StreamSettings{
		Keepalive:    cfg.Streams.Keepalive,
		MaxDuration:  cfg.Streams.MaxDuration,
		Retry:        cfg.Streams.Retry,
		WriteTimeout: cfg.Streams.WriteTimeout,
		DrainWindow:  streamDrainWindow(cfg),
	})
}

type operationRunIn struct {
	fx.In
	LC       fx.Lifecycle
	Migrated Migrated
	Server   *Server
	Hub      *streaming.Hub
	Relay    *workeroperation.Relay
	Service  *appoperation.Service
	Bus      portsoperation.Bus
	Handler  *httpoperation.Handler
	Log      *zap.Logger
}

// runOperations starts the hub (from the log's head, then subscribed to
// the bus) and the relay. At stop, alongside the drain of in-flight
// requests, it ends the streams spread over the first half of the shutdown
// timeout, each with a retry hint, then stops the hub's subscription and
// the relay: a stream keeps its events until its own end.
func runOperations(in operationRunIn) {
	ctx, cancel := context.WithCancel(context.Background())
	var relayDone sync.WaitGroup
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
				in.Relay.Run(ctx, in.Service)
			}()
			return nil
		},
	})
	in.Server.OnDrain(func(stop context.Context) {
		err := in.Handler.Shutdown(stop)
		in.Hub.Shutdown()
		cancel()
		relayDone.Wait()
		if err != nil {
			in.Log.Warn("streams still open at the end of the shutdown timeout", zap.Error(err))
		}
	})
}

// streamDrainWindow is what the streams' ends are spread over at stop: the
// first half of the shutdown timeout, which leaves the second half for a
// slow client's last write and for the rest of the stop.
func streamDrainWindow(cfg Config) time.Duration { return cfg.HTTP.ShutdownTimeout / 2 }
