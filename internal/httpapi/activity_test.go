package httpapi_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"banklink"
	"banklink/internal/httpapi"
)

type activityList struct {
	Activities []httpapi.ActivityJSON `json:"activities"`
	Count      int                    `json:"count"`
	Remaining  int                    `json:"remaining"`
}

func TestActivityLog(t *testing.T) {
	ts := newTestServer(t, "sqlite")
	bank := institutionNamed(t, "Sandbox Bank")
	start := func(key, customer string) string {
		t.Helper()
		r := ts.do(call{path: "/bank-linking/connect/start", body: `{"externalCustomerId":"` + customer + `","products":["BALANCES"]}`, key: key})
		if r.status != 201 {
			t.Fatalf("connect/start: %d %s", r.status, r.body)
		}
		var out struct{ ID string }
		r.json(t, &out)
		return out.ID
	}
	c1, c2 := start("", "a1"), start("", "a2")
	other := &banklink.Account{ID: banklink.NewID(), Name: "Other"}
	if err := ts.store.CreateAccount(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	otherKey := ts.newKey(other.ID, banklink.Sandbox)
	c3 := start(otherKey, "a3")

	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	rec := func(conn, action, eventType string, min int) {
		t.Helper()
		e := &banklink.ActivityEvent{ConnectionID: conn, Action: action, EventType: eventType, At: t0.Add(time.Duration(min) * time.Minute)}
		if action != banklink.ActivityWidgetOpened {
			e.InstitutionID, e.Provider = bank.ID, "sandbox"
		}
		if eventType != "" {
			e.Step, e.Reason, e.Message = banklink.LoginStepCredentials, "ACCOUNT_LOCKED", "Your account is locked."
		}
		if err := ts.store.RecordActivity(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	rec(c1, banklink.ActivityWidgetOpened, "", 0)
	rec(c1, banklink.ActivityInstitutionSelected, "", 1)
	rec(c1, banklink.ActivityWidgetError, banklink.ActivityProviderFailure, 2)
	rec(c2, banklink.ActivityWidgetError, banklink.ActivityProviderInitFailure, 3)
	rec(c2, banklink.ActivityWidgetError, banklink.ActivityInternalFailure, 24*60+4) // the next day
	rec(c3, banklink.ActivityWidgetError, banklink.ActivityProviderFailure, 5)       // another tenant

	get := func(query, key string) (int, activityList, string) {
		t.Helper()
		r := ts.do(call{method: "GET", path: "/activity-log?" + query, key: key})
		var out activityList
		if r.status == 200 {
			r.json(t, &out)
		}
		return r.status, out, string(r.body)
	}
	actions := func(l activityList) string {
		var out []string
		for _, a := range l.Activities {
			s := strings.TrimPrefix(a.Action, "INSTITUTION_CONNECTION_")
			if a.EventType != nil {
				s += "/" + *a.EventType
			}
			out = append(out, s)
		}
		return strings.Join(out, " ")
	}
	for _, tt := range []struct {
		name, query string
		key         string
		want        string
		remaining   int
	}{
		{"everything, oldest first", "", "", "WIDGET_OPENED INSTITUTION_SELECTED WIDGET_ERROR/SERVICE_PROVIDER_FAILURE " +
			"WIDGET_ERROR/SERVICE_PROVIDER_INITIALIZATION_FAILURE WIDGET_ERROR/INTERNAL_FAILURE", 0},
		{"Meld's widget-error query", "actions=INSTITUTION_CONNECTION_WIDGET_ERROR&connectionId=" + c2, "",
			"WIDGET_ERROR/SERVICE_PROVIDER_INITIALIZATION_FAILURE WIDGET_ERROR/INTERNAL_FAILURE", 0},
		{"event types", "eventTypes=SERVICE_PROVIDER_FAILURE,INTERNAL_FAILURE", "", "WIDGET_ERROR/SERVICE_PROVIDER_FAILURE WIDGET_ERROR/INTERNAL_FAILURE", 0},
		{"start and end dates", "start=2026-03-02&end=2026-03-02", "", "WIDGET_OPENED INSTITUTION_SELECTED WIDGET_ERROR/SERVICE_PROVIDER_FAILURE " +
			"WIDGET_ERROR/SERVICE_PROVIDER_INITIALIZATION_FAILURE", 0},
		{"start and end times", "start=" + url.QueryEscape(t0.Add(time.Minute).Format(time.RFC3339)) + "&end=" + url.QueryEscape(t0.Add(3*time.Minute).Format(time.RFC3339)),
			"", "INSTITUTION_SELECTED WIDGET_ERROR/SERVICE_PROVIDER_FAILURE", 0},
		{"a page", "limit=2", "", "WIDGET_OPENED INSTITUTION_SELECTED", 3},
		{"another tenant sees only its own", "", otherKey, "WIDGET_ERROR/SERVICE_PROVIDER_FAILURE", 0},
		{"another tenant's connection", "connectionId=" + c1, otherKey, "", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, l, body := get(tt.query, tt.key)
			if status != 200 || actions(l) != tt.want || l.Remaining != tt.remaining || l.Count != len(l.Activities) {
				t.Errorf("%d %q remaining %d, want %q remaining %d: %s", status, actions(l), l.Remaining, tt.want, tt.remaining, body)
			}
		})
	}

	// The fields of a failure.
	_, l, _ := get("eventTypes=SERVICE_PROVIDER_FAILURE", "")
	a := l.Activities[0]
	if a.ConnectionID != c1 || a.AccountID != ts.account.ID || a.CustomerID == "" || a.InstitutionName == nil || *a.InstitutionName != bank.Name ||
		a.ServiceProvider == nil || *a.ServiceProvider != banklink.ProviderWireName("sandbox") || *a.Reason != "ACCOUNT_LOCKED" ||
		*a.Step != banklink.LoginStepCredentials || a.Timestamp != "2026-03-02T10:02:00.000000Z" {
		t.Errorf("failure = %+v", a)
	}

	// Paging forward and back with the keys.
	_, page1, _ := get("limit=2", "")
	_, page2, _ := get("limit=2&after="+page1.Activities[1].Key, "")
	_, page3, _ := get("limit=2&after="+page2.Activities[1].Key, "")
	_, back, _ := get("limit=2&before="+page3.Activities[0].Key, "")
	if len(page2.Activities) != 2 || page2.Remaining != 1 || len(page3.Activities) != 1 || page3.Remaining != 0 ||
		back.Activities[0].ID != page2.Activities[0].ID || back.Remaining != 2 {
		t.Errorf("paging: %s | %s | %s | back %s (remaining %d)", actions(page1), actions(page2), actions(page3), actions(back), back.Remaining)
	}

	for _, tt := range []struct {
		name, query, key string
		status           int
		message          string
	}{
		{"unknown action", "actions=INSTITUTION_CONNECTION_WIDGET_ERROR,NOPE", "", 400, "[actions]"},
		{"unknown event type", "eventTypes=SOMETHING", "", 400, "[eventTypes]"},
		{"bad start", "start=yesterday", "", 400, "[start]"},
		{"end before start", "start=2026-03-03&end=2026-03-01", "", 400, "[end]"},
		{"bad cursor", "after=nope", "", 400, "[after]"},
		{"another tenant's cursor", "after=" + page1.Activities[0].Key, otherKey, 400, "[after]"},
		{"before and after", "after=a&before=b", "", 400, "either"},
		{"bad limit", "limit=101", "", 400, "[limit]"},
		{"unknown parameter", "connectionID=x", "", 400, "connectionID"},
		{"no key", "", "-", 401, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(call{method: "GET", path: "/activity-log?" + tt.query, key: tt.key})
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if e := r.errorBody(t); !strings.Contains(e.Message, tt.message) {
				t.Errorf("message %q, want it to contain %q", e.Message, tt.message)
			}
		})
	}
}
