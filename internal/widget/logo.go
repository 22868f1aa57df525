package widget

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"

	"banklink"
	"banklink/internal/search"
)

// Institution logos reach the customer's browser from banklink's own
// origin, never from the providers' CDNs: a page that loads an image
// from MX's or Finicity's servers tells them (and anyone on the way)
// that this customer is linking that bank now, from that address, and
// the widget's CSP (img-src 'self' data:) would have to open up to
// third-party hosts. So the widget serves GET …/logo/{institutionId}:
// an inline logo (Plaid's PNGs, held in the store) is decoded, a URL
// (MX, Finicity) is fetched by banklink, over https, from a public
// address only, at most MaxLogoBytes, and kept in a bounded cache.
// Anything else is a 404, and the picker shows its monogram instead.

// Logo limits.
const (
	// MaxLogoBytes bounds one logo: providers' icons are a few
	// kilobytes; a bigger answer is not an icon.
	MaxLogoBytes = 64 << 10
	// logoCacheSize bounds the logos kept in memory (at most
	// logoCacheSize × MaxLogoBytes, 64 MiB; a few MiB in practice).
	logoCacheSize = 1024
	// logoTTL is how long a fetched logo is served before it is fetched
	// again; logoFailTTL how long a failure is remembered, so a dead
	// CDN is not asked on every page view.
	logoTTL     = 24 * time.Hour
	logoFailTTL = 10 * time.Minute
	logoTimeout = 5 * time.Second
)

// logoSource is the image the picker shows for in: the icon, else the
// tile (the wide logo is not square). "" when it has none.
func logoSource(in *banklink.Institution) (field string, src string) {
	switch {
	case in.Images.Icon != "":
		return "icon", in.Images.Icon
	case in.Images.Tile != "":
		return "tile", in.Images.Tile
	}
	return "", ""
}

// logoURL is the widget's address for in's logo, versioned by its source
// so that browsers may cache it for a day and still see a new logo;
// "" when in has none.
func (w *Widget) logoURL(in *banklink.Institution) string {
	_, src := logoSource(in)
	if src == "" || src != search.StoredImage && !strings.HasPrefix(src, "https://") {
		return ""
	}
	sum := sha256.Sum256([]byte(src))
	return w.basePath + "/logo/" + in.ID + "?v=" + hex.EncodeToString(sum[:6])
}

type logoEntry struct {
	ready chan struct{} // closed once body or err is set
	body  []byte
	ctype string
	err   error
	until time.Time
}

// logoCache holds fetched logos by institution id and source.
type logoCache struct {
	client *http.Client
	mu     sync.Mutex
	m      map[string]*logoEntry
}

func newLogoCache(client *http.Client) *logoCache {
	if client == nil {
		client = publicHTTPSClient()
	}
	return &logoCache{client: client, m: map[string]*logoEntry{}}
}

// get returns the logo for key, loading it once however many requests
// ask at the same time.
func (c *logoCache) get(ctx context.Context, key string, now time.Time, load func(context.Context) ([]byte, string, error)) ([]byte, string, error) {
	c.mu.Lock()
	e, ok := c.m[key]
	if ok {
		select {
		case <-e.ready:
			if now.After(e.until) {
				ok = false
			}
		default:
		}
	}
	if !ok {
		if len(c.m) >= logoCacheSize {
			// Evict an arbitrary finished entry: the cache only spares
			// the providers' CDNs repeated fetches.
			for k, old := range c.m {
				select {
				case <-old.ready:
					delete(c.m, k)
				default:
					continue
				}
				break
			}
		}
		e = &logoEntry{ready: make(chan struct{})}
		c.m[key] = e
		c.mu.Unlock()
		// The fetch outlives the request that started it: others wait
		// for it, and its result is cached.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), logoTimeout)
		e.body, e.ctype, e.err = load(lctx)
		cancel()
		e.until = now.Add(logoTTL)
		if e.err != nil {
			e.until = now.Add(logoFailTTL)
		}
		close(e.ready)
	} else {
		c.mu.Unlock()
	}
	select {
	case <-e.ready:
		return e.body, e.ctype, e.err
	case <-ctx.Done():
		return nil, "", ctx.Err()
	}
}

// fetch reads an https logo URL.
func (c *logoCache) fetch(ctx context.Context, src string) ([]byte, string, error) {
	if !strings.HasPrefix(src, "https://") {
		return nil, "", errors.New("logo URL is not https")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Accept", "image/png,image/svg+xml,image/webp,image/jpeg,image/gif")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("logo: %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxLogoBytes+1))
	if err != nil {
		return nil, "", err
	}
	if len(body) > MaxLogoBytes {
		return nil, "", errors.New("logo too large")
	}
	ctype, ok := imageType(body)
	if !ok {
		return nil, "", errors.New("logo is not an image")
	}
	return body, ctype, nil
}

// imageType names the image format of b, from its bytes (never from the
// sender's Content-Type): PNG, JPEG, GIF, WebP or SVG.
func imageType(b []byte) (string, bool) {
	switch ct := http.DetectContentType(b); ct {
	case "image/png", "image/jpeg", "image/gif", "image/webp":
		return ct, true
	}
	head := bytes.TrimSpace(b[:min(len(b), 512)])
	if bytes.HasPrefix(head, []byte("\xef\xbb\xbf")) {
		head = head[3:]
	}
	if bytes.HasPrefix(head, []byte("<svg")) || bytes.HasPrefix(head, []byte("<?xml")) && bytes.Contains(head, []byte("<svg")) {
		return "image/svg+xml", true
	}
	return "", false
}

// decodeDataLogo reads a "data:image/png;base64," logo.
func decodeDataLogo(src string) ([]byte, string, error) {
	b64, ok := strings.CutPrefix(src, "data:image/png;base64,")
	if !ok {
		return nil, "", errors.New("inline logo is not a base64 PNG")
	}
	body, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(body) > MaxLogoBytes {
		return nil, "", errors.New("inline logo is not a base64 PNG of at most 64 KB")
	}
	if ct, ok := imageType(body); !ok || ct != "image/png" {
		return nil, "", errors.New("inline logo is not a PNG")
	}
	return body, "image/png", nil
}

// publicHTTPSClient fetches from public addresses only: a logo URL in a
// provider's directory must not make banklink reach its own network
// (the database, a cloud metadata service). The check is on the address
// actually dialled, after DNS, so a name that resolves to a private
// address is refused too; redirects must stay https.
func publicHTTPSClient() *http.Client {
	dialer := &net.Dialer{Timeout: logoTimeout, Control: func(network, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return err
		}
		if !publicAddr(ip) {
			return fmt.Errorf("logo host %s is not a public address", ip)
		}
		return nil
	}}
	tr := &http.Transport{DialContext: dialer.DialContext, TLSHandshakeTimeout: logoTimeout, ResponseHeaderTimeout: logoTimeout,
		MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute, ForceAttemptHTTP2: true}
	return &http.Client{Transport: tr, Timeout: logoTimeout, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 3 || req.URL.Scheme != "https" {
			return errors.New("logo redirect refused")
		}
		return nil
	}}
}

// publicAddr reports whether ip is a public unicast address.
func publicAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsGlobalUnicast() && !ip.IsPrivate() && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() &&
		!netip.MustParsePrefix("100.64.0.0/10").Contains(ip) && !netip.MustParsePrefix("fc00::/7").Contains(ip)
}

// serveLogo serves an institution's logo (see the comment at the top).
func (w *Widget) serveLogo(rw http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	notFound := banklink.Errorf(banklink.ENOTFOUND, "No logo for this institution.")
	in, ok := w.Directory.Current().ByID(id)
	if !ok {
		return notFound
	}
	field, src := logoSource(in)
	if src == "" {
		return notFound
	}
	body, ctype, err := w.logos.get(r.Context(), id+"\x00"+src, w.Now(), func(ctx context.Context) ([]byte, string, error) {
		if src != search.StoredImage {
			return w.logos.fetch(ctx, src)
		}
		// Held inline in the store, not in memory (search.Live).
		full, err := w.Store.FindInstitutionByID(ctx, id)
		if err != nil {
			return nil, "", err
		}
		data := full.Images.Icon
		if field == "tile" {
			data = full.Images.Tile
		}
		return decodeDataLogo(data)
	})
	if err != nil {
		if r.Context().Err() == nil {
			w.Log.Debug("institution logo", "institution", id, "err", err)
		}
		return notFound
	}
	h := rw.Header()
	h.Set("Content-Type", ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	// An SVG opened on its own must not run anything.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; sandbox")
	h.Set("Cache-Control", "public, max-age=86400")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	rw.Write(body)
	return nil
}
