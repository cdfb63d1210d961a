package project

import (
	"context"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/project"
	ports "github.com/scoped-api/foundation/ports/project"
)

// ListMembers is the input of Service.ListMembers; Limit must be 1..kernel.MaxPageLimit.
type ListMembers struct {
	Limit int
	After *kernel.Subject
}

// ListMembers returns one page of the project's members, by subject.
func (s *Service) ListMembers(ctx context.Context, access kernel.ProjectAccess, q ListMembers) (ports.MemberPage, error) {
	if err := requireAccess(access, kernel.ReadMembers); err != nil {
		return ports.MemberPage{}, err
	}
	if err := kernel.CheckPageLimit(q.Limit); err != nil {
		return ports.MemberPage{}, err
	}
	return s.repo.Members(ctx, access, ports.MemberQuery{Limit: q.Limit, After: q.After})
}

// AddMember makes subject a member of the access's project in role.
func (s *Service) AddMember(ctx context.Context, access kernel.ProjectAccess, subject kernel.Subject, role project.Role) (*project.Member, error) {
	if err := requireAccess(access, kernel.ReadMembers); err != nil {
		return nil, err
	}
	if subject.IsZero() {
		return nil, errNoScope
	}
	if err := project.CanAdd(access, role); err != nil {
		return nil, err
	}
	m := project.NewMember(access.Project(), subject, role, s.clock.Now())
	if err := s.repo.AddMember(ctx, access, m); err != nil {
		return nil, err
	}
	return m, nil
}

// ChangeMember gives subject another role in the access's project; this
// instance's gate applies it at once, others within their cache TTL.
func (s *Service) ChangeMember(ctx context.Context, access kernel.ProjectAccess, subject kernel.Subject, role project.Role) (*project.Member, error) {
	if err := requireAccess(access, kernel.ReadMembers); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	m, err := s.repo.UpdateMember(ctx, access, subject, func(m *project.Member) error { return m.ChangeRole(access, role, now) })
	if err != nil {
		return nil, err
	}
	s.gate.forget(subject, access.Project())
	return m, nil
}

// RemoveMember takes subject out of the access's project (a member may
// remove themself); their streams on it end at once on this instance.
func (s *Service) RemoveMember(ctx context.Context, access kernel.ProjectAccess, subject kernel.Subject) error {
	if err := requireAccess(access, kernel.ReadMembers); err != nil {
		return err
	}
	err := s.repo.RemoveMember(ctx, access, subject, func(m *project.Member) error { return m.CanRemove(access) })
	if err != nil {
		return err
	}
	s.gate.revoke(subject, access.Project())
	return nil
}

// TransferOwnership makes subject, a member, the project's owner; the
// owner who transfers stays on as an admin.
func (s *Service) TransferOwnership(ctx context.Context, access kernel.ProjectAccess, subject kernel.Subject) (*project.Project, error) {
	if err := requireAccess(access, kernel.TransferOwnership); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	p, err := s.repo.Transfer(ctx, access, subject, func(p *project.Project, owner, next *project.Member) error {
		if err := project.Transfer(access, owner, next, now); err != nil {
			return err
		}
		return p.TransferTo(next.Subject(), now)
	})
	if err != nil {
		return nil, err
	}
	s.gate.forget(access.Subject(), access.Project())
	s.gate.forget(subject, access.Project())
	return p, nil
}
