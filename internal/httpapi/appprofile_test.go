package httpapi_test

import (
	"strings"
	"testing"

	"banklink"
)

func TestAppProfileErrors(t *testing.T) {
	ts := newTestServer(t, "sqlite")
	long := strings.Repeat("x", 61)
	for _, tt := range []struct {
		name, method, body string
		status             int
		field, message     string
	}{
		{"empty body", "PATCH", ``, 400, "", "empty"},
		{"not an object", "PATCH", `[]`, 400, "", "JSON object"},
		{"unknown field", "PATCH", `{"privacyPolicyURL":"https://a.example/p"}`, 400, "privacyPolicyURL", "not a field"},
		{"name not a string", "PATCH", `{"displayName":7}`, 400, "displayName", "string"},
		{"name too long", "PATCH", `{"displayName":"` + long + `"}`, 400, "displayName", "at most 60"},
		{"name with newline", "PATCH", `{"displayName":"A\nB"}`, 400, "displayName", "control"},
		{"logo over http", "PATCH", `{"logoUrl":"http://a.example/l.png"}`, 400, "logoUrl", "https"},
		{"logo javascript", "PATCH", `{"logoUrl":"javascript:alert(1)"}`, 400, "logoUrl", "https"},
		{"logo relative", "PATCH", `{"logoUrl":"/logo.png"}`, 400, "logoUrl", "https"},
		{"privacy with password", "PATCH", `{"privacyPolicyUrl":"https://u:p@a.example/"}`, 400, "privacyPolicyUrl", "password"},
		{"colour short", "PATCH", `{"brandColor":"#fff"}`, 400, "brandColor", "#"},
		{"colour name", "PATCH", `{"brandColor":"teal"}`, 400, "brandColor", "#"},
		{"wrong content type", "PATCH", `{"displayName":"A"}`, 415, "", "Content-Type"},
		{"no key", "GET", ``, 401, "", ""},
		{"no key patch", "PATCH", `{"displayName":"A"}`, 401, "", ""},
		{"post not allowed", "POST", `{}`, 405, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := call{method: tt.method, path: "/bank-linking/app-profile", body: tt.body}
			if tt.status == 401 {
				c.key = "-"
			}
			if tt.status == 415 {
				c.headers = map[string]string{"Content-Type": "text/plain"}
			}
			r := ts.do(c)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			e := r.errorBody(t)
			if !strings.Contains(e.Message, tt.message) || e.Field != tt.field || e.RequestID == "" {
				t.Errorf("error %+v, want field %q and a message with %q", e, tt.field, tt.message)
			}
		})
	}
	// Nothing bad was saved.
	var got map[string]any
	ts.do(call{method: "GET", path: "/bank-linking/app-profile"}).json(t, &got)
	if got["displayName"] != "" || got["updatedAt"] != nil {
		t.Errorf("after refused changes: %v", got)
	}
}

func TestAppProfileRoundTrip(t *testing.T) {
	ts := newTestServer(t, "sqlite")
	r := ts.do(call{method: "PATCH", path: "/bank-linking/app-profile",
		body: `{"displayName":" Acme Budget ","logoUrl":"https://acme.example/logo.png","privacyPolicyUrl":"https://acme.example/privacy","brandColor":"#0F766E"}`})
	if r.status != 200 {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	var got map[string]any
	r.json(t, &got)
	if got["displayName"] != "Acme Budget" || got["brandColor"] != "#0f766e" || got["updatedAt"] == nil {
		t.Errorf("saved %v", got)
	}
	// A partial change keeps the other fields; "" clears one.
	ts.do(call{method: "PATCH", path: "/bank-linking/app-profile", body: `{"logoUrl":""}`}).json(t, &got)
	if got["logoUrl"] != "" || got["privacyPolicyUrl"] != "https://acme.example/privacy" || got["displayName"] != "Acme Budget" {
		t.Errorf("after a partial change: %v", got)
	}
	ts.do(call{method: "GET", path: "/bank-linking/app-profile"}).json(t, &got)
	if got["displayName"] != "Acme Budget" {
		t.Errorf("get: %v", got)
	}
	// Production's profile is its own.
	prod := ts.newKey(ts.account.ID, banklink.Production)
	ts.do(call{method: "GET", path: "/bank-linking/app-profile", key: prod}).json(t, &got)
	if got["displayName"] != "" {
		t.Errorf("production profile: %v", got)
	}
}
