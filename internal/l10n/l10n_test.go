package l10n

import "testing"

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		ok             bool
	}{
		{"language", "fr", "fr", true},
		{"language and region", "fr-CA", "fr-CA", true},
		{"case is canonicalised", "FR-ca", "fr-CA", true},
		{"script", "zh-Hant-TW", "zh-Hant-TW", true},
		{"unsupported but valid", "es-MX", "es-MX", true},
		{"three-letter language", "fil", "fil", true},
		{"empty", "", "", false},
		{"underscore (a POSIX locale, not BCP 47)", "fr_CA", "", false},
		{"space", "fr CA", "", false},
		{"not a language", "french", "", false},
		{"digits", "12", "", false},
		{"bad region", "fr-CANADA1", "", false},
		{"undetermined", "und", "", false},
		{"undetermined with a region", "und-CA", "", false},
		{"too long", "en-US-u-ca-gregory-co-phonebk-nu-latn-x-something", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Parse(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Errorf("Parse(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"fr", "fr-CA", true},
		{"fr-CA", "fr-CA", true},
		{"fr-FR", "fr-CA", true},
		{"en-GB", "en", true},
		{"es", "en", false},
		{"garbage!", "en", false},
	} {
		if got, ok := Match(tc.in); got != tc.want || ok != tc.ok {
			t.Errorf("Match(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestFromAcceptLanguage(t *testing.T) {
	for _, tc := range []struct {
		name, header, want string
	}{
		{"none", "", "en"},
		{"French", "fr", "fr-CA"},
		{"Canadian French", "fr-CA,fr;q=0.9,en-CA;q=0.8,en;q=0.7", "fr-CA"},
		{"France's French", "fr-FR", "fr-CA"},
		{"English first", "en-US,en;q=0.9,fr;q=0.8", "en"},
		{"q-values order, not position", "en;q=0.4, fr;q=0.9", "fr-CA"},
		{"unsupported first, then French", "es-MX,es;q=0.9,fr;q=0.5", "fr-CA"},
		{"only unsupported", "de-DE,de;q=0.9", "en"},
		{"q=0 refuses", "fr;q=0, en;q=0.1", "en"},
		{"wildcard", "*", "en"},
		{"malformed", "fr;q=abc", "en"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := FromAcceptLanguage(tc.header); got != tc.want {
				t.Errorf("FromAcceptLanguage(%q) = %q, want %q", tc.header, got, tc.want)
			}
		})
	}
}
