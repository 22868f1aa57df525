// Package plaid is banklink's Plaid provider: logins through Plaid's Hosted
// Link, aggregation through Plaid's product endpoints, Plaid's institution
// directory, Item removal and webhook verification.
//
// Every request is a JSON POST carrying client_id and secret in its body,
// as Plaid requires, with the Plaid-Version header, a per-request timeout
// and a cap on the response size.
//
// Plaid access tokens never leave the server: they are kept in banklink's
// SecretStore under "plaid-access-token:<item_id>", sealed first when a
// Sealer is configured.
package plaid

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"banklink"

	"golang.org/x/time/rate"
)

// ProviderType is the provider type name ("PLAID" on the wire).
const ProviderType = "plaid"

// APIVersion is the Plaid API version every request asks for.
const APIVersion = "2020-09-14"

// Plaid's API hosts.
const (
	SandboxURL    = "https://sandbox.plaid.com"
	ProductionURL = "https://production.plaid.com"
)

// Defaults.
const (
	// DefaultTimeout bounds a request to an endpoint without a timeout of
	// its own (EndpointTimeouts).
	DefaultTimeout      = 30 * time.Second
	DefaultLinkLifetime = 3 * time.Hour
	DefaultSyncWait     = 45 * time.Second
	// DefaultMaxBalanceAge is the oldest balance accepted where an
	// institution has no real-time one (see getAccounts): a day, as
	// often as Capital One updates its cards' and loans' balances.
	DefaultMaxBalanceAge = 24 * time.Hour
	DefaultSyncPoll      = 2 * time.Second
	// maxResponse caps a response body; institution pages (with logos)
	// get more room.
	maxResponse             = 8 << 20
	maxInstitutionsResponse = 32 << 20
)

// EndpointTimeouts are the timeouts of the endpoints Plaid documents as
// slower than the others; any other endpoint gets Config.Timeout (and a
// longer Config.Timeout wins here too). A whole aggregation is bounded
// anyway by the aggregation runner's two minutes.
var EndpointTimeouts = map[string]time.Duration{
	// "As this endpoint triggers a synchronous request for fresh data,
	// latency may be higher than for other Plaid endpoints (typically
	// less than 10 seconds, but occasionally up to 30 seconds or more)."
	"/accounts/balance/get": 90 * time.Second,
	// "Calling /investments/transactions/get immediately after Link may
	// take up to one to two minutes to return": Plaid waits for the
	// Item's first investments extraction.
	"/investments/transactions/get": 150 * time.Second,
}

// Sealer encrypts small secrets at rest. banklink.Sealer implementations
// (a key ring) satisfy it; the associated data binds a sealed value to the
// Item it belongs to.
type Sealer interface {
	Seal(plaintext, associatedData []byte) (keyID string, sealed []byte, err error)
	Open(keyID string, sealed, associatedData []byte) ([]byte, error)
}

// Config configures the Plaid provider.
type Config struct {
	// ClientID and Secret are the Plaid API keys of the environment.
	ClientID, Secret string
	// Environment is "sandbox" or "production"; it picks the API host.
	Environment string
	// BaseURL, when set, replaces the environment's host (a proxy, or a
	// local server speaking Plaid's API).
	BaseURL string
	// HTTPClient sends the requests; nil means a client without a
	// timeout of its own: each request is bounded by its endpoint's (a
	// Timeout set on an HTTPClient given here applies to every request
	// on top of that).
	HTTPClient *http.Client
	// Timeout bounds one request to an endpoint without a timeout of its
	// own (DefaultTimeout when zero); EndpointTimeouts gives the slower
	// ones more, and Timeouts overrides both per path.
	Timeout time.Duration
	// Timeouts, by path ("/accounts/balance/get"), replace the timeout
	// of those endpoints.
	Timeouts map[string]time.Duration
	// WebhookURL, when set, is where Plaid sends webhooks for the Link
	// sessions and Items this provider creates.
	WebhookURL string
	// RedirectURI, when set, is passed as Link's redirect_uri. It must be
	// registered in Plaid's dashboard. Hosted Link handles OAuth
	// institutions itself, so it is optional.
	RedirectURI string
	// ClientName is the application name Link shows (at most 30
	// characters); "banklink" when empty.
	ClientName string
	// Language is Link's language; "en" when empty.
	Language string
	// CountryCodes are the countries Link and the institution directory
	// cover when an institution names none; US and CA when empty.
	CountryCodes []string
	// BalanceProduct is the product Link is initialised with when a
	// connection asks only for BALANCES (Link needs at least one product
	// and Balance cannot be one); "transactions" when empty, which keeps
	// credit and loan accounts linkable ("auth" would limit Link to
	// checking and savings accounts).
	BalanceProduct string
	// Secrets keeps Link sessions and access tokens. Required.
	Secrets banklink.SecretStore
	// Sealer, when set, encrypts access tokens before they are stored.
	Sealer Sealer
	// LinkLifetime is how long a Hosted Link URL stays valid
	// (DefaultLinkLifetime when zero: as long as a connect token).
	LinkLifetime time.Duration
	// SyncWait bounds how long one aggregation waits for Plaid to finish
	// pulling an Item's transactions (DefaultSyncWait when zero), polling
	// every SyncPoll (DefaultSyncPoll when zero).
	SyncWait, SyncPoll time.Duration
	// MaxBalanceAge is the oldest balance /accounts/balance/get may
	// return for accounts without a real-time balance (Capital One's
	// cards and loans): options.min_last_updated_datetime
	// (DefaultMaxBalanceAge when zero).
	MaxBalanceAge time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Provider is the Plaid provider. It implements banklink.InteractiveLogin
// and banklink.Aggregator and is safe for concurrent use.
type Provider struct {
	cfg     Config
	base    string
	http    *http.Client
	timeout time.Duration

	mu sync.Mutex
	// links caches Link sessions by session key so that rendering the
	// widget again does not create another Link token.
	links map[string]linkSession
	// keys caches webhook verification keys by key id.
	keys map[string]*verificationKey
	// keyFetches bounds how often a key id not in keys makes the
	// provider ask Plaid for keys: anyone can send a webhook naming a
	// made-up key.
	keyFetches *rate.Limiter
}

var (
	_ banklink.InteractiveLogin   = (*Provider)(nil)
	_ banklink.Aggregator         = (*Provider)(nil)
	_ banklink.StatefulAggregator = (*Provider)(nil)
	_ banklink.CredentialKeyer    = (*Provider)(nil)
)

// New returns a Provider for cfg.
func New(cfg Config) (*Provider, error) {
	if strings.TrimSpace(cfg.ClientID) == "" {
		return nil, banklink.FieldErrorf("ClientID", "is required")
	}
	if strings.TrimSpace(cfg.Secret) == "" {
		return nil, banklink.FieldErrorf("Secret", "is required")
	}
	if cfg.Secrets == nil {
		return nil, banklink.FieldErrorf("Secrets", "is required: access tokens must be stored")
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	switch {
	case base != "":
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, banklink.FieldErrorf("BaseURL", "must be an http(s) URL")
		}
	case cfg.Environment == "sandbox":
		base = SandboxURL
	case cfg.Environment == "production":
		base = ProductionURL
	default:
		return nil, banklink.FieldErrorf("Environment", "must be sandbox or production, not %q", cfg.Environment)
	}
	p := &Provider{cfg: cfg, base: base, http: cfg.HTTPClient, timeout: cfg.Timeout,
		links: map[string]linkSession{}, keys: map[string]*verificationKey{}, keyFetches: rate.NewLimiter(rate.Every(KeyFetchEvery), KeyFetchBurst)}
	if p.timeout <= 0 {
		p.timeout = DefaultTimeout
	}
	if p.http == nil {
		// No client-wide timeout: it would cut the endpoints Plaid
		// documents as slower short (call bounds each request).
		p.http = &http.Client{}
	}
	if p.cfg.ClientName == "" {
		p.cfg.ClientName = "banklink"
	}
	if p.cfg.Language == "" {
		p.cfg.Language = "en"
	}
	if len(p.cfg.CountryCodes) == 0 {
		p.cfg.CountryCodes = []string{"US", "CA"}
	}
	if p.cfg.BalanceProduct == "" {
		p.cfg.BalanceProduct = "transactions"
	}
	if p.cfg.LinkLifetime <= 0 {
		p.cfg.LinkLifetime = DefaultLinkLifetime
	}
	if p.cfg.SyncWait <= 0 {
		p.cfg.SyncWait = DefaultSyncWait
	}
	if p.cfg.SyncPoll <= 0 {
		p.cfg.SyncPoll = DefaultSyncPoll
	}
	if p.cfg.MaxBalanceAge <= 0 {
		p.cfg.MaxBalanceAge = DefaultMaxBalanceAge
	}
	if p.cfg.Now == nil {
		p.cfg.Now = time.Now
	}
	return p, nil
}

// Type implements banklink.Provider.
func (p *Provider) Type() string { return ProviderType }

// APIError is Plaid's error object, returned with any non-200 answer.
type APIError struct {
	ErrorType      string  `json:"error_type"`
	ErrorCode      string  `json:"error_code"`
	ErrorMessage   string  `json:"error_message"`
	DisplayMessage *string `json:"display_message"`
	RequestID      string  `json:"request_id"`
	// HTTPStatus is the status of the answer that carried the error.
	HTTPStatus int `json:"-"`
	// Path is the endpoint that answered it.
	Path string `json:"-"`
}

func (e *APIError) Error() string {
	return fmt.Sprintf("plaid: %s %s (HTTP %d, request %s): %s", e.ErrorType, e.ErrorCode, e.HTTPStatus, e.RequestID, e.ErrorMessage)
}

// display returns Plaid's message for the end user, or def when Plaid has
// none.
func (e *APIError) display(def string) string {
	if e.DisplayMessage != nil && strings.TrimSpace(*e.DisplayMessage) != "" {
		return *e.DisplayMessage
	}
	return def
}

// codeOf returns the Plaid error code of err, "" if it is not a Plaid
// error.
func codeOf(err error) string {
	if ae, ok := errors.AsType[*APIError](err); ok {
		return ae.ErrorCode
	}
	return ""
}

// call POSTs req to path and decodes the answer into resp. A Plaid error
// comes back as *APIError for the caller to map; transport failures come
// back as banklink errors.
func (p *Provider) call(ctx context.Context, path string, req, resp any, limit int64) error {
	body, err := p.encode(ctx, req)
	if err != nil {
		return &banklink.Error{Code: banklink.EINTERNAL, Message: "Could not encode a Plaid request.", Err: err}
	}
	rctx, cancel := context.WithTimeout(ctx, p.timeoutFor(path))
	defer cancel()
	hreq, err := http.NewRequestWithContext(rctx, http.MethodPost, p.base+path, bytes.NewReader(body))
	if err != nil {
		return &banklink.Error{Code: banklink.EINTERNAL, Message: "Could not build a Plaid request.", Err: err}
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Plaid-Version", APIVersion)
	hres, err := p.http.Do(hreq)
	if err != nil {
		if ctx.Err() != nil {
			// The caller gave up; that says nothing about Plaid.
			return ctx.Err()
		}
		return &banklink.ProviderError{Reason: banklink.LoginProviderDown, Retryable: true,
			DisplayMessage: "Plaid is not responding right now. Please try again later."}
	}
	defer hres.Body.Close()
	data, err := io.ReadAll(io.LimitReader(hres.Body, limit+1))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &banklink.ProviderError{Reason: banklink.LoginProviderDown, Retryable: true,
			DisplayMessage: "Plaid is not responding right now. Please try again later."}
	}
	if int64(len(data)) > limit {
		return &banklink.Error{Code: banklink.EPROVIDER, Message: "Plaid's answer was too large.",
			Err: fmt.Errorf("plaid %s: answer over %d bytes", path, limit)}
	}
	if hres.StatusCode != http.StatusOK {
		ae := &APIError{}
		if err := json.Unmarshal(data, ae); err != nil || ae.ErrorCode == "" {
			return &banklink.Error{Code: banklink.EPROVIDER, Message: fmt.Sprintf("Plaid answered HTTP %d.", hres.StatusCode),
				Err: fmt.Errorf("plaid %s: HTTP %d without an error object", path, hres.StatusCode)}
		}
		ae.HTTPStatus, ae.Path = hres.StatusCode, path
		return ae
	}
	if err := json.Unmarshal(data, resp); err != nil {
		return &banklink.Error{Code: banklink.EPROVIDER, Message: "Plaid's answer could not be read.", Err: fmt.Errorf("plaid %s: %w", path, err)}
	}
	return nil
}

// timeoutFor is how long a request to path may take: Config.Timeouts'
// entry, else the longer of EndpointTimeouts' and Config.Timeout.
func (p *Provider) timeoutFor(path string) time.Duration {
	if d := p.cfg.Timeouts[path]; d > 0 {
		return d
	}
	return max(EndpointTimeouts[path], p.timeout)
}

// Credential keys of an account's Plaid configuration
// (banklink.ProviderConfig.Credentials); a missing key falls back to the
// deployment's Config.
const (
	CredentialClientID = "clientId"
	CredentialSecret   = "secret"
)

// CredentialKeys implements banklink.CredentialKeyer.
func (p *Provider) CredentialKeys() []string { return []string{CredentialClientID, CredentialSecret} }

type keysKey struct{}

type apiKeys struct{ clientID, secret string }

// withKeys returns ctx carrying an account's own Plaid keys: the calls
// made with it authenticate with them instead of the deployment's. An
// Item (its access token, its Link sessions) only answers to the client
// that created it, so every call of a login made with an account's keys
// carries them.
func withKeys(ctx context.Context, credentials map[string]string) context.Context {
	k := apiKeys{strings.TrimSpace(credentials[CredentialClientID]), strings.TrimSpace(credentials[CredentialSecret])}
	if k == (apiKeys{}) {
		return ctx
	}
	return context.WithValue(ctx, keysKey{}, k)
}

// apiKeys returns the API keys of a call made with ctx.
func (p *Provider) apiKeys(ctx context.Context) apiKeys {
	k := apiKeys{p.cfg.ClientID, p.cfg.Secret}
	if own, ok := ctx.Value(keysKey{}).(apiKeys); ok {
		if own.clientID != "" {
			k.clientID = own.clientID
		}
		if own.secret != "" {
			k.secret = own.secret
		}
	}
	return k
}

// encode marshals req, a JSON object, with the API keys added to it.
func (p *Provider) encode(ctx context.Context, req any) ([]byte, error) {
	k := p.apiKeys(ctx)
	creds, err := json.Marshal(struct {
		ClientID string `json:"client_id"`
		Secret   string `json:"secret"`
	}{k.clientID, k.secret})
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	if len(b) < 2 || b[0] != '{' {
		return nil, fmt.Errorf("plaid request %T is not a JSON object", req)
	}
	if string(b) == "{}" {
		return creds, nil
	}
	out := append(creds[:len(creds)-1:len(creds)-1], ',')
	return append(out, b[1:]...), nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
