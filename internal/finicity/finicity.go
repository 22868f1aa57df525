// Package finicity is banklink's Finicity provider (Mastercard Open
// Finance US, formerly Open Banking): logins through Finicity's Data
// Connect Lite (or Fix, to repair one), aggregation through its
// aggregation API, its institution directory, Connect webhooks and the
// deletion of an institution login.
//
// Every request carries the Finicity-App-Key header and, except the
// partner authentication itself, a Finicity-App-Token obtained from POST
// /aggregation/v2/partners/authentication with the partner id and secret.
// The token is valid two hours; the spec asks clients to use one token
// for every call and to get a new one when it is older than 90 minutes,
// which is what the provider does (and once more when an answer says the
// token expired, 401). Requests are bounded by a timeout and a cap on the
// answer's size. The API follows the official spec
// (github.com/Mastercard/open-banking-us-openapi, openbanking-us.yaml,
// version 1.42.0); where it is silent, comments say what was chosen.
//
// Finicity keeps data per customer: banklink enrols one Finicity customer
// per banklink customer (CreateUser, a banklink.UserProvisioner), a
// testing customer under testing credentials (FinBank only) and an active
// (billable) one otherwise. A customer's logins at institutions are its
// institution logins; a banklink login id is
// "<customerId>/<institutionLoginId>" because every account endpoint
// lives under /customers/{customerId}.
package finicity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"banklink"
)

// ProviderType is the provider type name ("FINICITY" on the wire).
const ProviderType = "finicity"

// BaseURL is Finicity's API host (the spec's only server: Finicity has no
// separate test host; testing customers reach the FinBank institutions).
const BaseURL = "https://api.finicity.com"

// ConnectOrigin is where Finicity serves Data Connect (the spec's example
// links are on connect2.finicity.com).
const ConnectOrigin = "https://connect2.finicity.com"

// Credential keys of an account's provider configuration for Finicity
// (banklink.ProviderConfig.Credentials); missing keys fall back to the
// deployment's Config.
const (
	CredentialPartnerID     = "partnerId"
	CredentialPartnerSecret = "partnerSecret"
	CredentialAppKey        = "appKey"
)

// Defaults.
const (
	DefaultTimeout = 30 * time.Second
	// TokenLifetime is how long banklink uses a token: the spec says a
	// token is valid two hours and to get a new one after 90 minutes.
	TokenLifetime = 90 * time.Minute
	// DefaultMinRefreshInterval is the least time between two refreshes
	// of an institution login banklink asks Finicity for. Finicity's
	// spec gives no number: it aggregates active accounts once a day
	// itself, says refreshes must not be automated and that "calling
	// Refresh repeatedly is usually a waste of resources"; an hour is
	// this deployment's choice (Config.MinRefreshInterval overrides it).
	DefaultMinRefreshInterval = time.Hour
	// pageSize is the most transactions GET …/transactions returns on a
	// page ("a maximum of 1000 transactions per request");
	// institutionsPageSize the most institutions a page of GET
	// /institution/v2/institutions holds (the schema's maxItems).
	pageSize             = 1000
	institutionsPageSize = 1000
	maxResponse          = 32 << 20
)

// Config configures the Finicity provider.
type Config struct {
	// PartnerID, PartnerSecret and AppKey are the deployment's Finicity
	// credentials, used when an account has not configured its own.
	PartnerID, PartnerSecret, AppKey string
	// Testing enrols testing customers (POST
	// /aggregation/v2/customers/testing: FinBank profiles only, free)
	// instead of active, billable ones.
	Testing bool
	// BaseURL is Finicity's API host (BaseURL when empty).
	BaseURL string
	// WebhookURL, when set, is given to every Connect session: Finicity
	// sends its Connect events there (banklink's
	// /providers/finicity/webhooks).
	WebhookURL string
	// Embed shows Data Connect inside the widget (an iframe) instead of
	// sending the customer to it and back (redirectUri): see StartLogin.
	Embed bool
	// ConnectOrigin is the origin Data Connect is served from, when
	// neither Finicity's (for BaseURL) nor BaseURL's own origin is right.
	ConnectOrigin string
	// Experience is the Connect experience id (branding) to open, ""
	// for the partner's default.
	Experience string
	// HTTPClient sends the requests; nil means a client with Timeout.
	HTTPClient *http.Client
	// Timeout bounds one request (DefaultTimeout when zero).
	Timeout time.Duration
	// MinRefreshInterval is the least time between two refreshes of an
	// institution login (DefaultMinRefreshInterval when zero).
	MinRefreshInterval time.Duration
	// WebhookReplayWindow is how long a Connect event id is remembered,
	// and how old an event may be (WebhookReplayWindow when zero).
	WebhookReplayWindow time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Provider is the Finicity provider. It implements
// banklink.InteractiveLogin, Aggregator, UserProvisioner, LoginRemover,
// RefreshLimiter, FrameSource, CredentialKeyer and WebhookReceiver, and
// is safe for concurrent use.
type Provider struct {
	cfg  Config
	base string
	http *http.Client

	mu        sync.Mutex
	tokens    map[string]token  // partner id + "\x00" + app key → token
	customers map[string]string // partner id + "\x00" + username → customer id
	seen      *eventLog
}

type token struct {
	value string
	at    time.Time
}

var (
	_ banklink.InteractiveLogin = (*Provider)(nil)
	_ banklink.Aggregator       = (*Provider)(nil)
	_ banklink.UserProvisioner  = (*Provider)(nil)
	_ banklink.LoginRemover     = (*Provider)(nil)
	_ banklink.RefreshLimiter   = (*Provider)(nil)
	_ banklink.FrameSource      = (*Provider)(nil)
	_ banklink.CredentialKeyer  = (*Provider)(nil)
	_ banklink.WebhookReceiver  = (*Provider)(nil)
)

// New returns a Finicity provider.
func New(cfg Config) *Provider {
	if cfg.BaseURL == "" {
		cfg.BaseURL = BaseURL
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MinRefreshInterval <= 0 {
		cfg.MinRefreshInterval = DefaultMinRefreshInterval
	}
	if cfg.WebhookReplayWindow <= 0 {
		cfg.WebhookReplayWindow = WebhookReplayWindow
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: cfg.Timeout}
	}
	return &Provider{cfg: cfg, base: strings.TrimSuffix(cfg.BaseURL, "/"), http: hc,
		tokens: map[string]token{}, customers: map[string]string{}, seen: newEventLog()}
}

// Type implements banklink.Provider.
func (p *Provider) Type() string { return ProviderType }

// CredentialKeys implements banklink.CredentialKeyer.
func (p *Provider) CredentialKeys() []string {
	return []string{CredentialPartnerID, CredentialPartnerSecret, CredentialAppKey}
}

// keys are the credentials of one request.
type keys struct{ partnerID, secret, appKey string }

func (k keys) ok() bool { return k.partnerID != "" && k.secret != "" && k.appKey != "" }

func (k keys) cacheKey() string { return k.partnerID + "\x00" + k.appKey }

// keysFor returns an account's credentials, falling back to the
// deployment's for any key the account did not set.
func (p *Provider) keysFor(creds map[string]string) keys {
	k := keys{p.cfg.PartnerID, p.cfg.PartnerSecret, p.cfg.AppKey}
	if v := strings.TrimSpace(creds[CredentialPartnerID]); v != "" {
		k.partnerID = v
	}
	if v := strings.TrimSpace(creds[CredentialPartnerSecret]); v != "" {
		k.secret = v
	}
	if v := strings.TrimSpace(creds[CredentialAppKey]); v != "" {
		k.appKey = v
	}
	return k
}

// APIError is a non-2xx answer of Finicity's API.
type APIError struct {
	Status int
	// Code is Finicity's error code ("10023"), a string or a number in
	// the body; Message its message.
	Code, Message string
	// RetryAfter is the Retry-After header of a 429, if any.
	RetryAfter string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("finicity: HTTP %d", e.Status)
	if e.Code != "" {
		s += " code " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// errorBody is the spec's ErrorMessage: code (a number or a string),
// message.
type errorBody struct {
	Code    json.RawMessage `json:"code"`
	Message string          `json:"message"`
}

func (b errorBody) code() string {
	var s string
	if json.Unmarshal(b.Code, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(b.Code, &n) == nil {
		return n.String()
	}
	return ""
}

// accessToken returns a token for k: the one held while younger than
// TokenLifetime, else a new one.
func (p *Provider) accessToken(ctx context.Context, k keys, renew bool) (string, error) {
	now := p.cfg.Now()
	p.mu.Lock()
	t, ok := p.tokens[k.cacheKey()]
	p.mu.Unlock()
	if ok && !renew && now.Sub(t.at) < TokenLifetime {
		return t.value, nil
	}
	var resp struct {
		Token string `json:"token"`
	}
	body := map[string]string{"partnerId": k.partnerID, "partnerSecret": k.secret}
	if _, err := p.send(ctx, k, "", http.MethodPost, "/aggregation/v2/partners/authentication", nil, body, &resp); err != nil {
		return "", err
	}
	if resp.Token == "" {
		return "", errors.New("finicity: the partner authentication answered without a token")
	}
	p.mu.Lock()
	p.tokens[k.cacheKey()] = token{value: resp.Token, at: now}
	p.mu.Unlock()
	return resp.Token, nil
}

// call sends one authenticated request (see send). A 401 on a held token
// gets a new token and one more try.
func (p *Provider) call(ctx context.Context, k keys, method, path string, query url.Values, body, out any) (int, error) {
	if !k.ok() {
		return 0, &banklink.Error{Code: banklink.EPROVIDER, Reason: "FINICITY_NOT_CONFIGURED", Message: msgNotConfigured}
	}
	tok, err := p.accessToken(ctx, k, false)
	if err != nil {
		return 0, err
	}
	status, err := p.send(ctx, k, tok, method, path, query, body, out)
	if ae, ok := errors.AsType[*APIError](err); ok && ae.Status == http.StatusUnauthorized {
		if tok, err = p.accessToken(ctx, k, true); err != nil {
			return 0, err
		}
		status, err = p.send(ctx, k, tok, method, path, query, body, out)
	}
	return status, err
}

// send sends one request with the app key and, when not empty, the token.
// body, when not nil, is sent as JSON; out, when not nil, receives the
// decoded 2xx answer. It returns the HTTP status of a 2xx answer,
// *APIError for any other, and transport errors as they are.
func (p *Provider) send(ctx context.Context, k keys, tok, method, path string, query url.Values, body, out any) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	u := p.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Finicity-App-Key", k.appKey)
	if tok != "" {
		req.Header.Set("Finicity-App-Token", tok)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return 0, err
	}
	if len(b) > maxResponse {
		return 0, fmt.Errorf("finicity: %s %s: response larger than %d bytes", method, path, maxResponse)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		ae := &APIError{Status: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After")}
		var eb errorBody
		if json.Unmarshal(b, &eb) == nil {
			ae.Code, ae.Message = eb.code(), eb.Message
		} else {
			// The spec's 401s may be text/plain ("Invalid
			// (Finicity-App-Key)").
			ae.Message = strings.TrimSpace(string(b))
		}
		return resp.StatusCode, ae
	}
	if out != nil && resp.StatusCode != http.StatusNoContent && len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("finicity: %s %s: decoding the answer: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// loginID joins the customer and institution login of a banklink login.
func loginID(customerID, institutionLoginID string) string {
	return customerID + "/" + institutionLoginID
}

// parseLoginID splits a banklink login id.
func parseLoginID(id string) (customerID, institutionLoginID string, err error) {
	c, l, ok := strings.Cut(id, "/")
	if !ok || c == "" || l == "" || strings.Contains(l, "/") {
		return "", "", &banklink.Error{Code: banklink.EINTERNAL, Message: "Malformed Finicity login id.", Err: errors.New("finicity: login id " + strconv.Quote(id))}
	}
	return c, l, nil
}

func customerPath(customerID string) string {
	return "/aggregation/v1/customers/" + url.PathEscape(customerID)
}

// unixTime reads Finicity's epoch-second dates; the zero time for none.
func unixTime(s *int64) time.Time {
	if s == nil || *s <= 0 {
		return time.Time{}
	}
	return time.Unix(*s, 0).UTC()
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
