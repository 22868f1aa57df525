package search

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{name: "empty", in: "", want: ""},
		{name: "only punctuation", in: " -- ,.!? ", want: ""},
		{name: "lower case", in: "Fidelity Investments", want: "fidelity investments"},
		{name: "accents", in: "Société Générale", want: "societe generale"},
		{name: "accents with preposition", in: "Caisse Desjardins du Québec", want: "caisse desjardins du quebec"},
		{name: "decomposed accents", in: "Que\u0301bec", want: "quebec"},
		{name: "hyphenated town", in: "Trois-Rivières", want: "trois rivieres"},
		{name: "cedilla and circumflex", in: "Châteauguay Française", want: "chateauguay francaise"},
		{name: "sharp s", in: "Großbank", want: "grossbank"},
		{name: "capital sharp s", in: "GROẞBANK", want: "grossbank"},
		{name: "o with stroke", in: "Øresund Bank", want: "oresund bank"},
		{name: "ligatures", in: "Cæsar Œuvre", want: "caesar oeuvre"},
		{name: "l with stroke", in: "Łódź", want: "lodz"},
		{name: "typographic ligature", in: "ﬁrst", want: "first"},
		{name: "full width", in: "ＢＡＮＫ", want: "bank"},
		{name: "ampersand", in: "Farmers & Merchants", want: "farmers and merchants"},
		{name: "ampersand without spaces", in: "F&M Bank", want: "f and m bank"},
		{name: "ampersand at the ends", in: "&Co&", want: "and co and"},
		{name: "apostrophe", in: "People's Bank", want: "peoples bank"},
		{name: "typographic apostrophe", in: "People’s Bank", want: "peoples bank"},
		{name: "french elision", in: "Caisse d'économie", want: "caisse deconomie"},
		{name: "punctuation becomes space", in: "Smith, Jones & Co.", want: "smith jones and co"},
		{name: "runs of spaces", in: "  First   National\t\nBank  ", want: "first national bank"},
		{name: "digits kept", in: "1st Bank of 42nd St.", want: "1st bank of 42nd st"},
		{name: "non-latin letters kept", in: "Ελληνική Τράπεζα", want: "ελληνικη τραπεζα"},
		{name: "invalid utf-8", in: "Bank\xff\xfeOne", want: "bank one"},
		{name: "emoji", in: "💰 Money 💰", want: "money"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Normalize(tc.in); got != tc.want {
				t.Errorf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"", "Société Générale", "People's & Co.", "  a  b  ", "ß", "ﬁ", "İstanbul", "ǅ", "\xff", "Å", "ŉ", "Ω", "'&'", "a\u0301\u0301"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Normalize(s)
		if again := Normalize(out); again != out {
			t.Errorf("not idempotent: Normalize(%q) = %q, Normalize(that) = %q", s, out, again)
		}
		if !utf8.ValidString(out) {
			t.Errorf("Normalize(%q) = %q is not valid UTF-8", s, out)
		}
		if strings.ToLower(out) != out {
			// Letters with no lower-case form (ℂ has none) may remain;
			// anything that has one must be folded.
			t.Errorf("Normalize(%q) = %q has upper-case letters", s, out)
		}
		if strings.Contains(out, "  ") || strings.TrimSpace(out) != out {
			t.Errorf("Normalize(%q) = %q has stray spaces", s, out)
		}
		if strings.ContainsAny(out, "\t\n&'") {
			t.Errorf("Normalize(%q) = %q has separators or symbols", s, out)
		}
	})
}
