// Package apitest holds test helpers shared by every package that talks to
// banklink over HTTP: a client whose every response is validated against
// openapi.yaml.
package apitest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

var (
	loadOnce sync.Once
	doc      *openapi3.T
	router   routers.Router
	loadErr  error
)

// Spec loads and validates the OpenAPI document once.
func Spec(tb testing.TB, spec []byte) (*openapi3.T, routers.Router) {
	tb.Helper()
	loadOnce.Do(func() {
		// Pages, assets and the spec itself are text: checked for their
		// content type, read as strings.
		for _, ct := range []string{"text/html", "text/css", "text/javascript", "application/yaml"} {
			openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
		}
		loader := openapi3.NewLoader()
		doc, loadErr = loader.LoadFromData(spec)
		if loadErr != nil {
			return
		}
		if loadErr = doc.Validate(context.Background()); loadErr != nil {
			return
		}
		router, loadErr = legacy.NewRouter(doc)
	})
	if loadErr != nil {
		tb.Fatalf("openapi.yaml: %v", loadErr)
	}
	return doc, router
}

// Validator is an http.RoundTripper that checks every response against
// the OpenAPI document and fails the test on any mismatch: undocumented
// paths, statuses, headers or body shapes.
type Validator struct {
	TB     testing.TB
	Spec   []byte
	Base   http.RoundTripper
	router routers.Router
}

// Client returns an HTTP client that validates every response.
func Client(tb testing.TB, spec []byte) *http.Client {
	_, r := Spec(tb, spec)
	return &http.Client{Transport: &Validator{TB: tb, Spec: spec, Base: http.DefaultTransport, router: r},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// RoundTrip implements http.RoundTripper.
func (v *Validator) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		reqBody, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	resp, err := v.Base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	checked := body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		// The caller asked for gzip itself (the transport decodes only
		// what it asked for): validate what the body decodes to.
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err == nil {
			checked, err = io.ReadAll(zr)
		}
		if err != nil {
			v.TB.Errorf("%s %s: Content-Encoding gzip but the body does not decode: %v", req.Method, req.URL.Path, err)
			return resp, nil
		}
	}
	v.check(req, reqBody, resp, checked)
	return resp, nil
}

func (v *Validator) check(req *http.Request, reqBody []byte, resp *http.Response, body []byte) {
	tb := v.TB
	tb.Helper()
	if resp.Header.Get("X-Request-ID") == "" {
		tb.Errorf("%s %s: response has no X-Request-ID", req.Method, req.URL.Path)
	}
	if resp.StatusCode >= 400 {
		CheckErrorBody(tb, req, resp, body)
	}
	// Route lookup uses a copy: the router matches on the URL without the
	// test server's host.
	rr := req.Clone(context.Background())
	rr.URL.Scheme, rr.URL.Host, rr.Host = "", "", ""
	rr.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := v.router.FindRoute(rr)
	if err != nil {
		// Undocumented paths must answer in the error format (checked
		// above) and only with 404 or 405.
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			tb.Errorf("%s %s: not in openapi.yaml but answered %d", req.Method, req.URL.Path, resp.StatusCode)
		}
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: rr, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status: resp.StatusCode,
		Header: resp.Header,
		Body:   io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true,
			AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		tb.Errorf("%s %s: response %d does not match openapi.yaml: %v\nbody: %s", req.Method, req.URL.Path, resp.StatusCode, err, truncate(body))
	}
}

// CheckErrorBody checks the error format: {code, message, requestId,
// timestamp} with requestId equal to the X-Request-ID header.
func CheckErrorBody(tb testing.TB, req *http.Request, resp *http.Response, body []byte) {
	tb.Helper()
	var e struct {
		Code, Message, RequestID, Timestamp string
	}
	if err := json.Unmarshal(body, &e); err != nil {
		tb.Errorf("%s %s: error body is not JSON: %v: %s", req.Method, req.URL.Path, err, truncate(body))
		return
	}
	if e.Code == "" || e.Message == "" || e.Timestamp == "" || e.RequestID == "" {
		tb.Errorf("%s %s: error body lacks code/message/requestId/timestamp: %s", req.Method, req.URL.Path, truncate(body))
	}
	if e.RequestID != resp.Header.Get("X-Request-ID") {
		tb.Errorf("%s %s: requestId %q differs from X-Request-ID %q", req.Method, req.URL.Path, e.RequestID, resp.Header.Get("X-Request-ID"))
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		tb.Errorf("%s %s: error Content-Type %q", req.Method, req.URL.Path, ct)
	}
	for _, leak := range []string{"goroutine ", "panic", ".go:", "sql:", "SQLITE", "pgx"} {
		if strings.Contains(e.Message, leak) {
			tb.Errorf("%s %s: error message leaks internals (%q): %s", req.Method, req.URL.Path, leak, e.Message)
		}
	}
}

func truncate(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}

// TokenClaims decodes a connect token's claims without verifying them:
// the service verifies tokens; a test only reads what was minted.
func TokenClaims(tb testing.TB, token string) map[string]any {
	tb.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		tb.Fatalf("token %q is not a JWT", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		tb.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatal(err)
	}
	return m
}
