package httpkit

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/scoped-api/foundation/domain/kernel"
)

// conditionalWriteKey is the operation metadata of a write that honours
// If-Match; the If-Match requirement (HTTP_REQUIRE_IF_MATCH) applies to
// exactly these operations.
const conditionalWriteKey = "conditional-write"

// ETag is the strong entity tag of a resource at version v: the decimal
// version, quoted.
func ETag(v kernel.Version) string { return `"` + strconv.FormatInt(int64(v), 10) + `"` }

// IfMatch turns an If-Match header into the version a write expects.
// Absent or "*" expects any version (the write needs the resource to
// exist anyway); otherwise the strong tags listed are the versions
// expected. If-Match compares strongly (RFC 9110 §13.1.1), so a weak tag,
// a malformed value or a tag this API never issues matches nothing.
func IfMatch(header string) kernel.ExpectedVersion {
	tags, star, ok := parseTags(header)
	if !ok {
		return kernel.ExpectVersion()
	}
	if star || len(tags) == 0 {
		return kernel.AnyVersion()
	}
	var versions []kernel.Version
	for _, t := range tags {
		if v, ok := versionOf(t); ok && !t.weak {
			versions = append(versions, v)
		}
	}
	return kernel.ExpectVersion(versions...)
}

// NoneMatch reports whether an If-None-Match header matches etag, the
// resource's current tag: a GET then answers 304 Not Modified. It
// compares weakly (RFC 9110 §13.1.2); "*" matches any existing resource
// and a malformed header matches nothing.
func NoneMatch(header, etag string) bool {
	tags, star, ok := parseTags(header)
	if !ok {
		return false
	}
	if star {
		return true
	}
	for _, t := range tags {
		if `"`+t.opaque+`"` == etag {
			return true
		}
	}
	return false
}

// PreconditionRequired is the answer to a conditional write sent without
// If-Match when HTTP_REQUIRE_IF_MATCH is on.
func PreconditionRequired(ctx context.Context) *Problem {
	p := NewProblem(ctx, http.StatusPreconditionRequired, "this request must be conditional: send If-Match with the ETag of your copy, or * for any")
	p.Code = "precondition_required"
	return p
}

// ConditionalRead declares what a GET that answers an ETag adds: the
// 304 Not Modified answer to a matching If-None-Match.
func ConditionalRead(op huma.Operation) huma.Operation {
	if op.Responses == nil {
		op.Responses = map[string]*huma.Response{}
	}
	op.Responses[strconv.Itoa(http.StatusNotModified)] = &huma.Response{
		Description: "Not Modified: If-None-Match names the current ETag; no body",
		Headers: map[string]*huma.Param{"ETag": {
			Description: "The resource's current strong entity tag",
			Schema:      &huma.Schema{Type: huma.TypeString},
		}},
	}
	return op
}

// ConditionalWrite declares a write that honours If-Match: its 412 (the
// tag is stale) and 428 (If-Match is required and missing) problems, and
// the metadata the requirement looks for.
func ConditionalWrite(op huma.Operation) huma.Operation {
	if op.Metadata == nil {
		op.Metadata = map[string]any{}
	}
	op.Metadata[conditionalWriteKey] = true
	op.Errors = append(op.Errors, http.StatusPreconditionFailed, http.StatusPreconditionRequired)
	return op
}

// IsConditionalWrite reports whether op was declared with ConditionalWrite.
func IsConditionalWrite(op *huma.Operation) bool {
	if op == nil {
		return false
	}
	on, _ := op.Metadata[conditionalWriteKey].(bool)
	return on
}

type entityTag struct {
	weak   bool
	opaque string // between the quotes
}

// versionOf reads a tag this API issued: a canonical decimal version.
func versionOf(t entityTag) (kernel.Version, bool) {
	n, err := strconv.ParseInt(t.opaque, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != t.opaque {
		return 0, false
	}
	return kernel.Version(n), true
}

// parseTags reads "*" or a comma-separated list of entity tags (RFC 9110
// §8.8.3); ok is false when the value is neither.
func parseTags(header string) (tags []entityTag, star, ok bool) {
	s := strings.TrimSpace(header)
	if s == "*" {
		return nil, true, true
	}
	for s != "" {
		var t entityTag
		if strings.HasPrefix(s, "W/") {
			t.weak, s = true, s[2:]
		}
		if !strings.HasPrefix(s, `"`) {
			return nil, false, false
		}
		end := strings.IndexByte(s[1:], '"')
		if end < 0 {
			return nil, false, false
		}
		t.opaque, s = s[1:1+end], strings.TrimLeft(s[2+end:], " \t")
		for _, c := range []byte(t.opaque) {
			if c < 0x21 || c == 0x7f {
				return nil, false, false
			}
		}
		tags = append(tags, t)
		if s == "" {
			break
		}
		if s[0] != ',' {
			return nil, false, false
		}
		s = strings.TrimLeft(s[1:], " \t")
	}
	return tags, false, true
}
