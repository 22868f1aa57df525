package widget

import (
	"io/fs"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"banklink/internal/l10n"
)

// TestCataloguesMatch: every language has exactly English's keys, each
// with the same placeholders, and no empty text.
func TestCataloguesMatch(t *testing.T) {
	files, err := fs.Glob(assets, "assets/i18n/*.json")
	if err != nil {
		t.Fatal(err)
	}
	var langs []string
	for _, f := range files {
		langs = append(langs, strings.TrimSuffix(strings.TrimPrefix(f, "assets/i18n/"), ".json"))
	}
	if !slices.Equal(langs, slices.Sorted(slices.Values(l10n.Supported))) {
		t.Errorf("catalogue files %v, l10n.Supported %v: each supported language needs a file and each file a line there", langs, l10n.Supported)
	}
	en := catalogues[l10n.Default]
	for _, lang := range l10n.Supported {
		t.Run(lang, func(t *testing.T) {
			c := catalogues[lang]
			for _, k := range slices.Sorted(maps.Keys(en)) {
				v, ok := c[k]
				if !ok {
					t.Errorf("%s has no %q", lang, k)
					continue
				}
				if strings.TrimSpace(v) == "" {
					t.Errorf("%s %q is empty", lang, k)
				}
				if got, want := placeholders(v), placeholders(en[k]); !slices.Equal(got, want) {
					t.Errorf("%s %q has placeholders %v, English has %v", lang, k, got, want)
				}
			}
			for k := range c {
				if _, ok := en[k]; !ok {
					t.Errorf("%s has %q, which English has not", lang, k)
				}
			}
		})
	}
}

func placeholders(s string) []string {
	return slices.Sorted(slices.Values(placeholder.FindAllString(s, -1)))
}

// TestFrenchTypography: French text follows French typographic rules: a
// no-break space (U+00A0 or the narrow U+202F) before : ; ? ! and inside
// « guillemets », no straight quotes, the typographic apostrophe.
func TestFrenchTypography(t *testing.T) {
	badSpace := regexp.MustCompile(`(^|[^\x{00A0}\x{202F}])[:;?!»]`)
	for k, v := range catalogues["fr-CA"] {
		// Placeholders, paths and sandbox logins are not prose.
		prose := placeholder.ReplaceAllString(v, "X")
		if m := badSpace.FindString(prose); m != "" {
			t.Errorf("fr-CA %q: %q needs a no-break space before the punctuation: %q", k, m, v)
		}
		if strings.Contains(prose, "«") && !strings.Contains(prose, "«\u00a0") {
			t.Errorf("fr-CA %q: « needs a no-break space after it: %q", k, v)
		}
		if strings.ContainsAny(prose, `"'“”`) {
			t.Errorf("fr-CA %q: use « » and ’, not straight or English quotes: %q", k, v)
		}
	}
	if !strings.Contains(catalogues["fr-CA"]["pick.title"], "institution financière") {
		t.Errorf("French says « institution financière »: %q", catalogues["fr-CA"]["pick.title"])
	}
}

// TestConnectJSUsesCatalogue: every key connect.js asks for exists, and
// every key the page embeds is used (directly, or by a prefix connect.js
// builds keys from).
func TestConnectJSUsesCatalogue(t *testing.T) {
	js := readAsset(t, "connect.js")
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`\b(?:t|tn|has)\("([A-Za-z0-9_.]+)"`).FindAllStringSubmatch(js, -1) {
		used[m[1]] = true
	}
	// Keys built at run time: "product." + p, tn("done.body", …) → done.body.one.
	prefixes := []string{}
	for _, m := range regexp.MustCompile(`\b(?:t|tOr|has)\("([A-Za-z0-9_]+\.)" \+`).FindAllStringSubmatch(js, -1) {
		prefixes = append(prefixes, m[1])
	}
	for _, m := range regexp.MustCompile(`\btn\("([A-Za-z0-9_.]+)"`).FindAllStringSubmatch(js, -1) {
		prefixes = append(prefixes, m[1]+".")
	}
	en := catalogues[l10n.Default]
	for k := range used {
		if strings.HasSuffix(k, ".") {
			continue // a prefix, as above
		}
		if _, ok := en[k]; !ok && !slices.ContainsFunc(prefixes, func(p string) bool { return k+"." == p }) {
			t.Errorf("connect.js uses %q, which the catalogue has not", k)
		}
	}
	html := readAsset(t, "connect.html")
	for _, m := range regexp.MustCompile(`\.T "([A-Za-z0-9_.]+)"`).FindAllStringSubmatch(html, -1) {
		used[m[1]] = true
		if _, ok := en[m[1]]; !ok {
			t.Errorf("connect.html uses %q, which the catalogue has not", m[1])
		}
	}
	for k := range clientStrings(l10n.Default) {
		if !used[k] && !hasAnyPrefix(k, prefixes) {
			t.Errorf("the catalogue's %q is embedded in the page but never used", k)
		}
	}
}

// TestNoHardCodedText fails when connect.js or a page shows text
// that bypasses the catalogue: a string literal in the script that reads
// like words, or text or a labelling attribute in the page that is not a
// {{.T}} lookup.
func TestNoHardCodedText(t *testing.T) {
	// What the script may spell out: header names, codes, CSS and DOM
	// names. Each must be a whole literal.
	allowed := map[string]bool{
		"Authorization": true, "Bearer ": true, "Banklink-Tab": true, "Accept-Language": true, "Content-Type": true,
		"Escape": true, "ABANDONED": true, "USER_CLOSED": true,
	}
	for _, lit := range jsStrings(readAsset(t, "connect.js")) {
		if allowed[lit] || isKey(lit) {
			continue
		}
		if proseRE.MatchString(lit) {
			t.Errorf("connect.js: %q looks like text for the customer; put it in the catalogues (assets/i18n) and use t(key)", lit)
		}
	}

	for _, page := range []string{"connect.html", "authorize.html"} {
		html := readAsset(t, page)
		html = regexp.MustCompile(`(?s)\{\{.*?\}\}`).ReplaceAllString(html, "")
		html = regexp.MustCompile(`(?s)<script.*?</script>|<!doctype[^>]*>|&#?[A-Za-z0-9]+;`).ReplaceAllString(html, "")
		for _, m := range regexp.MustCompile(`(?s)>([^<]*)<`).FindAllStringSubmatch(html, -1) {
			if strings.IndexFunc(m[1], isLetter) >= 0 {
				t.Errorf("%s: text %q is not from the catalogue; use {{.T \"key\"}}", page, strings.TrimSpace(m[1]))
			}
		}
		for _, m := range regexp.MustCompile(`\b(aria-label|title|placeholder|alt|aria-description|aria-roledescription)="([^"]*)"`).FindAllStringSubmatch(html, -1) {
			if strings.IndexFunc(m[2], isLetter) >= 0 {
				t.Errorf("%s: %s=%q is not from the catalogue", page, m[1], m[2])
			}
		}
	}
}

// isKey reports whether s is a catalogue key or the start of keys
// connect.js builds ("product.").
func isKey(s string) bool {
	for k := range catalogues[l10n.Default] {
		if k == s || strings.HasSuffix(s, ".") && strings.HasPrefix(k, s) || strings.HasPrefix(k, s+".") {
			return true
		}
	}
	return false
}

// proseRE matches what reads like words for a person, not a name in
// code ("banklink.tab", "check bang", "use strict"): a capitalised word,
// an apostrophe between letters, or a sentence's punctuation.
var proseRE = regexp.MustCompile(`^[A-Z][a-z]|[A-Za-z]['’][A-Za-z]|[A-Za-z][.!?:;] [A-Za-z]|[a-z]{2,} [a-z]{2,}[.!?]$`)

func isLetter(r rune) bool { return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r > 127 }

func TestNoHardCodedTextCatches(t *testing.T) {
	got := jsStrings(`var a = "Log in", b = 'it\'s ok', c = "search", d = t("pick.title"); // "a comment"
/* "block comment" */ el("p", { text: "Select the accounts." }); x = /"re"/;`)
	if want := []string{"Log in", "it's ok", "search", "pick.title", "p", "Select the accounts."}; !slices.Equal(got, want) {
		t.Errorf("literals %q, want %q", got, want)
	}
	var flagged []string
	for _, s := range got {
		if proseRE.MatchString(s) && !isKey(s) {
			flagged = append(flagged, s)
		}
	}
	if !slices.Equal(flagged, []string{"Log in", "it's ok", "Select the accounts."}) {
		t.Errorf("flagged %q (of %q)", flagged, got)
	}
}

func readAsset(t *testing.T, name string) string {
	t.Helper()
	b, err := fs.ReadFile(assets, "assets/"+name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// jsStrings returns the string literals of a script, skipping comments
// and regular expression literals (enough of JavaScript's grammar for
// connect.js: a / after an operator or an opening bracket starts a
// regular expression).
func jsStrings(src string) []string {
	var out []string
	prev := byte('(') // the last significant character
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			continue
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return out
			}
			i += end + 3
			continue
		case c == '/' && strings.IndexByte("(,=:[!&|?{};", prev) >= 0:
			for i++; i < len(src) && src[i] != '/'; i++ {
				if src[i] == '\\' {
					i++
				}
			}
		case c == '"' || c == '\'':
			var b strings.Builder
			for i++; i < len(src) && src[i] != c; i++ {
				if src[i] == '\\' && i+1 < len(src) {
					i++
				}
				b.WriteByte(src[i])
			}
			out = append(out, b.String())
		}
		if c != ' ' && c != '\n' && c != '\t' {
			prev = c
		}
	}
	return out
}
