package finicity

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"banklink"
)

// SignatureHeader carries a Connect webhook's signature: the hex
// HMAC-SHA256 of the body, keyed with the partner secret.
const SignatureHeader = "X-Finicity-Signature"

// WebhookReplayWindow is how long an event id is remembered, and the
// oldest event accepted. Finicity retries an undelivered Connect event 5
// times in 5 minutes, then once a day for 3 days: four days cover every
// retry.
const WebhookReplayWindow = 4 * 24 * time.Hour

// maxFutureSkew is how far ahead of banklink's clock an event's time may
// be (clocks differ).
const maxFutureSkew = time.Hour

// maxRemembered bounds the event ids held; past it the oldest are
// forgotten first (their events then fail the age check sooner or later).
const maxRemembered = 100_000

// Webhook is a Connect webhook's body.
type Webhook struct {
	CustomerID flexString      `json:"customerId"`
	EventType  string          `json:"eventType"`
	EventID    string          `json:"eventId"`
	Payload    json.RawMessage `json:"payload"`
}

// Sign returns the signature Finicity puts on body for secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// eventLog remembers the event ids received within the replay window.
type eventLog struct {
	mu    sync.Mutex
	seen  map[string]time.Time
	order []string
}

func newEventLog() *eventLog { return &eventLog{seen: map[string]time.Time{}} }

// first records id at now and reports whether it is new; ids older than
// window are forgotten.
func (l *eventLog) first(id string, now time.Time, window time.Duration) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.order) > 0 && (now.Sub(l.seen[l.order[0]]) > window || len(l.order) >= maxRemembered) {
		delete(l.seen, l.order[0])
		l.order = l.order[1:]
	}
	if _, ok := l.seen[id]; ok {
		return false
	}
	l.seen[id] = now
	l.order = append(l.order, id)
	return true
}

// eventTime is when Finicity made the event: an event id starts with its
// time in Unix milliseconds ("1495468585434-0e73d1719173766fe4dfe1a8").
func eventTime(id string) (time.Time, bool) {
	ms, _, _ := strings.Cut(id, "-")
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, false
	}
	return time.UnixMilli(n), true
}

func unauthorized(msg string) error {
	return &banklink.Error{Code: banklink.EUNAUTHORIZED, Reason: "INVALID_FINICITY_WEBHOOK", Message: msg}
}

// VerifyWebhook checks a Connect webhook and decodes it:
//
//   - the X-Finicity-Signature header must be the hex HMAC-SHA256 of the
//     body keyed with the partner secret (the deployment's);
//   - replays are refused. Finicity advises storing each eventId and
//     ignoring one already processed; an event id also starts with the
//     event's time. An event older than WebhookReplayWindow (or more
//     than an hour ahead) is UNAUTHORIZED, as the id could no longer be
//     recognised; a second delivery of an id within the window is
//     acknowledged and ignored (Webhook nil, no error), so that a
//     replayed body cannot act twice and Finicity does not retry it.
//
// A body that is not a Connect event is BAD_REQUEST.
func (p *Provider) VerifyWebhook(header http.Header, body []byte) (*Webhook, error) {
	got := strings.ToLower(strings.TrimSpace(header.Get(SignatureHeader)))
	if got == "" {
		return nil, unauthorized("The webhook has no " + SignatureHeader + " header.")
	}
	if p.cfg.PartnerSecret == "" {
		return nil, unauthorized("No Finicity partner secret is configured to verify webhooks with.")
	}
	if !hmac.Equal([]byte(got), []byte(Sign(p.cfg.PartnerSecret, body))) {
		return nil, unauthorized("The webhook's signature does not match.")
	}
	var w Webhook
	if err := json.Unmarshal(body, &w); err != nil || w.EventType == "" || w.EventID == "" {
		return nil, banklink.Errorf(banklink.EBADREQUEST, "The webhook is not a Finicity Connect event (customerId, eventType, eventId, payload).")
	}
	now := p.cfg.Now()
	at, ok := eventTime(w.EventID)
	if !ok {
		return nil, banklink.Errorf(banklink.EBADREQUEST, "The webhook's eventId does not start with its time.")
	}
	if now.Sub(at) > p.cfg.WebhookReplayWindow || at.Sub(now) > maxFutureSkew {
		return nil, unauthorized("The webhook's event is outside the accepted time window.")
	}
	if !p.seen.first(w.EventID, now, p.cfg.WebhookReplayWindow) {
		return nil, nil
	}
	return &w, nil
}

// webhookAccount is an account of an "added" event's payload.
type webhookAccount struct {
	ID                 flexString `json:"id"`
	InstitutionLoginID flexString `json:"institutionLoginId"`
}

// Events maps the webhook to banklink's events:
//
//   - added (Connect saved the accounts the customer chose): new data for
//     their institution logins, ProviderDataChanged;
//   - credentialsUpdated (the customer fixed the login's credentials in
//     Connect): ProviderLoginRepaired;
//   - invalidCredentials: ProviderLoginFailed with
//     LoginInvalidCredentials;
//
// each for the payload's institutionLoginId (or its accounts'). Every
// other event (started, adding, discovered, done, ping, accountsDeleted
// …), and one naming no institution login, is ignored: the widget reads a
// login's outcome itself, and account deletions follow banklink's own.
func (w *Webhook) Events() []banklink.ProviderEvent {
	var payload struct {
		InstitutionLoginID flexString      `json:"institutionLoginId"`
		Accounts           json.RawMessage `json:"accounts"`
	}
	json.Unmarshal(w.Payload, &payload)
	var logins []string
	if l := string(payload.InstitutionLoginID); l != "" {
		logins = append(logins, l)
	}
	var accts []webhookAccount
	if json.Unmarshal(payload.Accounts, &accts) == nil {
		for _, a := range accts {
			if l := string(a.InstitutionLoginID); l != "" && !slices.Contains(logins, l) {
				logins = append(logins, l)
			}
		}
	}
	kind := banklink.ProviderEventIgnored
	var err error
	switch w.EventType {
	case "added":
		kind = banklink.ProviderDataChanged
	case "credentialsUpdated":
		kind = banklink.ProviderLoginRepaired
	case "invalidCredentials":
		kind, err = banklink.ProviderLoginFailed, providerErr(banklink.LoginInvalidCredentials, false, msgLoginAgain)
	}
	customer := string(w.CustomerID)
	if kind == banklink.ProviderEventIgnored || customer == "" || len(logins) == 0 {
		return []banklink.ProviderEvent{{Kind: banklink.ProviderEventIgnored, ProviderType: ProviderType, Name: w.EventType}}
	}
	var out []banklink.ProviderEvent
	for _, l := range logins {
		out = append(out, banklink.ProviderEvent{Kind: kind, ProviderType: ProviderType, LoginID: loginID(customer, l), Name: w.EventType, Err: err})
	}
	return out
}

// ReceiveWebhook implements banklink.WebhookReceiver: VerifyWebhook, then
// the webhook's Events (none for a replay).
func (p *Provider) ReceiveWebhook(ctx context.Context, header http.Header, body []byte) ([]banklink.ProviderEvent, error) {
	w, err := p.VerifyWebhook(header, body)
	if err != nil || w == nil {
		return nil, err
	}
	return w.Events(), nil
}
