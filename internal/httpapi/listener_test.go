package httpapi_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"banklink/internal/apitest"
)

// TestPreHandlerErrorsInErrorFormat: requests net/http refuses before any
// handler runs (a NUL in a header, a bad header name, no Host, headers too
// large) used to get Go's plain-text "400 Bad Request"; behind
// WrapListener they get banklink's error body with a request id, and
// everything else on the connection is left as it was.
func TestPreHandlerErrorsInErrorFormat(t *testing.T) {
	api := newTestServer(t, "sqlite").api
	srv := httptest.NewUnstartedServer(api.Handler())
	srv.Config.MaxHeaderBytes = 4 << 10
	srv.Listener = api.WrapListener(srv.Listener)
	srv.Start()
	t.Cleanup(srv.Close)

	raw := func(t *testing.T, request string) (*http.Response, []byte) {
		t.Helper()
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, request); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%q: %v", request, err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, body
	}
	for _, tc := range []struct {
		name, request, message string
		status                 int
	}{
		{"NUL in a header", "GET /bank-linking/connections HTTP/1.1\r\nHost: x\r\nX-Trace: a\x00b\r\n\r\n", "not valid HTTP", 400},
		{"DEL in a header", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Trace: a\x7fb\r\n\r\n", "not valid HTTP", 400},
		{"NUL in the request line", "GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n", "not valid HTTP", 400},
		{"bad header name", "GET /healthz HTTP/1.1\r\nHost: x\r\nX Trace: a\r\n\r\n", "invalid header name", 400},
		{"no Host", "GET /healthz HTTP/1.1\r\n\r\n", "missing required Host header", 400},
		{"headers too large", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 8<<10) + "\r\n\r\n", "larger than", 431},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := raw(t, tc.request)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d %s, want %d", resp.StatusCode, body, tc.status)
			}
			req := httptest.NewRequest("GET", "/", nil)
			apitest.CheckErrorBody(t, req, resp, body)
			if !strings.Contains(string(body), `"code":"BAD_REQUEST"`) || !strings.Contains(string(body), tc.message) {
				t.Errorf("body %s, want BAD_REQUEST mentioning %q", body, tc.message)
			}
		})
	}

	// A handler's own answers, errors included, go through unchanged, on
	// a kept-alive connection too.
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for _, tc := range []struct {
		request string
		status  int
		want    string
	}{
		{"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 200, `{"status":"ok"}`},
		{"GET /bank-linking/connections?customerID=x HTTP/1.1\r\nHost: x\r\n\r\n", 401, `"code":"UNAUTHORIZED"`},
		{"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n", 404, `"code":"NOT_FOUND"`},
	} {
		io.WriteString(c, tc.request)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.want) || resp.Header.Get("Date") == "" {
			t.Errorf("%q: %d %s %v", tc.request, resp.StatusCode, body, resp.Header)
		}
	}
}
