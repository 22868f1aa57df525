package banklink

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// CleanText trims s and refuses control characters and values over max
// characters, with field-named errors: the check every free-text input
// (names, search strings, external ids) gets, whichever adapter took it.
func CleanText(field, s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > max {
		return "", FieldErrorf(field, "must be at most %d characters", max)
	}
	if strings.ContainsFunc(s, unicode.IsControl) {
		return "", FieldErrorf(field, "must not contain control characters")
	}
	return s, nil
}
