package fakeplaid

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"
)

// signingKey is an ES256 webhook signing key.
type signingKey struct {
	kid       string
	priv      *ecdsa.PrivateKey
	createdAt time.Time
	expiredAt *time.Time
}

func newSigningKey(kid string) *signingKey {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return &signingKey{kid: kid, priv: priv, createdAt: time.Now()}
}

// Delivery is a webhook the fake sent.
type Delivery struct {
	URL    string
	Header http.Header
	Body   []byte
	// Status is the receiver's answer, 0 when it could not be reached.
	Status int
}

type outgoing struct {
	url  string
	body []byte
}

// Deliveries returns the webhooks sent so far.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// queueWebhook records a webhook to send once the lock is released.
func (s *Server) queueWebhook(url string, body map[string]any) {
	// Plaid sends pretty-printed JSON; the signature covers the exact
	// bytes.
	b, _ := json.MarshalIndent(body, "", "  ")
	s.contract.CheckWebhook(b)
	s.outbox = append(s.outbox, outgoing{url, b})
}

// flushWebhooks sends the queued webhooks, signed with the current key.
func (s *Server) flushWebhooks() {
	s.mu.Lock()
	out := s.outbox
	s.outbox = nil
	type signed struct {
		outgoing
		jwt string
	}
	var list []signed
	for _, o := range out {
		list = append(list, signed{o, s.sign(o.body, s.Now(), s.current())})
	}
	s.mu.Unlock()
	for _, o := range list {
		d := Delivery{URL: o.url, Header: http.Header{}, Body: o.body}
		d.Header.Set("Content-Type", "application/json")
		d.Header.Set("Plaid-Verification", o.jwt)
		req, err := http.NewRequest(http.MethodPost, o.url, bytes.NewReader(o.body))
		if err == nil {
			req.Header = d.Header.Clone()
			client := &http.Client{Timeout: 10 * time.Second}
			if resp, err := client.Do(req); err == nil {
				d.Status = resp.StatusCode
				resp.Body.Close()
			}
		}
		s.mu.Lock()
		s.deliveries = append(s.deliveries, d)
		s.mu.Unlock()
	}
}

func (s *Server) current() *signingKey { return s.keys[len(s.keys)-1] }

// sign returns the Plaid-Verification JWT for body: ES256 over
// {"iat","request_body_sha256"} with the key's id in the header.
func (s *Server) sign(body []byte, iat time.Time, k *signingKey) string {
	return SignJWT(k.priv, map[string]any{"alg": "ES256", "kid": k.kid, "typ": "JWT"}, body, iat)
}

// SignJWT builds a Plaid-Verification-style JWT with any header and key,
// for tests that need a forged or odd one. Signing uses ES256 whatever
// the header claims.
func SignJWT(priv *ecdsa.PrivateKey, header map[string]any, body []byte, iat time.Time) string {
	sum := sha256.Sum256(body)
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(map[string]any{"iat": iat.Unix(), "request_body_sha256": hex.EncodeToString(sum[:])})
	signingInput := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	digest := sha256.Sum256([]byte(signingInput))
	r, sv, err := ecdsa.Sign(rand.Reader, priv, digest[:])
	if err != nil {
		panic(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	sv.FillBytes(sig[32:])
	return signingInput + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// SignWebhook returns the Plaid-Verification header the fake would send
// with body at iat, signed with its current key.
func (s *Server) SignWebhook(body []byte, iat time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sign(body, iat, s.current())
}

// WebhookKeyID returns the id of the current signing key.
func (s *Server) WebhookKeyID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current().kid
}

// RotateWebhookKey expires the current signing key (as of now) and signs
// with a new one from then on.
func (s *Server) RotateWebhookKey() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.Now()
	s.current().expiredAt = &now
	s.keys = append(s.keys, newSigningKey(s.id("key")))
}

// FireWebhook sends an Item webhook (as /sandbox/item/fire_webhook does)
// to the Item's webhook URL, or to url when given, signed, and waits for
// the receiver's answer (see Deliveries).
func (s *Server) FireWebhook(itemID, webhookType, code, url string) {
	s.mu.Lock()
	if it := s.items[itemID]; it != nil {
		if url == "" {
			url = it.Webhook
		}
		if url != "" {
			s.queueWebhook(url, s.itemWebhook(it, webhookType, code))
		}
	}
	s.mu.Unlock()
	s.flushWebhooks()
}

// itemWebhook is the body Plaid sends for an Item webhook, with the
// fields Plaid's spec gives each code (counts as the fake knows them).
func (s *Server) itemWebhook(it *Item, webhookType, code string) map[string]any {
	body := map[string]any{"webhook_type": webhookType, "webhook_code": code, "item_id": it.ID, "environment": "sandbox"}
	// The Item's error, as a PlaidError object (or null).
	var itemErr any
	if it.Error != "" {
		def := catalog[it.Error]
		itemErr = map[string]any{"error_type": def.typ, "error_code": it.Error, "error_code_reason": nil, "error_message": def.message,
			"display_message": nullable(def.display), "request_id": s.id("req"), "causes": []any{}, "status": def.status,
			"documentation_url": "https://plaid.com/docs/errors/", "suggested_action": nil}
	}
	var accountIDs []string
	for _, a := range it.Accounts {
		accountIDs = append(accountIDs, a.ID)
	}
	switch webhookType + " " + code {
	case "TRANSACTIONS SYNC_UPDATES_AVAILABLE":
		body["initial_update_complete"] = it.NotReadySyncs == 0
		body["historical_update_complete"] = it.NotReadySyncs == 0 && it.InitialOnlySyncs == 0
	case "TRANSACTIONS INITIAL_UPDATE":
		// Unlike the other codes, INITIAL_UPDATE's error is the error
		// code alone: a nullable string.
		body["new_transactions"] = len(it.Transactions)
		body["error"] = nullable(it.Error)
	case "TRANSACTIONS DEFAULT_UPDATE", "TRANSACTIONS HISTORICAL_UPDATE":
		body["new_transactions"] = len(it.Transactions)
		body["error"] = itemErr
	case "TRANSACTIONS TRANSACTIONS_REMOVED":
		body["removed_transactions"] = []string{}
		body["error"] = itemErr
	case "HOLDINGS DEFAULT_UPDATE":
		body["new_holdings"], body["updated_holdings"], body["error"] = 0, len(it.Holdings), itemErr
	case "INVESTMENTS_TRANSACTIONS DEFAULT_UPDATE":
		body["new_investments_transactions"], body["cancelled_investments_transactions"], body["error"] = len(it.InvestmentTransactions), 0, itemErr
	case "AUTH DEFAULT_UPDATE":
		updated := map[string][]string{}
		for _, a := range it.Accounts {
			if a.ACH != nil || a.EFT != nil {
				updated[a.ID] = []string{"ACCOUNT_NUMBER"}
			}
		}
		body["account_ids_with_new_auth"], body["account_ids_with_updated_auth"], body["error"] = []string{}, updated, itemErr
	case "IDENTITY DEFAULT_UPDATE":
		updated := map[string][]string{}
		for _, id := range accountIDs {
			updated[id] = []string{"ADDRESS"}
		}
		body["account_ids_with_updated_identity"], body["error"] = updated, itemErr
	case "ITEM ERROR", "ITEM USER_PERMISSION_REVOKED", "ITEM NEW_ACCOUNTS_AVAILABLE":
		body["error"] = itemErr
	case "ITEM PENDING_EXPIRATION":
		body["consent_expiration_time"] = s.Now().Add(7 * 24 * time.Hour).UTC().Format(time.RFC3339)
	case "ITEM PENDING_DISCONNECT":
		body["reason"] = "INSTITUTION_TOKEN_EXPIRATION"
		body["disconnect_time"] = s.Now().Add(7 * 24 * time.Hour).UTC().Format(time.RFC3339)
	case "ITEM WEBHOOK_UPDATE_ACKNOWLEDGED":
		body["new_webhook_url"] = it.Webhook
		body["error"] = itemErr
	case "ITEM USER_ACCOUNT_REVOKED":
		if len(accountIDs) > 0 {
			body["account_id"] = accountIDs[0]
		}
	}
	return body
}

func (s *Server) fireWebhookEndpoint(r *http.Request, body []byte) (any, error) {
	var req struct {
		auth
		AccessToken string `json:"access_token"`
		WebhookType string `json:"webhook_type"`
		WebhookCode string `json:"webhook_code"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := required("webhook_code", req.WebhookCode); err != nil {
		return nil, err
	}
	it := s.byToken[req.AccessToken]
	if it == nil || it.removed {
		return nil, fail("INVALID_ACCESS_TOKEN", "")
	}
	if it.Webhook == "" {
		return nil, fail("INVALID_FIELD", "the Item has no webhook")
	}
	typ := req.WebhookType
	if typ == "" {
		typ = "TRANSACTIONS"
	}
	s.queueWebhook(it.Webhook, s.itemWebhook(it, typ, req.WebhookCode))
	return map[string]any{"webhook_fired": true}, nil
}

func (s *Server) verificationKeyGet(r *http.Request, body []byte) (any, error) {
	var req struct {
		auth
		KeyID string `json:"key_id"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := required("key_id", req.KeyID); err != nil {
		return nil, err
	}
	for _, k := range s.keys {
		if k.kid != req.KeyID {
			continue
		}
		point, err := k.priv.PublicKey.Bytes()
		if err != nil {
			return nil, err
		}
		x, y := point[1:33], point[33:65]
		var expired any
		if k.expiredAt != nil {
			expired = k.expiredAt.Unix()
		}
		return map[string]any{"key": map[string]any{"alg": "ES256", "crv": "P-256", "kid": k.kid, "kty": "EC", "use": "sig",
			"x": base64.RawURLEncoding.EncodeToString(x), "y": base64.RawURLEncoding.EncodeToString(y),
			"created_at": k.createdAt.Unix(), "expired_at": expired}}, nil
	}
	return nil, fail("INVALID_WEBHOOK_VERIFICATION_KEY_ID", "")
}
