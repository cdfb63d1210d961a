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
}

// HTTPConfig is the listener and its limits.
type HTTPConfig struct {
	Addr              string        `env:"HTTP_ADDR" envDefault:"127.0.0.1:8000"`
	ShutdownTimeout   time.Duration `env:"HTTP_SHUTDOWN_TIMEOUT" envDefault:"15s"`
	ReadHeaderTimeout time.Duration `env:"HTTP_READ_HEADER_TIMEOUT" envDefault:"5s"`
	ReadTimeout       time.Duration `env:"HTTP_READ_TIMEOUT" envDefault:"30s"`
	WriteTimeout      time.Duration `env:"HTTP_WRITE_TIMEOUT" envDefault:"30s"`
	IdleTimeout       time.Duration `env:"HTTP_IDLE_TIMEOUT" envDefault:"120s"`
	MaxBodyBytes      int64         `env:"HTTP_MAX_BODY_BYTES" envDefault:"1048576"`
}

// DatabaseConfig is the database and its pool.
type DatabaseConfig struct {
	URL             string        `env:"DATABASE_URL" envDefault:"sqlite://var/api.db"`
	MaxOpenConns    int           `env:"DB_MAX_OPEN_CONNS" envDefault:"20"`
	MaxIdleConns    int           `env:"DB_MAX_IDLE_CONNS" envDefault:"10"`
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
		{"DB_CONNECT_TIMEOUT", c.Database.ConnectTimeout},
	} {
		if d.value <= 0 {
			bad("%s must be a positive duration such as 10s", d.name)
		}
	}
	if c.HTTP.MaxBodyBytes <= 0 {
		bad("HTTP_MAX_BODY_BYTES must be a positive number of bytes")
	}
	if _, _, err := postgres.ParseURL(c.Database.URL); err != nil {
		bad("DATABASE_URL %v", err)
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

	switch {
	case c.Env == EnvProduction && c.Auth.Secret == "":
		bad("AUTH_HS256_SECRET is required in production")
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
	errs = append(errs, c.OTel.validate()...)
	return errs
}
