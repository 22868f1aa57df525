package banklink

import (
	"context"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// AppProfile is how an app presents itself to its customers in the Connect
// Widget: the consent screen names it, shows its logo and links its privacy
// policy, and the widget's buttons take its brand colour. One per account
// and environment, like the widget origins, so a sandbox key cannot change
// what production customers are shown. Every field is optional: an empty
// one is not shown (the display name falls back to the account's name).
type AppProfile struct {
	// DisplayName is the app's name as customers know it.
	DisplayName string
	// LogoURL is an https image URL, shown at 48×48.
	LogoURL string
	// PrivacyPolicyURL is an https page the consent screen links to.
	PrivacyPolicyURL string
	// BrandColor is "#rrggbb" (lower case): the widget's primary buttons.
	BrandColor string
	// UpdatedAt is when the profile was last saved; zero if never.
	UpdatedAt time.Time
}

// Limits of an app profile's fields.
const (
	MaxAppDisplayName = 60
	MaxAppURL         = 2048
)

// Validate checks and normalises p's fields (trimmed, the colour in lower
// case), returning a field error naming the first bad one in the API's
// field names.
func (p *AppProfile) Validate() error {
	p.DisplayName = strings.TrimSpace(p.DisplayName)
	if n := utf8.RuneCountInString(p.DisplayName); n > MaxAppDisplayName {
		return FieldErrorf("displayName", "must be at most %d characters (it is %d)", MaxAppDisplayName, n)
	}
	for _, r := range p.DisplayName {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return FieldErrorf("displayName", "must not contain control characters or invalid UTF-8")
		}
	}
	var err error
	if p.LogoURL, err = checkHTTPSURL("logoUrl", p.LogoURL); err != nil {
		return err
	}
	if p.PrivacyPolicyURL, err = checkHTTPSURL("privacyPolicyUrl", p.PrivacyPolicyURL); err != nil {
		return err
	}
	p.BrandColor = strings.ToLower(strings.TrimSpace(p.BrandColor))
	if p.BrandColor != "" && !isHexColor(p.BrandColor) {
		return FieldErrorf("brandColor", "must be a colour such as #1d4ed8 (# and six hexadecimal digits)")
	}
	return nil
}

// checkHTTPSURL accepts "" or an absolute https URL with a host and no
// credentials: the widget loads and links these from a page that carries
// a customer's bank login, so nothing else (http, javascript:, data:) may
// get there.
func checkHTTPSURL(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if len(s) > MaxAppURL {
		return "", FieldErrorf(field, "must be at most %d characters", MaxAppURL)
	}
	u, err := url.Parse(s)
	if err != nil || !strings.EqualFold(u.Scheme, "https") || u.Host == "" || u.Opaque != "" {
		return "", FieldErrorf(field, "must be an absolute https URL such as https://app.example.com/logo.png")
	}
	if u.User != nil {
		return "", FieldErrorf(field, "must not contain a user name or password")
	}
	if !ValidURLHost(u.Host) {
		return "", FieldErrorf(field, "has a host that is not a domain name or IP address")
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return "", FieldErrorf(field, "must not contain spaces or control characters")
		}
	}
	return s, nil
}

// ValidURLHost reports whether host (a URL's host[:port]) has only the
// characters of a domain name, an IPv4 or a bracketed IPv6 address and a
// port. url.Parse accepts more (';', ',', quotes, '*'), which in the
// logo's origin would let a profile write into the widget page's
// Content-Security-Policy.
func ValidURLHost(host string) bool {
	if host == "" {
		return false
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}

func isHexColor(s string) bool {
	if len(s) != 7 || s[0] != '#' {
		return false
	}
	for i := 1; i < 7; i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// AppProfileStore keeps app profiles.
type AppProfileStore interface {
	// FindAppProfile returns scope's profile, or a zero profile (not an
	// error) when none was saved.
	FindAppProfile(ctx context.Context, scope Scope) (*AppProfile, error)
	// SaveAppProfile replaces scope's profile with p (validated by the
	// caller). Returns ENOTFOUND when the account does not exist.
	SaveAppProfile(ctx context.Context, scope Scope, p *AppProfile) error
}

// TextColorOn returns the text colour for a background of colour c
// ("#rrggbb"): "#ffffff" or "#000000", whichever contrasts more by WCAG 2.
// One of the two always reaches at least 4.58:1, so text on any brand
// colour meets the 4.5:1 of WCAG AA.
func TextColorOn(c string) string {
	if ContrastRatio(c, "#ffffff") >= ContrastRatio(c, "#000000") {
		return "#ffffff"
	}
	return "#000000"
}

// ContrastRatio is the WCAG 2 contrast ratio of two "#rrggbb" colours,
// from 1 to 21.
func ContrastRatio(a, b string) float64 {
	x, y := luminance(a), luminance(b)
	return (math.Max(x, y) + 0.05) / (math.Min(x, y) + 0.05)
}

func luminance(c string) float64 {
	var ch [3]float64
	for i := range ch {
		n, _ := strconv.ParseUint(c[1+2*i:3+2*i], 16, 8)
		v := float64(n) / 255
		if v <= 0.04045 {
			ch[i] = v / 12.92
		} else {
			ch[i] = math.Pow((v+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*ch[0] + 0.7152*ch[1] + 0.0722*ch[2]
}
