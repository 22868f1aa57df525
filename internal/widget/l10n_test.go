package widget_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"banklink/internal/apitest"
	"banklink/internal/sandbox"
)

// TestConnectStartLanguage: connect/start's language is checked as a BCP
// 47 tag, kept canonical in the token, and one without a catalogue is
// accepted with a warning.
func TestConnectStartLanguage(t *testing.T) {
	st := newStack(t)
	for _, tc := range []struct {
		name     string
		language string // JSON value
		status   int
		claim    any    // the token's lang claim; nil: absent
		warning  string // a warning containing this; "" none
		message  string // the 400's message contains this
	}{
		{name: "Canadian French", language: `"fr-CA"`, status: 201, claim: "fr-CA"},
		{name: "case canonicalised", language: `"FR-ca"`, status: 201, claim: "fr-CA"},
		{name: "France's French", language: `"fr-FR"`, status: 201, claim: "fr-FR"},
		{name: "English", language: `"en"`, status: 201, claim: "en"},
		{name: "no catalogue: English, with a warning", language: `"es-MX"`, status: 201, claim: "es-MX", warning: "no es-MX text; it is shown in English"},
		{name: "absent", language: ``, status: 201},
		{name: "null", language: `null`, status: 201},
		{name: "POSIX locale", language: `"fr_CA"`, status: 400, message: "[language] must be a BCP 47 language tag"},
		{name: "a word", language: `"french"`, status: 400, message: "[language] must be a BCP 47 language tag"},
		{name: "empty", language: `""`, status: 400, message: "[language] must not be empty"},
		{name: "blank", language: `"  "`, status: 400, message: "[language] must not be empty"},
		{name: "too long", language: `"en-US-u-ca-gregory-co-phonebk-nu-latn-x-a"`, status: 400, message: "[language] must be a BCP 47"},
		{name: "number", language: `7`, status: 400, message: "[language] must be a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"externalCustomerId":"lang"}`
			if tc.language != "" {
				body = `{"externalCustomerId":"lang","language":` + tc.language + `}`
			}
			var out map[string]any
			status, _ := st.Send("POST", "/bank-linking/connect/start", body, &out)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %v", status, tc.status, out)
			}
			if tc.status != 201 {
				// The documented error format.
				if out["code"] != "BAD_REQUEST" || !strings.Contains(fmt.Sprint(out["message"]), tc.message) || out["requestId"] == "" || out["timestamp"] == nil {
					t.Errorf("error = %v, want BAD_REQUEST with %q", out, tc.message)
				}
				return
			}
			claims := apitest.TokenClaims(t, out["connectToken"].(string))
			if claims["lang"] != tc.claim {
				t.Errorf("lang claim = %v, want %v", claims["lang"], tc.claim)
			}
			warnings := fmt.Sprint(out["warnings"])
			if tc.warning != "" && !strings.Contains(warnings, tc.warning) {
				t.Errorf("warnings = %s, want one with %q", warnings, tc.warning)
			}
			if tc.warning == "" && strings.Contains(warnings, "English") {
				t.Errorf("unexpected language warning: %s", warnings)
			}
		})
	}
}

// TestRepairLanguage: a repair token carries its own language.
func TestRepairLanguage(t *testing.T) {
	st := newStack(t)
	id := st.Link(`{"externalCustomerId":"rep-fr","products":["BALANCES"]}`, sandbox.UserReconnect)
	for _, tc := range []struct {
		name, body string
		status     int
		claim      any
	}{
		{"malformed", fmt.Sprintf(`{"connectionId":%q,"language":"fr_CA"}`, id), 400, nil},
		{"French", fmt.Sprintf(`{"connectionId":%q,"language":"fr"}`, id), 201, "fr"},
		{"none", fmt.Sprintf(`{"connectionId":%q}`, id), 201, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out map[string]any
			if status, _ := st.Send("POST", "/bank-linking/connect/repair", tc.body, &out); status != tc.status {
				t.Fatalf("status %d, want %d: %v", status, tc.status, out)
			}
			if tc.status != 201 {
				if out["code"] != "BAD_REQUEST" || !strings.Contains(fmt.Sprint(out["message"]), "[language]") {
					t.Errorf("error = %v", out)
				}
				return
			}
			if got := apitest.TokenClaims(t, out["connectToken"].(string))["lang"]; got != tc.claim {
				t.Errorf("lang claim = %v, want %v", got, tc.claim)
			}
			status, s := st.Call(out["connectToken"].(string), "GET", "session", "")
			want := "en"
			if tc.claim != nil {
				want = "fr-CA"
			}
			if status != 200 || s["language"] != want {
				t.Errorf("repair session: %d language %v, want %s", status, s["language"], want)
			}
		})
	}
}

// callLang is a widget API call with an Accept-Language header.
func callLang(t *testing.T, st *stack, token, acceptLanguage, method, path, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, st.Srv.URL+"/connect/api/"+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	if acceptLanguage != "" {
		req.Header.Set("Accept-Language", acceptLanguage)
	}
	resp, err := st.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, out
}

// TestWidgetAPILanguage: the widget API answers in the token's language,
// else in the caller's Accept-Language, and its error messages and the
// credential labels are in that language too.
func TestWidgetAPILanguage(t *testing.T) {
	st := newStack(t)
	bank := st.Institution("Sandbox Bank")
	for _, tc := range []struct {
		name, language, accept string
		want                   string
		// Substrings of the wrong-password message and the username
		// label.
		wrongPassword, username string
	}{
		{"token says fr-CA", "fr-CA", "en-US", "fr-CA", "mot de passe est incorrect", "Nom d’utilisateur"},
		{"token says fr, browser English", "fr", "", "fr-CA", "mot de passe est incorrect", "Nom d’utilisateur"},
		{"token says en, browser French", "en", "fr-CA", "en", "password is incorrect", "Username"},
		{"token says es: English", "es", "fr", "en", "password is incorrect", "Username"},
		{"no language, browser fr-FR", "", "fr-FR,fr;q=0.9", "fr-CA", "mot de passe est incorrect", "Nom d’utilisateur"},
		{"no language, browser prefers French by q", "", "en;q=0.3, fr;q=0.8", "fr-CA", "mot de passe est incorrect", "Nom d’utilisateur"},
		{"no language, browser German", "", "de-DE", "en", "password is incorrect", "Username"},
		{"no language, no header", "", "", "en", "password is incorrect", "Username"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := fmt.Sprintf(`{"externalCustomerId":"l","institutionId":%q}`, bank.ID)
			if tc.language != "" {
				body = fmt.Sprintf(`{"externalCustomerId":"l","institutionId":%q,"language":%q}`, bank.ID, tc.language)
			}
			tok := st.Start(body).ConnectToken
			status, s := callLang(t, st, tok, tc.accept, "GET", "session", "")
			if status != 200 || s["language"] != tc.want {
				t.Fatalf("session: %d language %v, want %s", status, s["language"], tc.want)
			}
			if label := s["fields"].([]any)[0].(map[string]any)["label"]; label != tc.username {
				t.Errorf("username label = %v, want %s", label, tc.username)
			}
			status, e := callLang(t, st, tok, tc.accept, "POST", "login", fmt.Sprintf(`{"credentials":{"username":%q,"password":"wrong"}}`, sandbox.UserGood))
			if status != 422 || e["reason"] != "INVALID_CREDENTIALS" || !strings.Contains(fmt.Sprint(e["message"]), tc.wrongPassword) {
				t.Errorf("wrong password: %d %v, want a message with %q", status, e, tc.wrongPassword)
			}
		})
	}
}

// TestWidgetErrorsLocalized: errors the widget writes before or without
// a session (a bad token, another tab) come in the caller's language, in
// the documented format.
func TestWidgetErrorsLocalized(t *testing.T) {
	st := newStack(t)
	resp := st.Start(`{"externalCustomerId":"err-fr","language":"fr-CA"}`)
	expired := st.ExpiredToken(resp)
	for _, tc := range []struct {
		name, token, accept string
		status              int
		reason, message     string
	}{
		{"no token, French browser", "", "fr-CA", 401, "TOKEN_MALFORMED", "Ce lien est incomplet."},
		{"no token, English browser", "", "en", 401, "TOKEN_MALFORMED", "This link is incomplete."},
		{"bad token, French", "not-a-token", "fr", 401, "TOKEN_SIGNATURE_INVALID", "Ce lien n’est pas valide."},
		{"expired token, French", expired, "fr-FR", 401, "TOKEN_EXPIRED", "Ce lien a expiré."},
		{"expired token, English", expired, "", 401, "TOKEN_EXPIRED", "This link has expired."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, e := callLang(t, st, tc.token, tc.accept, "GET", "session", "")
			if status != tc.status || e["reason"] != tc.reason || !strings.HasPrefix(fmt.Sprint(e["message"]), tc.message) ||
				e["code"] != "UNAUTHORIZED" || e["requestId"] == nil || e["timestamp"] == nil {
				t.Errorf("got %d %v, want %d %s %q", status, e, tc.status, tc.reason, tc.message)
			}
		})
	}
	// A session's own language wins over the caller's header, for an
	// error of the widget's (another tab) and one of linking's (a
	// conflict, translated by its code).
	tok := resp.ConnectToken
	if status, _ := st.CallTab(tok, "aaaaaaaaaaaaaaaa", "POST", "back", `{}`); status != 200 {
		t.Fatalf("first tab: %d", status)
	}
	req, _ := http.NewRequest("GET", st.Srv.URL+"/connect/api/session", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Banklink-Tab", "bbbbbbbbbbbbbbbb")
	req.Header.Set("Accept-Language", "en")
	r, err := st.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var e map[string]any
	json.NewDecoder(r.Body).Decode(&e)
	r.Body.Close()
	if r.StatusCode != 409 || e["reason"] != "CONTINUED_IN_ANOTHER_TAB" || !strings.Contains(fmt.Sprint(e["message"]), "autre onglet") {
		t.Errorf("other tab: %d %v", r.StatusCode, e)
	}
}

// TestWidgetPageLanguage: the page is rendered in the token's language,
// else the lang parameter's, else the browser's, with <html lang> and
// Content-Language to match, and embeds only its own language's strings
// (none of the server's).
func TestWidgetPageLanguage(t *testing.T) {
	st := newStack(t)
	fr := st.Start(`{"externalCustomerId":"page","language":"fr-CA"}`)
	plain := st.Start(`{"externalCustomerId":"page2"}`)
	for _, tc := range []struct {
		name, query, accept string
		lang, title         string
		pinned              bool
	}{
		{"token French", "?connectToken=" + fr.ConnectToken, "en-US", "fr-CA", "Connectez votre institution financière", true},
		{"token without language, French browser", "?connectToken=" + plain.ConnectToken, "fr-CA,en;q=0.5", "fr-CA", "Connectez votre institution financière", false},
		{"token without language, English browser", "?connectToken=" + plain.ConnectToken, "en-GB", "en", "Connect your bank", false},
		{"lang parameter (a reload)", "?lang=fr-CA", "en", "fr-CA", "Connectez votre institution financière", true},
		{"malformed lang parameter ignored", "?lang=fr_CA", "en", "en", "Connect your bank", false},
		{"no token, no header", "", "", "en", "Connect your bank", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", st.Srv.URL+"/connect"+tc.query, nil)
			if tc.accept != "" {
				req.Header.Set("Accept-Language", tc.accept)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			page := string(b)
			t.Logf("page in %s: %d bytes", tc.lang, len(b))
			if !strings.Contains(page, `<html lang="`+tc.lang+`">`) || resp.Header.Get("Content-Language") != tc.lang {
				t.Errorf("page language: Content-Language %q, page %.120s", resp.Header.Get("Content-Language"), page)
			}
			if !strings.Contains(page, "<title>"+tc.title+"</title>") {
				t.Errorf("title is not %q", tc.title)
			}
			if !strings.Contains(page, fmt.Sprintf(`data-lang-pinned="%v"`, tc.pinned)) {
				t.Errorf("page is not pinned=%v", tc.pinned)
			}
			if vary := strings.Join(resp.Header.Values("Vary"), ", "); !strings.Contains(vary, "Accept-Language") {
				t.Errorf("Vary = %q", vary)
			}
			m := regexp.MustCompile(`(?s)<script type="application/json" id="i18n">(.*?)</script>`).FindStringSubmatch(page)
			if m == nil {
				t.Fatal("no embedded strings")
			}
			var strs map[string]string
			if err := json.Unmarshal([]byte(m[1]), &strs); err != nil {
				t.Fatalf("embedded strings: %v", err)
			}
			if strs["page.title"] != tc.title {
				t.Errorf("embedded page.title = %q", strs["page.title"])
			}
			for k := range strs {
				if strings.HasPrefix(k, "error.") || strings.HasPrefix(k, "authorize.") || strings.HasPrefix(k, "field.") {
					t.Errorf("the page embeds the server's key %s", k)
				}
			}
		})
	}
}

// TestSandboxAuthorizeLanguage: the sandbox bank's page speaks the
// token's language.
func TestSandboxAuthorizeLanguage(t *testing.T) {
	st := newStack(t)
	resp := st.Start(`{"externalCustomerId":"auth","language":"fr"}`)
	ret := st.Srv.URL + "/connect?connectToken=" + resp.ConnectToken + "&oauth=callback"
	for _, tc := range []struct {
		name, ret, accept, want string
	}{
		{"token's language", ret, "en", "Autoriser l’accès"},
		{"browser's", st.Srv.URL + "/connect?oauth=callback", "fr-CA", "Autoriser l’accès"},
		{"English", st.Srv.URL + "/connect?oauth=callback", "en", "Authorize access"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", st.Srv.URL+"/connect/sandbox/authorize?institution=Banque&return="+url.QueryEscape(tc.ret), nil)
			req.Header.Set("Accept-Language", tc.accept)
			r, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(r.Body)
			r.Body.Close()
			if r.StatusCode != 200 || !strings.Contains(string(b), "<h2>"+tc.want+"</h2>") {
				t.Errorf("%d: %s", r.StatusCode, b)
			}
		})
	}
}
