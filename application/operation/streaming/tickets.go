package streaming

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"time"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
	ports "github.com/scoped-api/foundation/ports/operation"
)

// maxTicketCode bounds a presented code before it is looked up.
const maxTicketCode = 128

// Lifetimes are how long what the ticket endpoints issue stays valid,
// never beyond the token that asked for it.
type Lifetimes struct {
	// Ticket is a single-use ticket's: it is redeemed at once.
	Ticket time.Duration
	// Pass is a stream pass's, renewed from each stream it opens: it must
	// outlast one stream and the reconnect delay after it.
	Pass time.Duration
}

// Issued is one stream's single-use ticket and its reusable pass, each
// with the secret code that presents it.
type Issued struct {
	TicketCode string
	Ticket     ports.Ticket
	PassCode   string
	Pass       ports.Ticket
}

// Issue issues a single-use ticket and a reusable pass for one stream of
// the access's project (of one operation when op is non-nil).
func (s *Streams) Issue(ctx context.Context, access kernel.ProjectAccess, op *operation.ID, tokenExpiresAt time.Time) (Issued, error) {
	if err := requireRead(access); err != nil {
		return Issued{}, err
	}
	if op != nil {
		if _, err := s.repo.Get(ctx, access, *op); err != nil {
			return Issued{}, err
		}
	}
	now := s.clock.Now()
	t := ports.Ticket{Subject: access.Subject(), Project: access.Project(), Operation: op, TokenExpiresAt: tokenExpiresAt}
	out := Issued{TicketCode: newTicketCode(), Ticket: t, PassCode: newTicketCode(), Pass: t}
	out.Ticket.ExpiresAt = expiry(now, s.lifetimes.Ticket, tokenExpiresAt)
	out.Pass.ExpiresAt = expiry(now, s.lifetimes.Pass, tokenExpiresAt)
	out.Pass.Pass = true
	if !now.Before(out.Ticket.ExpiresAt) {
		// A token past its expiry but inside the verifier's leeway: what
		// it asks for would be born expired.
		return Issued{}, kernel.ErrTokenExpired
	}
	if err := s.tickets.Save(ctx, out.TicketCode, out.Ticket); err != nil {
		return Issued{}, err
	}
	if err := s.tickets.Save(ctx, passKey(out.PassCode), out.Pass); err != nil {
		return Issued{}, err
	}
	return out, nil
}

// RedeemTicket takes the single-use ticket saved under code: it works
// once, and not after it expired. Which stream it opens is the caller's
// to check against the ticket's Project and Operation.
func (s *Streams) RedeemTicket(ctx context.Context, code string) (ports.Ticket, error) {
	if code == "" || len(code) > maxTicketCode {
		return ports.Ticket{}, operation.ErrTicketInvalid
	}
	t, err := s.tickets.Take(ctx, code)
	if err != nil {
		return ports.Ticket{}, err
	}
	if t.Pass || !s.clock.Now().Before(t.ExpiresAt) {
		return ports.Ticket{}, operation.ErrTicketInvalid
	}
	return t, nil
}

// PresentPass checks the pass saved under code, and that it is for the
// stream the caller opens (forStream), and renews it for another pass
// lifetime, never beyond the token it was issued from, so that a client
// reconnecting after each server-ended stream keeps it alive.
func (s *Streams) PresentPass(ctx context.Context, code string, forStream func(kernel.ProjectID, *operation.ID) bool) (ports.Ticket, error) {
	if code == "" || len(code) > maxTicketCode {
		return ports.Ticket{}, operation.ErrPassInvalid
	}
	t, err := s.tickets.Peek(ctx, passKey(code))
	if errors.Is(err, operation.ErrTicketInvalid) {
		return ports.Ticket{}, operation.ErrPassInvalid
	}
	if err != nil {
		return ports.Ticket{}, err
	}
	now := s.clock.Now()
	if !t.Pass || !now.Before(t.ExpiresAt) || !forStream(t.Project, t.Operation) {
		return ports.Ticket{}, operation.ErrPassInvalid
	}
	if renewed := expiry(now, s.lifetimes.Pass, t.TokenExpiresAt); renewed.After(t.ExpiresAt) {
		t.ExpiresAt = renewed
		if err := s.tickets.Save(ctx, passKey(code), t); err != nil {
			return ports.Ticket{}, err
		}
	}
	return t, nil
}

// passKey is what a pass is saved under: apart from tickets, so that a
// pass presented as a ticket is not found, and so not used up.
func passKey(code string) string { return "pass:" + code }

// expiry is now+ttl, or the token's expiry when that comes first.
func expiry(now time.Time, ttl time.Duration, tokenExpiresAt time.Time) time.Time {
	expires := now.Add(ttl)
	if !tokenExpiresAt.IsZero() && tokenExpiresAt.Before(expires) {
		return tokenExpiresAt
	}
	return expires
}

// newTicketCode returns 256 random bits, URL-safe.
func newTicketCode() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}
