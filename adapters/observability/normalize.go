package observability

import (
	"strings"
	"sync"
	"sync/atomic"
)

// maxStatementLength bounds a normalised statement kept in logs and records.
const maxStatementLength = 2000

// Statements repeat (they come from code, with placeholders), so their
// normalised text is cached; the cache stops growing at maxCached entries.
const maxCached = 2048

var (
	normalized     sync.Map
	normalizedSize atomic.Int64
)

// NormalizeCached is Normalize with a bounded cache, for every statement's span.
func NormalizeCached(sql string) string {
	if v, ok := normalized.Load(sql); ok {
		return v.(string)
	}
	out := Normalize(sql)
	if normalizedSize.Load() < maxCached {
		if _, loaded := normalized.LoadOrStore(sql, out); !loaded {
			normalizedSize.Add(1)
		}
	}
	return out
}

// Normalize turns a SQL statement into its shape: string and number
// literals become ?, placeholders ($1, ?) and identifiers stay, whitespace
// collapses. GORM already sends values as parameters; this also covers a
// statement someone built by concatenation, so no value ever reaches a log,
// a record or a span.
func Normalize(sql string) string {
	var b strings.Builder
	b.Grow(min(len(sql), maxStatementLength))
	space := false
	prevIdent := false // the previous byte continues an identifier or placeholder
	for i := 0; i < len(sql) && b.Len() < maxStatementLength; {
		c := sql[i]
		switch c {
		case ' ', '\t', '\n', '\r':
			space = true
			prevIdent = false
			i++
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		switch {
		case c == '\'' || ((c == 'E' || c == 'e') && i+1 < len(sql) && sql[i+1] == '\'' && !prevIdent):
			// A string literal; '' inside it is an escaped quote.
			if c != '\'' {
				i++
			}
			i++
			for i < len(sql) {
				if sql[i] == '\\' && i+1 < len(sql) {
					i += 2
					continue
				}
				if sql[i] == '\'' {
					if i+1 < len(sql) && sql[i+1] == '\'' {
						i += 2
						continue
					}
					i++
					break
				}
				i++
			}
			b.WriteByte('?')
			prevIdent = false
		case c == '$' && i+1 < len(sql) && sql[i+1] == '$':
			// A dollar-quoted string: $$ ... $$.
			end := strings.Index(sql[i+2:], "$$")
			if end < 0 {
				i = len(sql)
			} else {
				i += end + 4
			}
			b.WriteByte('?')
			prevIdent = false
		case c == '"':
			// A quoted identifier stays as it is.
			j := i + 1
			for j < len(sql) && sql[j] != '"' {
				j++
			}
			j = min(j+1, len(sql))
			b.WriteString(sql[i:j])
			i = j
			prevIdent = true
		case isDigit(c) && !prevIdent, c == '.' && !prevIdent && i+1 < len(sql) && isDigit(sql[i+1]):
			// A number: digits, a fraction, an exponent.
			for i < len(sql) && (isDigit(sql[i]) || sql[i] == '.' || sql[i] == 'e' || sql[i] == 'E' ||
				((sql[i] == '+' || sql[i] == '-') && (sql[i-1] == 'e' || sql[i-1] == 'E'))) {
				i++
			}
			b.WriteByte('?')
			prevIdent = false
		default:
			b.WriteByte(c)
			prevIdent = isIdent(c) || c == '$'
			i++
		}
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdent(c byte) bool {
	return c == '_' || isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}
