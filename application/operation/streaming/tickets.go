package streaming

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"time"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
	ports "github.com/scoped-api/foundation/ports/operation"
)

// maxTicketCode bounds a presented code before it is looked up.
const maxTicketCode = 128

// IssueTicket issues a single-use ticket for one stream of the access's
// project (of one operation when op is non-nil), valid for the ticket TTL
// but never beyond the token that asked for it.
func (s *Streams) IssueTicket(ctx context.Context, access kernel.ProjectAccess, op *operation.ID, tokenExpiresAt time.Time) (string, ports.Ticket, error) {
	if access.IsZero() {
		return "", ports.Ticket{}, errNoScope
	}
	if op != nil {
		if _, err := s.repo.Get(ctx, access, *op); err != nil {
			return "", ports.Ticket{}, err
		}
	}
	expires := s.clock.Now().Add(s.ticketTTL)
	if !tokenExpiresAt.IsZero() && tokenExpiresAt.Before(expires) {
		expires = tokenExpiresAt
	}
	t := ports.Ticket{Subject: access.Subject(), Project: access.Project(), Operation: op, ExpiresAt: expires, TokenExpiresAt: tokenExpiresAt}
	code := newTicketCode()
	if err := s.tickets.Save(ctx, code, t); err != nil {
		return "", ports.Ticket{}, err
	}
	return code, t, nil
}

// RedeemTicket takes the ticket saved under code: it works once, and not
// after it expired. Which stream it opens is the caller's to check
// against the ticket's Project and Operation.
func (s *Streams) RedeemTicket(ctx context.Context, code string) (ports.Ticket, error) {
	if code == "" || len(code) > maxTicketCode {
		return ports.Ticket{}, operation.ErrTicketInvalid
	}
	t, err := s.tickets.Take(ctx, code)
	if err != nil {
		return ports.Ticket{}, err
	}
	if !s.clock.Now().Before(t.ExpiresAt) {
		return ports.Ticket{}, operation.ErrTicketInvalid
	}
	return t, nil
}

// newTicketCode returns 256 random bits, URL-safe.
func newTicketCode() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}
