// Package mx is banklink's MX provider: logins through MX's Connect
// Widget, aggregation through the MX Platform API (version 2011-11-01,
// the "v1" media type), MX's institution directory and member deletion.
//
// Every request authenticates with HTTP Basic auth (client_id:api_key),
// asks for "Accept: application/vnd.mx.api.v1+json" and is bounded by a
// per-request timeout and a cap on the response size, as MX's Platform
// API reference (github.com/mxenabled/openapi, openapi/v20111101.yml)
// and its guides describe. Where MX's documentation is silent the code
// says so in a comment.
//
// MX keeps its data per user: banklink creates one MX user per customer
// (CreateUser, a banklink.UserProvisioner) and the customer's logins are
// that user's members. A banklink login id is "<user_guid>/<member_guid>"
// because aggregation requests carry only the login id and every member
// endpoint lives under /users/{user_guid}.
package mx

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
	"banklink/internal/dirsync"
)

// ProviderType is the provider type name ("MX" on the wire).
const ProviderType = "mx"

// MX's API hosts: integration (test) and production.
const (
	IntegrationURL = "https://int-api.mx.com"
	ProductionURL  = "https://api.mx.com"
)

// MediaType is the Accept header of the Platform API's 2011-11-01
// version.
const MediaType = "application/vnd.mx.api.v1+json"

// Credential keys of an account's provider configuration for MX
// (banklink.ProviderConfig.Credentials); missing keys fall back to the
// deployment's Config.
const (
	CredentialClientID = "clientId"
	CredentialAPIKey   = "apiKey"
)

// MinAggregationInterval is the least time between two standard
// aggregations of a member. MX's error reference says only that an
// aggregation "attempted within the default minimum time between
// standard aggs" is answered 202 Accepted without starting; it does not
// give the time, which MX can configure per client. Three hours is the
// interval this deployment assumes (Config.MinAggregationInterval
// overrides it).
const MinAggregationInterval = 3 * time.Hour

// Defaults.
const (
	DefaultTimeout = 30 * time.Second
	// DefaultPollInterval is the first wait between two member status
	// reads; the wait doubles up to DefaultMaxPollInterval.
	DefaultPollInterval    = time.Second
	DefaultMaxPollInterval = 8 * time.Second
	// DefaultAggregationWait bounds how long Aggregate waits for MX to
	// finish aggregating (the aggregation runner gives a whole job two
	// minutes).
	DefaultAggregationWait = 90 * time.Second
	// DefaultLoginWait bounds how long CompleteRedirect waits for MX to
	// list a new member's accounts.
	DefaultLoginWait = 30 * time.Second
	// pageSize is the largest records_per_page MX accepts on the user
	// and member lists banklink pages through (the spec's
	// recordsPerPageMax1000); institutionsPageSize that of GET
	// /institutions (recordsPerPage: 10 to 100). Above them MX silently
	// uses 25.
	pageSize             = 1000
	institutionsPageSize = 100
	maxResponse          = 32 << 20
)

// Config configures the MX provider.
type Config struct {
	// ClientID and APIKey are the deployment's MX API credentials, used
	// when an account has not configured its own.
	ClientID, APIKey string
	// BaseURL is MX's API host (IntegrationURL when empty).
	BaseURL string
	// HTTPClient sends the requests; nil means a client with
	// DefaultTimeout.
	HTTPClient *http.Client
	// Redirect sends customers to MX Connect instead of embedding it in
	// the widget (see StartLogin). MX sends them back to RedirectURL
	// when set (a fixed page in front of banklink that forwards MX's
	// redirect, with its query, to the widget callback), otherwise to
	// the widget's callback of each login.
	Redirect    bool
	RedirectURL string
	// WidgetOrigin is the origin MX Connect is served from, when neither
	// MX's known widget hosts (for IntegrationURL and ProductionURL) nor
	// BaseURL's own origin is right.
	WidgetOrigin string
	// Timeout bounds one request (DefaultTimeout when zero).
	Timeout time.Duration
	// MinAggregationInterval is MX's least time between two standard
	// aggregations of a member (MinAggregationInterval when zero).
	MinAggregationInterval time.Duration
	// PollInterval and MaxPollInterval space the reads of a member's
	// status while MX aggregates it; AggregationWait and LoginWait bound
	// the whole wait in Aggregate and CompleteRedirect.
	PollInterval, MaxPollInterval time.Duration
	AggregationWait, LoginWait    time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Provider is the MX provider. It implements banklink.InteractiveLogin,
// banklink.Aggregator, banklink.UserProvisioner, banklink.LoginRemover and
// banklink.RefreshLimiter and is safe for concurrent use.
type Provider struct {
	cfg  Config
	base string
	http *http.Client

	mu    sync.Mutex
	users map[string]string // client id + "\x00" + user id → user guid
}

var (
	_ banklink.InteractiveLogin = (*Provider)(nil)
	_ banklink.Aggregator       = (*Provider)(nil)
	_ banklink.UserProvisioner  = (*Provider)(nil)
	_ banklink.LoginRemover     = (*Provider)(nil)
	_ banklink.RefreshLimiter   = (*Provider)(nil)
	_ banklink.FrameSource      = (*Provider)(nil)
	_ banklink.CredentialKeyer  = (*Provider)(nil)
)

// New returns an MX provider.
func New(cfg Config) *Provider {
	if cfg.BaseURL == "" {
		cfg.BaseURL = IntegrationURL
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MinAggregationInterval <= 0 {
		cfg.MinAggregationInterval = MinAggregationInterval
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.MaxPollInterval < cfg.PollInterval {
		cfg.MaxPollInterval = max(DefaultMaxPollInterval, cfg.PollInterval)
	}
	if cfg.AggregationWait <= 0 {
		cfg.AggregationWait = DefaultAggregationWait
	}
	if cfg.LoginWait <= 0 {
		cfg.LoginWait = DefaultLoginWait
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: cfg.Timeout}
	}
	return &Provider{cfg: cfg, base: strings.TrimSuffix(cfg.BaseURL, "/"), http: hc, users: map[string]string{}}
}

// Type implements banklink.Provider.
func (p *Provider) Type() string { return ProviderType }

// CredentialKeys implements banklink.CredentialKeyer.
func (p *Provider) CredentialKeys() []string { return []string{CredentialClientID, CredentialAPIKey} }

// keys are the API credentials of one request.
type keys struct{ clientID, apiKey string }

// keysFor returns an account's credentials, falling back to the
// deployment's for any key the account did not set.
func (p *Provider) keysFor(creds map[string]string) keys {
	k := keys{p.cfg.ClientID, p.cfg.APIKey}
	if v := strings.TrimSpace(creds[CredentialClientID]); v != "" {
		k.clientID = v
	}
	if v := strings.TrimSpace(creds[CredentialAPIKey]); v != "" {
		k.apiKey = v
	}
	return k
}

// APIError is a non-2xx answer of the Platform API.
type APIError struct {
	Status int
	// Message is MX's error message, when the body carried one.
	Message string
	// RetryAfter is the Retry-After header of a 429, if any.
	RetryAfter string
}

func (e *APIError) Error() string {
	if e.Message != "" {
		return fmt.Sprintf("mx: HTTP %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("mx: HTTP %d", e.Status)
}

// errorBody is the body of an MX error. The Platform API reference shows
// {"error": {"message": ...}}; MX's SSO API documents {"error": "..."},
// so both shapes are read.
type errorBody struct {
	Error json.RawMessage `json:"error"`
}

func (b errorBody) message() string {
	var obj struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(b.Error, &obj) == nil && obj.Message != "" {
		return obj.Message
	}
	var s string
	if json.Unmarshal(b.Error, &s) == nil {
		return s
	}
	return ""
}

// call sends one request. body, when not nil, is sent as JSON; out, when
// not nil, receives the decoded 2xx answer. It returns the HTTP status of
// a 2xx answer, *APIError for any other, and transport errors as they are.
func (p *Provider) call(ctx context.Context, k keys, method, path string, query url.Values, body, out any) (int, error) {
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
	req.SetBasicAuth(k.clientID, k.apiKey)
	req.Header.Set("Accept", MediaType)
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
		return 0, fmt.Errorf("mx: %s %s: response larger than %d bytes", method, path, maxResponse)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		ae := &APIError{Status: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After")}
		var eb errorBody
		if json.Unmarshal(b, &eb) == nil {
			ae.Message = eb.message()
		}
		return resp.StatusCode, ae
	}
	if out != nil && resp.StatusCode != http.StatusNoContent && len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("mx: %s %s: decoding the answer: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// pagination is MX's paging block.
type pagination struct {
	CurrentPage  int `json:"current_page"`
	PerPage      int `json:"per_page"`
	TotalEntries int `json:"total_entries"`
	TotalPages   int `json:"total_pages"`
}

// listAll reads every page of a paged list: the items under key on each
// page, as long as pagination.total_pages says more pages follow.
func listAll[T any](ctx context.Context, p *Provider, k keys, path, key string, query url.Values) ([]T, error) {
	var out []T
	for n := 1; ; n++ {
		q := url.Values{}
		for name, v := range query {
			q[name] = v
		}
		q.Set("page", strconv.Itoa(n))
		q.Set("records_per_page", strconv.Itoa(perPage(path)))
		var body map[string]json.RawMessage
		call := func() error {
			_, err := p.call(ctx, k, http.MethodGet, path, q, nil, &body)
			return err
		}
		var err error
		if path == "/institutions" {
			// During the directory sync a page MX turns down for now
			// (429, 5xx) is read again (dirsync.Page), which judges
			// banklink's errors.
			err = dirsync.Page(ctx, func() error { return mapError(call(), phaseData, p.cfg.Now()) })
		} else {
			err = call()
		}
		if err != nil {
			return nil, err
		}
		var items []T
		if raw := body[key]; len(raw) > 0 {
			if err := json.Unmarshal(raw, &items); err != nil {
				return nil, fmt.Errorf("mx: GET %s: decoding %s: %w", path, key, err)
			}
		}
		out = append(out, items...)
		var pg pagination
		if raw := body["pagination"]; len(raw) > 0 {
			if err := json.Unmarshal(raw, &pg); err != nil {
				return nil, fmt.Errorf("mx: GET %s: decoding pagination: %w", path, err)
			}
		}
		if len(items) == 0 || pg.TotalPages <= n {
			return out, nil
		}
	}
}

// perPage is the records_per_page to ask path for: the most it takes.
func perPage(path string) int {
	if path == "/institutions" {
		return institutionsPageSize
	}
	return pageSize
}

// loginID joins the MX user and member of a banklink login.
func loginID(userGUID, memberGUID string) string { return userGUID + "/" + memberGUID }

// parseLoginID splits a banklink login id into MX user and member guids.
func parseLoginID(id string) (userGUID, memberGUID string, err error) {
	u, m, ok := strings.Cut(id, "/")
	if !ok || u == "" || m == "" || strings.Contains(m, "/") {
		return "", "", &banklink.Error{Code: banklink.EINTERNAL, Message: "Malformed MX login id.", Err: errors.New("mx: login id " + strconv.Quote(id))}
	}
	return u, m, nil
}

// parseTime reads MX's timestamps (RFC 3339, with or without
// fractional seconds). The zero time means absent or unreadable.
func parseTime(s *string) time.Time {
	if s == nil || *s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return time.Time{}
	}
	return t
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
