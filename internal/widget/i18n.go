package widget

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strings"

	"banklink"
	"banklink/internal/connecttoken"
	"banklink/internal/l10n"
)

// The widget's words live in one catalogue per language,
// assets/i18n/<tag>.json: a flat object from key to text, with {name}
// placeholders. The pages, connect.js and the widget API's own error
// messages all read them; docs/widget.md says how to add a string or a
// language.

// catalogue is one language's strings by key.
type catalogue map[string]string

// catalogues holds every language's catalogue, by l10n tag. The files are
// embedded, so a broken one fails every test of this package (and the
// build's smoke run) rather than a customer's page.
var catalogues = mustLoadCatalogues(assets)

func mustLoadCatalogues(fsys fs.FS) map[string]catalogue {
	c, err := loadCatalogues(fsys)
	if err != nil {
		panic(err)
	}
	return c
}

func loadCatalogues(fsys fs.FS) (map[string]catalogue, error) {
	out := map[string]catalogue{}
	for _, lang := range l10n.Supported {
		b, err := fs.ReadFile(fsys, path.Join("assets", "i18n", lang+".json"))
		if err != nil {
			return nil, fmt.Errorf("widget catalogue %s: %w", lang, err)
		}
		var c catalogue
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("widget catalogue %s: %w", lang, err)
		}
		out[lang] = c
	}
	return out, nil
}

// serverOnly are the key prefixes the server renders itself (the widget
// API's errors, credential labels, the sandbox bank's page): the widget
// page does not need them, so they stay out of the strings it embeds.
var serverOnly = []string{"error.", "field.", "authorize."}

// clientStrings returns what connect.js needs of lang's catalogue.
func clientStrings(lang string) map[string]string {
	out := map[string]string{}
	for k, v := range catalogues[lang] {
		if !hasAnyPrefix(k, serverOnly) {
			out[k] = v
		}
	}
	return out
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

var placeholder = regexp.MustCompile(`\{[A-Za-z][A-Za-z0-9]*\}`)

// text returns key's text in lang (English when lang has none, the key
// itself when no catalogue has it) with args, name then value pairs,
// in place of its {name} placeholders.
func text(lang, key string, args ...string) string {
	s, ok := catalogues[lang][key]
	if !ok {
		if s, ok = catalogues[l10n.Default][key]; !ok {
			return key
		}
	}
	if len(args) == 0 {
		return s
	}
	return placeholder.ReplaceAllStringFunc(s, func(p string) string {
		name := p[1 : len(p)-1]
		for i := 0; i+1 < len(args); i += 2 {
			if args[i] == name {
				return args[i+1]
			}
		}
		return p
	})
}

func hasText(lang, key string) bool {
	_, ok := catalogues[lang][key]
	return ok
}

// textError is an error of the widget's own whose message is a catalogue
// entry: it is written in English and translated, at the widget API's
// edge, into the language of the session (localize).
type textError struct {
	err  *banklink.Error
	key  string
	args []string
}

func (e *textError) Error() string { return e.err.Error() }
func (e *textError) Unwrap() error { return e.err }

// errText returns a banklink error whose message is key's text.
func errText(code, reason, key string, args ...string) error {
	return &textError{err: &banklink.Error{Code: code, Reason: reason, Message: text(l10n.Default, key, args...)}, key: key, args: args}
}

// localize puts err's message in lang. The widget's own messages
// (textError) always come from the catalogue. Other messages (linking's,
// a provider's DisplayMessage, a field validation) are kept in English,
// where they are the most specific, and in another language replaced by
// the catalogue's text for their reason, else for their code: a French
// customer reads French, if a less specific one.
func localize(err error, lang string) error {
	if err == nil {
		return nil
	}
	if te, ok := errors.AsType[*textError](err); ok {
		te.err.Message = text(lang, te.key, te.args...)
		return err
	}
	be, ok := errors.AsType[*banklink.Error](err)
	if !ok || lang == l10n.Default {
		return err
	}
	key := "error." + be.Reason
	if be.Reason == "" || !hasText(lang, key) {
		key = "error." + be.Code
	}
	if !hasText(lang, key) {
		return err
	}
	out := *be
	out.Message = text(lang, key)
	return &out
}

// languageOf is the catalogue a widget API call answers in: the
// language connect/start asked for, else the caller's Accept-Language
// (connect.js sends the page's language there).
func languageOf(c *connecttoken.Claims, r *http.Request) string {
	if c != nil && c.Language != "" {
		lang, _ := l10n.Match(c.Language)
		return lang
	}
	return l10n.FromAcceptLanguage(r.Header.Get("Accept-Language"))
}

// pageLanguage picks the widget page's language: the token's (the link
// an app opens), else a lang parameter (the address connect.js leaves
// after removing the token, so that a reload keeps the language), else
// the browser's. pinned says it did not come from the browser.
func pageLanguage(c *connecttoken.Claims, q url.Values, r *http.Request) (lang string, pinned bool) {
	if c != nil && c.Language != "" {
		lang, _ = l10n.Match(c.Language)
		return lang, true
	}
	if p := q.Get("lang"); p != "" {
		if tag, ok := l10n.Parse(p); ok {
			lang, _ = l10n.Match(tag)
			return lang, true
		}
	}
	return l10n.FromAcceptLanguage(r.Header.Get("Accept-Language")), false
}

// pageData is what connect.html and authorize.html render: {{.T "key"}}
// reads the page's catalogue.
type pageData struct {
	Base, Lang string
	Pinned     bool
	// Strings is connect.js's part of the catalogue, embedded in the page
	// as JSON: no request more, and only the page's own language.
	Strings map[string]string
	// The sandbox bank's page.
	Institution, Approve, Deny string
}

// T returns key's text in the page's language; args as for text.
func (p pageData) T(key string, args ...string) string { return text(p.Lang, key, args...) }
