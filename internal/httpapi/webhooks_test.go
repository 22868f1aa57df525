package httpapi_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"banklink"
	"banklink/internal/httpapi"
	"banklink/internal/webhooks"
	"banklink/internal/webhookurl"
	"banklink/webhook"
)

type profileOut struct {
	ID                      string   `json:"id"`
	URL                     string   `json:"url"`
	Version                 string   `json:"version"`
	Enabled                 bool     `json:"enabled"`
	EventTypes              []string `json:"eventTypes"`
	Secret                  string   `json:"secret"`
	PreviousSecretExpiresAt *string  `json:"previousSecretExpiresAt"`
}

func TestWebhookProfileErrors(t *testing.T) {
	ts := newTestServer(t, "sqlite")
	prod := ts.newKey(ts.account.ID, banklink.Production)
	for _, tt := range []struct {
		name, method, path, body, key string
		status                        int
		message                       string
	}{
		{"no url", "POST", "/webhooks/profiles", `{"version":"2022-11-10"}`, "", 400, "[url] must not be null"},
		{"empty body", "POST", "/webhooks/profiles", ``, "", 400, "empty"},
		{"bad scheme", "POST", "/webhooks/profiles", `{"url":"ftp://example.com/x"}`, "", 400, "[url]"},
		{"http in production", "POST", "/webhooks/profiles", `{"url":"http://example.com/x"}`, prod, 400, "https in production"},
		{"loopback in production", "POST", "/webhooks/profiles", `{"url":"https://127.0.0.1/x"}`, prod, 400, "internal address"},
		{"loopback in sandbox by default", "POST", "/webhooks/profiles", `{"url":"http://127.0.0.1:8080/x"}`, "", 400, "internal address"},
		{"localhost in sandbox by default", "POST", "/webhooks/profiles", `{"url":"http://localhost:8080/x"}`, "", 400, "localhost"},
		{"metadata address in production", "POST", "/webhooks/profiles", `{"url":"https://169.254.169.254/x"}`, prod, 400, "internal address"},
		{"unknown version", "POST", "/webhooks/profiles", `{"url":"https://example.com/x","version":"2020-01-01"}`, "", 400, "[version]"},
		{"unknown event type", "POST", "/webhooks/profiles", `{"url":"https://example.com/x","eventTypes":["NOPE"]}`, "", 400, "[eventTypes]"},
		{"wrong type", "POST", "/webhooks/profiles", `{"url":42}`, "", 400, "url"},
		{"no key", "POST", "/webhooks/profiles", `{"url":"https://example.com/x"}`, "-", 401, ""},
		{"unknown profile", "GET", "/webhooks/profiles/nope", ``, "", 404, "Webhook profile"},
		{"patch unknown profile", "PATCH", "/webhooks/profiles/nope", `{"enabled":false}`, "", 404, ""},
		{"delete unknown profile", "DELETE", "/webhooks/profiles/nope", ``, "", 404, ""},
		{"rotate unknown profile", "POST", "/webhooks/profiles/nope/rotate-secret", ``, "", 404, ""},
		{"test without profiles", "POST", "/webhooks/test", ``, "", 409, "no enabled webhook profile"},
		{"test unknown profile", "POST", "/webhooks/test", `{"profileId":"nope"}`, "", 404, ""},
		{"bad cursor", "GET", "/webhooks/events?after=nope", ``, "", 400, "[after]"},
		{"before and after", "GET", "/webhooks/events?after=a&before=b", ``, "", 400, "either"},
		{"bad event type filter", "GET", "/webhooks/events?eventTypes=BANK_LINKING_ACCOUNTS_UPDATED,NOPE", ``, "", 400, "[eventTypes]"},
		{"bad limit", "GET", "/webhooks/events?limit=1000", ``, "", 400, "[limit]"},
		{"unknown event", "GET", "/webhooks/events/nope", ``, "", 404, "Event"},
		{"redeliver unknown event", "POST", "/webhooks/events/nope/redeliver", ``, "", 404, ""},
		{"wrong method", "PUT", "/webhooks/profiles", `{}`, "", 405, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := ts.do(call{method: tt.method, path: tt.path, body: tt.body, key: tt.key})
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if e := r.errorBody(t); !strings.Contains(e.Message, tt.message) || e.RequestID == "" {
				t.Errorf("error = %+v, want message containing %q", e, tt.message)
			}
		})
	}
}

func TestWebhooksAPI(t *testing.T) {
	// The receiver is on loopback: sandbox opts in, as on a development
	// machine.
	ts := newTestServer(t, "sqlite", func(c *httpapi.Config) { c.WebhookPrivate = webhookurl.PrivateSandbox })
	var mu sync.Mutex
	var got []*http.Request
	var bodies [][]byte
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, bodies = append(got, r), append(bodies, b)
		mu.Unlock()
	}))
	t.Cleanup(rcv.Close)
	url := rcv.URL + "/hooks"

	r := ts.do(call{path: "/webhooks/profiles", body: `{"url":"` + url + `"}`})
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var p profileOut
	r.json(t, &p)
	if !strings.HasPrefix(p.Secret, "whsec_") || !p.Enabled || p.Version != "2022-11-10" || len(p.EventTypes) != 0 {
		t.Fatalf("profile = %+v", p)
	}
	// The secret is never readable again.
	for _, path := range []string{"/webhooks/profiles/" + p.ID, "/webhooks/profiles"} {
		if r := ts.do(call{method: "GET", path: path}); r.status != 200 || strings.Contains(string(r.body), p.Secret) || strings.Contains(string(r.body), `"secret"`) {
			t.Errorf("GET %s leaks the secret: %s", path, r.body)
		}
	}
	// Another account cannot see it.
	other := &banklink.Account{ID: banklink.NewID(), Name: "Other"}
	if err := ts.store.CreateAccount(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	if r := ts.do(call{method: "GET", path: "/webhooks/profiles/" + p.ID, key: ts.newKey(other.ID, banklink.Sandbox)}); r.status != 404 {
		t.Errorf("other account: %d", r.status)
	}
	r = ts.do(call{method: "PATCH", path: "/webhooks/profiles/" + p.ID, body: `{"eventTypes":["WEBHOOK_TEST","BANK_LINKING_CONNECTION_DELETED","WEBHOOK_TEST"]}`})
	var patched profileOut
	r.json(t, &patched)
	if r.status != 200 || len(patched.EventTypes) != 2 || patched.URL != url {
		t.Errorf("patch: %d %+v", r.status, patched)
	}

	// A test event goes through the outbox to the receiver, signed.
	r = ts.do(call{path: "/webhooks/test", body: `{"profileId":"` + p.ID + `"}`})
	if r.status != 201 {
		t.Fatalf("test: %d %s", r.status, r.body)
	}
	var ev struct {
		Key       string
		EventID   string
		EventType string
		Payload   struct{ RequestID string }
	}
	r.json(t, &ev)
	if ev.EventType != "WEBHOOK_TEST" || ev.Payload.RequestID != r.header.Get("X-Request-ID") {
		t.Errorf("test event = %+v (request %s)", ev, r.header.Get("X-Request-ID"))
	}
	d := webhooks.New(ts.store, webhooks.Config{Private: webhookurl.PrivateSandbox}, nil)
	if n, err := d.DeliverDue(t.Context()); n != 1 || err != nil {
		t.Fatalf("DeliverDue = %d, %v", n, err)
	}
	if err := webhook.Verify([]string{p.Secret}, got[0].Header.Get("meld-signature"), got[0].Header.Get("meld-signature-timestamp"), url, bodies[0], webhook.Options{}); err != nil {
		t.Errorf("verify: %v", err)
	}
	var detail struct {
		EventID    string
		Deliveries []struct {
			ProfileID string
			Status    string
			Attempts  []struct {
				Attempt    int
				StatusCode int
				LatencyMs  float64
			}
		}
	}
	ts.do(call{method: "GET", path: "/webhooks/events/" + ev.EventID}).json(t, &detail)
	if len(detail.Deliveries) != 1 || detail.Deliveries[0].Status != "DELIVERED" || detail.Deliveries[0].Attempts[0].StatusCode != 200 {
		t.Errorf("event detail = %+v", detail)
	}

	// Rotation: the new secret is shown once; both sign during the overlap.
	r = ts.do(call{path: "/webhooks/profiles/" + p.ID + "/rotate-secret", body: `{"overlapSeconds":3600}`})
	var rotated profileOut
	r.json(t, &rotated)
	if r.status != 200 || rotated.Secret == "" || rotated.Secret == p.Secret || rotated.PreviousSecretExpiresAt == nil {
		t.Fatalf("rotate: %d %+v", r.status, rotated)
	}
	if r := ts.do(call{path: "/webhooks/profiles/" + p.ID + "/rotate-secret", body: `{"overlapSeconds":-1}`}); r.status != 400 {
		t.Errorf("negative overlap: %d", r.status)
	}
	// Redelivery of the test event, signed with both secrets.
	r = ts.do(call{path: "/webhooks/events/" + ev.EventID + "/redeliver"})
	if r.status != 202 {
		t.Fatalf("redeliver: %d %s", r.status, r.body)
	}
	d.DeliverDue(t.Context())
	if len(got) != 2 {
		t.Fatalf("receiver got %d", len(got))
	}
	for _, secret := range []string{p.Secret, rotated.Secret} {
		if err := webhook.Verify([]string{secret}, got[1].Header.Get("meld-signature"), got[1].Header.Get("meld-signature-timestamp"), url, bodies[1], webhook.Options{}); err != nil {
			t.Errorf("verify redelivery: %v", err)
		}
	}

	var list struct {
		Events    []struct{ Key, EventID string }
		Count     int
		Remaining int
	}
	ts.do(call{method: "GET", path: "/webhooks/events?eventTypes=WEBHOOK_TEST"}).json(t, &list)
	if list.Count != 1 || list.Events[0].EventID != ev.EventID {
		t.Errorf("events = %+v", list)
	}
	ts.do(call{method: "GET", path: "/webhooks/events?after=" + list.Events[0].Key}).json(t, &list)
	if list.Count != 0 {
		t.Errorf("events after the last = %+v", list)
	}

	// Disabled: the test endpoint refuses; deleting works once.
	ts.do(call{method: "PATCH", path: "/webhooks/profiles/" + p.ID, body: `{"enabled":false}`})
	if r := ts.do(call{path: "/webhooks/test"}); r.status != 409 {
		t.Errorf("test with disabled profile: %d", r.status)
	}
	if r := ts.do(call{method: "DELETE", path: "/webhooks/profiles/" + p.ID}); r.status != 200 {
		t.Errorf("delete: %d %s", r.status, r.body)
	}
	if r := ts.do(call{method: "DELETE", path: "/webhooks/profiles/" + p.ID}); r.status != 404 {
		t.Errorf("second delete: %d", r.status)
	}
	// At most MaxWebhookProfiles.
	for i := range httpapi.MaxWebhookProfiles + 1 {
		r := ts.do(call{path: "/webhooks/profiles", body: `{"url":"https://example.com/` + string(rune('a'+i)) + `"}`})
		if want := map[bool]int{true: 201, false: 409}[i < httpapi.MaxWebhookProfiles]; r.status != want {
			t.Fatalf("profile %d: %d, want %d", i+1, r.status, want)
		}
	}
}

// TestWebhookProfileTimestamps: a profile's times have Meld's
// microseconds on every answer, and the same value on create and read
// (create used to send nanoseconds, reads what the database kept).
func TestWebhookProfileTimestamps(t *testing.T) {
	ts := newTestServer(t, "sqlite")
	micro := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)
	var created, read, rotated map[string]any
	r := ts.do(call{path: "/webhooks/profiles", body: `{"url":"https://hooks.example.com/x"}`})
	r.json(t, &created)
	ts.do(call{method: "GET", path: "/webhooks/profiles/" + created["id"].(string)}).json(t, &read)
	ts.do(call{path: "/webhooks/profiles/" + created["id"].(string) + "/rotate-secret", body: `{}`}).json(t, &rotated)
	for _, tc := range []struct {
		name string
		m    map[string]any
		keys []string
	}{
		{"create", created, []string{"createdAt", "updatedAt"}},
		{"read", read, []string{"createdAt", "updatedAt"}},
		{"rotate", rotated, []string{"createdAt", "updatedAt", "previousSecretExpiresAt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range tc.keys {
				if v, _ := tc.m[k].(string); !micro.MatchString(v) {
					t.Errorf("%s = %v, want microseconds", k, tc.m[k])
				}
			}
		})
	}
	if created["createdAt"] != read["createdAt"] {
		t.Errorf("createdAt %v on create, %v on read", created["createdAt"], read["createdAt"])
	}
}
