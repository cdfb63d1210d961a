package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/scoped-api/foundation/bootstrap"
	"github.com/scoped-api/foundation/test/testkit"
)

// benchTB lets testkit's helpers run outside `go test`: failures abort the
// suite, cleanups run when it ends.
type benchTB struct {
	mu       sync.Mutex
	cleanups []func()
}

func (b *benchTB) Helper() {}
func (b *benchTB) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}
func (b *benchTB) Cleanup(f func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cleanups = append(b.cleanups, f)
}
func (b *benchTB) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := len(b.cleanups) - 1; i >= 0; i-- {
		b.cleanups[i]()
	}
	b.cleanups = nil
}

// runningApp is the real application started by a benchmark.
type runningApp struct {
	url string
	app *fx.App
}

// startApp starts the real application with env; it logs at info level
// to a discarding JSON encoder, so the access log's encoding cost is paid
// but no terminal is in the way.
func startApp(env map[string]string, extra ...fx.Option) (*runningApp, error) {
	cfg, err := bootstrap.LoadConfig(env)
	if err != nil {
		return nil, err
	}
	var srv *bootstrap.Server
	core := zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(io.Discard), zapcore.InfoLevel)
	opts := append([]fx.Option{
		fx.Decorate(func() *zap.Logger { return zap.New(core) }),
		fx.Populate(&srv),
	}, extra...)
	app := bootstrap.App(cfg, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		return nil, err
	}
	return &runningApp{url: srv.URL(), app: app}, nil
}

func (a *runningApp) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = a.app.Stop(ctx)
}

// serve runs h on a random loopback port until the returned stop is called.
func serve(h http.Handler) (url string, stop func(), err error) {
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

func benchEnv(dbURL string) map[string]string {
	env := testkit.BaseEnv(dbURL)
	env["APP_ENV"] = "production"
	env["LOG_LEVEL"] = "info"
	env["LOG_FORMAT"] = "json"
	return env
}

// warn prints progress to stderr, apart from the figures on stdout.
func warn(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

// apiCopies builds the API once and returns a starter of copies of it on
// one fresh database, each with the benchmark environment and its extra
// variables (later maps win); tb's cleanup stops them and removes the
// binary.
func apiCopies(ctx context.Context, tb *benchTB) (start func(extra ...map[string]string) (*child, error), err error) {
	dbURL := testkit.NewPostgresDatabase(tb)
	bin, removeBin, err := buildAPI(ctx)
	if err != nil {
		return nil, err
	}
	tb.Cleanup(removeBin)
	return func(extra ...map[string]string) (*child, error) {
		env := benchEnv(dbURL)
		for _, m := range extra {
			maps.Copy(env, m)
		}
		c, err := startQuietChild(ctx, bin, env)
		if err == nil {
			tb.Cleanup(c.stop)
		}
		return c, err
	}, nil
}
