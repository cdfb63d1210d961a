package operation

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"time"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/operation"
	ports "github.com/scoped-api/foundation/ports/operation"
)

// IssueTicket issues a single-use ticket for one stream, valid for the
// ticket TTL but never beyond the token that asked for it.
func (s *Service) IssueTicket(ctx context.Context, subject kernel.Subject, projectID kernel.ProjectID, op *operation.ID, tokenExpiresAt time.Time) (string, ports.Ticket, error) {
	if err := s.visible(ctx, subject, projectID); err != nil {
		return "", ports.Ticket{}, err
	}
	if op != nil {
		if _, err := s.d.Repo.Get(ctx, projectID, *op); err != nil {
			return "", ports.Ticket{}, err
		}
	}
	expires := s.d.Clock.Now().Add(s.settings.TicketTTL)
	if !tokenExpiresAt.IsZero() && tokenExpiresAt.Before(expires) {
		expires = tokenExpiresAt
	}
	t := ports.Ticket{Subject: subject, Project: projectID, Operation: op, ExpiresAt: expires, TokenExpiresAt: tokenExpiresAt}
	code := newTicketCode()
	if err := s.d.Tickets.Save(ctx, code, t); err != nil {
		return "", ports.Ticket{}, err
	}
	return code, t, nil
}

// RedeemTicket takes the ticket, which must be for exactly this stream.
func (s *Service) RedeemTicket(ctx context.Context, code string, projectID kernel.ProjectID, op *operation.ID) (ports.Ticket, error) {
	if code == "" || len(code) > 128 {
		return ports.Ticket{}, operation.ErrTicketInvalid
	}
	t, err := s.d.Tickets.Take(ctx, code)
	if err != nil {
		return ports.Ticket{}, err
	}
	sameOp := (t.Operation == nil && op == nil) || (t.Operation != nil && op != nil && *t.Operation == *op)
	if t.Project != projectID || !sameOp || !s.d.Clock.Now().Before(t.ExpiresAt) {
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
