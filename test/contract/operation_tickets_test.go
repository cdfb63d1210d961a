package contract

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	memoperation "github.com/scoped-api/foundation/adapters/memory/operation"
	redisadapter "github.com/scoped-api/foundation/adapters/redis"
	redisoperation "github.com/scoped-api/foundation/adapters/redis/operation"
	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
	ports "github.com/scoped-api/foundation/ports/operation"
	"github.com/scoped-api/foundation/test/testkit"
)

// operationTicketStores builds an empty ticket store of every adapter.
var operationTicketStores = map[string]func(t *testing.T) ports.TicketStore{
	"memory": func(*testing.T) ports.TicketStore { return memoperation.NewTicketStore() },
	"redis": func(t *testing.T) ports.TicketStore {
		return redisoperation.NewTicketStore(newRedisClient(t), testkit.RandomName("optickets_")+":")
	},
}

func TestOperationTicketStore(t *testing.T) {
	for name, newStore := range operationTicketStores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, c := range ticketCases {
				t.Run(c.name, func(t *testing.T) { c.run(t, newStore(t)) })
			}
		})
	}
}

var ticketCases = []struct {
	name string
	run  func(t *testing.T, store ports.TicketStore)
}{
	{"take returns the saved ticket, once", func(t *testing.T, store ports.TicketStore) {
		op := operation.IDFrom(uuid.Must(uuid.NewV7()))
		for _, want := range []ports.Ticket{newTicket(time.Minute, &op), newTicket(time.Minute, nil)} {
			code := newCode()
			if err := store.Save(context.Background(), code, want); err != nil {
				t.Fatal(err)
			}
			got, err := store.Take(context.Background(), code)
			if err != nil {
				t.Fatal(err)
			}
			expectTicket(t, got, want)
			if _, err := store.Take(context.Background(), code); !errors.Is(err, operation.ErrTicketInvalid) {
				t.Fatalf("second take = %v, want ErrTicketInvalid", err)
			}
		}
	}},
	{"peek returns the saved pass and keeps it; saving again renews it", func(t *testing.T, store ports.TicketStore) {
		op := operation.IDFrom(uuid.Must(uuid.NewV7()))
		code := newCode()
		want := newTicket(time.Minute, &op)
		want.Pass = true
		if err := store.Save(context.Background(), code, want); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			got, err := store.Peek(context.Background(), code)
			if err != nil {
				t.Fatal(err)
			}
			expectTicket(t, got, want)
		}
		want.ExpiresAt = want.ExpiresAt.Add(time.Hour)
		if err := store.Save(context.Background(), code, want); err != nil {
			t.Fatal(err)
		}
		got, err := store.Peek(context.Background(), code)
		if err != nil {
			t.Fatal(err)
		}
		expectTicket(t, got, want)
		if _, err := store.Peek(context.Background(), newCode()); !errors.Is(err, operation.ErrTicketInvalid) {
			t.Fatalf("peek of an unknown code = %v, want ErrTicketInvalid", err)
		}
	}},
	{"a peeked ticket lapses when it expires", func(t *testing.T, store ports.TicketStore) {
		code := newCode()
		if err := store.Save(context.Background(), code, newTicket(time.Second, nil)); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Peek(context.Background(), code); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, err := store.Peek(context.Background(), code)
			if errors.Is(err, operation.ErrTicketInvalid) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("peek 10s after a 1s ticket was saved = %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}},
	{"an unknown code is invalid", func(t *testing.T, store ports.TicketStore) {
		if _, err := store.Take(context.Background(), newCode()); !errors.Is(err, operation.ErrTicketInvalid) {
			t.Fatalf("take = %v, want ErrTicketInvalid", err)
		}
	}},
	{"codes do not mix", func(t *testing.T, store ports.TicketStore) {
		a, b := newCode(), newCode()
		ta, tb := newTicket(time.Minute, nil), newTicket(time.Minute, nil)
		tb.Project = newProjectID()
		for code, tk := range map[string]ports.Ticket{a: ta, b: tb} {
			if err := store.Save(context.Background(), code, tk); err != nil {
				t.Fatal(err)
			}
		}
		got, err := store.Take(context.Background(), b)
		if err != nil {
			t.Fatal(err)
		}
		expectTicket(t, got, tb)
		got, err = store.Take(context.Background(), a)
		if err != nil {
			t.Fatal(err)
		}
		expectTicket(t, got, ta)
	}},
	{"an expired ticket is invalid", func(t *testing.T, store ports.TicketStore) {
		code := newCode()
		if err := store.Save(context.Background(), code, newTicket(200*time.Millisecond, nil)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(400 * time.Millisecond)
		if _, err := store.Take(context.Background(), code); !errors.Is(err, operation.ErrTicketInvalid) {
			t.Fatalf("take = %v, want ErrTicketInvalid", err)
		}
	}},
	{"a ticket expired before it is saved is refused", func(t *testing.T, store ports.TicketStore) {
		code := newCode()
		err := store.Save(context.Background(), code, newTicket(-time.Second, nil))
		if err == nil || errors.Is(err, operation.ErrTicketInvalid) {
			t.Fatalf("save = %v, want an error other than ErrTicketInvalid", err)
		}
		if _, err := store.Take(context.Background(), code); !errors.Is(err, operation.ErrTicketInvalid) {
			t.Fatalf("take = %v, want ErrTicketInvalid", err)
		}
	}},
	{"concurrent takes: exactly one wins", func(t *testing.T, store ports.TicketStore) {
		code := newCode()
		if err := store.Save(context.Background(), code, newTicket(time.Minute, nil)); err != nil {
			t.Fatal(err)
		}
		var wins, invalid atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				_, err := store.Take(context.Background(), code)
				switch {
				case err == nil:
					wins.Add(1)
				case errors.Is(err, operation.ErrTicketInvalid):
					invalid.Add(1)
				default:
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 || invalid.Load() != 7 {
			t.Fatalf("%d takes won and %d were invalid, want 1 and 7", wins.Load(), invalid.Load())
		}
	}},
}

// TestRedisTicketStoreKeepsOnlyAHashOfTheCode: what Redis holds under the
// store's prefix (keys and values) never contains the code, and the key
// expires with the ticket.
func TestRedisTicketStoreKeepsOnlyAHashOfTheCode(t *testing.T) {
	t.Parallel()
	client, prefix := newRedisClient(t), testkit.RandomName("optickets_")+":"
	t.Cleanup(func() {
		keys, _ := client.Keys(context.Background(), prefix+"*").Result()
		if len(keys) > 0 {
			_ = client.Del(context.Background(), keys...).Err()
		}
	})
	store := redisoperation.NewTicketStore(client, prefix)
	code := newCode()
	op := operation.IDFrom(uuid.Must(uuid.NewV7()))
	if err := store.Save(context.Background(), code, newTicket(time.Minute, &op)); err != nil {
		t.Fatal(err)
	}
	var keys []string
	iter := client.Scan(context.Background(), 0, prefix+"*", 100).Iterator()
	for iter.Next(context.Background()) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || !strings.HasPrefix(keys[0], prefix+"stream-ticket:") || len(keys[0]) != len(prefix+"stream-ticket:")+64 {
		t.Fatalf("keys = %v, want one %sstream-ticket:{sha256}", keys, prefix)
	}
	value, err := client.Get(context.Background(), keys[0]).Result()
	if err != nil {
		t.Fatal(err)
	}
	for what, s := range map[string]string{"key": keys[0], "value": value} {
		if strings.Contains(s, code) {
			t.Fatalf("the code appears in the %s: %s", what, s)
		}
	}
	ttl, err := client.PTTL(context.Background(), keys[0]).Result()
	if err != nil || ttl <= 50*time.Second || ttl > time.Minute+time.Second {
		t.Fatalf("the key's TTL = %v (%v), want about a minute", ttl, err)
	}
}

// TestRedisTicketStoreDownIsUnavailable: an unreachable Redis is a 503,
// never "invalid ticket", whose 401 would send the client to log in again.
func TestRedisTicketStoreDownIsUnavailable(t *testing.T) {
	t.Parallel()
	client, err := redisadapter.Open("redis://"+testkit.ClosedPort(t), redisadapter.Settings{PoolSize: 2, ConnectTimeout: time.Second, CommandTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	store := redisoperation.NewTicketStore(client, "x:")
	code := newCode()
	_, takeErr := store.Take(context.Background(), code)
	for what, err := range map[string]error{
		"save": store.Save(context.Background(), code, newTicket(time.Minute, nil)),
		"take": takeErr,
	} {
		var kerr *kernel.Error
		if !errors.As(err, &kerr) || kerr.Kind != kernel.KindUnavailable || errors.Is(err, operation.ErrTicketInvalid) {
			t.Errorf("%s = %v, want an error of kind unavailable", what, err)
		}
	}
}

// newCode is a fresh secret, as the ticket issuer makes them.
func newCode() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func newTicket(ttl time.Duration, op *operation.ID) ports.Ticket {
	now := time.Now().UTC()
	return ports.Ticket{Subject: alice, Project: newProjectID(), Operation: op,
		ExpiresAt: now.Add(ttl), TokenExpiresAt: now.Add(ttl + time.Hour)}
}

func expectTicket(t *testing.T, got, want ports.Ticket) {
	t.Helper()
	sameOp := (got.Operation == nil) == (want.Operation == nil) &&
		(got.Operation == nil || *got.Operation == *want.Operation)
	if got.Subject != want.Subject || got.Project != want.Project || !sameOp ||
		!got.ExpiresAt.Equal(want.ExpiresAt) || !got.TokenExpiresAt.Equal(want.TokenExpiresAt) || got.Pass != want.Pass {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}
