package search

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// foldLetters spells the lower-case letters that Unicode decomposition
// leaves alone (they are letters of their own, not accented ones) the way
// an English or French speaker would type them.
var foldLetters = map[rune]string{
	'ß': "ss", 'ø': "o", 'æ': "ae", 'œ': "oe", 'đ': "d", 'ð': "d", 'ł': "l", 'þ': "th",
	'ħ': "h", 'ı': "i", 'ŀ': "l", 'ŧ': "t", 'ĸ': "k", 'ŋ': "n", 'ɨ': "i", 'ƀ': "b",
}

// isApostrophe reports whether r is an apostrophe or a character commonly
// typed for one. They are dropped rather than turned into spaces so that
// "People's" matches a search for "peoples".
func isApostrophe(r rune) bool {
	switch r {
	case '\'', '\u2019', '\u2018', '\u02BC', '\u02BB', '\u2032', '`':
		return true
	}
	return false
}

// Normalize folds s for matching: lower case, accents removed ("Société" →
// "societe", "ß" → "ss"), "&" spelled " and ", apostrophes removed
// ("People's" → "peoples"), every other run of non-letters and non-digits
// turned into one space, and no leading or trailing space.
//
// It decomposes with NFKD rather than NFD so that compatibility forms a
// phone keyboard or a copy-paste produces (ligatures "ﬁ", full-width
// letters, superscripts) fold to the letters people search with.
func Normalize(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return normalizeASCII(s)
	}
	if !utf8.ValidString(s) {
		// Decomposition can misread the bytes after an invalid sequence;
		// the replacement character is a separator like any symbol.
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s = norm.NFKD.String(s)
	var b strings.Builder
	b.Grow(len(s))
	space := false // a separator is pending before the next word
	write := func(str string) {
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteString(str)
	}
	for _, r := range s {
		switch {
		case unicode.Is(unicode.M, r), isApostrophe(r):
			// Accents (combining marks after NFKD) and apostrophes vanish
			// without splitting the word.
		case r == '&':
			space = true
			write("and")
			space = true
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			r = unicode.ToLower(r)
			if f, ok := foldLetters[r]; ok {
				write(f)
			} else {
				write(string(r))
			}
		default:
			space = true
		}
	}
	return b.String()
}

// normalizeASCII is Normalize for ASCII input, which is nearly every
// search and institution name; it avoids the decomposition pass.
func normalizeASCII(s string) string {
	b := make([]byte, 0, len(s)+4)
	space := false
	word := func() {
		if space && len(b) > 0 {
			b = append(b, ' ')
		}
		space = false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			word()
			b = append(b, c)
		case c >= 'A' && c <= 'Z':
			word()
			b = append(b, c+'a'-'A')
		case c == '\'' || c == '`':
		case c == '&':
			space = true
			word()
			b = append(b, "and"...)
			space = true
		default:
			space = true
		}
	}
	return string(b)
}
