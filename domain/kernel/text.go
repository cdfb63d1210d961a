package kernel

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text is the rule a text field follows. Every context checks its text
// fields with it, so what is refused does not depend on the context or on
// the database behind it.
type Text struct {
	// Field names the field in the error.
	Field string
	// Max is the most characters (not bytes) the field may hold.
	Max int
	// Multiline lets the text hold tabs and line breaks.
	Multiline bool
	// Required refuses a text that is empty or made only of invisible
	// characters (spaces, zero-width and other format characters).
	Required bool
}

// Check reports what is wrong with s, or ok. It refuses invalid UTF-8,
// the replacement character U+FFFD (what a JSON decoder makes of invalid
// UTF-8 and of unpaired surrogates, so text that arrived broken is refused
// rather than stored changed), NUL and every other control character
// (C0, DEL, C1) but tab and line breaks in multiline text, and text over
// Max characters.
func (t Text) Check(s string) (FieldError, bool) {
	bad := func(msg string) (FieldError, bool) { return FieldError{Field: t.Field, Message: msg}, false }
	if !utf8.ValidString(s) {
		return bad("must be valid UTF-8")
	}
	n, visible := 0, false
	for _, r := range s {
		n++
		switch {
		case r == utf8.RuneError:
			return bad("must not contain U+FFFD (it stands for invalid UTF-8 or an unpaired surrogate)")
		case t.Multiline && (r == '\t' || r == '\n' || r == '\r'):
		case unicode.IsControl(r):
			return bad("must not contain control characters such as NUL (found " + strconv.QuoteRuneToASCII(r) + ")")
		case !visible && !invisible(r):
			visible = true
		}
	}
	switch {
	case n > t.Max:
		return bad("must be at most " + strconv.Itoa(t.Max) + " characters")
	case t.Required && !visible:
		if strings.TrimSpace(s) == "" {
			return bad("must not be empty")
		}
		return bad("must hold a visible character, not only spaces or zero-width characters")
	}
	return FieldError{}, true
}

// invisible reports characters that show nothing: spaces, format
// characters (zero-width space, joiners, direction marks), and the
// variation selectors and fillers Unicode marks as default-ignorable.
func invisible(r rune) bool {
	return unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Zs, r) ||
		unicode.Is(unicode.Variation_Selector, r) || r == '\u115f' || r == '\u1160' || r == '\u3164' || r == '\uffa0'
}
