package operation

import (
	"context"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"

	"github.com/scoped-api/foundation/domain/operation"
	ports "github.com/scoped-api/foundation/ports/operation"
)

// TicketStore keeps tickets in a map from the SHA-256 of
// each code to its ticket. Expired tickets are purged lazily, at most
// once a second, by Save.
type TicketStore struct {
	mu        sync.Mutex
	tickets   map[[sha256.Size]byte]ports.Ticket
	nextPurge time.Time
}

var _ ports.TicketStore = (*TicketStore)(nil)

// NewTicketStore returns an empty store.
func NewTicketStore() *TicketStore {
	return &TicketStore{tickets: map[[sha256.Size]byte]ports.Ticket{}}
}

// Save stores t until t.ExpiresAt; a ticket that has already expired is a
// caller's mistake and is refused.
func (s *TicketStore) Save(_ context.Context, code string, t ports.Ticket) error {
	now := time.Now()
	if !now.Before(t.ExpiresAt) {
		return fmt.Errorf("ticket store: the ticket expired at %s, before it was saved", t.ExpiresAt.UTC().Format(time.RFC3339Nano))
	}
	if t.Operation != nil {
		id := *t.Operation
		t.Operation = &id
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !now.Before(s.nextPurge) {
		for k, v := range s.tickets {
			if !now.Before(v.ExpiresAt) {
				delete(s.tickets, k)
			}
		}
		s.nextPurge = now.Add(time.Second)
	}
	s.tickets[sha256.Sum256([]byte(code))] = t
	return nil
}

// Take returns and deletes the ticket saved under code.
func (s *TicketStore) Take(_ context.Context, code string) (ports.Ticket, error) {
	key := sha256.Sum256([]byte(code))
	s.mu.Lock()
	t, ok := s.tickets[key]
	delete(s.tickets, key)
	s.mu.Unlock()
	if !ok || !time.Now().Before(t.ExpiresAt) {
		return ports.Ticket{}, operation.ErrTicketInvalid
	}
	return t, nil
}

// Peek returns the ticket saved under code and keeps it.
func (s *TicketStore) Peek(_ context.Context, code string) (ports.Ticket, error) {
	key := sha256.Sum256([]byte(code))
	s.mu.Lock()
	t, ok := s.tickets[key]
	s.mu.Unlock()
	if !ok || !time.Now().Before(t.ExpiresAt) {
		return ports.Ticket{}, operation.ErrTicketInvalid
	}
	if t.Operation != nil {
		id := *t.Operation
		t.Operation = &id
	}
	return t, nil
}
