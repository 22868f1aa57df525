package httpx_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"banklink/internal/httpx"
)

func TestAcceptsGzip(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header []string
		want   bool
	}{
		{"no header", nil, false},
		{"empty", []string{""}, false},
		{"gzip", []string{"gzip"}, true},
		{"case-insensitive", []string{"GZip"}, true},
		{"x-gzip", []string{"x-gzip"}, true},
		{"browser list", []string{"gzip, deflate, br, zstd"}, true},
		{"gzip q=0 refuses", []string{"gzip;q=0"}, false},
		{"gzip q=0.000 with spaces refuses", []string{"deflate, gzip ; q = 0.000"}, false},
		{"gzip low q still accepts", []string{"gzip;q=0.001"}, true},
		{"star accepts", []string{"*"}, true},
		{"star q=0", []string{"*;q=0"}, false},
		{"gzip refused beats star", []string{"gzip;q=0, *"}, false},
		{"gzip named beats star q=0", []string{"*;q=0, gzip;q=0.5"}, true},
		{"identity only", []string{"identity"}, false},
		{"br only", []string{"br"}, false},
		{"several header lines", []string{"br", "gzip"}, true},
		{"malformed q counts as present", []string{"gzip;q=abc"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			for _, v := range tc.header {
				r.Header.Add("Accept-Encoding", v)
			}
			if got := httpx.AcceptsGzip(r); got != tc.want {
				t.Errorf("AcceptsGzip(%q) = %v, want %v", tc.header, got, tc.want)
			}
		})
	}
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return out
}

// serve runs h behind Gzip, with and without Accept-Encoding: gzip, and
// returns both recordings.
func serve(h http.HandlerFunc, method, accept string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/x", nil)
	if accept != "" {
		r.Header.Set("Accept-Encoding", accept)
	}
	w := httptest.NewRecorder()
	httpx.Gzip(h).ServeHTTP(w, r)
	return w
}

func TestGzip(t *testing.T) {
	bigJSON := []byte(`{"transactions":[` + strings.Repeat(`{"id":"abc","amount":12.5,"description":"COFFEE SHOP"},`, 60) + `{}]}`)
	smallJSON := []byte(`{"id":"abc"}`)
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 4000)...)
	writeAs := func(status int, ctype string, body []byte, extra ...string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if ctype != "" {
				w.Header().Set("Content-Type", ctype)
			}
			for i := 0; i+1 < len(extra); i += 2 {
				w.Header().Set(extra[i], extra[i+1])
			}
			w.WriteHeader(status)
			w.Write(body)
		}
	}
	for _, tc := range []struct {
		name    string
		h       http.HandlerFunc
		method  string
		accept  string
		status  int
		gzipped bool
		vary    bool
		// body is the identity body the client must end up with.
		body []byte
		// header checks after the response, "" meaning absent.
		want map[string]string
	}{
		{name: "big JSON accepted", h: writeAs(200, "application/json", bigJSON), accept: "gzip",
			status: 200, gzipped: true, vary: true, body: bigJSON, want: map[string]string{"Content-Length": ""}},
		{name: "big JSON error status", h: writeAs(404, "application/json", bigJSON), accept: "gzip",
			status: 404, gzipped: true, vary: true, body: bigJSON},
		{name: "big JSON not accepted", h: writeAs(200, "application/json", bigJSON),
			status: 200, vary: true, body: bigJSON},
		{name: "big JSON refused by q=0", h: writeAs(200, "application/json", bigJSON), accept: "gzip;q=0, deflate",
			status: 200, vary: true, body: bigJSON},
		{name: "small JSON stays identity with its length", h: writeAs(200, "application/json", smallJSON), accept: "gzip",
			status: 200, vary: true, body: smallJSON, want: map[string]string{"Content-Length": strconv.Itoa(len(smallJSON))}},
		{name: "already compressed type", h: writeAs(200, "image/png", png), accept: "gzip",
			status: 200, body: png},
		{name: "handler's own encoding untouched", h: writeAs(200, "text/css", bigJSON, "Content-Encoding", "br"), accept: "gzip",
			status: 200, vary: true, body: bigJSON, want: map[string]string{"Content-Encoding": "br"}},
		{name: "no body: 204", h: writeAs(204, "application/json", nil), accept: "gzip",
			status: 204, vary: true, want: map[string]string{"Content-Length": ""}},
		{name: "no body: 304 keeps its ETag", h: writeAs(304, "application/json", nil, "ETag", `"v1"`), accept: "gzip",
			status: 304, vary: true, want: map[string]string{"ETag": `"v1"`}},
		{name: "created, empty body", h: writeAs(201, "application/json", nil), accept: "gzip",
			status: 201, vary: true, want: map[string]string{"Content-Length": "0"}},
		{name: "HEAD goes identity", h: writeAs(200, "application/json", nil, "Content-Length", strconv.Itoa(len(bigJSON))), method: "HEAD", accept: "gzip",
			status: 200, vary: true, want: map[string]string{"Content-Length": strconv.Itoa(len(bigJSON)), "Content-Encoding": ""}},
		{name: "strong ETag gets a gzip suffix", h: writeAs(200, "application/json", bigJSON, "ETag", `"abc"`), accept: "gzip",
			status: 200, gzipped: true, vary: true, body: bigJSON, want: map[string]string{"ETag": `"abc-gzip"`}},
		{name: "weak ETag stays weak with the suffix", h: writeAs(200, "application/json", bigJSON, "ETag", `W/"abc"`), accept: "gzip",
			status: 200, gzipped: true, vary: true, body: bigJSON, want: map[string]string{"ETag": `W/"abc-gzip"`}},
		{name: "identity keeps the ETag", h: writeAs(200, "application/json", bigJSON, "ETag", `"abc"`),
			status: 200, vary: true, body: bigJSON, want: map[string]string{"ETag": `"abc"`}},
		{name: "handler's Content-Length dropped when compressing", h: writeAs(200, "application/json", bigJSON, "Content-Length", strconv.Itoa(len(bigJSON))), accept: "gzip",
			status: 200, gzipped: true, vary: true, body: bigJSON, want: map[string]string{"Content-Length": ""}},
		{name: "existing Vary kept", h: writeAs(200, "application/json", bigJSON, "Vary", "Origin"), accept: "gzip",
			status: 200, gzipped: true, vary: true, body: bigJSON, want: map[string]string{"Vary": "Origin"}},
		{name: "untyped text is sniffed and compressed", h: func(w http.ResponseWriter, r *http.Request) {
			w.Write(bigJSON[:1500])
			w.Write(bigJSON[1500:])
		}, accept: "gzip", status: 200, gzipped: true, vary: true, body: bigJSON},
		{name: "many small writes", h: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			for _, b := range bigJSON {
				w.Write([]byte{b})
			}
		}, accept: "gzip", status: 200, gzipped: true, vary: true, body: bigJSON},
		{name: "nothing written", h: func(w http.ResponseWriter, r *http.Request) {}, accept: "gzip", status: 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = "GET"
			}
			w := serve(tc.h, method, tc.accept)
			if w.Code != tc.status {
				t.Errorf("status %d, want %d", w.Code, tc.status)
			}
			got := w.Body.Bytes()
			if enc := w.Header().Get("Content-Encoding"); (enc == "gzip") != tc.gzipped {
				t.Fatalf("Content-Encoding %q, want gzip: %v", enc, tc.gzipped)
			}
			if tc.gzipped {
				got = gunzip(t, got)
				if w.Body.Len() >= len(tc.body) {
					t.Errorf("gzip body %d bytes, identity %d: no smaller", w.Body.Len(), len(tc.body))
				}
			}
			if !bytes.Equal(got, tc.body) {
				t.Errorf("body (decoded) %q, want %q", got, tc.body)
			}
			if cl := w.Header().Get("Content-Length"); cl != "" && method != "HEAD" && cl != strconv.Itoa(w.Body.Len()) {
				t.Errorf("Content-Length %s for %d bytes sent", cl, w.Body.Len())
			}
			vary := strings.Join(w.Header().Values("Vary"), ", ")
			if strings.Contains(vary, "Accept-Encoding") != tc.vary {
				t.Errorf("Vary %q, want Accept-Encoding: %v", vary, tc.vary)
			}
			for k, v := range tc.want {
				if k == "Vary" {
					if !strings.Contains(vary, v) {
						t.Errorf("Vary %q lost %q", vary, v)
					}
					continue
				}
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

// A handler that streams (flushes) gets each part out compressed, and
// the whole decodes to what it wrote.
func TestGzipFlush(t *testing.T) {
	srv := httptest.NewServer(httpx.Gzip(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("part one\n"))
		http.NewResponseController(w).Flush()
		w.Write([]byte("part two\n"))
	})))
	defer srv.Close()
	resp, err := http.Get(srv.URL) // the transport asks for gzip and decodes it
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !resp.Uncompressed || string(b) != "part one\npart two\n" {
		t.Errorf("uncompressed by transport %v, body %q", resp.Uncompressed, b)
	}
}

func TestAssets(t *testing.T) {
	big := []byte(strings.Repeat("body { color: #333; margin: 0 auto; }\n", 100))
	fsys := fstest.MapFS{
		"app.css":   {Data: big},
		"tiny.js":   {Data: []byte("x()")},
		"page.html": {Data: big},
	}
	a, err := httpx.NewAssets(fsys, ".css", ".js")
	if err != nil {
		t.Fatal(err)
	}
	if a.Has("page.html") || !a.Has("app.css") || a.Has("nope.css") {
		t.Fatal("Has: wrong set of assets")
	}
	for _, tc := range []struct {
		name, file, method, accept string
		gzipped, vary              bool
		body                       []byte
	}{
		{"gzip accepted", "app.css", "GET", "gzip, br", true, true, big},
		{"not accepted", "app.css", "GET", "", false, true, big},
		{"refused", "app.css", "GET", "gzip;q=0", false, true, big},
		{"HEAD has the gzip headers, no body", "app.css", "HEAD", "gzip", true, true, nil},
		{"small file identity only (Vary from the middleware)", "tiny.js", "GET", "gzip", false, true, []byte("x()")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Through the middleware too: a precompressed asset must not
			// be compressed again.
			w := serve(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/css")
				if !a.Serve(w, r, tc.file) {
					t.Fatal("Serve: not found")
				}
			}, tc.method, tc.accept)
			if (w.Header().Get("Content-Encoding") == "gzip") != tc.gzipped {
				t.Fatalf("Content-Encoding %q, want gzip %v", w.Header().Get("Content-Encoding"), tc.gzipped)
			}
			plain, gz := a.Size(tc.file)
			wantLen := plain
			if tc.gzipped {
				wantLen = gz
			}
			if w.Header().Get("Content-Length") != strconv.Itoa(wantLen) {
				t.Errorf("Content-Length %s, want %d", w.Header().Get("Content-Length"), wantLen)
			}
			got := w.Body.Bytes()
			if tc.gzipped && tc.method != "HEAD" {
				if len(got) != gz {
					t.Errorf("sent %d bytes, gzip form is %d", len(got), gz)
				}
				got = gunzip(t, got)
			}
			if !bytes.Equal(got, tc.body) {
				t.Errorf("body %d bytes, want %d", len(got), len(tc.body))
			}
			if strings.Contains(w.Header().Get("Vary"), "Accept-Encoding") != tc.vary {
				t.Errorf("Vary %q", w.Header().Get("Vary"))
			}
		})
	}
	if a.Serve(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil), "nope.css") {
		t.Error("Serve of an unknown asset reported true")
	}
}
