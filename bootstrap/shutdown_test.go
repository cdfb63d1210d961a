package bootstrap

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scoped-api/foundation/domain/kernel"
)

// TestReadinessAnswers503DuringTheShutdownDelayWhileEverythingElseIsServed:
// after SIGTERM, serve turns readiness to 503 with the cause and goes on
// serving liveness and the API, asking clients to reconnect; only when the
// delay is over does it stop. The delay is a channel the test closes, so
// nothing here depends on how fast the machine is.
func TestReadinessAnswers503DuringTheShutdownDelayWhileEverythingElseIsServed(t *testing.T) {
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	cfg, err := LoadConfig(map[string]string{
		"APP_ENV":            "test",
		"HTTP_ADDR":          addr,
		"DATABASE_URL":       "sqlite://" + t.TempDir() + "/delay.db",
		"LOG_LEVEL":          "error",
		"RATE_LIMIT_ENABLED": "false",
	})
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := newHS256(cfg)
	if err != nil {
		t.Fatal(err)
	}
	alice, _ := kernel.ParseSubject("alice")
	token, err := issuer.Issue(alice, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	ctx, sigterm := context.WithCancel(context.Background())
	defer sigterm()
	asked := make(chan time.Duration, 1)
	delayOver := make(chan time.Time)
	exited := make(chan int, 1)
	var stderr syncBuffer
	go func() {
		exited <- serve(ctx, cfg, io.Discard, &stderr, func(d time.Duration) <-chan time.Time {
			asked <- d
			return delayOver
		})
	}()

	base := "http://" + addr
	// answer is what the test reads of a response, whose body do has closed.
	type answer struct {
		StatusCode int
		Close      bool
	}
	do := func(method, path, body string) (answer, map[string]any, error) {
		req, err := http.NewRequestWithContext(context.Background(), method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return answer{}, nil, err
		}
		defer func() { _ = res.Body.Close() }()
		var m map[string]any
		_ = json.NewDecoder(res.Body).Decode(&m)
		return answer{StatusCode: res.StatusCode, Close: res.Close}, m, nil
	}
	lifecycle := func(m map[string]any) map[string]any {
		checks, _ := m["checks"].(map[string]any)
		c, _ := checks["lifecycle"].(map[string]any)
		return c
	}

	deadline := time.Now().Add(60 * time.Second)
	for {
		res, m, err := do("GET", "/health/ready", "")
		if err == nil && res.StatusCode == http.StatusOK {
			if c := lifecycle(m); c["status"] != "up" || c["required"] != true {
				t.Fatalf("lifecycle check before SIGTERM: %v", m)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never ready: %v %v %s", err, m, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	sigterm()
	select {
	case d := <-asked:
		if d != 5*time.Second {
			t.Fatalf("serve waited %v, want the 5s default outside development", d)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("serve never began the shutdown delay")
	}

	// Inside the delay: unready with the cause, everything else served.
	res, m, err := do("GET", "/health/ready", "")
	if err != nil || res.StatusCode != http.StatusServiceUnavailable || m["status"] != "unavailable" {
		t.Fatalf("readiness during the delay: %v %v %v", res, m, err)
	}
	if c := lifecycle(m); c["status"] != "down" || !strings.Contains(c["error"].(string), "shutting down") || c["since"] == nil {
		t.Fatalf("readiness does not say it is shutting down: %v", m)
	}
	if checks := m["checks"].(map[string]any); checks["database"].(map[string]any)["status"] != "up" {
		t.Fatalf("the dependencies are still checked and up: %v", m)
	}
	res, m, err = do("GET", "/health/live", "")
	if err != nil || res.StatusCode != http.StatusOK || m["status"] != "ok" {
		t.Fatalf("liveness during the delay: %v %v %v", res, m, err)
	}
	res, m, err = do("POST", "/api/v1/projects", `{"name":"during the delay"}`)
	if err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("a write during the delay: %v %v %v", res, m, err)
	}
	if !res.Close {
		t.Error("a response during the delay does not ask the client to reconnect (Connection: close)")
	}
	res, got, err := do("GET", "/api/v1/projects/"+m["id"].(string), "")
	if err != nil || res.StatusCode != http.StatusOK || got["name"] != "during the delay" {
		t.Fatalf("a read during the delay: %v %v %v", res, got, err)
	}

	close(delayOver)
	select {
	case code := <-exited:
		if code != 0 {
			t.Fatalf("exit %d after the delay: %s", code, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop after the delay")
	}
	if _, _, err := do("GET", "/health/live", ""); err == nil {
		t.Fatal("still serving after the stop")
	}
}
