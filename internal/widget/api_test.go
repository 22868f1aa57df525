package widget_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"banklink"
	"banklink/internal/connecttoken"
	"banklink/internal/httpapi"
	"banklink/internal/linking"
	"banklink/internal/sandbox"
	"banklink/internal/widget"
)

func TestWidgetAPIFlow(t *testing.T) {
	st := newStack(t)
	bank := st.Institution("Sandbox Bank")
	for _, tc := range []struct {
		name string
		user string
		mfa  []string // answers, in order
	}{
		{"good login", sandbox.UserGood, nil},
		{"MFA code", sandbox.UserMFACode, []string{sandbox.MFACodeAnswer}},
		{"MFA question", sandbox.UserMFAQuestion, []string{sandbox.MFAQuestionReply}},
		{"MFA choice then code", sandbox.UserMFAChoice, []string{"1", sandbox.MFACodeAnswer}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := st.Start(`{"externalCustomerId":"c1","products":["BALANCES","TRANSACTIONS"]}`)
			tok := resp.ConnectToken
			status, s := st.Call(tok, "GET", "session", "")
			if status != 200 || s["step"] != banklink.StepPick {
				t.Fatalf("session: %d %v", status, s)
			}
			status, s = st.Call(tok, "POST", "select", fmt.Sprintf(`{"institutionId":%q}`, bank.ID))
			if status != 200 || s["step"] != banklink.StepCredentials {
				t.Fatalf("select: %d %v", status, s)
			}
			status, s = st.Call(tok, "POST", "login", fmt.Sprintf(`{"credentials":{"username":%q,"password":%q}}`, tc.user, sandbox.PasswordGood))
			for _, a := range tc.mfa {
				if status != 200 || s["step"] != banklink.StepMFA {
					t.Fatalf("want MFA step: %d %v", status, s)
				}
				status, s = st.Call(tok, "POST", "mfa", fmt.Sprintf(`{"answer":%q}`, a))
			}
			if status != 200 || s["step"] != banklink.StepAccounts {
				t.Fatalf("want ACCOUNTS step: %d %v", status, s)
			}
			accts := s["accounts"].([]any)
			first := accts[0].(map[string]any)["id"].(string)
			status, s = st.Call(tok, "POST", "complete", fmt.Sprintf(`{"accountIds":[%q],"consent":true}`, first))
			if status != 200 {
				t.Fatalf("complete: %d %v", status, s)
			}
			res := s["result"].(map[string]any)
			if res["institutionName"] != "Sandbox Bank" || res["accountCount"] != float64(1) {
				t.Errorf("result = %v", res)
			}
			conn, err := st.Store.FindConnectionByID(t.Context(), st.Scope, resp.ID)
			if err != nil {
				t.Fatal(err)
			}
			if conn.Status != banklink.StatusActive || conn.InstitutionID != bank.ID || conn.ProviderType != "sandbox" {
				t.Errorf("connection = %+v", conn)
			}
			// The token is single-use now.
			status, s = st.Call(tok, "GET", "session", "")
			if status != 401 || s["reason"] != "TOKEN_USED" {
				t.Errorf("reused token: %d %v", status, s)
			}
		})
	}
}

func TestWidgetAPIErrors(t *testing.T) {
	st := newStack(t)
	bank := st.Institution("Sandbox Bank")
	down := st.Institution("Sandbox Down Bank")
	cu := st.Institution("Sandbox Credit Union")
	fresh := func() string {
		return st.Start(`{"externalCustomerId":"c1","products":["BALANCES"]}`).ConnectToken
	}
	atLogin := func() string {
		tok := fresh()
		st.Call(tok, "POST", "select", fmt.Sprintf(`{"institutionId":%q}`, bank.ID))
		return tok
	}
	investing := st.Start(`{"externalCustomerId":"c1","products":["INVESTMENT_HOLDINGS"]}`).ConnectToken
	expiredConn := st.Start(`{"externalCustomerId":"c1"}`)

	for _, tc := range []struct {
		name, token, method, path, body string
		status                          int
		code, reason                    string
	}{
		{"no token", "", "GET", "session", "", 401, "UNAUTHORIZED", "TOKEN_MALFORMED"},
		{"garbage token", "abc", "GET", "session", "", 401, "UNAUTHORIZED", "TOKEN_SIGNATURE_INVALID"},
		{"tampered token", fresh() + "x", "GET", "session", "", 401, "UNAUTHORIZED", "TOKEN_SIGNATURE_INVALID"},
		{"expired token", st.ExpiredToken(expiredConn), "GET", "session", "", 401, "UNAUTHORIZED", "TOKEN_EXPIRED"},
		{"unknown institution", fresh(), "POST", "select", `{"institutionId":"nope"}`, 404, "NOT_FOUND", ""},
		{"ineligible institution", investing, "POST", "select", fmt.Sprintf(`{"institutionId":%q}`, cu.ID), 400, "BAD_REQUEST", ""},
		{"institution down", fresh(), "POST", "select", fmt.Sprintf(`{"institutionId":%q}`, down.ID), 422, "LOGIN_FAILED", banklink.LoginInstitutionDown},
		{"malformed body", fresh(), "POST", "select", `{`, 400, "BAD_REQUEST", ""},
		{"login before picking", fresh(), "POST", "login", `{"credentials":{}}`, 409, "CONFLICT", ""},
		{"wrong password", atLogin(), "POST", "login", `{"credentials":{"username":"user_good","password":"nope"}}`, 422, "LOGIN_FAILED", banklink.LoginInvalidCredentials},
		{"locked account", atLogin(), "POST", "login", `{"credentials":{"username":"user_locked","password":"pass_good"}}`, 422, "LOGIN_FAILED", banklink.LoginLocked},
		{"MFA without challenge", atLogin(), "POST", "mfa", `{"answer":"1234"}`, 409, "CONFLICT", ""},
		{"complete before login", atLogin(), "POST", "complete", `{"accountIds":["x"],"consent":true}`, 409, "CONFLICT", ""},
		{"wrong method", fresh(), "DELETE", "session", "", 405, "METHOD_NOT_ALLOWED", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := st.Call(tc.token, tc.method, tc.path, tc.body)
			if status != tc.status || body["code"] != tc.code {
				t.Fatalf("got %d %v, want %d %s", status, body, tc.status, tc.code)
			}
			if tc.reason != "" && body["reason"] != tc.reason {
				t.Errorf("reason = %v, want %s", body["reason"], tc.reason)
			}
			if body["requestId"] == "" || body["message"] == "" {
				t.Errorf("error body = %v", body)
			}
		})
	}
}

func TestWidgetCompleteTwiceCompletesOnce(t *testing.T) {
	st := newStack(t)
	bank := st.Institution("Sandbox Bank")
	resp := st.Start(`{"externalCustomerId":"c1"}`)
	tok := resp.ConnectToken
	st.Call(tok, "POST", "select", fmt.Sprintf(`{"institutionId":%q}`, bank.ID))
	_, s := st.Call(tok, "POST", "login", `{"credentials":{"username":"user_good","password":"pass_good"}}`)
	var ids []string
	for _, a := range s["accounts"].([]any) {
		ids = append(ids, fmt.Sprintf("%q", a.(map[string]any)["id"]))
	}
	body := `{"consent":true,"accountIds":[` + strings.Join(ids, ",") + `]}`
	var wg sync.WaitGroup
	statuses := make([]int, 6)
	results := make([]map[string]any, 6)
	for i := range statuses {
		wg.Go(func() { statuses[i], results[i] = st.Call(tok, "POST", "complete", body) })
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusOK {
			t.Errorf("submit %d: %d %v", i, s, results[i])
			continue
		}
		if r := results[i]["result"].(map[string]any); r["accountCount"] != float64(len(ids)) {
			t.Errorf("submit %d result = %v", i, r)
		}
	}
	conn, err := st.Store.FindConnectionByID(t.Context(), st.Scope, resp.ID)
	if err != nil || conn.Status != banklink.StatusActive {
		t.Fatalf("connection %v %v", conn, err)
	}
}

// TestWidgetCompleteAgain submits the account choice again after the
// connection completed: a 200 must tell what was stored, so only the same
// accounts get one.
func TestWidgetCompleteAgain(t *testing.T) {
	st := newStack(t)
	bank := st.Institution("Sandbox Bank")
	for _, tc := range []struct {
		name   string
		again  func(ids []string) []string // from the offered ids; the first submit chose ids[0] and ids[1]
		status int
	}{
		{"the same accounts", func(ids []string) []string { return ids[:2] }, 200},
		{"the same accounts in another order", func(ids []string) []string { return []string{ids[1], ids[0]} }, 200},
		{"other accounts", func(ids []string) []string { return ids[2:3] }, 409},
		{"more accounts", func(ids []string) []string { return ids[:3] }, 409},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := st.Start(`{"externalCustomerId":"c1"}`).ConnectToken
			st.Call(tok, "POST", "select", fmt.Sprintf(`{"institutionId":%q}`, bank.ID))
			_, s := st.Call(tok, "POST", "login", `{"credentials":{"username":"user_good","password":"pass_good"}}`)
			var ids []string
			for _, a := range s["accounts"].([]any) {
				ids = append(ids, a.(map[string]any)["id"].(string))
			}
			body := func(ids []string) string {
				b, _ := json.Marshal(map[string]any{"consent": true, "accountIds": ids})
				return string(b)
			}
			status, first := st.Call(tok, "POST", "complete", body(ids[:2]))
			if status != 200 {
				t.Fatalf("complete: %d %v", status, first)
			}
			status, again := st.Call(tok, "POST", "complete", body(tc.again(ids)))
			if status != tc.status {
				t.Fatalf("submitted again: %d %v, want %d", status, again, tc.status)
			}
			if status == 200 && fmt.Sprint(again["result"]) != fmt.Sprint(first["result"]) {
				t.Errorf("submitted again: %v, first answer %v", again["result"], first["result"])
			}
		})
	}
}

// TestWidgetRepairCompletesOnlyAfterLogin sends a repair token straight to
// the account choice: the finished session of the first link must not
// repair the connection without a new login.
func TestWidgetRepairCompletesOnlyAfterLogin(t *testing.T) {
	st := newStack(t)
	id := st.Link(`{"externalCustomerId":"rep","products":["BALANCES"]}`, sandbox.UserReconnect)
	var rep linking.RepairResponse
	if status, _ := st.Send("POST", "/bank-linking/connect/repair", fmt.Sprintf(`{"connectionId":%q}`, id), &rep); status != 201 {
		t.Fatalf("repair: %d %+v", status, rep)
	}
	sess, err := st.Store.FindConnectSession(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	status, s := st.Call(rep.ConnectToken, "POST", "complete", fmt.Sprintf(`{"accountIds":[%q],"consent":true}`, sess.Accounts[0].ID))
	if status != 409 || s["code"] != banklink.ECONFLICT {
		t.Errorf("complete without logging in again: %d %v, want 409", status, s)
	}
	var conn httpapi.ConnectionJSON
	st.Get("/bank-linking/connections/"+id, &conn)
	if conn.Status != "RECONNECT_REQUIRED" {
		t.Errorf("status = %s, want RECONNECT_REQUIRED still", conn.Status)
	}
}

func TestWidgetTooManyFailures(t *testing.T) {
	st := newStack(t)
	bank := st.Institution("Sandbox Bank")
	tok := st.Start(`{"externalCustomerId":"c1"}`).ConnectToken
	st.Call(tok, "POST", "select", fmt.Sprintf(`{"institutionId":%q}`, bank.ID))
	var last map[string]any
	for range banklink.MaxLoginFailures {
		_, last = st.Call(tok, "POST", "login", `{"credentials":{"username":"user_good","password":"bad"}}`)
	}
	if last["reason"] != "TOO_MANY_ATTEMPTS" || last["retryable"] != false {
		t.Fatalf("after %d failures: %v", banklink.MaxLoginFailures, last)
	}
	status, s := st.Call(tok, "POST", "login", `{"credentials":{"username":"user_good","password":"pass_good"}}`)
	if status != 422 || s["reason"] != "TOO_MANY_ATTEMPTS" {
		t.Errorf("good password after lockout: %d %v", status, s)
	}
}

// TestWidgetEmptySubmitIsNotAnAttempt: an empty or blank login form, or
// an empty MFA answer, is a 400 that names the field, reaches no provider
// and does not count towards the lock: many of them, then the right
// password, and the customer is in.
func TestWidgetEmptySubmitIsNotAnAttempt(t *testing.T) {
	st := newStack(t)
	bank := st.Institution("Sandbox Bank")
	tok := st.Start(`{"externalCustomerId":"c1"}`).ConnectToken
	st.Call(tok, "POST", "select", fmt.Sprintf(`{"institutionId":%q}`, bank.ID))
	for _, tc := range []struct {
		name, body, field string
	}{
		{"no credentials", `{"credentials":{}}`, "credentials"},
		{"credentials missing", `{}`, "credentials"},
		{"blank password", `{"credentials":{"username":"user_good","password":""}}`, "credentials.password"},
		{"spaces only", `{"credentials":{"username":"   ","password":"pass_good"}}`, "credentials.username"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range banklink.MaxLoginFailures + 1 {
				status, s := st.Call(tok, "POST", "login", tc.body)
				if status != 400 || s["code"] != banklink.EBADREQUEST || !strings.Contains(fmt.Sprint(s["message"]), tc.field) {
					t.Fatalf("%s: %d %v", tc.body, status, s)
				}
			}
		})
	}
	if status, s := st.Call(tok, "POST", "login", `{"credentials":{"username":"user_mfa_code","password":"pass_good"}}`); status != 200 || s["step"] != "MFA" {
		t.Fatalf("the right password after empty submits: %d %v", status, s)
	}
	for range banklink.MaxLoginFailures + 1 {
		if status, s := st.Call(tok, "POST", "mfa", `{"answer":"  "}`); status != 400 || !strings.Contains(fmt.Sprint(s["message"]), "answer") {
			t.Fatalf("empty answer: %d %v", status, s)
		}
	}
}

func TestWidgetPageHeaders(t *testing.T) {
	st := newStack(t)
	tok := st.Start(`{"externalCustomerId":"c1"}`).ConnectToken
	for _, tc := range []struct {
		name      string
		origins   []string
		env       banklink.Environment
		ancestors string
	}{
		{"sandbox default allows any origin", nil, banklink.Sandbox, "frame-ancestors *"},
		{"configured origins", []string{"https://app.example.com"}, banklink.Sandbox, "frame-ancestors https://app.example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := st.Store.SetWidgetOrigins(t.Context(), st.Scope, tc.origins); err != nil {
				t.Fatal(err)
			}
			resp, err := st.Client.Get(st.Srv.URL + "/connect?connectToken=" + tok)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			h := resp.Header
			if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, tc.ancestors) || !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("CSP = %q", csp)
			}
			if h.Get("Referrer-Policy") != "no-referrer" || h.Get("Cache-Control") != "no-store" {
				t.Errorf("headers = %v", h)
			}
		})
	}
}

func TestSandboxAuthorizeRefusesOpenRedirect(t *testing.T) {
	st := newStack(t)
	resp, err := st.Client.Get(st.Srv.URL + "/connect/sandbox/authorize?return=https://evil.example/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("status %d, want 400", resp.StatusCode)
	}
}

// TestCredentialsNeverStoredOrLogged runs a login and then looks for the
// typed credentials in every log line and in the database files.
func TestCredentialsNeverStoredOrLogged(t *testing.T) {
	st := newStack(t)
	bank := st.Institution("Sandbox Bank")
	const user = "user_sentinel_7f3a9c" // any username with pass_good logs in
	tok := st.Start(fmt.Sprintf(`{"externalCustomerId":"c1","institutionId":%q}`, bank.ID)).ConnectToken
	if status, s := st.Call(tok, "POST", "login", `{"credentials":{"username":"user_good","password":"wrong-pass-sentinel"}}`); status != 422 {
		t.Fatalf("wrong password: %d %v", status, s)
	}
	status, s := st.Call(tok, "POST", "login", fmt.Sprintf(`{"credentials":{"username":%q,"password":%q}}`, user, sandbox.PasswordGood))
	if status != 200 {
		t.Fatalf("login: %d %v", status, s)
	}
	id := s["accounts"].([]any)[0].(map[string]any)["id"].(string)
	if status, s := st.Call(tok, "POST", "complete", fmt.Sprintf(`{"accountIds":[%q],"consent":true}`, id)); status != 200 {
		t.Fatalf("complete: %d %v", status, s)
	}
	st.Runner.Wait()
	st.Store.Close() // checkpoint: everything is on disk
	files, _ := filepath.Glob(st.Path + "*")
	secrets := []string{user, sandbox.PasswordGood, "wrong-pass-sentinel"}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, sec := range secrets {
			if bytes.Contains(b, []byte(sec)) {
				t.Errorf("%s contains %q", filepath.Base(f), sec)
			}
		}
	}
	logs := st.Logs.String()
	if !strings.Contains(logs, "connection completed") {
		t.Fatalf("no logs captured: %s", logs)
	}
	for _, sec := range secrets {
		if strings.Contains(logs, sec) {
			t.Errorf("logs contain %q", sec)
		}
	}
}

func TestProductionWidgetNotFramableByDefault(t *testing.T) {
	st := newStack(t)
	tok, _, err := st.Tokens.Mint(connecttoken.Claims{Account: st.Scope.AccountID, Customer: "c", Connection: "x", Environment: banklink.Production})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := st.Client.Get(st.Srv.URL + "/connect?connectToken=" + tok)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("production CSP = %q", csp)
	}
}

// TestWidgetTabs: the first tab to act drives the session. Another tab
// on the same link can read nothing and change nothing (its institution
// choice cannot redirect the first tab's login) until it takes the
// session over, after which the first tab is the one refused. Calls
// without a tab id (an app's server) are not bound.
func TestWidgetTabs(t *testing.T) {
	st := newStack(t)
	bank, other := st.Institution("Sandbox Bank"), st.Institution("Sandbox Credit Union")
	resp := st.Start(`{"externalCustomerId":"tabs","products":["BALANCES"]}`)
	tok := resp.ConnectToken
	const a, b = "tab-a-0123456789abcdef", "tab-b-0123456789abcdef"
	otherTab := func(status int, body map[string]any) bool {
		return status == 409 && body["code"] == banklink.ECONFLICT && body["reason"] == widget.ReasonOtherTab
	}
	for _, tab := range []string{a, b} {
		if status, s := st.CallTab(tok, tab, "GET", "session", ""); status != 200 {
			t.Fatalf("before any tab acted, %s reads the session: %d %v", tab, status, s)
		}
	}
	if status, s := st.CallTab(tok, a, "POST", "select", fmt.Sprintf(`{"institutionId":%q}`, bank.ID)); status != 200 || s["step"] != "CREDENTIALS" {
		t.Fatalf("tab A selects: %d %v", status, s)
	}
	for _, tc := range []struct {
		name, method, path, body string
	}{
		{"read", "GET", "session", ""},
		{"search", "GET", "institutions?name=sandbox", ""},
		{"choose another bank", "POST", "select", fmt.Sprintf(`{"institutionId":%q}`, other.ID)},
		{"go back", "POST", "back", `{}`},
		{"log in", "POST", "login", `{"credentials":{"username":"user_good","password":"pass_good"}}`},
		{"complete", "POST", "complete", `{"accountIds":["x"],"consent":true}`},
	} {
		t.Run("tab B may not "+tc.name, func(t *testing.T) {
			if status, s := st.CallTab(tok, b, tc.method, tc.path, tc.body); !otherTab(status, s) {
				t.Errorf("%d %v", status, s)
			}
		})
	}
	if status, s := st.Call(tok, "GET", "session", ""); status != 200 || s["institution"].(map[string]any)["id"] != bank.ID {
		t.Fatalf("tab A's choice stands, read without a tab: %d %v", status, s)
	}
	for _, tc := range []struct {
		name, tab string
	}{
		{"too short", "short"},
		{"bad characters", "tab-with-a-space 0123456789"},
		{"too long", strings.Repeat("x", 65)},
	} {
		t.Run("bad tab id: "+tc.name, func(t *testing.T) {
			if status, s := st.CallTab(tok, tc.tab, "GET", "session", ""); status != 400 || s["code"] != banklink.EBADREQUEST {
				t.Errorf("%d %v", status, s)
			}
		})
	}
	if status, s := st.Call(tok, "POST", "claim", `{}`); status != 400 {
		t.Errorf("claim without a tab id: %d %v", status, s)
	}
	// Tab B takes over: now tab A is refused, and B logs in.
	if status, s := st.CallTab(tok, b, "POST", "claim", `{}`); status != 200 || s["step"] != "CREDENTIALS" {
		t.Fatalf("tab B takes over: %d %v", status, s)
	}
	if status, s := st.CallTab(tok, a, "POST", "login", `{"credentials":{"username":"user_good","password":"pass_good"}}`); !otherTab(status, s) {
		t.Fatalf("tab A after the takeover: %d %v", status, s)
	}
	status, s := st.CallTab(tok, b, "POST", "login", `{"credentials":{"username":"user_good","password":"pass_good"}}`)
	if status != 200 || s["step"] != "ACCOUNTS" {
		t.Fatalf("tab B logs in: %d %v", status, s)
	}
	acct := s["accounts"].([]any)[0].(map[string]any)["id"].(string)
	if status, s := st.CallTab(tok, b, "POST", "complete", fmt.Sprintf(`{"accountIds":[%q],"consent":true}`, acct)); status != 200 {
		t.Fatalf("tab B completes: %d %v", status, s)
	}
}

// TestLockedLoginRule: the one rule for retryable (docs/widget.md): a
// login locked at the bank is not retryable (the same login cannot
// succeed), yet the session stays open and other credentials link.
func TestLockedLoginRule(t *testing.T) {
	st := newStack(t)
	tok := st.Start(`{"externalCustomerId":"locked","products":["BALANCES"]}`).ConnectToken
	st.Call(tok, "POST", "select", fmt.Sprintf(`{"institutionId":%q}`, st.Institution("Sandbox Bank").ID))
	for _, tc := range []struct {
		user      string
		status    int
		retryable any
	}{
		{"user_locked", 422, false},
		{"user_locked", 422, false}, // the same login again: still locked
		{"user_good", 200, nil},     // other credentials in the same session
	} {
		status, s := st.Call(tok, "POST", "login", fmt.Sprintf(`{"credentials":{"username":%q,"password":"pass_good"}}`, tc.user))
		if status != tc.status || s["retryable"] != tc.retryable {
			t.Errorf("%s: %d %v, want %d retryable %v", tc.user, status, s, tc.status, tc.retryable)
		}
	}
}
