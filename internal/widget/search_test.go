package widget_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"banklink"
	"banklink/internal/sandbox"
	"banklink/internal/search"
	"banklink/internal/widget"
)

// pngOf is a size×size PNG of one colour.
func pngOf(size int, c color.RGBA) []byte {
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

// logoCDN is a provider's logo CDN: /ok.png, /ok.svg, /big.png (over the
// cap), /page.html (not an image), anything else 404. It counts requests.
type logoCDN struct {
	*httptest.Server
	hits map[string]int
}

func newLogoCDN(t *testing.T) *logoCDN {
	cdn := &logoCDN{hits: map[string]int{}}
	okPNG := pngOf(40, color.RGBA{0x11, 0x7a, 0xca, 0xff})
	cdn.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cdn.hits[r.URL.Path]++
		switch r.URL.Path {
		case "/ok.png":
			w.Header().Set("Content-Type", "application/octet-stream") // the type is read from the bytes
			w.Write(okPNG)
		case "/ok.svg":
			w.Header().Set("Content-Type", "image/svg+xml")
			io.WriteString(w, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 40"><rect width="40" height="40" fill="#c8102e"/></svg>`)
		case "/big.png":
			w.Write(append(pngOf(4, color.RGBA{A: 255}), make([]byte, widget.MaxLogoBytes)...))
		case "/page.html":
			w.Header().Set("Content-Type", "image/png")
			io.WriteString(w, "<!doctype html><script>alert(1)</script>")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(cdn.Close)
	return cdn
}

// logoInstitution is a sandbox-covered institution with the given images.
func logoInstitution(id, name string, rank int, im banklink.InstitutionImages) *banklink.Institution {
	return &banklink.Institution{ID: id, Key: "key" + id, Name: name, Type: banklink.InstitutionBank, Rank: rank, Images: im,
		Regions: []banklink.Region{"US"}, RoutingNumbers: nil,
		Providers: map[string]banklink.ProviderInstitution{sandbox.ProviderType: {ProviderInstitutionID: "logo-" + id,
			Products: []banklink.Product{banklink.Balances, banklink.Transactions}, Health: banklink.HealthHealthy}}}
}

// newLogoStack is a stack whose directory also holds institutions with
// logos on cdn, inline, broken and none, and whose widget fetches from
// cdn (a loopback server, which the default client refuses).
func newLogoStack(t *testing.T, cdn *logoCDN) *stack {
	st := newStackConfigured(t, []string{sandbox.ProviderType}, nil, func(c *widget.Config) { c.LogoClient = cdn.Client() })
	inline := "data:image/png;base64," + base64.StdEncoding.EncodeToString(pngOf(40, color.RGBA{0x00, 0x49, 0x66, 0xff}))
	extra := []*banklink.Institution{
		logoInstitution("logoPNG00000000000000a", "Logo Harbor Bank", 2000, banklink.InstitutionImages{Icon: cdn.URL + "/ok.png", Color: "#117aca"}),
		logoInstitution("logoSVG00000000000000b", "Logo Maple Bank", 2001, banklink.InstitutionImages{Tile: cdn.URL + "/ok.svg"}),
		logoInstitution("logoInline00000000000c", "Logo Platypus Bank", 2002, banklink.InstitutionImages{Icon: inline, Color: "#004966"}),
		logoInstitution("logoBroken00000000000d", "Logo Broken Bank", 2003, banklink.InstitutionImages{Icon: cdn.URL + "/gone.png", Color: "#c8102e"}),
		logoInstitution("logoBig000000000000000e", "Logo Heavy Bank", 2004, banklink.InstitutionImages{Icon: cdn.URL + "/big.png"}),
		logoInstitution("logoHTML0000000000000f", "Logo Script Bank", 2005, banklink.InstitutionImages{Icon: cdn.URL + "/page.html"}),
		logoInstitution("logoNone0000000000000g", "Logo Plain Bank", 2006, banklink.InstitutionImages{}),
		logoInstitution("logoHTTP0000000000000h", "Logo Cleartext Bank", 2007, banklink.InstitutionImages{Icon: "http://cdn.example/logo.png"}),
	}
	if err := st.Store.UpsertInstitutions(context.Background(), extra); err != nil {
		t.Fatal(err)
	}
	if err := st.Widget.Directory.(*search.Live).Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

func getLogo(t *testing.T, st *stack, path string) (int, http.Header, []byte) {
	t.Helper()
	resp, err := http.Get(st.Srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// TestWidgetLogos: the picker lists each institution's logo as the
// widget's own URL; the widget serves it from the provider's https URL
// or from the store (inline), and answers 404 for anything that is not
// a small image, which the page turns into a monogram.
func TestWidgetLogos(t *testing.T) {
	cdn := newLogoCDN(t)
	st := newLogoStack(t, cdn)
	conn := st.Start(`{"externalCustomerId":"logos","products":["BALANCES"]}`)
	status, body := st.Call(conn.ConnectToken, "GET", "institutions?name=logo&limit=50", "")
	if status != 200 {
		t.Fatalf("institutions: %d %v", status, body)
	}
	views := map[string]map[string]any{}
	for _, v := range body["institutions"].([]any) {
		m := v.(map[string]any)
		views[m["name"].(string)] = m
	}
	for _, tc := range []struct {
		name      string
		status    int
		ctype     string
		color     string
		noLogoURL bool
	}{
		{name: "Logo Harbor Bank", status: 200, ctype: "image/png", color: "#117aca"},
		{name: "Logo Maple Bank", status: 200, ctype: "image/svg+xml"},
		{name: "Logo Platypus Bank", status: 200, ctype: "image/png", color: "#004966"},
		{name: "Logo Broken Bank", status: 404, color: "#c8102e"},
		{name: "Logo Heavy Bank", status: 404},
		{name: "Logo Script Bank", status: 404},
		{name: "Logo Plain Bank", noLogoURL: true},
		// Only https URLs are fetched: none is offered for http.
		{name: "Logo Cleartext Bank", noLogoURL: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := views[tc.name]
			if v == nil {
				t.Fatalf("%s not listed", tc.name)
			}
			if c, _ := v["color"].(string); c != tc.color {
				t.Errorf("color = %q, want %q", c, tc.color)
			}
			logo, _ := v["logo"].(string)
			if tc.noLogoURL {
				if logo != "" {
					t.Errorf("logo = %q, want none", logo)
				}
				return
			}
			if !strings.HasPrefix(logo, "/connect/logo/"+v["id"].(string)+"?v=") {
				t.Fatalf("logo = %q, want the widget's own URL", logo)
			}
			status, h, b := getLogo(t, st, logo)
			if status != tc.status {
				t.Fatalf("GET %s = %d, want %d", logo, status, tc.status)
			}
			if status != 200 {
				return
			}
			if h.Get("Content-Type") != tc.ctype || h.Get("X-Content-Type-Options") != "nosniff" ||
				!strings.Contains(h.Get("Content-Security-Policy"), "sandbox") || !strings.Contains(h.Get("Cache-Control"), "max-age") {
				t.Errorf("headers = %v", h)
			}
			if len(b) == 0 {
				t.Error("empty body")
			}
		})
	}
	// A logo is fetched once, however often it is asked for; so is a
	// failure (remembered for a while).
	getLogo(t, st, views["Logo Harbor Bank"]["logo"].(string))
	getLogo(t, st, views["Logo Broken Bank"]["logo"].(string))
	if cdn.hits["/ok.png"] != 1 || cdn.hits["/gone.png"] != 1 {
		t.Errorf("CDN hits = %v, want one each", cdn.hits)
	}
	if status, _, _ := getLogo(t, st, "/connect/logo/no-such-institution"); status != 404 {
		t.Errorf("unknown institution: %d", status)
	}
}

// TestWidgetSessionCarriesPicker: GET session at the picker answers with
// the first page for the search string, so the page needs no second
// request; other answers (a step back) leave it out.
func TestWidgetSessionCarriesPicker(t *testing.T) {
	st := newStack(t)
	conn := st.Start(`{"externalCustomerId":"picker","institutionSearchString":"Sandbox Cred"}`)
	status, s := st.Call(conn.ConnectToken, "GET", "session", "")
	if status != 200 {
		t.Fatalf("session: %d %v", status, s)
	}
	picker, _ := s["picker"].(map[string]any)
	list, _ := picker["institutions"].([]any)
	if len(list) == 0 || list[0].(map[string]any)["name"] != "Sandbox Credit Union" {
		t.Fatalf("picker = %v", picker)
	}
	_, direct := st.Call(conn.ConnectToken, "GET", "institutions?name=Sandbox+Cred", "")
	if len(direct["institutions"].([]any)) != len(list) || direct["remaining"] != picker["remaining"] {
		t.Errorf("the session's page %v differs from the search's %v", picker, direct)
	}
	bank := st.Institution("Sandbox Bank")
	st.Call(conn.ConnectToken, "POST", "select", `{"institutionId":"`+bank.ID+`"}`)
	status, back := st.Call(conn.ConnectToken, "POST", "back", `{}`)
	if status != 200 || back["step"] != "PICK" || back["picker"] != nil {
		t.Errorf("back: %d step %v picker %v", status, back["step"], back["picker"])
	}
}

// TestWidgetRoutingSearch: the widget's search reads digits as a routing
// number and says how.
func TestWidgetRoutingSearch(t *testing.T) {
	st := newStack(t)
	conn := st.Start(`{"externalCustomerId":"routing","products":["BALANCES"]}`)
	for _, tc := range []struct {
		query, routing, first string
	}{
		{"021000021", "NUMBER", "Chase"},
		{"0210-0002-1", "NUMBER", "Chase"},
		{"021000022", "INVALID", ""},
		{"0210", "PREFIX", ""},
		{"fidelty", "", "Fidelity Investments"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			status, res := st.Call(conn.ConnectToken, "GET", "institutions?name="+tc.query, "")
			if status != 200 {
				t.Fatalf("%d %v", status, res)
			}
			if r, _ := res["routing"].(string); r != tc.routing {
				t.Errorf("routing = %q, want %q", r, tc.routing)
			}
			list := res["institutions"].([]any)
			if tc.first != "" && (len(list) == 0 || list[0].(map[string]any)["name"] != tc.first) {
				t.Errorf("results = %v, want %s first", list, tc.first)
			}
			if tc.routing == "INVALID" && len(list) != 0 {
				t.Errorf("an invalid routing number found %v", list)
			}
		})
	}
}

// TestWidgetExitNotFound: "My bank isn't listed" is recorded with its
// reason and the search text; a bad body is refused.
func TestWidgetExitNotFound(t *testing.T) {
	st := newStack(t)
	conn := st.Start(`{"externalCustomerId":"notfound"}`)
	req, _ := http.NewRequest("POST", st.Srv.URL+"/connect/api/exit", strings.NewReader(`{"step":"PICK","reason":"INSTITUTION_NOT_FOUND","searchString":"Bank of Nowhere"}`))
	req.Header.Set("Authorization", "Bearer "+conn.ConnectToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := st.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 {
		t.Fatalf("exit: %d", resp.StatusCode)
	}
	var found bool
	for _, a := range activity(st, "connectionId="+conn.ID) {
		if a.Action == banklink.ActivityWidgetExited && a.Reason != nil && *a.Reason == "INSTITUTION_NOT_FOUND" &&
			a.SearchString != nil && *a.SearchString == "Bank of Nowhere" {
			found = true
		}
	}
	if !found {
		t.Errorf("activity = %v", describe(activity(st, "connectionId="+conn.ID)))
	}
	for _, body := range []string{`{"reason":`, `{"searchString":"` + strings.Repeat("x", 257) + `"}`} {
		if status, res := st.Call(conn.ConnectToken, "POST", "exit", body); status != 400 {
			t.Errorf("exit with %.30s: %d %v", body, status, res)
		}
	}
}
