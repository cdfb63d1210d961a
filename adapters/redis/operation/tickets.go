package operation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
	ports "github.com/scoped-api/foundation/ports/operation"
)

// TicketStore keeps tickets in Redis, one key per ticket,
// {prefix}stream-ticket:{sha256 of the code}, that expires with the
// ticket. Redis never sees the code itself.
type TicketStore struct {
	client redis.UniversalClient
	prefix string
}

var _ ports.TicketStore = (*TicketStore)(nil)

// NewTicketStore returns a store whose keys all start with keyPrefix.
func NewTicketStore(client redis.UniversalClient, keyPrefix string) *TicketStore {
	return &TicketStore{client: client, prefix: keyPrefix}
}

// errUnavailable wraps a Redis failure so the caller answers 503, never
// "invalid ticket": the ticket may well be valid.
func errUnavailable(err error) error {
	return kernel.Unavailable("stream.unavailable", "event streams are unavailable right now", err)
}

type wireTicket struct {
	Subject        string    `json:"subject"`
	Project        string    `json:"project"`
	Operation      string    `json:"operation"`
	ExpiresAt      time.Time `json:"expires_at"`
	TokenExpiresAt time.Time `json:"token_expires_at"`
	Pass           bool      `json:"pass,omitempty"`
}

// Save stores t until t.ExpiresAt; a ticket that has already expired is a
// caller's mistake and is refused.
func (s *TicketStore) Save(ctx context.Context, code string, t ports.Ticket) error {
	ttl := time.Until(t.ExpiresAt)
	if ttl <= 0 {
		return fmt.Errorf("ticket store: the ticket expired at %s, before it was saved", t.ExpiresAt.UTC().Format(time.RFC3339Nano))
	}
	ttl = ttl.Round(time.Millisecond) + time.Millisecond // never 0ms; Take checks ExpiresAt exactly
	w := wireTicket{
		Subject: t.Subject.String(), Project: t.Project.String(),
		ExpiresAt: t.ExpiresAt.UTC(), TokenExpiresAt: t.TokenExpiresAt.UTC(), Pass: t.Pass,
	}
	if t.Operation != nil {
		w.Operation = t.Operation.String()
	}
	value, err := json.Marshal(w)
	if err != nil {
		return fmt.Errorf("ticket store: encode: %w", err)
	}
	if err := s.client.Set(ctx, s.key(code), value, ttl).Err(); err != nil {
		return errUnavailable(fmt.Errorf("ticket store: save: %w", err))
	}
	return nil
}

// Take reads and deletes the ticket in one command (GETDEL), so two
// concurrent redemptions of one code cannot both succeed.
func (s *TicketStore) Take(ctx context.Context, code string) (ports.Ticket, error) {
	return s.read(s.client.GetDel(ctx, s.key(code)), "take")
}

// Peek reads the ticket saved under code and keeps it.
func (s *TicketStore) Peek(ctx context.Context, code string) (ports.Ticket, error) {
	return s.read(s.client.Get(ctx, s.key(code)), "peek")
}

func (s *TicketStore) read(cmd *redis.StringCmd, what string) (ports.Ticket, error) {
	value, err := cmd.Bytes()
	if errors.Is(err, redis.Nil) {
		return ports.Ticket{}, operation.ErrTicketInvalid
	}
	if err != nil {
		return ports.Ticket{}, errUnavailable(fmt.Errorf("ticket store: %s: %w", what, err))
	}
	t, err := decodeTicket(value)
	if err != nil {
		return ports.Ticket{}, fmt.Errorf("ticket store: stored ticket unreadable: %w", err)
	}
	if !time.Now().Before(t.ExpiresAt) {
		return ports.Ticket{}, operation.ErrTicketInvalid
	}
	return t, nil
}

func (s *TicketStore) key(code string) string {
	sum := sha256.Sum256([]byte(code))
	return s.prefix + "stream-ticket:" + hex.EncodeToString(sum[:])
}

func decodeTicket(value []byte) (ports.Ticket, error) {
	var w wireTicket
	if err := json.Unmarshal(value, &w); err != nil {
		return ports.Ticket{}, err
	}
	subject, err := kernel.RestoreSubject(w.Subject)
	if err != nil {
		return ports.Ticket{}, fmt.Errorf("subject: %w", err)
	}
	project, err := kernel.ParseProjectID(w.Project)
	if err != nil {
		return ports.Ticket{}, fmt.Errorf("project: %w", err)
	}
	t := ports.Ticket{
		Subject: subject, Project: project,
		ExpiresAt: w.ExpiresAt.UTC(), TokenExpiresAt: w.TokenExpiresAt.UTC(), Pass: w.Pass,
	}
	if w.Operation != "" {
		id, err := operation.ParseID(w.Operation)
		if err != nil {
			return ports.Ticket{}, fmt.Errorf("operation: %w", err)
		}
		t.Operation = &id
	}
	return t, nil
}
