package dirsync

import (
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"banklink"
)

func TestRoutingNumbers(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []string
		want []string
	}{
		{"valid kept in order", []string{"121000248", "021000021"}, []string{"121000248", "021000021"}},
		{"checksum failure dropped", []string{"021000022", "021000021"}, []string{"021000021"}},
		{"duplicates once", []string{"021000021", " 021000021 "}, []string{"021000021"}},
		{"short, long, letters dropped", []string{"02100002", "0210000210", "02100002x"}, nil},
		{"none", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RoutingNumbers(tc.in); !slices.Equal(got, tc.want) {
				t.Errorf("RoutingNumbers(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestColor(t *testing.T) {
	for in, want := range map[string]string{
		"#004966": "#004966", "#0167AE": "#0167ae", "0167ae": "#0167ae", "#abc": "#aabbcc",
		"": "", "#12345": "", "#gggggg": "", "red": "", "#0167ae;background:url(x)": "",
	} {
		if got := Color(in); got != want {
			t.Errorf("Color(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestInlineLogo(t *testing.T) {
	png := "\x89PNG\r\n\x1a\n" + strings.Repeat("x", 100)
	b64 := base64.StdEncoding.EncodeToString
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"small PNG", b64([]byte(png)), true},
		{"PNG at the cap", b64([]byte(png + strings.Repeat("x", MaxInlineLogo-len(png)))), true},
		{"PNG over the cap", b64([]byte(png + strings.Repeat("x", MaxInlineLogo))), false},
		{"not a PNG (an SVG)", b64([]byte("<svg onload=alert(1)>")), false},
		{"not base64", "%%%", false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := InlineLogo(tc.in)
			if tc.ok != (got != "") || tc.ok && !strings.HasPrefix(got, "data:image/png;base64,") {
				t.Errorf("InlineLogo = %.60q, want ok=%v", got, tc.ok)
			}
		})
	}
}

func TestLogoURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://cdn.example/logo.png": "https://cdn.example/logo.png",
		"http://cdn.example/logo.png":  "",
		"javascript:alert(1)":          "",
		"data:image/png;base64,AA==":   "",
		"":                             "",
	} {
		if got := LogoURL(in); got != want {
			t.Errorf("LogoURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestMergeRoutingNumbersAndLogos: a provider bringing routing numbers,
// a logo or a colour the directory lacks updates an institution whose
// coverage is unchanged; numbers are the union of every provider's; the
// directory's own logo wins; a second merge changes nothing.
func TestMergeRoutingNumbersAndLogos(t *testing.T) {
	existing := dir()
	existing[0].RoutingNumbers = []string{"021000021"}
	existing[0].Providers["plaid"] = pi("ins_56", banklink.Balances)
	existing[0].Images.Icon = "https://directory.example/chase.png"
	in := incoming("Chase", "ins_56", []banklink.Region{"US"}, "", banklink.Balances)
	in.RoutingNumbers = []string{"322271627", "021000021"}
	in.Images.Color = "#117aca"
	// (Gone Bank, absent from this listing, loses Plaid: updated too.)
	updated, added := Merge(existing, []*banklink.Institution{in}, "plaid")
	got := byID(updated)["chase"]
	if len(added) != 0 || got == nil {
		t.Fatalf("updated %v added %v", updated, added)
	}
	if !slices.Equal(got.RoutingNumbers, []string{"021000021", "322271627"}) || got.Images.Color != "#117aca" || got.Images.Icon != "https://directory.example/chase.png" {
		t.Errorf("merged = %+v %+v", got.RoutingNumbers, got.Images)
	}
	if len(existing[0].RoutingNumbers) != 1 {
		t.Errorf("Merge changed its input: %v", existing[0].RoutingNumbers)
	}
	existing[0] = got
	existing[len(existing)-1] = byID(updated)["gone"]
	if again, added := Merge(existing, []*banklink.Institution{in}, "plaid"); len(again) != 0 || len(added) != 0 {
		t.Errorf("a second merge changed %v, added %v", again, added)
	}
}
