// Package l10n knows which languages the customer-facing pages speak and
// picks one for a request: from a BCP 47 tag an app passed (connect/start's
// language) or from the browser's Accept-Language. The strings themselves
// live in the widget's catalogues (internal/widget/assets/i18n).
package l10n

import (
	"strings"

	"golang.org/x/text/language"
)

// Default is the language shown when nothing better matches.
const Default = "en"

// Supported lists the catalogues, by the tag their file is named after.
// Adding a language: add its catalogue file and its line here
// (docs/widget.md).
var Supported = []string{"en", "fr-CA"}

// byBase maps a base language to the catalogue that serves it: any
// French (fr, fr-FR, fr-BE, fr-CA) reads the Canadian French catalogue,
// any English the English one.
var byBase = map[string]string{"en": "en", "fr": "fr-CA"}

// MaxTagLength bounds a language tag an app may pass. BCP 47 tags in use
// are short ("fr-CA", "zh-Hant-TW"); RFC 5646 asks implementations to
// accept at least 35 characters.
const MaxTagLength = 35

// Parse checks that s is a well-formed BCP 47 tag and returns it in
// canonical case ("FR-ca" becomes "fr-CA"). It does not check that a
// catalogue exists: an app may ask for any real language and get the
// closest one (Match).
func Parse(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > MaxTagLength || strings.ContainsAny(s, "_ ") {
		return "", false
	}
	t, err := language.Parse(s)
	if err != nil {
		return "", false
	}
	// "und" (undetermined) parses but names no language.
	if c := t.String(); c == "und" || strings.HasPrefix(c, "und-") {
		return "", false
	}
	return t.String(), true
}

// Match returns the catalogue for tag ("fr-FR" → "fr-CA"), and whether
// one serves its language; Default when none does.
func Match(tag string) (string, bool) {
	t, err := language.Parse(tag)
	if err != nil {
		return Default, false
	}
	b, _ := t.Base()
	if c, ok := byBase[b.String()]; ok {
		return c, true
	}
	return Default, false
}

// FromAcceptLanguage picks the catalogue for an Accept-Language header:
// the first language, by q-value, that a catalogue serves ("es,
// fr;q=0.8, en;q=0.5" reads French); Default when none is.
func FromAcceptLanguage(header string) string {
	tags, _, err := language.ParseAcceptLanguage(header)
	if err != nil {
		return Default
	}
	// ParseAcceptLanguage sorts by q-value (stably) and drops q=0.
	for _, t := range tags {
		if c, ok := Match(t.String()); ok {
			return c
		}
	}
	return Default
}
