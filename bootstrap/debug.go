package bootstrap

import (
	"net/http"
	"net/http/pprof"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"
)

// debugProfileLimit bounds a CPU profile or trace (?seconds=): pprof
// refuses longer ones than the server's write timeout.
const debugProfileLimit = 5 * time.Minute

// serveDebug serves net/http/pprof on DEBUG_ADDR when it is set (the
// configuration keeps it on loopback in production).
func serveDebug(lc fx.Lifecycle, cfg Config, log *zap.Logger, budget *stopBudget, _ *Server) {
	if cfg.HTTP.DebugAddr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	serveAside(lc, sideListener{
		what: "pprof", variable: "DEBUG_ADDR", addr: cfg.HTTP.DebugAddr, path: "/debug/pprof/",
		server: &http.Server{Handler: mux, ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout, WriteTimeout: debugProfileLimit + 10*time.Second},
	}, log, budget)
}
