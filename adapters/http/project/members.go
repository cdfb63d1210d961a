package project

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/scoped-api/foundation/adapters/http/httpkit"
	appproject "github.com/scoped-api/foundation/application/project"
	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/domain/project"
)

// MembersPath is a project's member collection.
const MembersPath = BasePath + "/{project_id}/members"

// Member is one subject's role in a project.
type Member struct {
	Subject   string    `json:"subject" doc:"The member's token subject"`
	Role      string    `json:"role" enum:"owner,admin,member,viewer" doc:"What the member may do; see the roles table in the docs"`
	CreatedAt time.Time `json:"created_at" doc:"When the subject became a member"`
	UpdatedAt time.Time `json:"updated_at" doc:"When the role last changed"`
}

func toMember(m *project.Member) Member {
	return Member{Subject: m.Subject().String(), Role: string(m.Role()), CreatedAt: m.CreatedAt(), UpdatedAt: m.UpdatedAt()}
}

// AddMemberRequest adds a member; the owner changes only by a transfer.
type AddMemberRequest struct {
	Subject string `json:"subject" minLength:"1" maxLength:"255" doc:"The token subject (sub) of the person to add"`
	Role    string `json:"role" enum:"admin,member,viewer" doc:"admin: only the owner may give it; member, viewer: admins too"`
}

// ChangeMemberRequest gives a member another role.
type ChangeMemberRequest struct {
	Role string `json:"role" enum:"admin,member,viewer" doc:"The new role; the owner changes only by POST …/transfer"`
}

// TransferRequest names the member who becomes the owner.
type TransferRequest struct {
	Subject string `json:"subject" minLength:"1" maxLength:"255" doc:"A member's subject; the current owner stays on as an admin"`
}

// MemberPage is one page of a project's members, by subject.
type MemberPage struct {
	Items      []Member `json:"items" nullable:"false"`
	NextCursor string   `json:"next_cursor,omitempty" doc:"Pass as cursor for the next page; absent on the last page"`
}

type (
	listMembersInput struct {
		ProjectID string `path:"project_id" format:"uuid" doc:"The project's id"`
		Limit     int    `query:"limit" default:"20" minimum:"1" maximum:"100" doc:"Page size, 1 to 100"`
		Cursor    string `query:"cursor" maxLength:"512" doc:"next_cursor of the previous page"`
	}
	listMembersOutput struct {
		Body MemberPage
	}
	addMemberInput struct {
		ProjectID string `path:"project_id" format:"uuid" doc:"The project's id"`
		Body      AddMemberRequest
	}
	addMemberOutput struct {
		Location string `header:"Location" doc:"The membership's URL"`
		Body     Member
	}
	changeMemberInput struct {
		ProjectID string `path:"project_id" format:"uuid" doc:"The project's id"`
		Subject   string `path:"subject" minLength:"1" maxLength:"255" doc:"The member's subject, percent-encoded"`
		Body      ChangeMemberRequest
	}
	memberOutput struct {
		Body Member
	}
	removeMemberInput struct {
		ProjectID string `path:"project_id" format:"uuid" doc:"The project's id"`
		Subject   string `path:"subject" minLength:"1" maxLength:"255" doc:"The member's subject, percent-encoded; your own to leave"`
	}
	transferInput struct {
		ProjectID string `path:"project_id" format:"uuid" doc:"The project's id"`
		Body      TransferRequest
	}
)

func (h *Handler) registerMembers(api huma.API) {
	tags := []string{"members"}
	httpkit.DeclareTag(api, "members", "Members: who may act in a project, and as what (owner, admin, member, viewer)")
	scoped := []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}
	huma.Register(api, huma.Operation{
		OperationID: "list-members",
		Method:      http.MethodGet,
		Path:        MembersPath,
		Summary:     "List a project's members, by subject",
		Description: "Every member may read the list. Keyset-paginated: pass next_cursor as cursor for the next page.",
		Tags:        tags,
		Security:    httpkit.Protected,
		Errors:      scoped,
	}, h.listMembers)
	huma.Register(api, huma.Operation{
		OperationID:   "add-member",
		Method:        http.MethodPost,
		Path:          MembersPath,
		Summary:       "Add a member",
		Description:   "Admins add members and viewers; only the owner adds admins (403 project.forbidden otherwise). A subject that is already a member is 409 member.exists.",
		Tags:          tags,
		Security:      httpkit.Protected,
		DefaultStatus: http.StatusCreated,
		Errors:        append([]int{http.StatusBadRequest, http.StatusConflict}, scoped...),
	}, h.addMember)
	huma.Register(api, huma.Operation{
		OperationID: "change-member",
		Method:      http.MethodPatch,
		Path:        MembersPath + "/{subject}",
		Summary:     "Change a member's role",
		Description: "Admins manage members and viewers; only the owner promotes to or demotes from admin. The owner's own membership changes only by a transfer (409 member.owner_by_transfer).",
		Tags:        tags,
		Security:    httpkit.Protected,
		Errors:      append([]int{http.StatusBadRequest, http.StatusConflict}, scoped...),
	}, h.changeMember)
	huma.Register(api, huma.Operation{
		OperationID:   "remove-member",
		Method:        http.MethodDelete,
		Path:          MembersPath + "/{subject}",
		Summary:       "Remove a member, or leave",
		Description:   "Any member may remove themself, except the owner (transfer first). Admins remove members and viewers, the owner also admins. The removed member's open streams on the project end.",
		Tags:          tags,
		Security:      httpkit.Protected,
		DefaultStatus: http.StatusNoContent,
		Errors:        append([]int{http.StatusConflict}, scoped...),
	}, h.removeMember)
	huma.Register(api, huma.Operation{
		OperationID: "transfer-project",
		Method:      http.MethodPost,
		Path:        BasePath + "/{project_id}/transfer",
		Summary:     "Transfer ownership to a member",
		Description: "Only the owner may; the new owner must already be a member (422 member.not_a_member otherwise) and stays the only owner, the old one becomes an admin.",
		Tags:        []string{"projects"},
		Security:    httpkit.Protected,
		Errors:      append([]int{http.StatusBadRequest, http.StatusConflict}, scoped...),
	}, h.transfer)
}

func (h *Handler) listMembers(ctx context.Context, in *listMembersInput) (*listMembersOutput, error) {
	access, err := httpkit.Access(ctx)
	if err != nil {
		return nil, err
	}
	var after *kernel.Subject
	if in.Cursor != "" {
		s, ok := decodeSubjectCursor(in.Cursor)
		if !ok {
			err := kernel.Invalid("cursor.invalid", "the cursor is not one this API issued", kernel.FieldError{Field: "cursor", Message: "does not decode"})
			return nil, httpkit.FromError(ctx, err).WithLocation("body.", "query.")
		}
		after = &s
	}
	page, err := h.svc.ListMembers(ctx, access, appproject.ListMembers{Limit: in.Limit, After: after})
	if err != nil {
		return nil, httpkit.FromError(ctx, err).WithLocation("body.", "query.")
	}
	out := &listMembersOutput{}
	out.Body.Items = make([]Member, len(page.Items))
	for i, m := range page.Items {
		out.Body.Items[i] = toMember(m)
	}
	if page.Next != nil {
		out.Body.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(page.Next.String()))
	}
	return out, nil
}

func decodeSubjectCursor(s string) (kernel.Subject, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return kernel.Subject{}, false
	}
	sub, err := kernel.ParseSubject(string(raw))
	return sub, err == nil
}

func (h *Handler) addMember(ctx context.Context, in *addMemberInput) (*addMemberOutput, error) {
	access, err := httpkit.Access(ctx)
	if err != nil {
		return nil, err
	}
	subject, err := bodySubject(ctx, in.Body.Subject)
	if err != nil {
		return nil, err
	}
	role, err := project.ParseRole(in.Body.Role)
	if err != nil {
		return nil, httpkit.FromError(ctx, err)
	}
	m, err := h.svc.AddMember(ctx, access, subject, role)
	if err != nil {
		return nil, httpkit.FromError(ctx, err)
	}
	location := BasePath + "/" + access.Project().String() + "/members/" + url.PathEscape(m.Subject().String())
	return &addMemberOutput{Location: location, Body: toMember(m)}, nil
}

func (h *Handler) changeMember(ctx context.Context, in *changeMemberInput) (*memberOutput, error) {
	access, err := httpkit.Access(ctx)
	if err != nil {
		return nil, err
	}
	subject, err := pathSubject(ctx, in.Subject)
	if err != nil {
		return nil, err
	}
	role, err := project.ParseRole(in.Body.Role)
	if err != nil {
		return nil, httpkit.FromError(ctx, err)
	}
	m, err := h.svc.ChangeMember(ctx, access, subject, role)
	if err != nil {
		return nil, httpkit.FromError(ctx, err)
	}
	return &memberOutput{Body: toMember(m)}, nil
}

func (h *Handler) removeMember(ctx context.Context, in *removeMemberInput) (*struct{}, error) {
	access, err := httpkit.Access(ctx)
	if err != nil {
		return nil, err
	}
	subject, err := pathSubject(ctx, in.Subject)
	if err != nil {
		return nil, err
	}
	if err := h.svc.RemoveMember(ctx, access, subject); err != nil {
		return nil, httpkit.FromError(ctx, err)
	}
	return nil, nil
}

func (h *Handler) transfer(ctx context.Context, in *transferInput) (*projectOutput, error) {
	access, err := httpkit.Access(ctx)
	if err != nil {
		return nil, err
	}
	subject, err := bodySubject(ctx, in.Body.Subject)
	if err != nil {
		return nil, err
	}
	p, err := h.svc.TransferOwnership(ctx, access, subject)
	if errors.Is(err, project.ErrMemberNotFound) {
		err = kernel.Invalid("member.not_a_member", "the new owner must be a member of the project first",
			kernel.FieldError{Field: "subject", Message: "is not a member of this project"})
	}
	if err != nil {
		return nil, httpkit.FromError(ctx, err)
	}
	return &projectOutput{Status: http.StatusOK, ETag: httpkit.ETag(p.Version()), Body: toResponse(p)}, nil
}

// bodySubject parses a subject named in a request body.
func bodySubject(ctx context.Context, s string) (kernel.Subject, error) {
	subject, err := kernel.ParseSubject(s)
	if err != nil {
		return kernel.Subject{}, httpkit.FromError(ctx, kernel.Invalid("member.subject_invalid", "the subject is not one a token can carry",
			kernel.FieldError{Field: "subject", Message: "must be visible text without control characters, at most 255 bytes"}))
	}
	return subject, nil
}

// pathSubject parses a subject named in the path; a subject that cannot
// be a member's is no member.
func pathSubject(ctx context.Context, s string) (kernel.Subject, error) {
	subject, err := kernel.ParseSubject(s)
	if err != nil {
		return kernel.Subject{}, httpkit.FromError(ctx, project.ErrMemberNotFound)
	}
	return subject, nil
}
