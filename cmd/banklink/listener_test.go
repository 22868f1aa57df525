package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// TestServeAnswersMalformedHTTPInErrorFormat: serve's listener turns
// net/http's plain-text 400 for a NUL in a header into banklink's error
// body (the rewriting itself is tested in internal/httpapi).
func TestServeAnswersMalformedHTTPInErrorFormat(t *testing.T) {
	srv := serveForTest(t, "-data-dir", t.TempDir())
	c, err := net.Dial("tcp", strings.TrimPrefix(srv.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /bank-linking/connections HTTP/1.1\r\nHost: x\r\nAuthorization: BASIC "+srv.key+"\r\nX-Trace: a\x00b\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct{ Code, Message, RequestID, Timestamp string }
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || resp.StatusCode != 400 || e.Code != "BAD_REQUEST" ||
		e.RequestID == "" || e.RequestID != resp.Header.Get("X-Request-ID") {
		t.Errorf("%d %+v %v", resp.StatusCode, e, err)
	}
}
