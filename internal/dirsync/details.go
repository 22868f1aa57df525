package dirsync

import (
	"bytes"
	"encoding/base64"
	"slices"
	"strings"

	"banklink"
)

// The helpers below clean up the details providers' directories give
// about an institution, so every adapter stores them alike.

// RoutingNumbers returns the routing numbers in list that pass the ABA
// checksum (banklink.IsRoutingNumber), once each, in order: a number
// failing it cannot be one, and would only make a search find the wrong
// bank.
func RoutingNumbers(list []string) []string {
	var out []string
	for _, rn := range list {
		rn = strings.TrimSpace(rn)
		if banklink.IsRoutingNumber(rn) && !slices.Contains(out, rn) {
			out = append(out, rn)
		}
	}
	return out
}

// Color returns a brand colour as "#rrggbb", from "#RRGGBB", "RRGGBB" or
// "#rgb"; "" for anything else.
func Color(s string) string {
	s = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(s), "#"))
	if len(s) == 3 {
		s = string([]byte{s[0], s[0], s[1], s[1], s[2], s[2]})
	}
	if len(s) != 6 {
		return ""
	}
	for i := range 6 {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return ""
		}
	}
	return "#" + s
}

// MaxInlineLogo bounds a logo a directory carries inline (Plaid's base64
// PNGs, 152×152, typically 2–8 KB decoded): bigger ones are dropped, and
// the picker shows a monogram instead.
const MaxInlineLogo = 16 << 10

// InlineLogo returns a "data:image/png;base64," URL for a base64 PNG, or
// "" when s is not base64, not a PNG, or larger than MaxInlineLogo.
func InlineLogo(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || base64.StdEncoding.DecodedLen(len(s)) > MaxInlineLogo+2 {
		return ""
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) > MaxInlineLogo || !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		return ""
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(b)
}

// LogoURL returns s when it is an https URL, else "": the widget fetches
// logos on the server (see widget's logo proxy), and only over https.
func LogoURL(s string) string {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "https://") || len(s) > 2048 {
		return ""
	}
	return s
}
