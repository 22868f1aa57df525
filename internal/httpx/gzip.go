package httpx

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// GzipMinSize is the smallest body Gzip compresses: below about 1 KB the
// gzip header and trailer (18 bytes) and the CPU outweigh what is saved,
// and most of banklink's small answers (a connect/start, an error) fit in
// one TCP packet either way.
const GzipMinSize = 1024

// GzipLevel is the compression level of responses made per request.
// Level 1 (BestSpeed) gives up a few percent of size against the default
// level 6 for about half the CPU on a page of transactions (see
// BenchmarkGzipTransactionsPage); assets, compressed once at start-up,
// use the best level instead.
const GzipLevel = gzip.BestSpeed

var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(io.Discard, GzipLevel)
	return w
}}

// AcceptsGzip reports whether a request's Accept-Encoding allows a gzip
// response (RFC 9110 §12.5.3): "gzip" or "x-gzip" with a q-value above
// 0, or "*" above 0 when gzip is not listed itself. No header means
// identity only.
func AcceptsGzip(r *http.Request) bool {
	star := false
	for _, v := range r.Header.Values("Accept-Encoding") {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(part, ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			if coding != "gzip" && coding != "x-gzip" && coding != "*" {
				continue
			}
			ok := qAboveZero(params)
			if coding == "*" {
				star = ok
				continue
			}
			return ok // gzip named: its own q decides, whatever * says
		}
	}
	return star
}

// qAboveZero reads the q parameter of one Accept-Encoding item ("q=0.5",
// " q=0"); a missing or malformed q counts as 1, as the item is there.
func qAboveZero(params string) bool {
	for p := range strings.SplitSeq(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return true
		}
		return q > 0
	}
	return true
}

// compressible reports whether a Content-Type is worth gzipping: text
// and JSON. Images, archives and anything else already compressed (or
// unknown) go out as they are.
func compressible(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"), mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/javascript", mt == "application/xml", strings.HasSuffix(mt, "+xml"),
		mt == "application/yaml", mt == "image/svg+xml":
		return true
	}
	return false
}

// bodyless reports whether a response to r with status carries no body.
func bodyless(r *http.Request, status int) bool {
	return r.Method == http.MethodHead || status < 200 || status == http.StatusNoContent || status == http.StatusNotModified
}

// addVary adds Accept-Encoding to Vary unless it is there.
func addVary(h http.Header) {
	for _, v := range h.Values("Vary") {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); f == "*" || strings.EqualFold(f, "Accept-Encoding") {
				return
			}
		}
	}
	h.Add("Vary", "Accept-Encoding")
}

// gzipETag is the entity tag of the gzip variant of a response tagged
// etag: the same tag with "-gzip" inside the quotes, so a cache never
// takes one variant's tag for the other's bytes (RFC 9110 §8.8.3).
func gzipETag(etag string) string {
	if !strings.HasSuffix(etag, `"`) || len(etag) < 2 {
		return etag
	}
	return etag[:len(etag)-1] + `-gzip"`
}

// Gzip compresses the responses of next when the client accepts gzip,
// the Content-Type is text or JSON, the handler has not set its own
// Content-Encoding (precompressed assets) and the body reaches
// GzipMinSize. Responses without a body (HEAD, 1xx, 204, 304) pass
// through. Every response of a compressible type says Vary:
// Accept-Encoding, compressed or not, so caches keep the variants apart.
func Gzip(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !AcceptsGzip(r) || r.Method == http.MethodHead {
			next.ServeHTTP(&varyWriter{ResponseWriter: w}, r)
			return
		}
		gw := &gzipWriter{ResponseWriter: w, r: r}
		defer gw.finish()
		next.ServeHTTP(gw, r)
	})
}

// varyWriter only adds Vary to compressible responses sent uncompressed
// because the client did not accept gzip.
type varyWriter struct {
	http.ResponseWriter
	wrote bool
}

func (v *varyWriter) WriteHeader(status int) {
	if !v.wrote && status >= 200 {
		v.wrote = true
		if compressible(v.Header().Get("Content-Type")) {
			addVary(v.Header())
		}
	}
	v.ResponseWriter.WriteHeader(status)
}

func (v *varyWriter) Write(p []byte) (int, error) {
	if !v.wrote {
		if v.Header().Get("Content-Type") == "" {
			// What net/http would sniff, decided here so Vary follows it.
			v.Header().Set("Content-Type", http.DetectContentType(p))
		}
		v.WriteHeader(http.StatusOK)
	}
	return v.ResponseWriter.Write(p)
}

func (v *varyWriter) Unwrap() http.ResponseWriter { return v.ResponseWriter }

// gzipWriter holds the start of a body until it knows whether to
// compress: at GzipMinSize bytes, on Flush, or when the handler returns.
type gzipWriter struct {
	http.ResponseWriter
	r       *http.Request
	status  int
	buf     []byte
	decided bool
	gz      *gzip.Writer
}

func (g *gzipWriter) WriteHeader(status int) {
	if status < 200 { // informational: more headers follow
		if !g.decided {
			g.ResponseWriter.WriteHeader(status)
		}
		return
	}
	if g.decided || g.status != 0 {
		return // superfluous, as net/http would ignore it
	}
	g.status = status
	if bodyless(g.r, status) {
		g.decide(false)
	}
}

func (g *gzipWriter) Write(p []byte) (int, error) {
	if g.status == 0 {
		g.WriteHeader(http.StatusOK)
	}
	if !g.decided {
		g.buf = append(g.buf, p...)
		if len(g.buf) < GzipMinSize {
			return len(p), nil
		}
		if err := g.decide(true); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	if g.gz != nil {
		return g.gz.Write(p)
	}
	return g.ResponseWriter.Write(p)
}

// decide sends the headers, compressed when the response qualifies and
// big is true (the body reached GzipMinSize or is being streamed), and
// then what was held back.
func (g *gzipWriter) decide(big bool) error {
	g.decided = true
	h := g.Header()
	if g.status == 0 {
		g.status = http.StatusOK
	}
	if h.Get("Content-Type") == "" && len(g.buf) > 0 && !bodyless(g.r, g.status) {
		h.Set("Content-Type", http.DetectContentType(g.buf))
	}
	typed := compressible(h.Get("Content-Type"))
	if typed {
		addVary(h)
	}
	if big && typed && !bodyless(g.r, g.status) && h.Get("Content-Encoding") == "" && h.Get("Content-Range") == "" {
		h.Del("Content-Length")
		h.Set("Content-Encoding", "gzip")
		if et := h.Get("ETag"); et != "" {
			h.Set("ETag", gzipETag(et))
		}
		g.ResponseWriter.WriteHeader(g.status)
		g.gz = gzipWriters.Get().(*gzip.Writer)
		g.gz.Reset(g.ResponseWriter)
		_, err := g.gz.Write(g.buf)
		g.buf = nil
		return err
	}
	if !bodyless(g.r, g.status) && h.Get("Content-Length") == "" && h.Get("Content-Encoding") == "" && !big {
		// The whole body is known: say how long it is, as net/http
		// would have for a small response.
		h.Set("Content-Length", strconv.Itoa(len(g.buf)))
	}
	g.ResponseWriter.WriteHeader(g.status)
	if len(g.buf) > 0 {
		_, err := g.ResponseWriter.Write(g.buf)
		g.buf = nil
		return err
	}
	return nil
}

// Flush sends what the handler wrote so far (compressed if it qualifies).
func (g *gzipWriter) Flush() {
	if !g.decided {
		if g.status == 0 {
			g.status = http.StatusOK
		}
		g.decide(true)
	}
	if g.gz != nil {
		g.gz.Flush()
	}
	http.NewResponseController(g.ResponseWriter).Flush()
}

func (g *gzipWriter) Unwrap() http.ResponseWriter { return g.ResponseWriter }

// finish writes what is still held back and closes the gzip stream.
func (g *gzipWriter) finish() {
	if !g.decided {
		if g.status == 0 && len(g.buf) == 0 {
			return // the handler wrote nothing: net/http answers 200
		}
		g.decide(false)
	}
	if g.gz != nil {
		g.gz.Close()
		g.gz.Reset(io.Discard) // drop the reference to the connection
		gzipWriters.Put(g.gz)
		g.gz = nil
	}
}

// Assets serves a fixed set of files (embedded, immutable) in both
// encodings, each compressed once when the Assets are made instead of on
// every request.
type Assets struct {
	files map[string]asset
}

type asset struct {
	plain, gz []byte
}

// NewAssets reads every file of fsys whose name ends in one of exts
// (".js", ".css") and keeps it with its gzip form when that form is
// smaller and the file reaches GzipMinSize.
func NewAssets(fsys fs.FS, exts ...string) (*Assets, error) {
	a := &Assets{files: map[string]asset{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ok := false
		for _, e := range exts {
			ok = ok || strings.HasSuffix(p, e)
		}
		if !ok {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		f := asset{plain: b}
		if len(b) >= GzipMinSize {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			zw.Write(b)
			if err := zw.Close(); err != nil {
				return fmt.Errorf("gzip %s: %w", p, err)
			}
			if buf.Len() < len(b) {
				f.gz = buf.Bytes()
			}
		}
		a.files[p] = f
		return nil
	})
	return a, err
}

// Has reports whether name is one of the assets.
func (a *Assets) Has(name string) bool {
	_, ok := a.files[name]
	return ok
}

// Size returns the identity and gzip sizes of name (gzip 0 when it is
// served identity only).
func (a *Assets) Size(name string) (plain, gz int) {
	f := a.files[name]
	return len(f.plain), len(f.gz)
}

// Serve writes asset name (the caller has set its Content-Type and
// caching headers), gzipped when the client accepts it, with its exact
// Content-Length either way. It reports false, writing nothing, when
// there is no such asset.
func (a *Assets) Serve(w http.ResponseWriter, r *http.Request, name string) bool {
	f, ok := a.files[name]
	if !ok {
		return false
	}
	h := w.Header()
	body := f.plain
	if f.gz != nil {
		addVary(h)
		if AcceptsGzip(r) {
			body = f.gz
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
	return true
}
