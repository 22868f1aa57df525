package widget_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"banklink"
	"banklink/internal/httpapi"
	"banklink/internal/sandbox"
)

type activityPage struct {
	Activities []httpapi.ActivityJSON `json:"activities"`
	Count      int                    `json:"count"`
	Remaining  int                    `json:"remaining"`
}

func activity(st *stack, query string) []httpapi.ActivityJSON {
	st.T.Helper()
	var out activityPage
	if status := st.Get("/activity-log?limit=100&"+query, &out); status != 200 {
		st.T.Fatalf("activity-log: %d", status)
	}
	return out.Activities
}

func describe(list []httpapi.ActivityJSON) []string {
	var out []string
	for _, a := range list {
		s := strings.TrimPrefix(a.Action, "INSTITUTION_CONNECTION_")
		for _, f := range []*string{a.EventType, a.Step, a.Reason} {
			if f != nil {
				s += " " + *f
			}
		}
		if a.InstitutionName != nil {
			s += " @" + *a.InstitutionName
		}
		out = append(out, s)
	}
	return out
}

// TestActivityOfASession: a customer searches, picks a bank where the
// login is locked, goes back, picks another, answers MFA and links; then
// another customer closes the widget. The activity log tells each step
// as it happened, and the funnel credits each step to the bank it
// happened at.
func TestActivityOfASession(t *testing.T) {
	st := newStack(t)
	bank, cu := st.Institution("Sandbox Bank"), st.Institution("Sandbox Credit Union")
	conn := st.Start(`{"externalCustomerId":"act1","products":["BALANCES"]}`)
	tok := conn.ConnectToken
	expect := func(want int) func(int, map[string]any) map[string]any {
		return func(status int, body map[string]any) map[string]any {
			t.Helper()
			if status != want {
				t.Fatalf("status %d, want %d: %v", status, want, body)
			}
			return body
		}
	}
	expect(200)(st.Call(tok, "GET", "session", ""))
	expect(200)(st.Call(tok, "GET", "institutions?name=Sandbox", ""))
	expect(200)(st.Call(tok, "POST", "select", fmt.Sprintf(`{"institutionId":%q}`, bank.ID)))
	expect(422)(st.Call(tok, "POST", "login", `{"credentials":{"username":"`+sandbox.UserLocked+`","password":"pass_good"}}`))
	expect(200)(st.Call(tok, "POST", "back", `{}`))
	expect(200)(st.Call(tok, "POST", "select", fmt.Sprintf(`{"institutionId":%q}`, cu.ID)))
	expect(200)(st.Call(tok, "POST", "login", `{"credentials":{"username":"`+sandbox.UserMFACode+`","password":"pass_good"}}`))
	s := expect(200)(st.Call(tok, "POST", "mfa", `{"answer":"`+sandbox.MFACodeAnswer+`"}`))
	id := s["accounts"].([]any)[0].(map[string]any)["id"].(string)
	expect(200)(st.Call(tok, "POST", "complete", fmt.Sprintf(`{"consent":true,"accountIds":[%q]}`, id)))
	st.Runner.Wait()

	left := st.Start(`{"externalCustomerId":"act2","products":["BALANCES"]}`)
	expect(200)(st.Call(left.ConnectToken, "GET", "session", ""))
	req, _ := http.NewRequest("POST", st.Srv.URL+"/connect/api/exit", strings.NewReader(`{"step":"PICK"}`))
	req.Header.Set("Authorization", "Bearer "+left.ConnectToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := st.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("exit: %d", resp.StatusCode)
	}

	got := describe(activity(st, "connectionId="+conn.ID))
	want := []string{
		"WIDGET_OPENED",
		"INSTITUTION_SEARCHED",
		"INSTITUTION_SELECTED WATERFALL @Sandbox Bank",
		"WIDGET_ERROR SERVICE_PROVIDER_FAILURE CREDENTIALS ACCOUNT_LOCKED @Sandbox Bank",
		"WIDGET_BACK @Sandbox Bank",
		"INSTITUTION_SELECTED WATERFALL @Sandbox Credit Union",
		"MFA_REQUIRED CREDENTIALS @Sandbox Credit Union",
		"LOGIN_SUCCEEDED MFA @Sandbox Credit Union",
		"CONSENT_GIVEN @Sandbox Credit Union",
		"COMPLETED @Sandbox Credit Union",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("activity:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	errs := activity(st, "actions=INSTITUTION_CONNECTION_WIDGET_ERROR")
	if len(errs) != 1 || *errs[0].Message == "" || *errs[0].ServiceProvider != banklink.ProviderWireName(sandbox.ProviderType) {
		t.Errorf("widget errors = %+v", errs)
	}
	if got := describe(activity(st, "connectionId="+left.ID)); strings.Join(got, ",") != "WIDGET_OPENED,WIDGET_EXITED" {
		t.Errorf("the customer who left: %v", got)
	}

	// The funnel: both banks chosen once, login and completion only at
	// the credit union, the lock the reason at Sandbox Bank.
	now := time.Now().UTC()
	steps, err := st.Store.FunnelSteps(t.Context(), st.Scope, now.Add(-time.Hour), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	fn := banklink.ComputeFunnel(steps, banklink.FunnelFilter{})
	if fn.Totals[banklink.FunnelOpened] != 2 || fn.Totals[banklink.FunnelChosen] != 1 || fn.Totals[banklink.FunnelCompleted] != 1 {
		t.Errorf("totals = %v", fn.Totals)
	}
	rows := map[string]banklink.FunnelRow{}
	for _, r := range fn.ByInstitution {
		rows[r.Key] = r
	}
	if r := rows[bank.ID]; r.Chosen != 1 || r.LoggedIn != 0 || r.Completed != 0 || r.Dropped[banklink.LoginLocked] != 1 {
		t.Errorf("Sandbox Bank = %+v", r)
	}
	if r := rows[cu.ID]; r.Chosen != 1 || r.LoggedIn != 1 || r.Completed != 1 {
		t.Errorf("Sandbox Credit Union = %+v", r)
	}
}
