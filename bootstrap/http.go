package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/gin-gonic/gin"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/scoped-api/foundation/adapters/auth"
	"github.com/scoped-api/foundation/adapters/http/docs"
	"github.com/scoped-api/foundation/adapters/http/health"
	"github.com/scoped-api/foundation/adapters/http/httpkit"
	"github.com/scoped-api/foundation/adapters/http/middleware"
	"github.com/scoped-api/foundation/adapters/http/sdk"
	"github.com/scoped-api/foundation/ports/shared"
)

const (
	defaultCheckTimeout = time.Second
	// readinessDeadline bounds /health/ready even when a dependency hangs.
	readinessDeadline = 1500 * time.Millisecond
)

// HTTPModule serves every context's routes with one middleware chain.
var HTTPModule = fx.Module("http",
	fx.Provide(
		fx.Private,
		newVerifier,
		newEngine,
		newShutdownState,
	),
	fx.Provide(
		newAPI,
		NewServer,
		fx.Annotate(lifecycleCheck, fx.ResultTags(`group:"readiness"`)),
	),
)

var _ middleware.TokenVerifier = auth.Verifiers{}

// verifierOut is the token verifier and, with an identity provider, its
// readiness entry (reported, not required: cached keys keep verifying).
type verifierOut struct {
	fx.Out
	Verifier middleware.TokenVerifier
	Checks   []health.Check `group:"readiness,flatten"`
}

func newVerifier(lc fx.Lifecycle, cfg Config) (verifierOut, error) {
	var v auth.Verifiers
	if cfg.Auth.Secret != "" {
		hs, err := newHS256(cfg)
		if err != nil {
			return verifierOut{}, err
		}
		v.HS256 = hs
	}
	var checks []health.Check
	if cfg.Auth.JWKSURL != "" || cfg.Auth.OIDCIssuer != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 2*cfg.Auth.JWKSTimeout)
		defer cancel()
		jwks, err := auth.NewJWKS(ctx, auth.JWKSSettings{
			URL: cfg.Auth.JWKSURL, OIDCIssuer: cfg.Auth.OIDCIssuer, Issuer: cfg.Auth.Issuer, Audience: cfg.Auth.Audience,
			SubjectClaim: cfg.Auth.SubjectClaim, Leeway: cfg.Auth.Leeway, Timeout: cfg.Auth.JWKSTimeout, Refresh: cfg.Auth.JWKSRefresh,
		})
		if err != nil {
			return verifierOut{}, err
		}
		lc.Append(fx.StopHook(jwks.Close))
		v.JWKS = jwks
		checks = append(checks, health.Check{Name: "identity_provider", Required: false, Probe: jwks.Check})
	}
	return verifierOut{Verifier: v, Checks: checks}, nil
}

func newHS256(cfg Config) (*auth.HS256, error) {
	if cfg.Auth.Secret == "" {
		return nil, errors.New("HS256 tokens are off: AUTH_HS256_SECRET is not set while an identity provider is configured")
	}
	return auth.NewHS256(auth.Settings{Secret: []byte(cfg.Auth.Secret), Issuer: cfg.Auth.Issuer, Audience: cfg.Auth.Audience, Leeway: cfg.Auth.Leeway})
}

// newEngine builds the router with the middleware in the one order that
// holds: the request's record and deadline first (its correlation id,
// which everything logs, its route and project, which the sampler reads),
// tracing and metrics, the access log around everything below it (so it
// sees panics as 500s), then recovery, the headers every response carries,
// CORS, the body limit and the JSON media type check. The API's
// own middleware (authentication, then the project gate) is in newAPI.
func newEngine(cfg Config, log *zap.Logger, tel HTTPTelemetry) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	engine := gin.New()
	engine.HandleMethodNotAllowed = true
	engine.ContextWithFallback = true
	engine.RedirectTrailingSlash = false
	engine.RedirectFixedPath = false

	engine.Use(middleware.RequestRecord(log, cfg.HTTP.RequestTimeout))
	engine.Use(tel.Tracing...)
	engine.Use(tel.Metrics...)
	engine.Use(
		middleware.AccessLog(log),
		middleware.Recovery(),
		middleware.SecurityHeaders(docs.Prefix),
	)
	if len(cfg.CORS.AllowedOrigins) > 0 {
		engine.Use(middleware.CORS(cfg.CORS.AllowedOrigins))
	}
	engine.Use(middleware.BodyLimit(cfg.HTTP.MaxBodyBytes), middleware.JSONBodies())

	engine.NoRoute(middleware.NotFound)
	engine.NoMethod(middleware.MethodNotAllowed)
	docs.Register(engine)
	sdk.Register(engine)
	if tel.MetricsOnMain != nil {
		engine.GET("/metrics", gin.WrapH(tel.MetricsOnMain))
	}
	return engine
}

type apiIn struct {
	fx.In
	Config   Config
	Engine   *gin.Engine
	Verifier middleware.TokenVerifier
	Tickets  middleware.TicketRedeemer
	APIKeys  middleware.KeyAuthenticator
	Gate     shared.ProjectGate
	Limits   RateLimiting
	Keys     shared.IdempotencyStore
	Commits  []CommitHook `group:"committed"`
	Log      *zap.Logger
	Routes   []httpkit.Routes `group:"routes"`
	Checks   []health.Check   `group:"readiness"`
}

// newAPI creates the API document and registers every context's routes.
func newAPI(in apiIn) huma.API {
	api := httpkit.NewAPI(in.Engine, httpkit.APIConfig{
		Title:        "Project API",
		Version:      Build().Version,
		Description:  "A project-scoped HTTP API. Every route under /api/v1 needs a bearer token; errors are RFC 9457 problems.",
		Contact:      "Project API maintainers",
		License:      "MIT",
		MaxBodyBytes: in.Config.HTTP.MaxBodyBytes,
	})
	// A retry is answered before the gate asks again: a replayed DELETE
	// is the 204 it was, not the 404 that asking after it would give.
	api.UseMiddleware(middleware.Authenticate(api, in.Verifier, in.Tickets, in.APIKeys), in.Limits.Middleware(api),
		middleware.Idempotency(api, in.Keys, func() {
			for _, hook := range in.Commits {
				hook()
			}
		}),
		middleware.ProjectAccess(api, in.Gate))
	// After the gate: a project the caller cannot see is 404 first.
	api.UseMiddleware(middleware.RequireIfMatch(api, in.Config.HTTP.RequireIfMatch))
	health.NewHandler(Build().Version, in.Checks, readinessDeadline, in.Log).Register(api)
	for _, r := range in.Routes {
		r.Register(api)
	}
	middleware.DeclareIdempotency(api)
	middleware.DeclareProjectAccess(api)
	in.Limits.Declare(api)
	httpkit.DeclareCommonProblems(api)
	middleware.AnswerHEAD(in.Engine)
	return api
}

// Server is the HTTP listener.
type Server struct {
	srv    *http.Server
	ln     net.Listener
	cfg    Config
	log    *zap.Logger
	state  *shutdownState
	mu     sync.Mutex
	drains []func(context.Context)
	// cert is the HTTPS key pair, nil without TLS; redirect is the plain
	// HTTP listener that redirects to it, nil without HTTP_REDIRECT_ADDR.
	cert       *certificate
	redirect   *http.Server
	redirectLn net.Listener
	hup        chan os.Signal
}

// NewServer listens in OnStart (so a busy port fails the start), serves in
// a goroutine and drains in-flight requests in OnStop.
func NewServer(lc fx.Lifecycle, sd fx.Shutdowner, cfg Config, engine *gin.Engine, _ huma.API, _ Migrated, state *shutdownState, log *zap.Logger) *Server {
	s := &Server{
		srv: &http.Server{
			Handler:           closeWhileShuttingDown(state, httpkit.Continuable(engine)),
			ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout,
			ReadTimeout:       cfg.HTTP.ReadTimeout,
			// Streaming routes lift this per request; nothing else may.
			WriteTimeout: cfg.HTTP.WriteTimeout,
			IdleTimeout:  cfg.HTTP.IdleTimeout,
			ErrorLog:     zap.NewStdLog(log.Named("http")),
		},
		cfg:   cfg,
		log:   log,
		state: state,
	}
	if cfg.HTTP.H2C {
		s.srv.Protocols = new(http.Protocols)
		s.srv.Protocols.SetHTTP1(true)
		s.srv.Protocols.SetUnencryptedHTTP2(true)
	}
	lc.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			if err := s.loadTLS(); err != nil {
				return err
			}
			ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.HTTP.Addr)
			if err != nil {
				return fmt.Errorf("listen on HTTP_ADDR %s: %w", cfg.HTTP.Addr, err)
			}
			s.ln = ln
			if err := s.listenRedirect(ctx); err != nil {
				_ = ln.Close()
				return err
			}
			go func() {
				if err := s.serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
					log.Error("HTTP server failed", zap.Error(err))
					_ = sd.Shutdown(fx.ExitCode(1))
				}
			}()
			log.Info("HTTP server listening", zap.String("url", s.URL()), zap.Strings("protocols", s.protocols()))
			return nil
		},
		OnStop: func(ctx context.Context) error {
			state.begin() // a stop without the delay is unready too
			s.stopTLS()
			ctx, cancel := context.WithTimeout(ctx, cfg.HTTP.ShutdownTimeout)
			defer cancel()
			s.mu.Lock()
			drains := s.drains
			s.mu.Unlock()
			var wg sync.WaitGroup
			for _, drain := range drains {
				wg.Go(func() { drain(ctx) })
			}
			if s.redirect != nil {
				wg.Go(func() {
					if s.redirect.Shutdown(ctx) != nil {
						_ = s.redirect.Close()
					}
				})
			}
			err := s.srv.Shutdown(ctx)
			if errors.Is(err, context.DeadlineExceeded) {
				log.Warn("shutdown timeout reached; closing remaining connections")
				err = s.srv.Close()
			}
			wg.Wait()
			return err
		},
	})
	return s
}

// Addr is the bound address (useful with HTTP_ADDR port 0).
func (s *Server) Addr() string {
	if s.ln == nil {
		return s.cfg.HTTP.Addr
	}
	return s.ln.Addr().String()
}

// URL is the base URL clients use.
func (s *Server) URL() string {
	if s.cfg.HTTP.TLSCertFile != "" {
		return "https://" + s.Addr()
	}
	return "http://" + s.Addr()
}

// RedirectAddr is the bound address of the listener that redirects to
// HTTPS, empty without one.
func (s *Server) RedirectAddr() string {
	if s.redirectLn == nil {
		return ""
	}
	return s.redirectLn.Addr().String()
}

// BeginShutdown turns readiness to 503 while the listener goes on serving
// every request, so that load balancers stop routing here before the app
// stops and draining starts (serve calls it on SIGTERM, then waits
// HTTP_SHUTDOWN_DELAY).
func (s *Server) BeginShutdown() { s.state.begin() }

// OnDrain runs fn when the server stops, alongside the drain of in-flight
// requests and under the same HTTP_SHUTDOWN_TIMEOUT; the stop waits for fn.
// It is for what the server no longer tracks (hijacked streams) and what
// must outlive them (their events' subscription).
func (s *Server) OnDrain(fn func(ctx context.Context)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drains = append(s.drains, fn)
}

// shutdownState records when the instance began shutting down.
type shutdownState struct{ since atomic.Pointer[time.Time] }

func newShutdownState() *shutdownState { return &shutdownState{} }

func (s *shutdownState) begin() {
	now := time.Now()
	s.since.CompareAndSwap(nil, &now)
}

// lifecycleCheck is the readiness check that fails from BeginShutdown on,
// with a cause that says why; required, so readiness answers 503.
func lifecycleCheck(state *shutdownState) health.Check {
	return health.Check{Name: "lifecycle", Required: true, Report: func() health.Report {
		since := state.since.Load()
		if since == nil {
			return health.Report{Status: "up"}
		}
		return health.Report{Status: "down", Since: since,
			Reason: "shutting down: requests are still served until HTTP_SHUTDOWN_DELAY has passed; route new ones to another instance"}
	}}
}

// closeWhileShuttingDown asks clients to close their connection after each
// response once shutdown has begun: a keep-alive client behind a
// connection-level balancer (kube-proxy, a TCP load balancer) then
// reconnects, reaching another instance, instead of staying on this one
// until its idle connection is closed under it.
func closeWhileShuttingDown(state *shutdownState, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if state.since.Load() != nil {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}
