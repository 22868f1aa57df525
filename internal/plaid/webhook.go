package plaid

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"strings"
	"time"

	"banklink"
)

// Webhook verification follows Plaid's scheme: the Plaid-Verification
// header is a JWT signed with ES256 whose header names the key (kid) and
// whose claims carry iat and request_body_sha256. The key comes from
// /webhook_verification_key/get and is cached by kid; on an unknown kid the
// cached keys that had not expired are fetched again too, so a key Plaid
// expired since is noticed. A webhook is rejected when alg is not ES256,
// the key is unknown or expired, the signature does not verify, iat is
// more than five minutes away from now, or the body's SHA-256 differs.

// WebhookMaxAge is how old (by its iat) a webhook may be.
const WebhookMaxAge = 5 * time.Minute

// Webhooks naming a key id the provider has not cached make it fetch keys
// from Plaid at most KeyFetchBurst times at once and then once every
// KeyFetchEvery; beyond that they fail with EUNAVAILABLE (retryable), so
// forged webhooks cannot turn into a stream of calls to Plaid. Webhooks
// signed with a cached key are not limited.
const (
	KeyFetchEvery = time.Second
	KeyFetchBurst = 5
)

// Webhook is a verified Plaid webhook.
type Webhook struct {
	Type        string `json:"webhook_type"`
	Code        string `json:"webhook_code"`
	ItemID      string `json:"item_id"`
	Environment string `json:"environment"`
	// Error is the Item's error the webhook reports, nil for none. Plaid
	// sends a PlaidError object, except in TRANSACTIONS INITIAL_UPDATE,
	// whose error is the error code alone, a nullable string (Plaid's
	// spec); that becomes an APIError with only ErrorCode set.
	Error *APIError `json:"-"`
	// SESSION_FINISHED (LINK) fields.
	LinkToken     string   `json:"link_token"`
	LinkSessionID string   `json:"link_session_id"`
	PublicTokens  []string `json:"public_tokens"`
	Status        string   `json:"status"`
	// Raw is the whole body, for fields not listed here.
	Raw json.RawMessage `json:"-"`
}

type jwk struct {
	Alg       string `json:"alg"`
	Crv       string `json:"crv"`
	Kid       string `json:"kid"`
	Kty       string `json:"kty"`
	Use       string `json:"use"`
	X         string `json:"x"`
	Y         string `json:"y"`
	CreatedAt int64  `json:"created_at"`
	ExpiredAt *int64 `json:"expired_at"`
}

type verificationKey struct {
	jwk jwk
	pub *ecdsa.PublicKey
}

func unauthorized(msg string) error {
	return &banklink.Error{Code: banklink.EUNAUTHORIZED, Reason: "INVALID_PLAID_SIGNATURE", Message: "Plaid webhook rejected: " + msg}
}

// VerifyWebhook checks a webhook Plaid sent (its headers and raw body) and
// returns it decoded. A webhook that fails verification returns
// UNAUTHORIZED; a failure to reach Plaid for the key returns that error
// (the sender should retry).
func (p *Provider) VerifyWebhook(ctx context.Context, header http.Header, body []byte) (*Webhook, error) {
	token := strings.TrimSpace(header.Get("Plaid-Verification"))
	parts := strings.Split(token, ".")
	if token == "" || len(parts) != 3 {
		return nil, unauthorized("no Plaid-Verification JWT")
	}
	var hdr struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}
	if err := decodeSegment(parts[0], &hdr); err != nil {
		return nil, unauthorized("malformed JWT header")
	}
	if hdr.Alg != "ES256" {
		return nil, unauthorized("alg must be ES256")
	}
	if hdr.Kid == "" {
		return nil, unauthorized("no key id")
	}
	key, err := p.verificationKey(ctx, hdr.Kid)
	if err != nil {
		return nil, err
	}
	if key.jwk.ExpiredAt != nil {
		return nil, unauthorized("the signing key has expired")
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return nil, unauthorized("malformed signature")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(key.pub, digest[:], r, s) {
		return nil, unauthorized("bad signature")
	}
	var claims struct {
		Iat               *int64 `json:"iat"`
		RequestBodySHA256 string `json:"request_body_sha256"`
	}
	if err := decodeSegment(parts[1], &claims); err != nil || claims.Iat == nil {
		return nil, unauthorized("malformed claims")
	}
	age := p.cfg.Now().Sub(time.Unix(*claims.Iat, 0))
	if age > WebhookMaxAge || age < -WebhookMaxAge {
		return nil, unauthorized("too old (iat)")
	}
	sum := sha256.Sum256(body)
	if subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(strings.ToLower(claims.RequestBodySHA256))) != 1 {
		return nil, unauthorized("the body does not match its signature")
	}
	w := &Webhook{}
	if err := json.Unmarshal(body, w); err != nil {
		return nil, banklink.Errorf(banklink.EBADREQUEST, "The Plaid webhook body is not valid JSON.")
	}
	w.Raw = json.RawMessage(append([]byte(nil), body...))
	return w, nil
}

// UnmarshalJSON decodes a webhook body, its error in any of the shapes
// Plaid sends (see Error).
func (w *Webhook) UnmarshalJSON(b []byte) error {
	type fields Webhook
	aux := struct {
		*fields
		Error json.RawMessage `json:"error"`
	}{fields: (*fields)(w)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	w.Error = webhookError(aux.Error)
	return nil
}

// webhookError decodes a webhook's error: a PlaidError object, an error
// code string, or null. Any other shape (which Plaid does not send) is
// no error: the webhook is signed by Plaid and its other fields still
// say what happened.
func webhookError(raw json.RawMessage) *APIError {
	var code string
	if json.Unmarshal(raw, &code) == nil {
		if code == "" {
			return nil
		}
		return &APIError{ErrorCode: code}
	}
	var ae APIError
	if json.Unmarshal(raw, &ae) != nil || ae.ErrorCode == "" {
		return nil
	}
	return &ae
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// verificationKey returns the key kid, from the cache or from Plaid.
func (p *Provider) verificationKey(ctx context.Context, kid string) (*verificationKey, error) {
	p.mu.Lock()
	k, ok := p.keys[kid]
	var refresh []string
	if !ok {
		for id, c := range p.keys {
			if c.jwk.ExpiredAt == nil {
				refresh = append(refresh, id)
			}
		}
	}
	p.mu.Unlock()
	if ok {
		return k, nil
	}
	if !p.keyFetches.AllowN(p.cfg.Now(), 1) {
		return nil, &banklink.Error{Code: banklink.EUNAVAILABLE, Reason: "TOO_MANY_KEY_FETCHES", Retryable: true,
			Message: "Too many webhooks signed with keys banklink does not know yet; retry later."}
	}
	for _, id := range append(refresh, kid) {
		got, err := p.fetchKey(ctx, id)
		if err != nil {
			if id != kid {
				// Keeping an older key is fine; only the one asked for
				// matters now.
				continue
			}
			return nil, err
		}
		p.mu.Lock()
		p.keys[id] = got
		p.mu.Unlock()
		if id == kid {
			k = got
		}
	}
	return k, nil
}

func (p *Provider) fetchKey(ctx context.Context, kid string) (*verificationKey, error) {
	var resp struct {
		Key jwk `json:"key"`
	}
	err := p.call(ctx, "/webhook_verification_key/get", struct {
		KeyID string `json:"key_id"`
	}{kid}, &resp, maxResponse)
	if ae, ok := errors.AsType[*APIError](err); ok && (ae.ErrorType == "INVALID_INPUT" || ae.ErrorType == "INVALID_REQUEST") {
		return nil, unauthorized("unknown signing key")
	}
	if err != nil {
		return nil, mapError(err, phaseData)
	}
	k := resp.Key
	if k.Kty != "EC" || k.Crv != "P-256" || (k.Alg != "" && k.Alg != "ES256") {
		return nil, unauthorized("the signing key is not an ES256 key")
	}
	x, errX := base64.RawURLEncoding.DecodeString(k.X)
	y, errY := base64.RawURLEncoding.DecodeString(k.Y)
	if errX != nil || errY != nil || len(x) > 32 || len(y) > 32 {
		return nil, unauthorized("malformed signing key")
	}
	point := make([]byte, 65)
	point[0] = 4
	copy(point[1+32-len(x):33], x)
	copy(point[33+32-len(y):], y)
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		return nil, unauthorized("the signing key is not a P-256 point")
	}
	return &verificationKey{jwk: k, pub: pub}, nil
}
