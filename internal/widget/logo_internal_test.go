package widget

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPublicAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"93.184.215.14": true, "2606:2800:21f:cb07:6820:80da:af6b:8b2c": true,
		"127.0.0.1": false, "::1": false, "10.1.2.3": false, "172.16.0.1": false, "192.168.1.1": false,
		"169.254.169.254": false, // cloud metadata
		"100.64.0.1":      false, "fd00::1": false, "fe80::1": false, "0.0.0.0": false, "::ffff:127.0.0.1": false,
		"224.0.0.1": false, "255.255.255.255": false,
	} {
		if got := publicAddr(netip.MustParseAddr(addr)); got != want {
			t.Errorf("publicAddr(%s) = %v, want %v", addr, got, want)
		}
	}
}

// TestLogoClientRefusesLoopback: the default logo client will not dial
// a loopback address, even for a URL it could otherwise fetch (the test
// server's certificate is trusted here), and follows no redirect to
// http.
func TestLogoClientRefusesLoopback(t *testing.T) {
	hits := 0
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		w.Write([]byte("\x89PNG\r\n\x1a\n"))
	}))
	defer srv.Close()
	c := publicHTTPSClient()
	c.Transport.(*http.Transport).TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig
	cache := newLogoCache(c)
	_, _, err := cache.fetch(t.Context(), srv.URL+"/logo.png")
	if err == nil || !strings.Contains(err.Error(), "not a public address") || hits != 0 {
		t.Errorf("fetch from loopback: %v (%d hits)", err, hits)
	}
	if _, _, err := cache.fetch(t.Context(), "http://example.com/logo.png"); err == nil {
		t.Error("fetched an http URL")
	}
}

func TestImageType(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"png", "\x89PNG\r\n\x1a\n....", "image/png"},
		{"jpeg", "\xff\xd8\xff\xe0....", "image/jpeg"},
		{"svg", `<svg xmlns="http://www.w3.org/2000/svg"/>`, "image/svg+xml"},
		{"svg with xml declaration", `<?xml version="1.0"?><svg/>`, "image/svg+xml"},
		{"html", `<!doctype html><svg/>`, ""},
		{"text", "hello", ""},
		{"empty", "", ""},
	} {
		if got, _ := imageType([]byte(tc.body)); got != tc.want {
			t.Errorf("%s: imageType = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestLogoCacheLoadsOnce: concurrent requests for one logo share one
// load; a finished entry is served until it expires; the cache stays
// within its bound.
func TestLogoCacheLoadsOnce(t *testing.T) {
	c := newLogoCache(http.DefaultClient)
	now := time.Now()
	var loads atomic.Int32
	release := make(chan struct{})
	load := func(context.Context) ([]byte, string, error) {
		loads.Add(1)
		<-release
		return []byte("png"), "image/png", nil
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if b, ct, err := c.get(t.Context(), "k", now, load); err != nil || string(b) != "png" || ct != "image/png" {
				t.Errorf("get = %q %q %v", b, ct, err)
			}
		})
	}
	time.Sleep(10 * time.Millisecond) // let the waiters queue up behind the load
	close(release)
	wg.Wait()
	if n := loads.Load(); n != 1 {
		t.Errorf("%d loads, want 1", n)
	}
	c.get(t.Context(), "k", now.Add(logoTTL-time.Second), load)
	if n := loads.Load(); n != 1 {
		t.Errorf("a fresh entry was loaded again (%d loads)", n)
	}
	c.get(t.Context(), "k", now.Add(logoTTL+time.Second), load)
	if n := loads.Load(); n != 2 {
		t.Errorf("an expired entry was not loaded again (%d loads)", n)
	}
	quick := func(context.Context) ([]byte, string, error) { return nil, "", errors.New("gone") }
	for i := range logoCacheSize + 50 {
		c.get(t.Context(), fmt.Sprint("x", i), now, quick)
	}
	if n := len(c.m); n > logoCacheSize {
		t.Errorf("%d entries, bound %d", n, logoCacheSize)
	}
}
