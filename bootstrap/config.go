// Package bootstrap is the composition root: it reads the configuration and
// wires every adapter and bounded context together with fx.
package bootstrap

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"go.uber.org/zap/zapcore"

	"github.com/scoped-api/foundation/adapters/auth"
	"github.com/scoped-api/foundation/adapters/postgres"
	redisadapter "github.com/scoped-api/foundation/adapters/redis"
	appproject "github.com/scoped-api/foundation/application/project"
)

// Environments the service knows.
const (
	EnvDevelopment = "development"
	EnvProduction  = "production"
	EnvTest        = "test"
)

// Config is every setting, read from the environment and validated at start.
type Config struct {
	Env      string `env:"APP_ENV" envDefault:"development"`
	HTTP     HTTPConfig
	Database DatabaseConfig
	Auth     AuthConfig
	Log      LogConfig
	CORS     CORSConfig
	OTel     TelemetryConfig
	Redis    RedisConfig
	Streams  StreamConfig
	Projects ProjectsConfig
	// Idempotency tunes the keys that make retried writes harmless.
	Idempotency IdempotencyConfig
	// RateLimit is the request budgets (config_ratelimit.go).
	RateLimit RateLimitConfig
}

// IdempotencyConfig tunes idempotency keys.
type IdempotencyConfig struct {
	// KeyRetention is how long a key's answer is replayed; a retry after
	// that runs the request again.
	KeyRetention time.Duration `env:"IDEMPOTENCY_KEY_RETENTION" envDefault:"24h"`
}

// ProjectsConfig tunes how other contexts learn whether a caller may act
// in a project, and keys its worker credentials.
type ProjectsConfig struct {
	// GateCacheTTL is how long an answer is remembered per caller and
	// project (0 asks every time): a member removed, a key revoked or a
	// project deleted on another instance keeps access there for at most
	// this long.
	GateCacheTTL time.Duration `env:"PROJECT_GATE_CACHE_TTL" envDefault:"1s"`
	// KeySecret keys the HMAC under which project keys' secrets are
	// stored; changing it invalidates every key.
	KeySecret string `env:"PROJECT_KEY_SECRET"`
	// UsingDevelopmentKeySecret is set when the public development
	// secret stands in (never in production).
	UsingDevelopmentKeySecret bool `env:"-"`
}

const (
	// defaultShutdownDelay covers a few readiness probes of a load
	// balancer or of Kubernetes (whose endpoints follow readiness).
	defaultShutdownDelay = 5 * time.Second
	// maxStop bounds HTTP_SHUTDOWN_DELAY + HTTP_SHUTDOWN_TIMEOUT.
	maxStop = 5 * time.Minute
)

// HTTPConfig is the listener and its limits.
type HTTPConfig struct {
	Addr            string        `env:"HTTP_ADDR" envDefault:"127.0.0.1:8000"`
	ShutdownTimeout time.Duration `env:"HTTP_SHUTDOWN_TIMEOUT" envDefault:"15s"`
	// ShutdownDelay is how long readiness answers 503 after SIGTERM while
	// the listener still serves, so that load balancers stop routing here
	// before draining starts. LoadConfig resolves it: HTTP_SHUTDOWN_DELAY,
	// or when unset 5s, and 0 in development (nothing balances make run).
	ShutdownDelay time.Duration `env:"-"`
	// ShutdownDelayGiven is HTTP_SHUTDOWN_DELAY as given, nil when unset:
	// 0 is a value of its own.
	ShutdownDelayGiven *time.Duration `env:"HTTP_SHUTDOWN_DELAY"`
	ReadHeaderTimeout  time.Duration  `env:"HTTP_READ_HEADER_TIMEOUT" envDefault:"5s"`
	ReadTimeout        time.Duration  `env:"HTTP_READ_TIMEOUT" envDefault:"30s"`
	WriteTimeout       time.Duration  `env:"HTTP_WRITE_TIMEOUT" envDefault:"30s"`
	IdleTimeout        time.Duration  `env:"HTTP_IDLE_TIMEOUT" envDefault:"120s"`
	// RequestTimeout ends a request's context: the database driver has no
	// read timeout of its own, so without it a database that accepts
	// connections and never answers would hold every request open.
	RequestTimeout time.Duration `env:"HTTP_REQUEST_TIMEOUT" envDefault:"10s"`
	MaxBodyBytes   int64         `env:"HTTP_MAX_BODY_BYTES" envDefault:"1048576"`
	// RequireIfMatch answers 428 to a conditional write (PATCH or DELETE of
	// a project, an operation's progress or cancel) sent without If-Match.
	RequireIfMatch bool `env:"HTTP_REQUIRE_IF_MATCH" envDefault:"false"`
	// DebugAddr serves net/http/pprof on a listener of its own, never the
	// main one; empty serves none. A port alone binds loopback; production
	// refuses any other host (profiles show memory and the command line).
	DebugAddr string `env:"DEBUG_ADDR"`
	// TLSCertFile and TLSKeyFile, both or neither, serve HTTPS (HTTP/2 and
	// HTTP/1.1) on HTTP_ADDR; the pair is read again when either file
	// changes and on SIGHUP, without dropping a connection.
	TLSCertFile string `env:"HTTP_TLS_CERT_FILE"`
	TLSKeyFile  string `env:"HTTP_TLS_KEY_FILE"`
	// RedirectAddr, with TLS only, serves plain HTTP that redirects every
	// request to the same URL over HTTPS.
	RedirectAddr string `env:"HTTP_REDIRECT_ADDR"`
	// H2C serves cleartext HTTP/2 (prior knowledge) beside HTTP/1.1 when
	// there is no TLS: for meshes and load balancers that speak it.
	H2C bool `env:"HTTP_H2C" envDefault:"false"`
}

// DatabaseConfig is the database and its pool.
type DatabaseConfig struct {
	URL             string        `env:"DATABASE_URL" envDefault:"sqlite://var/api.db"`
	QueryExecMode   string        `env:"DB_QUERY_EXEC_MODE" envDefault:"cache_describe"`
	MaxOpenConns    int           `env:"DB_MAX_OPEN_CONNS" envDefault:"20"`
	MaxIdleConns    int           `env:"DB_MAX_IDLE_CONNS" envDefault:"20"`
	ConnMaxLifetime time.Duration `env:"DB_CONN_MAX_LIFETIME" envDefault:"30m"`
	ConnMaxIdleTime time.Duration `env:"DB_CONN_MAX_IDLE_TIME" envDefault:"5m"`
	ConnectTimeout  time.Duration `env:"DB_CONNECT_TIMEOUT" envDefault:"5s"`
	MigrateOnStart  bool          `env:"DB_MIGRATE_ON_START" envDefault:"true"`
}

// AuthConfig is how bearer tokens are checked.
type AuthConfig struct {
	Secret   string `env:"AUTH_HS256_SECRET"`
	Issuer   string `env:"AUTH_ISSUER"`
	Audience string `env:"AUTH_AUDIENCE"`
	// Leeway absorbs clock skew in a token's exp, nbf and iat.
	Leeway time.Duration `env:"AUTH_LEEWAY" envDefault:"5s"`
	// JWKSURL, or OIDCIssuer with OpenID Connect discovery, verifies
	// tokens of an identity provider (RS256, ES256, EdDSA); then
	// AUTH_ISSUER and AUTH_AUDIENCE are required, and HS256 tokens are
	// accepted only if AUTH_HS256_SECRET is also set.
	JWKSURL    string `env:"AUTH_JWKS_URL"`
	OIDCIssuer string `env:"AUTH_OIDC_ISSUER"`
	// SubjectClaim is the claim that names the caller.
	SubjectClaim string `env:"AUTH_SUBJECT_CLAIM" envDefault:"sub"`
	// JWKSTimeout bounds each request to the provider, the first at start included.
	JWKSTimeout time.Duration `env:"AUTH_JWKS_TIMEOUT" envDefault:"5s"`
	// JWKSRefresh is how often the provider's keys are fetched again
	// (besides a bounded refetch when a token names an unknown key).
	JWKSRefresh time.Duration `env:"AUTH_JWKS_REFRESH" envDefault:"1h"`
	// UsingDevelopmentSecret is set when no secret was configured and the
	// public development secret stands in (never in production).
	UsingDevelopmentSecret bool `env:"-"`
}

// LogConfig is the logger's level and encoding.
type LogConfig struct {
	Level  string `env:"LOG_LEVEL" envDefault:"info"`
	Format string `env:"LOG_FORMAT"`
}

// CORSConfig lists the browser origins allowed to call the API; empty turns CORS off.
type CORSConfig struct {
	AllowedOrigins []string `env:"CORS_ALLOWED_ORIGINS" envSeparator:","`
}

// RedisConfig is the Redis that carries events between instances. Empty
// URL keeps events in-process: one instance only.
type RedisConfig struct {
	// Mode says how URL is read: single, sentinel or cluster (go-redis's
	// URL forms for a plain, a failover and a cluster client).
	Mode           string        `env:"REDIS_MODE" envDefault:"single"`
	URL            string        `env:"REDIS_URL"`
	KeyPrefix      string        `env:"REDIS_KEY_PREFIX"`
	PoolSize       int           `env:"REDIS_POOL_SIZE" envDefault:"20"`
	ConnectTimeout time.Duration `env:"REDIS_CONNECT_TIMEOUT" envDefault:"5s"`
	CommandTimeout time.Duration `env:"REDIS_COMMAND_TIMEOUT" envDefault:"1s"`
}

// redisURLForms is what REDIS_URL looks like in each REDIS_MODE, for
// error messages.
var redisURLForms = map[string]string{
	redisadapter.ModeSingle:   "redis://[user:password@]host:port[/db]",
	redisadapter.ModeSentinel: "redis://[sentinel-user:sentinel-password@]sentinel:26379[/db]?master_name=NAME[&addr=sentinel2:26379...][&password=...]",
	redisadapter.ModeCluster:  "redis://[user:password@]node:6379[?addr=node2:6379...]",
}

// StreamConfig shapes the Server-Sent Event streams and the relay behind them.
type StreamConfig struct {
	Keepalive            time.Duration `env:"SSE_KEEPALIVE" envDefault:"30s"`
	MaxDuration          time.Duration `env:"SSE_MAX_DURATION" envDefault:"5m"`
	Retry                time.Duration `env:"SSE_RETRY" envDefault:"2s"`
	HistoryRetention     time.Duration `env:"SSE_HISTORY_RETENTION" envDefault:"24h"`
	MaxStreamsPerSubject int           `env:"SSE_MAX_STREAMS_PER_SUBJECT" envDefault:"16"`
	SubscriberBuffer     int           `env:"SSE_SUBSCRIBER_BUFFER" envDefault:"1024"`
	WriteTimeout         time.Duration `env:"SSE_WRITE_TIMEOUT" envDefault:"10s"`
	TicketTTL            time.Duration `env:"SSE_TICKET_TTL" envDefault:"60s"`
	PassTTL              time.Duration `env:"SSE_PASS_TTL" envDefault:"15m"`
	RelayInterval        time.Duration `env:"EVENTS_RELAY_INTERVAL" envDefault:"1s"`
	RelayBatch           int           `env:"EVENTS_RELAY_BATCH" envDefault:"500"`
	RelayLinger          time.Duration `env:"EVENTS_RELAY_LINGER" envDefault:"0s"`
	RelayMaxLag          time.Duration `env:"EVENTS_RELAY_MAX_LAG" envDefault:"30s"`
}

// LoadConfig reads the configuration from environ (the process environment
// when nil) and reports every invalid or missing value in one error.
func LoadConfig(environ map[string]string) (Config, error) {
	var cfg Config
	opts := env.Options{Environment: environ}
	var problems []error
	unparsed := map[string]bool{}
	if err := env.ParseWithOptions(&cfg, opts); err != nil {
		var agg env.AggregateError
		if !errors.As(err, &agg) {
			agg.Errors = []error{err}
		}
		for _, e := range agg.Errors {
			var pe env.ParseError
			if errors.As(e, &pe) {
				name := envName(reflect.TypeFor[Config](), pe.Name)
				unparsed[name] = true
				e = fmt.Errorf("%s: %w", name, pe.Err)
			}
			problems = append(problems, e)
		}
	}
	for _, p := range cfg.validate() {
		if !mentionsAny(p.Error(), unparsed) {
			problems = append(problems, p)
		}
	}
	if len(problems) > 0 {
		msgs := make([]string, len(problems))
		for i, p := range problems {
			msgs[i] = "  - " + strings.TrimPrefix(p.Error(), "env: ")
		}
		return cfg, fmt.Errorf("invalid configuration:\n%s", strings.Join(msgs, "\n"))
	}
	return cfg, nil
}

// mentionsAny reports whether msg names one of the variables that did
// not parse, whose zero value would only cause a second, confusing message.
func mentionsAny(msg string, names map[string]bool) bool {
	for n := range names {
		if strings.Contains(msg, n) {
			return true
		}
	}
	return false
}

// envName finds the environment variable behind a (nested) field name.
func envName(t reflect.Type, field string) string {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Type.Kind() == reflect.Struct && f.Tag.Get("env") == "" {
			if n := envName(f.Type, field); n != field {
				return n
			}
			continue
		}
		if f.Name == field {
			if tag := strings.Split(f.Tag.Get("env"), ",")[0]; tag != "" {
				return tag
			}
		}
	}
	return field
}

// validate checks what parsing cannot; each message starts with the
// variable's name.
// validateTLS checks the HTTPS settings: a certificate needs its key, the
// redirect needs HTTPS to redirect to, h2c is for cleartext only.
func (c *Config) validateTLS(bad func(string, ...any)) {
	h := c.HTTP
	switch {
	case (h.TLSCertFile == "") != (h.TLSKeyFile == ""):
		bad("HTTP_TLS_CERT_FILE and HTTP_TLS_KEY_FILE go together: set both to serve HTTPS, or neither")
	case h.TLSCertFile != "" && h.H2C:
		bad("HTTP_H2C is cleartext HTTP/2: with HTTP_TLS_CERT_FILE, HTTPS already serves HTTP/2")
	}
	if h.RedirectAddr == "" {
		return
	}
	if h.TLSCertFile == "" {
		bad("HTTP_REDIRECT_ADDR redirects to HTTPS, which needs HTTP_TLS_CERT_FILE and HTTP_TLS_KEY_FILE")
	}
	if _, _, err := net.SplitHostPort(h.RedirectAddr); err != nil {
		bad("HTTP_REDIRECT_ADDR must be host:port, not %q", h.RedirectAddr)
	} else if h.RedirectAddr == h.Addr && !strings.HasSuffix(h.Addr, ":0") {
		bad("HTTP_REDIRECT_ADDR must differ from HTTP_ADDR (%q)", h.Addr)
	}
}

func (c *Config) validate() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	switch c.Env {
	case EnvDevelopment, EnvProduction, EnvTest:
	default:
		bad("APP_ENV must be development, production or test, not %q", c.Env)
	}
	if _, _, err := net.SplitHostPort(c.HTTP.Addr); err != nil {
		bad("HTTP_ADDR must be host:port, not %q", c.HTTP.Addr)
	}
	for _, d := range []struct {
		name  string
		value time.Duration
	}{
		{"HTTP_SHUTDOWN_TIMEOUT", c.HTTP.ShutdownTimeout},
		{"HTTP_READ_HEADER_TIMEOUT", c.HTTP.ReadHeaderTimeout},
		{"HTTP_READ_TIMEOUT", c.HTTP.ReadTimeout},
		{"HTTP_WRITE_TIMEOUT", c.HTTP.WriteTimeout},
		{"HTTP_IDLE_TIMEOUT", c.HTTP.IdleTimeout},
		{"HTTP_REQUEST_TIMEOUT", c.HTTP.RequestTimeout},
		{"DB_CONNECT_TIMEOUT", c.Database.ConnectTimeout},
		{"REDIS_CONNECT_TIMEOUT", c.Redis.ConnectTimeout},
		{"REDIS_COMMAND_TIMEOUT", c.Redis.CommandTimeout},
		{"AUTH_LEEWAY", c.Auth.Leeway},
		{"IDEMPOTENCY_KEY_RETENTION", c.Idempotency.KeyRetention},
		{"SSE_KEEPALIVE", c.Streams.Keepalive},
		{"SSE_MAX_DURATION", c.Streams.MaxDuration},
		{"SSE_RETRY", c.Streams.Retry},
		{"SSE_HISTORY_RETENTION", c.Streams.HistoryRetention},
		{"SSE_WRITE_TIMEOUT", c.Streams.WriteTimeout},
		{"SSE_TICKET_TTL", c.Streams.TicketTTL},
		{"SSE_PASS_TTL", c.Streams.PassTTL},
		{"EVENTS_RELAY_INTERVAL", c.Streams.RelayInterval},
		{"EVENTS_RELAY_MAX_LAG", c.Streams.RelayMaxLag},
	} {
		if d.value <= 0 {
			bad("%s must be a positive duration such as 10s", d.name)
		}
	}
	switch {
	case c.HTTP.ShutdownDelayGiven != nil:
		c.HTTP.ShutdownDelay = *c.HTTP.ShutdownDelayGiven
	case c.Env == EnvDevelopment:
		c.HTTP.ShutdownDelay = 0
	default:
		c.HTTP.ShutdownDelay = defaultShutdownDelay
	}
	if c.HTTP.ShutdownDelay < 0 {
		bad("HTTP_SHUTDOWN_DELAY must not be negative (0 turns the delay off)")
	} else if stop := c.HTTP.ShutdownDelay + c.HTTP.ShutdownTimeout; c.HTTP.ShutdownTimeout > 0 && stop > maxStop {
		// A stop this long is a unit mistaken (5m for 5s) more often than
		// a balancer that slow; the orchestrator's grace period must cover it.
		bad("HTTP_SHUTDOWN_DELAY (%v) + HTTP_SHUTDOWN_TIMEOUT (%v) is the longest a stop takes and must be at most %v", c.HTTP.ShutdownDelay, c.HTTP.ShutdownTimeout, maxStop)
	}
	if c.HTTP.RequestTimeout >= c.HTTP.WriteTimeout && c.HTTP.WriteTimeout > 0 {
		// Past the write timeout the server drops the connection: the 503 would never reach the client.
		bad("HTTP_REQUEST_TIMEOUT (%v) must be shorter than HTTP_WRITE_TIMEOUT (%v)", c.HTTP.RequestTimeout, c.HTTP.WriteTimeout)
	}
	c.validateTLS(bad)
	if c.HTTP.DebugAddr != "" {
		if host, port, err := net.SplitHostPort(c.HTTP.DebugAddr); err != nil {
			bad("DEBUG_ADDR must be host:port or :port, not %q", c.HTTP.DebugAddr)
		} else if host == "" {
			c.HTTP.DebugAddr = net.JoinHostPort("127.0.0.1", port)
		} else if !IsLoopback(c.HTTP.DebugAddr) && c.Env == EnvProduction {
			bad("DEBUG_ADDR %q is not a loopback address: in production pprof is served on loopback only (reach it with kubectl port-forward or an SSH tunnel)", c.HTTP.DebugAddr)
		}
	}
	if c.HTTP.MaxBodyBytes <= 0 {
		bad("HTTP_MAX_BODY_BYTES must be a positive number of bytes")
	}
	if dialect, _, err := postgres.ParseURL(c.Database.URL); err != nil {
		bad("DATABASE_URL %v", err)
	} else if dialect == postgres.DialectPostgres {
		if _, err := postgres.WithQueryExecMode(c.Database.URL, c.Database.QueryExecMode); err != nil {
			bad("%v", err)
		}
	} else if err := postgres.CheckQueryExecMode(c.Database.QueryExecMode); err != nil {
		bad("%v", err)
	}
	if c.Database.MaxOpenConns < 1 {
		bad("DB_MAX_OPEN_CONNS must be at least 1")
	}
	if c.Database.MaxIdleConns < 0 || c.Database.MaxIdleConns > c.Database.MaxOpenConns {
		bad("DB_MAX_IDLE_CONNS must be between 0 and DB_MAX_OPEN_CONNS")
	}
	if c.Database.ConnMaxLifetime < 0 || c.Database.ConnMaxIdleTime < 0 {
		bad("DB_CONN_MAX_LIFETIME and DB_CONN_MAX_IDLE_TIME must not be negative")
	}

	provider := c.Auth.JWKSURL != "" || c.Auth.OIDCIssuer != ""
	if provider {
		c.checkProvider(bad)
	}
	switch {
	case provider && c.Auth.Secret == "":
		// Tokens come from the identity provider only.
	case c.Env == EnvProduction && c.Auth.Secret == "":
		bad("AUTH_HS256_SECRET is required in production (or configure AUTH_JWKS_URL or AUTH_OIDC_ISSUER)")
	case c.Env == EnvProduction && c.Auth.Secret == auth.DevelopmentSecret:
		bad("AUTH_HS256_SECRET is the public development secret; production needs its own")
	case c.Env == EnvProduction && len(c.Auth.Secret) < auth.MinSecretBytes:
		bad("AUTH_HS256_SECRET must be at least %d bytes in production", auth.MinSecretBytes)
	case c.Auth.Secret == "":
		c.Auth.Secret = auth.DevelopmentSecret
		c.Auth.UsingDevelopmentSecret = true
	}

	if _, err := zapcore.ParseLevel(c.Log.Level); err != nil {
		bad("LOG_LEVEL must be debug, info, warn or error, not %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "":
		c.Log.Format = "console"
		if c.Env == EnvProduction {
			c.Log.Format = "json"
		}
	case "json", "console":
	default:
		bad("LOG_FORMAT must be json or console, not %q", c.Log.Format)
	}

	for _, o := range c.CORS.AllowedOrigins {
		u, err := url.Parse(o)
		if o == "*" {
			continue
		}
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" {
			bad("CORS_ALLOWED_ORIGINS entry %q must be an origin such as https://app.example.com", o)
		}
	}
	switch c.Redis.Mode {
	case redisadapter.ModeSingle, redisadapter.ModeSentinel, redisadapter.ModeCluster:
	default:
		bad("REDIS_MODE must be single, sentinel or cluster, not %q", c.Redis.Mode)
	}
	if c.Redis.URL == "" && c.Redis.Mode != redisadapter.ModeSingle {
		bad("REDIS_MODE=%s needs REDIS_URL", c.Redis.Mode)
	}
	if c.Redis.URL != "" {
		if u, err := url.Parse(c.Redis.URL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			bad("REDIS_URL must be %s (or rediss://), not %q", redisURLForms[c.Redis.Mode], RedactURL(c.Redis.URL))
		} else if err := redisadapter.ValidateURL(c.Redis.Mode, c.Redis.URL); err != nil {
			bad("REDIS_URL (REDIS_MODE=%s) must be %s: %v", c.Redis.Mode, redisURLForms[c.Redis.Mode], err)
		}
	}
	if c.Redis.PoolSize < 1 {
		bad("REDIS_POOL_SIZE must be at least 1")
	}
	if c.Projects.GateCacheTTL < 0 || c.Projects.GateCacheTTL > time.Minute {
		bad("PROJECT_GATE_CACHE_TTL must be between 0 (off) and 1m")
	}
	switch {
	case c.Env == EnvProduction && c.Projects.KeySecret == "":
		bad("PROJECT_KEY_SECRET is required in production")
	case c.Env == EnvProduction && c.Projects.KeySecret == appproject.DevelopmentKeySecret:
		bad("PROJECT_KEY_SECRET is the public development secret; production needs its own")
	case c.Env == EnvProduction && len(c.Projects.KeySecret) < appproject.MinKeySecretBytes:
		bad("PROJECT_KEY_SECRET must be at least %d bytes in production", appproject.MinKeySecretBytes)
	case c.Projects.KeySecret == "":
		c.Projects.KeySecret = appproject.DevelopmentKeySecret
		c.Projects.UsingDevelopmentKeySecret = true
	}
	if c.Streams.MaxStreamsPerSubject < 1 {
		bad("SSE_MAX_STREAMS_PER_SUBJECT must be at least 1")
	}
	if c.Streams.SubscriberBuffer < 1 {
		bad("SSE_SUBSCRIBER_BUFFER must be at least 1")
	}
	if c.Streams.RelayLinger < 0 || c.Streams.RelayLinger > time.Second {
		bad("EVENTS_RELAY_LINGER must be between 0 and 1s")
	}
	if c.Streams.RelayMaxLag > 0 && c.Streams.RelayMaxLag <= 2*c.Streams.RelayInterval {
		// The lag is measured every interval and a step may take half of it.
		bad("EVENTS_RELAY_MAX_LAG (%v) must be more than twice EVENTS_RELAY_INTERVAL (%v)", c.Streams.RelayMaxLag, c.Streams.RelayInterval)
	}
	if c.Streams.PassTTL > 0 && c.Streams.PassTTL <= c.Streams.MaxDuration+c.Streams.Retry {
		// Each stream a pass opens renews it: it must outlive one stream and the reconnect after it.
		bad("SSE_PASS_TTL (%v) must be more than SSE_MAX_DURATION + SSE_RETRY (%v)", c.Streams.PassTTL, c.Streams.MaxDuration+c.Streams.Retry)
	}
	if c.Streams.RelayBatch < 1 {
		bad("EVENTS_RELAY_BATCH must be at least 1")
	}
	if c.Streams.SubscriberBuffer < c.Streams.RelayBatch {
		// One published batch can reach a stream at once: it must fit.
		bad("SSE_SUBSCRIBER_BUFFER (%d) must be at least EVENTS_RELAY_BATCH (%d)", c.Streams.SubscriberBuffer, c.Streams.RelayBatch)
	}
	errs = append(errs, c.OTel.validate()...)
	errs = append(errs, c.RateLimit.validate()...)
	return errs
}

// checkProvider checks the identity provider's settings.
func (c *Config) checkProvider(bad func(format string, args ...any)) {
	a := &c.Auth
	if a.JWKSURL != "" && a.OIDCIssuer != "" {
		bad("set AUTH_JWKS_URL or AUTH_OIDC_ISSUER, not both")
	}
	if a.Issuer == "" {
		a.Issuer = a.OIDCIssuer
	}
	if a.Issuer == "" || a.Audience == "" {
		bad("AUTH_ISSUER and AUTH_AUDIENCE are required with AUTH_JWKS_URL (AUTH_OIDC_ISSUER gives the issuer)")
	}
	for name, raw := range map[string]string{"AUTH_JWKS_URL": a.JWKSURL, "AUTH_OIDC_ISSUER": a.OIDCIssuer} {
		if raw == "" {
			continue
		}
		u, err := url.Parse(raw)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
			bad("%s must be an http(s) URL", name)
		case u.Scheme != "https" && c.Env == EnvProduction:
			bad("%s must be https in production", name)
		}
	}
	if strings.TrimSpace(a.SubjectClaim) == "" {
		bad("AUTH_SUBJECT_CLAIM must name a claim")
	}
	if a.JWKSTimeout <= 0 || a.JWKSTimeout > time.Minute || a.JWKSRefresh < time.Minute {
		bad("AUTH_JWKS_TIMEOUT must be between 0 and 1m, AUTH_JWKS_REFRESH at least 1m")
	}
}
