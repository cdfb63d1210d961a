package bootstrap

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/scoped-api/foundation/adapters/postgres"
	"github.com/scoped-api/foundation/domain/kernel"
)

const usage = `usage: api [command]

commands:
  serve                          start the HTTP API (the default)
  migrate up|down|status         apply, roll back one, or list schema migrations
  token --sub SUBJECT [--ttl 1h] print a signed bearer token for the configured secret
  openapi                        print the OpenAPI document the server would serve (make openapi writes api/openapi.json)
  version                        print the version, commit and build date

api COMMAND --help says more about one command. Configuration comes from
the environment; see README.md.
`

// commandHelp is what api COMMAND --help prints.
var commandHelp = map[string]string{ //nolint:gosec // G101: help texts, keyed by command name ("token" is one)
	"serve": `usage: api serve

Starts the HTTP API on HTTP_ADDR (applying pending migrations first unless
DB_MIGRATE_ON_START=false) and runs until SIGTERM or SIGINT. Then readiness
answers 503 for HTTP_SHUTDOWN_DELAY while requests are still served, and
in-flight requests and streams drain within HTTP_SHUTDOWN_TIMEOUT.

Configuration comes from the environment; see README.md.
`,
	"migrate": `usage: api migrate up|down|status

  up      apply every pending migration of every bounded context
  down    roll back the newest applied migration
  status  list every migration and whether it is applied

Uses DATABASE_URL. Concurrent runs are safe: each migration is applied once.
`,
	"token": `usage: api token --sub SUBJECT [--ttl 1h]

Prints a bearer token signed with AUTH_HS256_SECRET (labelled on stderr
when that is the public development secret).

  --sub SUBJECT  the token's subject, 1 to 255 bytes (required)
  --ttl DURATION how long the token is valid (default 1h)
`,
	"openapi": `usage: api openapi

Prints the OpenAPI 3.1 document /openapi.json serves, without starting a
server or touching a database.
`,
	"version": `usage: api version

Prints the version, the commit it was built from and the build date; the
startup log, /health/live and the OpenAPI document carry the same version.
`,
}

// Main runs the api command with args (without the program name) and
// returns the process exit code.
func Main(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, args, nil, os.Stdout, os.Stderr)
}

// Run is Main with its environment and streams made explicit; environ nil
// means the process environment. Cancelling ctx stops a running server.
func Run(ctx context.Context, args []string, environ map[string]string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	if isHelp(cmd) {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if help, ok := commandHelp[cmd]; ok && slices.ContainsFunc(args, isHelp) {
		fmt.Fprint(stdout, help)
		return 0
	}
	if cmd == "version" || cmd == "--version" {
		printVersion(stdout, Build())
		return 0
	}
	cfg, err := LoadConfig(environ)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	switch cmd {
	case "serve":
		if len(args) > 0 {
			fmt.Fprintf(stderr, "serve takes no arguments, got %q\n\n%s", args, commandHelp["serve"])
			return 2
		}
		return serve(ctx, cfg, stdout, stderr, time.After)
	case "migrate":
		return migrate(ctx, cfg, args, stdout, stderr)
	case "token":
		return token(cfg, args, stdout, stderr)
	case "openapi":
		if len(args) > 0 {
			fmt.Fprintf(stderr, "openapi takes no arguments, got %q\n\n%s", args, commandHelp["openapi"])
			return 2
		}
		return openapiDocument(cfg, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}

func isHelp(arg string) bool {
	return arg == "help" || arg == "-h" || arg == "--help" || arg == "-help"
}

func printVersion(w io.Writer, b BuildInfo) {
	c := b.Commit
	if b.Modified {
		c += " (modified)"
	}
	fmt.Fprintf(w, "version  %s\ncommit   %s\nbuilt    %s\ngo       %s\n", b.Version, c, b.Date, b.GoVersion)
}

// logStart says which build starts before anything can fail, so that a
// failed start is attributed to its build.
func logStart(log *zap.Logger, b BuildInfo) {
	log.Info("starting", zap.String("version", b.Version), zap.String("commit", b.Commit), zap.Bool("modified", b.Modified),
		zap.String("built", b.Date), zap.String("go", b.GoVersion))
}

// serve runs the server until ctx ends (SIGTERM), then waits
// HTTP_SHUTDOWN_DELAY through after before it stops the app.
func serve(ctx context.Context, cfg Config, stdout, stderr io.Writer, after func(time.Duration) <-chan time.Time) int {
	var srv *Server
	var log *zap.Logger
	app := App(cfg, fx.Populate(&srv, &log))
	if err := app.Err(); err != nil {
		fmt.Fprintf(stderr, "cannot assemble the application: %v\n", err)
		return 1
	}
	logStart(log, Build())
	startCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), app.StartTimeout())
	defer cancel()
	if err := app.Start(startCtx); err != nil {
		fmt.Fprintf(stderr, "cannot start: %v\n", err)
		return 1
	}
	if cfg.Auth.UsingDevelopmentSecret {
		log.Warn("AUTH_HS256_SECRET is not set: using the public DEVELOPMENT secret; never do this in production")
	}
	if cfg.Projects.UsingDevelopmentKeySecret {
		log.Warn("PROJECT_KEY_SECRET is not set: project keys are digested under the public DEVELOPMENT secret; never do this in production")
	}
	if cfg.Env == EnvDevelopment {
		u := srv.URL()
		fmt.Fprintf(stdout, "\n  API       %s\n  Docs      %s/docs\n  OpenAPI   %s/openapi.json\n  Health    %s/health/ready\n"+
			"  Try it    TOKEN=$(bin/api token --sub alice)\n            curl -H \"Authorization: Bearer $TOKEN\" %s/api/v1/projects\n\n",
			u, u, u, u, u)
	}

	// fx relays SIGTERM and SIGINT to this channel as well as ctx hearing
	// them; only a non-zero exit code (the server failed) is not a signal.
	wait := app.Wait()
	var sig fx.ShutdownSignal
	select {
	case <-ctx.Done():
	case sig = <-wait:
	}
	code := sig.ExitCode
	if code == 0 {
		// Load balancers take a few probes to notice: readiness says 503
		// while every request is still served, and only then does the
		// listener close.
		srv.BeginShutdown()
		log.Info("shutting down: readiness answers 503; draining starts after HTTP_SHUTDOWN_DELAY",
			zap.Duration("delay", cfg.HTTP.ShutdownDelay), zap.Duration("timeout", cfg.HTTP.ShutdownTimeout))
		delay := after(cfg.HTTP.ShutdownDelay)
		for waiting := true; waiting; {
			select {
			case <-delay:
				waiting = false
			case sig = <-wait:
				if sig.ExitCode != 0 {
					code, waiting = sig.ExitCode, false
				}
			}
		}
		log.Info("draining", zap.Duration("timeout", cfg.HTTP.ShutdownTimeout))
	}
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), app.StopTimeout())
	defer cancel()
	if err := app.Stop(stopCtx); err != nil {
		fmt.Fprintf(stderr, "unclean shutdown: %v\n", err)
		return 1
	}
	return code
}

func migrate(ctx context.Context, cfg Config, args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprint(stderr, "usage: api migrate up|down|status\n")
		return 2
	}
	// The same graph as serve, built but not started: nothing connects
	// (Redis, telemetry and the listener only do in start hooks), and only
	// the database is used.
	var db *postgres.DB
	var m *postgres.Migrator
	app := fx.New(fx.Supply(cfg), fx.NopLogger, infrastructure, contexts, fx.Populate(&db, &m))
	if err := app.Err(); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer func() { _ = db.Close() }()
	pingCtx, cancel := context.WithTimeout(ctx, cfg.Database.ConnectTimeout)
	defer cancel()
	if err := db.Ping(pingCtx); err != nil {
		fmt.Fprintf(stderr, "database %s is unreachable: %v\n", RedactURL(cfg.Database.URL), err)
		return 1
	}
	switch args[0] {
	case "up":
		applied, err := m.Up(ctx)
		for _, name := range applied {
			fmt.Fprintf(stdout, "applied %s\n", name)
		}
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		if len(applied) == 0 {
			fmt.Fprintln(stdout, "schema is up to date")
		}
	case "down":
		name, err := m.Down(ctx)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		if name == "" {
			fmt.Fprintln(stdout, "nothing to roll back")
		} else {
			fmt.Fprintf(stdout, "rolled back %s\n", name)
		}
	case "status":
		st, err := m.Status(ctx)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VERSION\tSTATE\tNAME")
		for _, s := range st {
			state := "pending"
			if s.Applied {
				state = "applied"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\n", s.Version, state, s.Name)
		}
		_ = tw.Flush()
	default:
		fmt.Fprintf(stderr, "unknown migrate command %q: use up, down or status\n", args[0])
		return 2
	}
	return 0
}

func token(cfg Config, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sub := fs.String("sub", "", "the token's subject (required)")
	ttl := fs.Duration("ttl", time.Hour, "how long the token is valid")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	subject, err := kernel.ParseSubject(*sub)
	if err != nil {
		fmt.Fprintln(stderr, "token: --sub is required (1 to 255 bytes)")
		return 2
	}
	if *ttl <= 0 {
		fmt.Fprintln(stderr, "token: --ttl must be positive")
		return 2
	}
	issuer, err := newHS256(cfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	tok, err := issuer.Issue(subject, *ttl)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if cfg.Auth.UsingDevelopmentSecret {
		fmt.Fprintln(stderr, "note: signed with the public DEVELOPMENT secret (AUTH_HS256_SECRET is not set)")
	}
	fmt.Fprintln(stdout, tok)
	return 0
}

// openapiDocument prints, indented, the document /openapi.json serves for
// cfg. The application is assembled but not started: no database, Redis or
// listener is touched.
func openapiDocument(cfg Config, stdout, stderr io.Writer) int {
	// Opening the embedded database's handle creates its directory; the
	// document does not depend on which database it is.
	dir, err := os.MkdirTemp("", "api-openapi-")
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	cfg.Database.URL = "sqlite://" + dir + "/unused.db"
	var api huma.API
	app := App(cfg, fx.NopLogger, fx.Decorate(func() *zap.Logger { return zap.NewNop() }), fx.Populate(&api))
	if err := app.Err(); err != nil {
		fmt.Fprintf(stderr, "cannot assemble the application: %v\n", err)
		return 1
	}
	doc, err := json.Marshal(api.OpenAPI()) // what huma serves
	if err != nil {
		fmt.Fprintf(stderr, "cannot encode the OpenAPI document: %v\n", err)
		return 1
	}
	var out bytes.Buffer
	if err := json.Indent(&out, doc, "", "  "); err != nil {
		fmt.Fprintf(stderr, "cannot indent the OpenAPI document: %v\n", err)
		return 1
	}
	out.WriteByte('\n')
	_, _ = stdout.Write(out.Bytes())
	return 0
}
