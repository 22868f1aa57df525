package plaid

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"banklink"
	"banklink/internal/plaid/fakeplaid"
)

func TestWebhooks(t *testing.T) {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer receiver.Close()
	e := newEnv(t, func(c *Config) { c.WebhookURL = receiver.URL + "/plaid" })
	in := e.institution(t, "ins_109508")

	// A Hosted Link session ends with SESSION_FINISHED, signed.
	req := e.request(in, banklink.Transactions)
	start, err := e.p.StartLogin(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	visit(t, start.RedirectURL, url.Values{"institution_id": {"ins_109508"}})
	deliveries := e.fp.Deliveries()
	if len(deliveries) != 1 || deliveries[0].URL != receiver.URL+"/plaid" || deliveries[0].Status != http.StatusOK {
		t.Fatalf("deliveries = %+v", deliveries)
	}
	d := deliveries[0]
	w, err := e.p.VerifyWebhook(t.Context(), d.Header, d.Body)
	if err != nil {
		t.Fatal(err)
	}
	if w.Type != "LINK" || w.Code != "SESSION_FINISHED" || w.Status != "SUCCESS" || len(w.PublicTokens) != 1 || w.LinkToken == "" || len(w.Raw) == 0 {
		t.Errorf("webhook = %+v", w)
	}
	// The key is cached.
	if _, err := e.p.VerifyWebhook(t.Context(), d.Header, d.Body); err != nil || e.fp.Calls("/webhook_verification_key/get") != 1 {
		t.Errorf("second verification: %v, %d key fetches", err, e.fp.Calls("/webhook_verification_key/get"))
	}
	// Item webhooks too.
	step, err := e.p.CompleteRedirect(t.Context(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.fp.SetItemError(step.LoginID, "ITEM_LOGIN_REQUIRED")
	e.fp.FireWebhook(step.LoginID, "ITEM", "ERROR", "")
	deliveries = e.fp.Deliveries()
	d = deliveries[len(deliveries)-1]
	w, err = e.p.VerifyWebhook(t.Context(), d.Header, d.Body)
	if err != nil || w.Type != "ITEM" || w.Code != "ERROR" || w.ItemID != step.LoginID || w.Error == nil || w.Error.ErrorCode != "ITEM_LOGIN_REQUIRED" {
		t.Errorf("item webhook = %+v, %v", w, err)
	}
}

// TestWebhookErrors: a webhook's error decodes in each shape Plaid's spec
// gives it, INITIAL_UPDATE's error code string included (a signed
// INITIAL_UPDATE with an error used to be refused as malformed).
func TestWebhookErrors(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, body string
		want       *APIError
	}{
		{"INITIAL_UPDATE's error code", `{"webhook_type":"TRANSACTIONS","webhook_code":"INITIAL_UPDATE","item_id":"item-1","new_transactions":0,` +
			`"error":"ITEM_LOGIN_REQUIRED","environment":"production"}`, &APIError{ErrorCode: "ITEM_LOGIN_REQUIRED"}},
		{"INITIAL_UPDATE without an error", `{"webhook_type":"TRANSACTIONS","webhook_code":"INITIAL_UPDATE","item_id":"item-1","new_transactions":19,` +
			`"error":null,"environment":"production"}`, nil},
		{"an error object", `{"webhook_type":"ITEM","webhook_code":"ERROR","item_id":"item-1","environment":"production","error":` +
			`{"error_type":"ITEM_ERROR","error_code":"ITEM_LOGIN_REQUIRED","error_message":"login required","display_message":null,"request_id":"r"}}`,
			&APIError{ErrorType: "ITEM_ERROR", ErrorCode: "ITEM_LOGIN_REQUIRED", ErrorMessage: "login required", RequestID: "r"}},
		{"no error member", `{"webhook_type":"ITEM","webhook_code":"LOGIN_REPAIRED","item_id":"item-1","environment":"production"}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(tc.body)
			w, err := e.p.VerifyWebhook(t.Context(), http.Header{"Plaid-Verification": {e.fp.SignWebhook(body, time.Now())}}, body)
			if err != nil {
				t.Fatalf("a signed webhook was refused: %v", err)
			}
			if (w.Error == nil) != (tc.want == nil) || w.Error != nil && *w.Error != *tc.want {
				t.Errorf("error = %+v, want %+v", w.Error, tc.want)
			}
		})
	}
}

func TestWebhookVerificationRejects(t *testing.T) {
	e := newEnv(t)
	body := []byte(`{"webhook_type": "TRANSACTIONS", "webhook_code": "SYNC_UPDATES_AVAILABLE", "item_id": "item-1"}`)
	now := time.Now()
	header := func(jwt string) http.Header {
		h := http.Header{}
		if jwt != "" {
			h.Set("Plaid-Verification", jwt)
		}
		return h
	}
	good := e.fp.SignWebhook(body, now)
	if _, err := e.p.VerifyWebhook(t.Context(), header(good), body); err != nil {
		t.Fatalf("a good webhook was rejected: %v", err)
	}
	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	kid := e.fp.WebhookKeyID()
	parts := strings.Split(good, ".")
	for _, tc := range []struct {
		name string
		jwt  string
		body []byte
	}{
		{"no header", "", body},
		{"not a JWT", "abc", body},
		{"body changed", good, []byte(strings.Replace(string(body), "item-1", "item-2", 1))},
		{"body reformatted", good, []byte(strings.ReplaceAll(string(body), " ", ""))},
		{"alg is not ES256", fakeplaid.SignJWT(stranger, map[string]any{"alg": "HS256", "kid": kid, "typ": "JWT"}, body, now), body},
		{"alg none", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"`+kid+`"}`)) + "." + parts[1] + ".", body},
		{"signed by another key", fakeplaid.SignJWT(stranger, map[string]any{"alg": "ES256", "kid": kid, "typ": "JWT"}, body, now), body},
		{"unknown key", fakeplaid.SignJWT(stranger, map[string]any{"alg": "ES256", "kid": "key-unknown", "typ": "JWT"}, body, now), body},
		{"signature stripped", parts[0] + "." + parts[1] + ".", body},
		{"six minutes old", e.fp.SignWebhook(body, now.Add(-6*time.Minute)), body},
		{"from the future", e.fp.SignWebhook(body, now.Add(6*time.Minute)), body},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.p.VerifyWebhook(t.Context(), header(tc.jwt), tc.body)
			if be, ok := err.(*banklink.Error); !ok || be.Code != banklink.EUNAUTHORIZED {
				t.Errorf("err = %v, want UNAUTHORIZED", err)
			}
		})
	}
	t.Run("four minutes old is fine", func(t *testing.T) {
		if _, err := e.p.VerifyWebhook(t.Context(), header(e.fp.SignWebhook(body, now.Add(-4*time.Minute))), body); err != nil {
			t.Error(err)
		}
	})
	t.Run("expired key", func(t *testing.T) {
		old := e.fp.SignWebhook(body, now)
		e.fp.RotateWebhookKey()
		// A webhook with the new key makes the verifier refresh the keys
		// it knows, and learn the old one expired.
		if _, err := e.p.VerifyWebhook(t.Context(), header(e.fp.SignWebhook(body, now)), body); err != nil {
			t.Fatalf("new key: %v", err)
		}
		if _, err := e.p.VerifyWebhook(t.Context(), header(old), body); banklink.ErrorCode(err) != banklink.EUNAUTHORIZED {
			t.Errorf("old key after rotation: %v", err)
		}
		// A verifier that never saw the old key rejects it as expired too.
		if _, err := e.provider(t).VerifyWebhook(t.Context(), header(old), body); banklink.ErrorCode(err) != banklink.EUNAUTHORIZED {
			t.Errorf("fresh verifier, old key: %v", err)
		}
	})
	t.Run("Plaid unreachable for the key", func(t *testing.T) {
		e.fp.FailNext("/webhook_verification_key/get", "INTERNAL_SERVER_ERROR")
		_, err := e.provider(t).VerifyWebhook(t.Context(), header(e.fp.SignWebhook(body, now)), body)
		if pe, ok := err.(*banklink.ProviderError); !ok || pe.Reason != banklink.LoginProviderDown {
			t.Errorf("err = %#v, want a retryable provider failure", err)
		}
	})
}

// TestWebhookKeyFetchesAreBounded: webhooks naming made-up keys cost at
// most KeyFetchBurst fetches at once, then one per KeyFetchEvery, while
// webhooks signed with a known key keep working.
func TestWebhookKeyFetchesAreBounded(t *testing.T) {
	clock := time.Now()
	e := newEnv(t, func(c *Config) { c.Now = func() time.Time { return clock } })
	body := []byte(`{"webhook_type": "TRANSACTIONS", "webhook_code": "SYNC_UPDATES_AVAILABLE", "item_id": "item-1"}`)
	header := func(jwt string) http.Header { return http.Header{"Plaid-Verification": {jwt}} }
	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	forged := func(i int) http.Header {
		return header(fakeplaid.SignJWT(stranger, map[string]any{"alg": "ES256", "kid": fmt.Sprintf("key-made-up-%d", i), "typ": "JWT"}, body, clock))
	}
	genuine := header(e.fp.SignWebhook(body, clock))
	if _, err := e.p.VerifyWebhook(t.Context(), genuine, body); err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		name    string
		header  http.Header
		advance time.Duration
		code    string
	}{
		// The known key's first look-up was one of the burst.
		{"made-up key 1", forged(1), 0, banklink.EUNAUTHORIZED},
		{"made-up key 2", forged(2), 0, banklink.EUNAUTHORIZED},
		{"made-up key 3", forged(3), 0, banklink.EUNAUTHORIZED},
		{"made-up key 4: the burst is spent", forged(4), 0, banklink.EUNAUTHORIZED},
		{"made-up key 5 is not looked up", forged(5), 0, banklink.EUNAVAILABLE},
		{"the known key still verifies", genuine, 0, ""},
		{"a second later one more look-up", forged(7), KeyFetchEvery, banklink.EUNAUTHORIZED},
		{"and no more", forged(8), 0, banklink.EUNAVAILABLE},
	} {
		clock = clock.Add(tc.advance)
		_, err := e.p.VerifyWebhook(t.Context(), tc.header, body)
		if banklink.ErrorCode(err) != tc.code && !(tc.code == "" && err == nil) {
			t.Errorf("%d %s: err = %v, want %q", i, tc.name, err, tc.code)
		}
	}
	// The known key once, then each of the KeyFetchBurst-1 look-ups in the
	// burst and the one a second later asked for the made-up key and
	// refreshed the known one.
	if got := e.fp.Calls("/webhook_verification_key/get"); got != 1+2*KeyFetchBurst {
		t.Errorf("%d key fetches", got)
	}
}
