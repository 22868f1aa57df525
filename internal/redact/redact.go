// Package redact keeps secrets out of logs: an slog ReplaceAttr that blanks
// attributes whose names say they hold a secret, and masks API keys,
// connect tokens (JWTs) and webhook secrets wherever they appear inside
// other values, such as an error message quoting a request.
package redact

import (
	"log/slog"
	"regexp"
	"strings"
)

// Mask replaces a redacted value.
const Mask = "[REDACTED]"

// secretNames are substrings of attribute names whose values are secret.
var secretNames = []string{"secret", "password", "passwd", "token", "authorization", "credential", "cookie", "private_key"}

// patterns match secrets by their shape: banklink API keys, JWTs, webhook
// secrets, Plaid and processor tokens and passwords in URLs.
var patterns = []*regexp.Regexp{
	regexp.MustCompile(`bl_(sandbox|production)_[1-9A-HJ-NP-Za-km-z]+_[A-Za-z0-9_-]+`),
	regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+`),
	regexp.MustCompile(`whsec_[A-Za-z0-9_-]+`),
	// Plaid's access, public, Link and processor tokens, and the Stripe
	// bank account tokens Plaid makes.
	regexp.MustCompile(`\b(access|public|link|processor)-(sandbox|development|production)-[A-Za-z0-9-]+`),
	regexp.MustCompile(`\bbtok_[A-Za-z0-9_]+`),
	regexp.MustCompile(`(://[^:/@\s]+:)[^@\s]+@`),
}

// SecretName reports whether an attribute called key holds a secret.
func SecretName(key string) bool {
	k := strings.ToLower(key)
	for _, s := range secretNames {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// String masks every secret-shaped substring of s.
func String(s string) string {
	if !strings.Contains(s, "bl_") && !strings.Contains(s, "eyJ") && !strings.Contains(s, "whsec_") && !strings.Contains(s, "@") &&
		!strings.Contains(s, "-sandbox-") && !strings.Contains(s, "-production-") && !strings.Contains(s, "-development-") && !strings.Contains(s, "btok_") {
		return s
	}
	for i, p := range patterns {
		if i == len(patterns)-1 {
			s = p.ReplaceAllString(s, "${1}"+Mask+"@")
			continue
		}
		s = p.ReplaceAllString(s, Mask)
	}
	return s
}

// ReplaceAttr is a slog.HandlerOptions.ReplaceAttr that redacts.
func ReplaceAttr(_ []string, a slog.Attr) slog.Attr {
	if SecretName(a.Key) {
		return slog.String(a.Key, Mask)
	}
	switch a.Value.Kind() {
	case slog.KindString:
		if s := a.Value.String(); String(s) != s {
			return slog.String(a.Key, String(s))
		}
	case slog.KindAny:
		if err, ok := a.Value.Any().(error); ok {
			if s := err.Error(); String(s) != s {
				return slog.String(a.Key, String(s))
			}
		}
	}
	return a
}
