package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgxpool"
)

// bareServerEnv, set to a database URL, makes this program (or its test
// binary) serve the bare baseline on HTTP_ADDR instead of benchmarking:
// the benchmark starts itself as a child, so that the baseline, like the
// API, runs in a process of its own, apart from the load generator.
const bareServerEnv = "BENCH_BARE_SERVER"

// serveBareIfAsked serves the baseline until killed when bareServerEnv is
// set, and reports whether it was.
func serveBareIfAsked() bool {
	dbURL := os.Getenv(bareServerEnv)
	if dbURL == "" {
		return false
	}
	if err := serveBare(dbURL, os.Getenv("HTTP_ADDR")); err != nil {
		fmt.Fprintln(os.Stderr, "bare server:", err)
		os.Exit(1)
	}
	return true
}

func serveBare(dbURL, addr string) error {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, dbURL+"&pool_max_conns=20")
	if err != nil {
		return err
	}
	defer pool.Close()
	h := bareServer(pool).(*gin.Engine)
	h.GET("/health/ready", func(c *gin.Context) { c.Status(http.StatusOK) })
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	return srv.Serve(ln)
}
