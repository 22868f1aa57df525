// Package client is a Go client for banklink's API (and so for Meld's
// Bank Linking API, which banklink speaks): connect tokens, connections
// and Plaid imports, accounts and processor tokens, transactions,
// investments, customers, institutions, routing, webhooks and the
// activity log. It uses only the standard library.
//
//	c := client.New("http://127.0.0.1:8080", os.Getenv("BANKLINK_KEY"))
//	start, err := c.ConnectStart(ctx, client.ConnectStartRequest{ExternalCustomerID: "cust-42"})
//	// open start.WidgetURL for the customer, then:
//	for t, err := range c.Transactions(ctx, client.TransactionFilter{ConnectionID: start.ID}) { … }
//
// Error answers are returned as *Error (use errors.As). Lists are iterators
// that follow the API's cursors. Requests that create or change something
// carry an Idempotency-Key (generated when the caller gives none), so they
// can be retried safely: answers 429 and 503 are retried with backoff,
// honouring Retry-After, within the context's deadline.
package client

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client calls one banklink deployment with one API key. It is safe for
// concurrent use.
type Client struct {
	base       string
	key        string
	httpClient *http.Client
	version    string
	maxRetries int
	maxWait    time.Duration
	userAgent  string
	// sleep waits d or until ctx ends; tests replace it to see the waits.
	sleep func(ctx context.Context, d time.Duration) error
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the http.Client (timeouts, proxies, transports).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.httpClient = h } }

// WithVersion pins the API version (Meld-Version header, YYYY-MM-DD).
// Without it the version pinned on the API key applies.
func WithVersion(v string) Option { return func(c *Client) { c.version = v } }

// WithRetries sets how many times a retryable answer (429, 503) is
// retried; 0 disables retries. The default is 3.
func WithRetries(n int) Option { return func(c *Client) { c.maxRetries = n } }

// WithMaxRetryWait bounds one wait between attempts, whatever Retry-After
// asks; an answer asking for longer is returned to the caller instead.
// The default is one minute.
func WithMaxRetryWait(d time.Duration) Option { return func(c *Client) { c.maxWait = d } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client for the deployment at baseURL (e.g.
// "https://link.example.com") authenticating with apiKey.
func New(baseURL, apiKey string, opts ...Option) *Client {
	c := &Client{
		base:       strings.TrimRight(baseURL, "/"),
		key:        apiKey,
		httpClient: http.DefaultClient,
		maxRetries: 3,
		maxWait:    time.Minute,
		userAgent:  "banklink-go-client",
		sleep:      sleepCtx,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Error is an error answer of the API.
type Error struct {
	// StatusCode is the HTTP status.
	StatusCode int `json:"-"`
	// Code is Meld's error code: BAD_REQUEST, NOT_FOUND, CONFLICT,
	// RATE_LIMITED, SERVICE_UNAVAILABLE, ...
	Code    string `json:"code"`
	Message string `json:"message"`
	// Field names the request field at fault, when there is one.
	Field     string `json:"field,omitempty"`
	RequestID string `json:"requestId"`
	Timestamp string `json:"timestamp"`
	// Reason and Retryable detail some errors (TOKEN_EXPIRED,
	// PROVIDER_REFRESH_LIMIT, ...).
	Reason    string `json:"reason,omitempty"`
	Retryable *bool  `json:"retryable,omitempty"`
	// RetryAfter is the wait the server asked for (429, 503), or 0.
	RetryAfter time.Duration `json:"-"`
}

func (e *Error) Error() string {
	s := fmt.Sprintf("banklink: %d %s: %s", e.StatusCode, e.Code, e.Message)
	if e.RequestID != "" {
		s += " (request " + e.RequestID + ")"
	}
	return s
}

// IsNotFound reports whether err is a 404 answer.
func IsNotFound(err error) bool { return statusOf(err) == http.StatusNotFound }

// IsConflict reports whether err is a 409 answer.
func IsConflict(err error) bool { return statusOf(err) == http.StatusConflict }

func statusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// RequestOption changes one request.
type RequestOption func(*request)

// WithIdempotencyKey sets the Idempotency-Key of a mutating request; by
// default the client generates one per call (the same for its retries).
// Pass your own to make a call idempotent across process restarts.
func WithIdempotencyKey(k string) RequestOption { return func(r *request) { r.idemKey = k } }

// WithRequestVersion sets Meld-Version for this request only.
func WithRequestVersion(v string) RequestOption { return func(r *request) { r.version = v } }

type request struct {
	method  string
	path    string
	query   url.Values
	body    any
	out     any
	version string
	idemKey string
	// idempotent: the operation takes an Idempotency-Key (and so gets
	// one), which makes retrying it safe.
	idempotent bool
	// bearer replaces the API key (the widget API's connect token).
	bearer string
}

// call sends r, retrying 429 and 503 answers of requests safe to repeat
// (and the API key's RATE_LIMITED refusals of any request),
// and decodes the answer into r.out.
func (c *Client) call(ctx context.Context, r *request, opts []RequestOption) error {
	for _, o := range opts {
		o(r)
	}
	if r.idempotent && r.idemKey == "" {
		r.idemKey = newKey()
	}
	var body []byte
	if r.body != nil {
		var err error
		if body, err = json.Marshal(r.body); err != nil {
			return fmt.Errorf("banklink: encode request: %w", err)
		}
	}
	// GET, PUT and DELETE are idempotent by HTTP's definition; a POST or
	// PATCH only when it carries an Idempotency-Key the server honours.
	retryable := r.method == http.MethodGet || r.method == http.MethodPut || r.method == http.MethodDelete || r.idemKey != ""
	for attempt := 0; ; attempt++ {
		err := c.once(ctx, r, body)
		var e *Error
		if err == nil || attempt >= c.maxRetries || !errors.As(err, &e) || !retries(r, e, retryable) {
			return err
		}
		wait := e.RetryAfter
		if wait <= 0 {
			wait = backoff(attempt)
		}
		if wait > c.maxWait {
			return err
		}
		// Waiting past the deadline only to fail is worse than failing now
		// with the server's answer.
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return err
		}
		if serr := c.sleep(ctx, wait); serr != nil {
			return err
		}
	}
}

// retries reports whether r is sent again after answer e: a 429 or 503 of
// a request safe to repeat, and an API key's RATE_LIMITED 429 of any
// request, which the server gives before doing anything (the per-key
// limit, a refresh asked too soon), so even a POST without an
// Idempotency-Key may be sent again. The widget's own 429s are left to
// the person in front of it.
func retries(r *request, e *Error, safe bool) bool {
	switch e.StatusCode {
	case http.StatusTooManyRequests:
		return safe || r.bearer == "" && e.Code == "RATE_LIMITED"
	case http.StatusServiceUnavailable:
		return safe
	}
	return false
}

// backoff is 0.5s, 1s, 2s, ... (at most 30s) with ±25% jitter, for
// answers without Retry-After.
func backoff(attempt int) time.Duration {
	d := 500 * time.Millisecond << min(attempt, 6)
	d = min(d, 30*time.Second)
	return d - d/4 + time.Duration(rand.Int64N(int64(d/2)+1))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Client) once(ctx context.Context, r *request, body []byte) error {
	u := c.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u, rd)
	if err != nil {
		return err
	}
	if r.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+r.bearer)
	} else {
		req.Header.Set("Authorization", "BASIC "+c.key)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if v := firstOf(r.version, c.version); v != "" && r.bearer == "" {
		req.Header.Set("Meld-Version", v)
	}
	if r.idemKey != "" {
		req.Header.Set("Idempotency-Key", r.idemKey)
	}
	resp, err := c.httpClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("banklink: read answer: %w", err)
	}
	if resp.StatusCode >= 300 {
		e := &Error{StatusCode: resp.StatusCode}
		if json.Unmarshal(data, e) != nil || e.Code == "" {
			// Not banklink's error body (a proxy's page): keep what
			// there is.
			e.Code = http.StatusText(resp.StatusCode)
			e.Message = strings.TrimSpace(string(data[:min(len(data), 200)]))
		}
		if e.RequestID == "" {
			e.RequestID = resp.Header.Get("X-Request-ID")
		}
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		return e
	}
	if r.out == nil {
		return nil
	}
	if err := json.Unmarshal(data, r.out); err != nil {
		return fmt.Errorf("banklink: decode %s %s answer: %w", r.method, r.path, err)
	}
	return nil
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// parseRetryAfter reads delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

func newKey() string {
	var b [16]byte
	crand.Read(b[:])
	return hex.EncodeToString(b[:])
}
