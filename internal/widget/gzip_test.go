package widget_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"
)

// The whole service gzips what a client accepts: a page of transactions
// through the client that validates every response against openapi.yaml
// (Go's transport asks for gzip and decodes it), byte for byte the
// identity answer; and the widget's assets, precompressed, with their
// exact length.
func TestServiceGzip(t *testing.T) {
	st := newStack(t)
	id := st.Link(`{"externalCustomerId":"gz","products":["BALANCES","TRANSACTIONS"]}`, "user_good")
	fetch := func(path, accept string, auth bool) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, st.Srv.URL+path, nil)
		if auth {
			req.Header.Set("Authorization", "BASIC "+st.APIKey)
		}
		if accept != "" {
			req.Header.Set("Accept-Encoding", accept) // the transport then leaves the body alone
		}
		resp, err := st.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		return resp, b
	}
	unzip := func(b []byte) []byte {
		t.Helper()
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("not gzip: %v", err)
		}
		out, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	page := "/bank-linking/transactions?limit=100&connectionId=" + id
	auto, decoded := fetch(page, "", true)
	if !auto.Uncompressed {
		t.Errorf("transactions page: the transport asked for gzip but got identity (Content-Length %d)", auto.ContentLength)
	}
	_, identity := fetch(page, "identity", true)
	raw, zipped := fetch(page, "gzip", true)
	if raw.Header.Get("Content-Encoding") != "gzip" || raw.Header.Get("Vary") == "" {
		t.Errorf("Content-Encoding %q, Vary %q", raw.Header.Get("Content-Encoding"), raw.Header.Get("Vary"))
	}
	if !bytes.Equal(unzip(zipped), identity) || !bytes.Equal(decoded, identity) {
		t.Error("the gzip answer does not decode to the identity answer")
	}
	if len(zipped)*4 > len(identity) {
		t.Errorf("100 transactions: gzip %d bytes, identity %d: less than 4x smaller", len(zipped), len(identity))
	}
	t.Logf("100 transactions: identity %d bytes, gzip %d bytes", len(identity), len(zipped))

	_, html := fetch("/connect", "identity", false)
	for _, asset := range regexp.MustCompile(`/connect/static/[a-z]+\.(?:js|css)\?v=[0-9a-f]+`).FindAllString(string(html), -1) {
		_, plain := fetch(asset, "identity", false)
		resp, gz := fetch(asset, "gzip", false)
		if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("Content-Length") != strconv.Itoa(len(gz)) {
			t.Errorf("%s: Content-Encoding %q, Content-Length %q for %d bytes", asset, resp.Header.Get("Content-Encoding"), resp.Header.Get("Content-Length"), len(gz))
		}
		if !bytes.Equal(unzip(gz), plain) {
			t.Errorf("%s: gzip form does not decode to the file", asset)
		}
	}
}
