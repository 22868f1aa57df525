package webhook

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"testing"
	"time"
)

// Meld's published example (docs.meld.io, webhook authentication).
const (
	vectorSecret    = "42m4NMLS34WQ6BbMfo1KFKqMv4hy"
	vectorURL       = "https://example.meld.io/webhooks"
	vectorTimestamp = "2022-05-26T20:25:17.682818Z"
	vectorSignature = "O4bN5E0U9s88l2DFc0kjt-0w3LLA3Zkv8hXhafc22Hg="
	vectorBody      = `{"eventType":"WEBHOOK_TEST","eventId":"GDtv8pQgwzc9HuFFBQFrww","timestamp":"2022-05-26T20:23:45.908400Z","accountId":"W9jpQc1HKvwscqMPcLmzUS","profileId":null,"version":"2021-10-27","payload":{"requestId":"7aWW1GXTjWCCtNubzvVX7V"}}`
)

func vectorNow() time.Time { return time.Date(2022, 5, 26, 20, 26, 0, 0, time.UTC) }

func TestSignMeldVector(t *testing.T) {
	if got := Sign(vectorSecret, vectorTimestamp, vectorURL, []byte(vectorBody)); got != vectorSignature {
		t.Fatalf("Sign = %s, want %s", got, vectorSignature)
	}
}

func TestVerify(t *testing.T) {
	body := []byte(vectorBody)
	other := Sign("new-secret", vectorTimestamp, vectorURL, body)
	tests := []struct {
		name      string
		secrets   []string
		signature string
		timestamp string
		url       string
		body      []byte
		opt       Options
		want      error
	}{
		{"meld vector", []string{vectorSecret}, vectorSignature, vectorTimestamp, vectorURL, body, Options{Now: vectorNow}, nil},
		{"second of two receiver secrets", []string{"rotated-away", vectorSecret}, vectorSignature, vectorTimestamp, vectorURL, body, Options{Now: vectorNow}, nil},
		{"rotation header, old secret", []string{vectorSecret}, other + ", " + vectorSignature, vectorTimestamp, vectorURL, body, Options{Now: vectorNow}, nil},
		{"rotation header, new secret", []string{"new-secret"}, other + ", " + vectorSignature, vectorTimestamp, vectorURL, body, Options{Now: vectorNow}, nil},
		{"body changed", []string{vectorSecret}, vectorSignature, vectorTimestamp, vectorURL, append(bytes.Clone(body), ' '), Options{Now: vectorNow}, ErrBadSignature},
		{"url changed", []string{vectorSecret}, vectorSignature, vectorTimestamp, "https://example.meld.io/webhooks/", body, Options{Now: vectorNow}, ErrBadSignature},
		{"timestamp changed", []string{vectorSecret}, vectorSignature, "2022-05-26T20:25:17.682819Z", vectorURL, body, Options{Now: vectorNow}, ErrBadSignature},
		{"wrong secret", []string{"nope"}, vectorSignature, vectorTimestamp, vectorURL, body, Options{Now: vectorNow}, ErrBadSignature},
		{"unpadded signature", []string{vectorSecret}, vectorSignature[:len(vectorSignature)-1], vectorTimestamp, vectorURL, body, Options{Now: vectorNow}, ErrBadSignature},
		{"no secrets", nil, vectorSignature, vectorTimestamp, vectorURL, body, Options{Now: vectorNow}, ErrNoSecret},
		{"missing signature", []string{vectorSecret}, "", vectorTimestamp, vectorURL, body, Options{Now: vectorNow}, ErrMissingSignature},
		{"missing timestamp", []string{vectorSecret}, vectorSignature, "", vectorURL, body, Options{Now: vectorNow}, ErrMissingSignature},
		{"malformed timestamp", []string{vectorSecret}, vectorSignature, "yesterday", vectorURL, body, Options{Now: vectorNow}, ErrBadTimestamp},
		{"too old", []string{vectorSecret}, vectorSignature, vectorTimestamp, vectorURL, body, Options{Now: func() time.Time { return vectorNow().Add(time.Hour) }}, ErrTooOld},
		{"from the future", []string{vectorSecret}, vectorSignature, vectorTimestamp, vectorURL, body, Options{Now: func() time.Time { return vectorNow().Add(-time.Hour) }}, ErrTooOld},
		{"tolerance disabled", []string{vectorSecret}, vectorSignature, vectorTimestamp, vectorURL, body, Options{Tolerance: -1}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.secrets, tt.signature, tt.timestamp, tt.url, tt.body, tt.opt)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyRequest(t *testing.T) {
	r := httptest.NewRequest("POST", "/webhooks", bytes.NewBufferString(vectorBody))
	r.Header.Set("meld-signature", vectorSignature)
	r.Header.Set("meld-signature-timestamp", vectorTimestamp)
	body, err := VerifyRequest(r, []string{vectorSecret}, vectorURL, Options{Now: vectorNow})
	if err != nil || string(body) != vectorBody {
		t.Fatalf("VerifyRequest = %q, %v", body, err)
	}
	big := httptest.NewRequest("POST", "/webhooks", bytes.NewReader(make([]byte, MaxBodyBytes+1)))
	if _, err := VerifyRequest(big, []string{vectorSecret}, vectorURL, Options{Now: vectorNow}); err == nil {
		t.Fatal("VerifyRequest accepted an oversized body")
	}
}

func FuzzVerify(f *testing.F) {
	f.Add(vectorSignature, vectorTimestamp, vectorURL, []byte(vectorBody))
	f.Add(vectorSignature+", "+vectorSignature, vectorTimestamp, vectorURL, []byte("{}"))
	f.Add(",,,", "2022-05-26T20:25:17Z", "", []byte{})
	f.Add("x", "9999-99-99T99:99:99Z", "http://a", []byte("\x00"))
	f.Fuzz(func(t *testing.T, sig, ts, url string, body []byte) {
		err := Verify([]string{vectorSecret}, sig, ts, url, body, Options{Tolerance: -1})
		// Only the true signature of these exact bytes may pass.
		want := Sign(vectorSecret, ts, url, body)
		if err == nil {
			found := false
			for _, part := range bytes.Split([]byte(sig), []byte(",")) {
				if string(bytes.TrimSpace(part)) == want {
					found = true
				}
			}
			if !found {
				t.Fatalf("accepted signature %q for %q", sig, want)
			}
		}
		if ts != "" && Verify([]string{vectorSecret}, want, ts, url, body, Options{Tolerance: -1}) != nil {
			if _, perr := time.Parse(time.RFC3339Nano, ts); perr == nil {
				t.Fatalf("rejected its own signature")
			}
		}
	})
}
