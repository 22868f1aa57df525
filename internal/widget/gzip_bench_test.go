package widget_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
)

// BenchmarkResponseEncoding compares identity and gzip answers of the
// whole service's handler (wiring's, with its Gzip middleware) in one
// run: a page of the newest 100 transactions of a sandbox connection
// holding 24 months, and the widget's cold page weight (the HTML page and
// the script and stylesheet it loads). bytes/response is what goes on the
// wire as the body; ns/op is the server's CPU per response (handler,
// JSON, and for gzip the compression).
//
//	go test ./internal/widget -run '^$' -bench ResponseEncoding -benchtime 300x
func BenchmarkResponseEncoding(b *testing.B) {
	st := newStack(b)
	id := st.Link(`{"externalCustomerId":"bench","products":["BALANCES","TRANSACTIONS"]}`, "user_good")
	h := st.Svc.Handler()
	get := func(path, accept string, auth bool) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if auth {
			req.Header.Set("Authorization", "BASIC "+st.APIKey)
		}
		if accept != "" {
			req.Header.Set("Accept-Encoding", accept)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
		return rec
	}
	// The asset URLs the page links to (with their version).
	page := get("/connect", "", false).Body.String()
	assets := regexp.MustCompile(`/connect/static/[a-z]+\.(?:js|css)\?v=[0-9a-f]+`).FindAllString(page, -1)
	if len(assets) < 2 {
		b.Fatalf("page links %d assets: %v", len(assets), assets)
	}
	// The compression alone, at the level the middleware uses and at
	// gzip's default, on the same page's body: the CPU gzip adds to a
	// response, without the noise of the handler around it.
	body := get("/bank-linking/transactions?limit=100&connectionId="+id, "", true).Body.Bytes()
	for _, lv := range []struct {
		name  string
		level int
	}{{"level-1", gzip.BestSpeed}, {"level-6", gzip.DefaultCompression}} {
		b.Run("transactions-100/compress-only/"+lv.name, func(b *testing.B) {
			zw, _ := gzip.NewWriterLevel(io.Discard, lv.level)
			var out bytes.Buffer
			for b.Loop() {
				out.Reset()
				zw.Reset(&out)
				zw.Write(body)
				zw.Close()
			}
			b.ReportMetric(float64(out.Len()), "bytes/response")
		})
	}
	for _, enc := range []struct{ name, accept string }{{"identity", ""}, {"gzip", "gzip, deflate, br"}} {
		b.Run("transactions-100/"+enc.name, func(b *testing.B) {
			n := 0
			for b.Loop() {
				n = get("/bank-linking/transactions?limit=100&connectionId="+id, enc.accept, true).Body.Len()
			}
			b.ReportMetric(float64(n), "bytes/response")
		})
		b.Run("widget-cold-page/"+enc.name, func(b *testing.B) {
			n := 0
			for b.Loop() {
				n = 0
				for _, p := range append([]string{"/connect"}, assets...) {
					rec := get(p, enc.accept, false)
					n += rec.Body.Len()
					io.Copy(io.Discard, rec.Body)
				}
			}
			b.ReportMetric(float64(n), "bytes/page")
		})
	}
}
