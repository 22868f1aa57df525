package dashboard_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"banklink"
)

func TestAppProfileForm(t *testing.T) {
	st := newStack(t)
	c := st.client("192.0.2.1")
	c.login("ops@acme.example")
	if r := c.get("/dashboard/production/app"); r.status != http.StatusOK || !strings.Contains(r.body, `id="app-profile"`) || !strings.Contains(r.body, `name="csrf"`) {
		t.Fatalf("page: %d", r.status)
	}
	good := url.Values{"displayName": {" Acme Budget "}, "logoUrl": {"https://acme.example/logo.png"},
		"privacyPolicyUrl": {"https://acme.example/privacy"}, "brandColor": {"#0F766E"}}
	r := c.post("/dashboard/production/app", good)
	if r.status != http.StatusSeeOther {
		t.Fatalf("save: %d %q", r.status, errorOf(r.body))
	}
	prod := banklink.Scope{AccountID: st.a.ID, Environment: banklink.Production}
	got, _ := st.store.FindAppProfile(context.Background(), prod)
	if got.DisplayName != "Acme Budget" || got.BrandColor != "#0f766e" || got.LogoURL != "https://acme.example/logo.png" || got.PrivacyPolicyURL != "https://acme.example/privacy" {
		t.Errorf("saved %+v", got)
	}
	if sb, _ := st.store.FindAppProfile(context.Background(), st.scopeA()); sb.DisplayName != "" {
		t.Errorf("sandbox profile changed: %+v", sb)
	}
	if page := c.get("/dashboard/production/app?done=app-saved").body; !strings.Contains(page, `value="Acme Budget"`) || !strings.Contains(page, "app profile was saved") {
		t.Error("saved profile not shown")
	}

	for _, tc := range []struct{ name, field, value, want string }{
		{"logo over http", "logoUrl", "http://acme.example/logo.png", "[logoUrl] must be an absolute https URL"},
		{"privacy javascript", "privacyPolicyUrl", "javascript:alert(1)", "[privacyPolicyUrl] must be an absolute https URL"},
		{"colour", "brandColor", "teal", "[brandColor]"},
		{"long name", "displayName", strings.Repeat("n", 61), "[displayName] must be at most 60"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{}
			for k, v := range good {
				form[k] = v
			}
			form.Set(tc.field, tc.value)
			r := c.post("/dashboard/production/app", form)
			if r.status != http.StatusBadRequest || !strings.Contains(errorOf(r.body), tc.want) {
				t.Fatalf("%d %q", r.status, errorOf(r.body))
			}
			// The operator's input is shown again, the bad field marked.
			if !strings.Contains(r.body, `name="`+tc.field+`"`) || !strings.Contains(r.body, `aria-invalid="true"`) {
				t.Errorf("form not shown again with the field marked")
			}
		})
	}
	if got2, _ := st.store.FindAppProfile(context.Background(), prod); got2.DisplayName != "Acme Budget" || got2.LogoURL != got.LogoURL {
		t.Errorf("refused forms changed the profile: %+v", got2)
	}
	// Without the CSRF token nothing changes.
	bad := url.Values{"displayName": {"Evil"}, "csrf": {"not-the-token"}}
	if r := c.post("/dashboard/production/app", bad); r.status != http.StatusForbidden {
		t.Errorf("without CSRF: %d", r.status)
	}
	if got2, _ := st.store.FindAppProfile(context.Background(), prod); got2.DisplayName != "Acme Budget" {
		t.Errorf("a forged form changed the profile: %+v", got2)
	}
}
