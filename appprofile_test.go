package banklink

import (
	"fmt"
	"strings"
	"testing"
)

func TestAppProfileValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    AppProfile
		field string // "" when valid
	}{
		{"empty is valid", AppProfile{}, ""},
		{"all set", AppProfile{DisplayName: " Acme ", LogoURL: "https://acme.example/l.png", PrivacyPolicyURL: "https://acme.example/p", BrandColor: "#0F766E"}, ""},
		{"name too long", AppProfile{DisplayName: strings.Repeat("x", MaxAppDisplayName+1)}, "displayName"},
		{"name with control character", AppProfile{DisplayName: "Acme\nEvil"}, "displayName"},
		{"logo over http", AppProfile{LogoURL: "http://acme.example/l.png"}, "logoUrl"},
		{"logo javascript", AppProfile{LogoURL: "javascript:alert(1)"}, "logoUrl"},
		{"logo data", AppProfile{LogoURL: "data:image/png;base64,AAAA"}, "logoUrl"},
		{"logo relative", AppProfile{LogoURL: "/logo.png"}, "logoUrl"},
		{"logo with credentials", AppProfile{LogoURL: "https://u:p@acme.example/l.png"}, "logoUrl"},
		{"logo with space", AppProfile{LogoURL: "https://acme.example/a b.png"}, "logoUrl"},
		{"logo host with ;", AppProfile{LogoURL: "https://a;script-src *.example/l.png"}, "logoUrl"},
		{"logo host with ; and a directive", AppProfile{LogoURL: "https://cdn.example;report-uri/l.png"}, "logoUrl"},
		{"logo host with quote", AppProfile{LogoURL: "https://a'b.example/l.png"}, "logoUrl"},
		{"logo on an IPv6 host", AppProfile{LogoURL: "https://[2001:db8::1]:8443/l.png"}, ""},
		{"logo too long", AppProfile{LogoURL: "https://acme.example/" + strings.Repeat("a", MaxAppURL)}, "logoUrl"},
		{"privacy over http", AppProfile{PrivacyPolicyURL: "http://acme.example/p"}, "privacyPolicyUrl"},
		{"colour without #", AppProfile{BrandColor: "0f766e"}, "brandColor"},
		{"colour short form", AppProfile{BrandColor: "#fff"}, "brandColor"},
		{"colour name", AppProfile{BrandColor: "teal"}, "brandColor"},
		{"colour not hex", AppProfile{BrandColor: "#gg0000"}, "brandColor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.in
			err := p.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			e, ok := err.(*Error)
			if !ok || e.Code != EBADREQUEST || e.Field != tc.field {
				t.Fatalf("Validate = %v, want a %s error on %s", err, EBADREQUEST, tc.field)
			}
		})
	}
	p := AppProfile{DisplayName: " Acme ", BrandColor: "#0F766E"}
	if err := p.Validate(); err != nil || p.DisplayName != "Acme" || p.BrandColor != "#0f766e" {
		t.Errorf("normalised to %+v, %v", p, err)
	}
}

// TestTextColorOn: the text on any brand colour contrasts at least 4.5:1,
// over a sweep of the colour cube.
func TestTextColorOn(t *testing.T) {
	for _, tc := range []struct{ bg, want string }{
		{"#1d4ed8", "#ffffff"}, {"#fde047", "#000000"}, {"#ffffff", "#000000"}, {"#000000", "#ffffff"}, {"#777777", "#000000"},
	} {
		if got := TextColorOn(tc.bg); got != tc.want {
			t.Errorf("TextColorOn(%s) = %s, want %s", tc.bg, got, tc.want)
		}
	}
	worst := 21.0
	for r := 0; r < 256; r += 15 {
		for g := 0; g < 256; g += 15 {
			for b := 0; b < 256; b += 15 {
				bg := fmt.Sprintf("#%02x%02x%02x", r, g, b)
				if c := ContrastRatio(bg, TextColorOn(bg)); c < worst {
					worst = c
				}
			}
		}
	}
	if worst < 4.5 {
		t.Errorf("worst contrast %.2f, want at least 4.5", worst)
	}
	if c := ContrastRatio("#ffffff", "#000000"); c < 20.99 || c > 21.01 {
		t.Errorf("white on black = %.3f, want 21", c)
	}
}
