package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

// haEnv is operationsEnv pointed at a Sentinel or Cluster deployment.
func haEnv(t *testing.T, dbURL, prefix, mode, url string, extra ...string) map[string]string {
	t.Helper()
	env := testkit.BaseEnv(dbURL)
	env["REDIS_MODE"] = mode
	env["REDIS_URL"] = url
	env["REDIS_KEY_PREFIX"] = prefix
	env["LOG_LEVEL"] = "info"
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	return env
}

func redisReady(app *testkit.App) (up, down bool) {
	body := string(app.Do("GET", "/health/ready", "", nil).Body)
	return strings.Contains(body, `"redis":{"status":"up"`), strings.Contains(body, `"redis":{"status":"down"`)
}

// redeemTicket issues a stream ticket on one instance and opens the
// stream with it on another; it reports whether both worked.
func redeemTicket(t *testing.T, issuer, redeemer *testkit.App, token, project, op string) bool {
	res := issuer.Do("POST", "/api/v1/projects/"+project+"/operations/"+op+"/events/tickets", token, nil)
	if res.Status != http.StatusCreated {
		return false
	}
	var body struct {
		URL string `json:"url"`
	}
	if err := json.Unmarshal(res.Body, &body); err != nil {
		return false
	}
	s := testkit.OpenSSE(t, redeemer.URL+body.URL, "")
	defer s.Close()
	return s.Status == http.StatusOK
}

// TestSentinelFailover: two instances behind one sentinel; reports go to
// one, a stream is read on the other, and the primary fails over in the
// middle, politely (SENTINEL FAILOVER) or by dying. Every report is
// accepted, the stream gets every event once and in order, tickets work
// after the failover, and readiness follows Redis.
func TestSentinelFailover(t *testing.T) {
	for _, how := range []string{"sentinel failover", "primary killed"} {
		t.Run(strings.ReplaceAll(how, " ", "_"), func(t *testing.T) {
			ha := testkit.StartRedisSentinel(t)
			dbURL := testkit.NewPostgresDatabase(t)
			prefix := testkit.RandomName("e2e_") + ":"
			one := testkit.StartApp(t, haEnv(t, dbURL, prefix, "sentinel", ha.URL()))
			two := testkit.StartApp(t, haEnv(t, dbURL, prefix, "sentinel", ha.URL()))
			alice := testkit.Token(t, "alice", time.Hour)
			p := create(t, one, alice, "sentinel")
			op := createOperation(t, one, alice, p.ID, "import")
			if !redeemTicket(t, one, two, alice, p.ID, op.ID) {
				t.Fatal("a ticket issued on one instance did not open a stream on the other before the failover")
			}
			before := ha.PrimaryAddr(t)

			// Readiness is watched throughout so the window is seen, not timed.
			var sawDown, sawUpAfterDown atomic.Bool
			watchCtx, stopWatch := context.WithCancel(context.Background())
			var watch sync.WaitGroup
			watch.Add(1)
			go func() {
				defer watch.Done()
				for watchCtx.Err() == nil {
					up, down := redisReady(one)
					if down {
						sawDown.Store(true)
					} else if up && sawDown.Load() {
						sawUpAfterDown.Store(true)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}()
			t.Cleanup(func() { stopWatch(); watch.Wait() })

			var want []string
			var wg sync.WaitGroup
			wg.Add(1)
			worker := func() {
				defer wg.Done()
				failedOver := false
				var failedOverAt time.Time
				for i := 0; i < 3000; i++ {
					msg := fmt.Sprintf("%04d", i)
					if res := report(t, one, alice, p.ID, op.ID, map[string]any{"percent": i % 100, "message": msg}); res.Status != http.StatusOK {
						t.Errorf("report %d during the failover: %d %s", i, res.Status, res.Body)
						return
					}
					want = append(want, msg)
					if i == 10 {
						switch how {
						case "sentinel failover":
							c := ha.SentinelClient()
							err := c.Failover(context.Background(), testkit.SentinelMaster).Err()
							_ = c.Close()
							if err != nil {
								t.Errorf("SENTINEL FAILOVER: %v", err)
								return
							}
						default:
							ha.Primary.Stop()
						}
					}
					if i > 10 && !failedOver {
						c := ha.SentinelClient()
						ctx, cancel := context.WithTimeout(context.Background(), time.Second)
						addr, err := c.GetMasterAddrByName(ctx, testkit.SentinelMaster).Result()
						cancel()
						_ = c.Close()
						failedOver = err == nil && addr[0]+":"+addr[1] != before
						if failedOver {
							failedOverAt = time.Now()
						}
					}
					up, _ := redisReady(one)
					// Ten more reports once the new primary serves both instances
					// (and, with the primary killed, readiness was seen down and up
					// again, or had 15 s to be: the check after the loop says which).
					seenOrLate := sawUpAfterDown.Load() || (failedOver && time.Since(failedOverAt) > 15*time.Second)
					if failedOver && up && (how != "primary killed" || seenOrLate) {
						for j := 1; j <= 10; j++ {
							msg := fmt.Sprintf("%04d", i+j)
							if res := report(t, one, alice, p.ID, op.ID, map[string]any{"percent": 50, "message": msg}); res.Status != http.StatusOK {
								t.Errorf("report after the failover: %d %s", res.Status, res.Body)
								return
							}
							want = append(want, msg)
						}
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
				if !failedOver {
					t.Errorf("the sentinel never moved the primary away from %s", before)
				}
				res := report(t, one, alice, p.ID, op.ID, map[string]any{"percent": 100, "status": "succeeded", "message": "done"})
				if res.Status != http.StatusOK {
					t.Errorf("succeed: %d %s", res.Status, res.Body)
				}
			}
			got, ids, connections := follow(t, two.URL+opStreamPath(p.ID, op.ID), alice, 90*time.Second, func() { go worker() })
			wg.Wait()
			if t.Failed() {
				return
			}
			if strings.Join(got, ",") != strings.Join(append(want, "done"), ",") {
				t.Fatalf("received %d messages over %d connections %v, want the %d reported, once each, in order", len(got), connections, got, len(want)+1)
			}
			for i := 1; i < len(ids); i++ {
				if ids[i] <= ids[i-1] {
					t.Fatalf("ids not increasing: %v", ids)
				}
			}
			if after := ha.PrimaryAddr(t); after == before {
				t.Fatalf("the primary is still %s", before)
			}
			if how == "primary killed" && !sawUpAfterDown.Load() {
				t.Fatal("readiness never showed Redis down and then up again while the primary was dead")
			}
			t.Logf("%s: %d events over %d connections; readiness showed redis down: %v", how, len(got), connections, sawDown.Load())
			if !testkit.Eventually(20*time.Second, func() bool {
				up1, _ := redisReady(one)
				up2, _ := redisReady(two)
				return up1 && up2
			}) {
				t.Fatalf("readiness after the failover: %s", two.Do("GET", "/health/ready", "", nil).Body)
			}
			other := createOperation(t, one, alice, p.ID, "export")
			if !testkit.Eventually(20*time.Second, func() bool { return redeemTicket(t, one, two, alice, p.ID, other.ID) }) {
				t.Fatal("stream tickets did not work again after the failover")
			}
		})
	}
}

// TestClusterSmoke: two instances on a three-master Redis Cluster. One
// pattern subscription per instance sees every event (PUBLISH is sent to
// every node), tickets and shared rate limits work.
func TestClusterSmoke(t *testing.T) {
	cluster := testkit.StartRedisCluster(t)
	dbURL := testkit.NewPostgresDatabase(t)
	prefix := testkit.RandomName("e2e_") + ":"
	one := testkit.StartApp(t, haEnv(t, dbURL, prefix, "cluster", cluster.URL()))
	two := testkit.StartApp(t, haEnv(t, dbURL, prefix, "cluster", cluster.URL()))
	alice := testkit.Token(t, "alice", time.Hour)
	if up, _ := redisReady(one); !up {
		t.Fatalf("readiness: %s", one.Do("GET", "/health/ready", "", nil).Body)
	}
	p := create(t, one, alice, "cluster")
	// Several operations, so their channels hash to different nodes.
	for k := range 3 {
		op := createOperation(t, one, alice, p.ID, fmt.Sprintf("import-%d", k))
		want := messages(20)
		var wg sync.WaitGroup
		wg.Add(1)
		worker := func() {
			defer wg.Done()
			for i, msg := range want {
				if res := report(t, one, alice, p.ID, op.ID, map[string]any{"percent": i, "message": msg}); res.Status != http.StatusOK {
					t.Errorf("report: %d %s", res.Status, res.Body)
					return
				}
			}
			if res := report(t, one, alice, p.ID, op.ID, map[string]any{"percent": 100, "status": "succeeded", "message": "done"}); res.Status != http.StatusOK {
				t.Errorf("succeed: %d %s", res.Status, res.Body)
			}
		}
		got, ids, _ := follow(t, two.URL+opStreamPath(p.ID, op.ID), alice, 30*time.Second, func() { go worker() })
		wg.Wait()
		if strings.Join(got, ",") != strings.Join(append(want, "done"), ",") {
			t.Fatalf("operation %d: received %v, want the %d reported, once each, in order", k, got, len(want)+1)
		}
		for i := 1; i < len(ids); i++ {
			if ids[i] <= ids[i-1] {
				t.Fatalf("ids not increasing: %v", ids)
			}
		}
		if !redeemTicket(t, one, two, alice, p.ID, op.ID) {
			t.Fatal("a ticket issued on one instance did not open a stream on the other")
		}
	}

	limitedDB := testkit.NewPostgresDatabase(t)
	limited := haEnv(t, limitedDB, testkit.RandomName("e2e_")+":", "cluster", cluster.URL(),
		"RATE_LIMIT_ENABLED", "true", "RATE_LIMIT_WRITES_PER_MINUTE", "1", "RATE_LIMIT_WRITES_BURST", "3")
	a, b := testkit.StartApp(t, limited), testkit.StartApp(t, limited)
	bob := testkit.Token(t, "bob", time.Hour)
	statuses := []int{}
	for i := range 5 {
		app := a
		if i%2 == 1 {
			app = b
		}
		statuses = append(statuses, app.Do("POST", "/api/v1/projects", bob, map[string]any{"name": fmt.Sprintf("p%d", i)}).Status)
	}
	// The burst of 3 is shared by both instances through the cluster.
	if statuses[0] != http.StatusCreated || statuses[1] != http.StatusCreated || statuses[2] != http.StatusCreated ||
		statuses[3] != http.StatusTooManyRequests || statuses[4] != http.StatusTooManyRequests {
		t.Fatalf("statuses %v, want 201 ×3 then 429 ×2", statuses)
	}
}
