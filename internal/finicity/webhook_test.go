package finicity_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"banklink"
	"banklink/internal/finicity"
	"banklink/internal/finicity/fakefinicity"
)

func signed(secret, body string) http.Header {
	h := http.Header{}
	h.Set(finicity.SignatureHeader, finicity.Sign(secret, []byte(body)))
	return h
}

func eventBody(at time.Time, eventType, payload string) string {
	return fmt.Sprintf(`{"customerId":"1005061234","eventType":%q,"eventId":"%d-0e73d1719173766fe4dfe1a8","payload":%s}`, eventType, at.UnixMilli(), payload)
}

// TestWebhookSignature: a good signature, a bad one, none, another
// partner's, a body changed after signing.
func TestWebhookSignature(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	p := finicity.New(finicity.Config{PartnerID: "p", PartnerSecret: "the-partner-secret", AppKey: "k", Now: func() time.Time { return now }})
	body := eventBody(now, "ping", `{}`)
	for _, tc := range []struct {
		name   string
		header http.Header
		body   string
		code   string
	}{
		{"good", signed("the-partner-secret", body), body, ""},
		{"wrong secret", signed("another-secret", body), body, banklink.EUNAUTHORIZED},
		{"no signature", http.Header{}, body, banklink.EUNAUTHORIZED},
		{"garbage signature", http.Header{finicity.SignatureHeader: {"zz"}}, body, banklink.EUNAUTHORIZED},
		{"body changed", signed("the-partner-secret", body), body + " ", banklink.EUNAUTHORIZED},
		{"not an event", signed("the-partner-secret", `{"hello":1}`), `{"hello":1}`, banklink.EBADREQUEST},
		{"not JSON", signed("the-partner-secret", `nope`), `nope`, banklink.EBADREQUEST},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.ReceiveWebhook(t.Context(), tc.header, []byte(tc.body))
			if banklink.ErrorCode(err) != tc.code && !(tc.code == "" && err == nil) {
				t.Errorf("err = %v, want %q", err, tc.code)
			}
		})
	}
	// Upper-case hex is the same signature (a new event id: the first
	// was acted on).
	other := eventBody(now.Add(-time.Second), "ping", `{}`)
	h := http.Header{}
	h.Set(finicity.SignatureHeader, strings.ToUpper(finicity.Sign("the-partner-secret", []byte(other))))
	if _, err := p.ReceiveWebhook(t.Context(), h, []byte(other)); err != nil {
		t.Errorf("upper-case signature: %v", err)
	}
	unset := finicity.New(finicity.Config{Now: func() time.Time { return now }})
	if _, err := unset.ReceiveWebhook(t.Context(), signed("", body), []byte(body)); banklink.ErrorCode(err) != banklink.EUNAUTHORIZED {
		t.Errorf("no configured secret: %v", err)
	}
}

// TestWebhookReplay: an event id acts once within the window; events
// older than the window (or far ahead) are refused, since their ids are
// no longer remembered.
func TestWebhookReplay(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	clock := now
	p := finicity.New(finicity.Config{PartnerSecret: "s3cret-s3cret", Now: func() time.Time { return clock }})
	body := eventBody(now, "added", `{"accounts":[{"id":"1","institutionLoginId":1022599285}],"institutionId":"101732"}`)
	evs, err := p.ReceiveWebhook(t.Context(), signed("s3cret-s3cret", body), []byte(body))
	if err != nil || len(evs) != 1 || evs[0].Kind != banklink.ProviderDataChanged {
		t.Fatalf("first delivery: %+v, %v", evs, err)
	}
	// The same body again (an attacker's replay, or Finicity's retry
	// after a lost answer): acknowledged, nothing to do.
	clock = now.Add(time.Hour)
	if evs, err := p.ReceiveWebhook(t.Context(), signed("s3cret-s3cret", body), []byte(body)); err != nil || len(evs) != 0 {
		t.Errorf("replay: %+v, %v", evs, err)
	}
	// A replay after the window: refused.
	clock = now.Add(finicity.WebhookReplayWindow + time.Minute)
	if _, err := p.ReceiveWebhook(t.Context(), signed("s3cret-s3cret", body), []byte(body)); banklink.ErrorCode(err) != banklink.EUNAUTHORIZED {
		t.Errorf("stale replay: %v", err)
	}
	// Far in the future: refused.
	clock = now
	future := eventBody(now.Add(2*time.Hour), "ping", `{}`)
	if _, err := p.ReceiveWebhook(t.Context(), signed("s3cret-s3cret", future), []byte(future)); banklink.ErrorCode(err) != banklink.EUNAUTHORIZED {
		t.Errorf("future event: %v", err)
	}
	// An id without its time is malformed.
	odd := `{"customerId":"1","eventType":"ping","eventId":"abc","payload":{}}`
	if _, err := p.ReceiveWebhook(t.Context(), signed("s3cret-s3cret", odd), []byte(odd)); banklink.ErrorCode(err) != banklink.EBADREQUEST {
		t.Errorf("id without time: %v", err)
	}
}

// TestWebhookEvents: each Connect event and what banklink does with it.
func TestWebhookEvents(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	for i, tc := range []struct {
		eventType, payload string
		kind               banklink.ProviderEventKind
		logins             []string
	}{
		{"added", `{"accounts":[{"id":"1","institutionLoginId":1022599285},{"id":"2","institutionLoginId":1022599285}],"institutionId":"101732"}`,
			banklink.ProviderDataChanged, []string{"1005061234/1022599285"}},
		{"credentialsUpdated", `{"institutionLoginId":"77"}`, banklink.ProviderLoginRepaired, []string{"1005061234/77"}},
		{"invalidCredentials", `{"institutionLoginId":77}`, banklink.ProviderLoginFailed, []string{"1005061234/77"}},
		{"invalidCredentials", `{"institutionId":"101732"}`, banklink.ProviderEventIgnored, []string{""}},
		{"accountsDeleted", `{"accounts":["1024371952"]}`, banklink.ProviderEventIgnored, []string{""}},
		{"started", `{}`, banklink.ProviderEventIgnored, []string{""}},
		{"done", `{}`, banklink.ProviderEventIgnored, []string{""}},
		{"ping", `{}`, banklink.ProviderEventIgnored, []string{""}},
	} {
		t.Run(tc.eventType, func(t *testing.T) {
			p := finicity.New(finicity.Config{PartnerSecret: "s3cret-s3cret", Now: func() time.Time { return now }})
			body := eventBody(now.Add(-time.Duration(i)*time.Second), tc.eventType, tc.payload)
			evs, err := p.ReceiveWebhook(t.Context(), signed("s3cret-s3cret", body), []byte(body))
			if err != nil || len(evs) != len(tc.logins) {
				t.Fatalf("%+v, %v", evs, err)
			}
			for i, ev := range evs {
				if ev.Kind != tc.kind || ev.LoginID != tc.logins[i] || ev.ProviderType != finicity.ProviderType || ev.Name != tc.eventType {
					t.Errorf("event %+v", ev)
				}
				if tc.kind == banklink.ProviderLoginFailed && ev.Err == nil {
					t.Error("a failed login without its failure")
				}
			}
		})
	}
}

// TestFakeWebhooksVerify: what the fake signs, the provider accepts.
func TestFakeWebhooksVerify(t *testing.T) {
	fake := fakefinicity.New(t)
	p := newProvider(t, fake, finicity.Config{})
	w := fake.WebhookFor("1005061234", "added", map[string]any{"accounts": []map[string]any{{"id": "1", "institutionLoginId": 42}}})
	h := http.Header{}
	h.Set(finicity.SignatureHeader, w.Signature)
	evs, err := p.ReceiveWebhook(t.Context(), h, w.Body)
	if err != nil || len(evs) != 1 || evs[0].LoginID != "1005061234/42" {
		t.Errorf("%+v, %v", evs, err)
	}
}
