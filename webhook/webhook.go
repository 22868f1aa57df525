// Package webhook signs and verifies banklink's (and Meld's) webhook
// requests. Receivers import it to check that an event really comes from
// their banklink deployment; banklink uses the same code to sign.
//
// The scheme is Meld's: the meld-signature header holds
// base64url-with-padding(HMAC-SHA256(secret, timestamp + "." + url + "." +
// body)) and meld-signature-timestamp holds the timestamp (ISO-8601, µs,
// UTC). While a profile's secret is being rotated banklink sends one
// signature per live secret in meld-signature, separated by ", "; Verify
// accepts a request when any of them matches any of the receiver's
// secrets.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Header names, as Meld sends them.
const (
	SignatureHeader  = "Meld-Signature"
	TimestampHeader  = "Meld-Signature-Timestamp"
	RetryCountHeader = "Meld-Retry-Count"
	RetryReason      = "Meld-Retry-Reason"
)

// TimestampFormat is the layout of the signature timestamp.
const TimestampFormat = "2006-01-02T15:04:05.000000Z"

// DefaultTolerance is how far a signature timestamp may be from the
// receiver's clock before Verify rejects it as a replay.
const DefaultTolerance = 5 * time.Minute

// MaxBodyBytes bounds the body VerifyRequest reads.
const MaxBodyBytes = 1 << 20

// Errors returned by Verify. Compare with errors.Is.
var (
	ErrMissingSignature = errors.New("webhook: missing meld-signature or meld-signature-timestamp header")
	ErrBadTimestamp     = errors.New("webhook: malformed meld-signature-timestamp")
	ErrTooOld           = errors.New("webhook: signature timestamp outside tolerance")
	ErrBadSignature     = errors.New("webhook: signature does not match")
	ErrNoSecret         = errors.New("webhook: no secret to verify with")
)

// Sign returns the signature of body sent to url at timestamp.
func Sign(secret, timestamp, url string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	io.WriteString(m, timestamp)
	io.WriteString(m, ".")
	io.WriteString(m, url)
	io.WriteString(m, ".")
	m.Write(body)
	return base64.URLEncoding.EncodeToString(m.Sum(nil))
}

// SignatureHeaderValue returns the meld-signature value for body signed
// with each secret, newest first, separated by ", ".
func SignatureHeaderValue(secrets []string, timestamp, url string, body []byte) string {
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		sigs = append(sigs, Sign(s, timestamp, url, body))
	}
	return strings.Join(sigs, ", ")
}

// Options tune Verify.
type Options struct {
	// Tolerance bounds |now - timestamp|; 0 means DefaultTolerance and a
	// negative value disables the check (replaying recorded requests).
	Tolerance time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Verify checks a signature header value and timestamp against body sent
// to url. secrets are the receiver's current secrets (two during a
// rotation). url must be the exact URL configured in the webhook profile,
// not one rebuilt from the request behind a proxy.
func Verify(secrets []string, signature, timestamp, url string, body []byte, opt Options) error {
	if signature == "" || timestamp == "" {
		return ErrMissingSignature
	}
	ts, err := time.Parse(time.RFC3339Nano, timestamp)
	if err != nil {
		return fmt.Errorf("%w: %q", ErrBadTimestamp, truncate(timestamp, 40))
	}
	tol := opt.Tolerance
	if tol == 0 {
		tol = DefaultTolerance
	}
	if tol > 0 {
		now := time.Now()
		if opt.Now != nil {
			now = opt.Now()
		}
		if d := now.Sub(ts); d > tol || d < -tol {
			return ErrTooOld
		}
	}
	ok := false
	for _, s := range secrets {
		if s == "" {
			continue
		}
		ok = true
		want := Sign(s, timestamp, url, body)
		for got := range strings.SplitSeq(signature, ",") {
			if hmac.Equal([]byte(strings.TrimSpace(got)), []byte(want)) {
				return nil
			}
		}
	}
	if !ok {
		return ErrNoSecret
	}
	return ErrBadSignature
}

// VerifyRequest reads r's body (at most MaxBodyBytes) and verifies it. It
// returns the body so the caller can decode the event it has just
// trusted.
func VerifyRequest(r *http.Request, secrets []string, url string, opt Options) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("webhook: read body: %w", err)
	}
	if len(body) > MaxBodyBytes {
		return nil, fmt.Errorf("webhook: body larger than %d bytes", MaxBodyBytes)
	}
	return body, Verify(secrets, r.Header.Get(SignatureHeader), r.Header.Get(TimestampHeader), url, body, opt)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
