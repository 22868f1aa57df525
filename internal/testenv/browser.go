package testenv

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// BrowserOptions shape one test's Chromium.
type BrowserOptions struct {
	// Width and Height size the window and the viewport; 0 means
	// 1280×800.
	Width, Height int
	// Timeout bounds the whole test's browsing; 0 means 90 s.
	Timeout time.Duration
	// PopupBlocker keeps Chromium's popup blocker on (chromedp's
	// defaults turn it off): a popup opened without a click is blocked,
	// as in a customer's browser.
	PopupBlocker bool
	// InsecureCerts accepts throwaway certificates: an app page served
	// over https by httptest, as a redirectUrl must be.
	InsecureCerts bool
}

// Browser starts headless Chromium for one test and returns a context
// driving its first tab; it closes with the test. Without Chromium the
// test skips, or fails on CI (see Chromium).
func Browser(tb testing.TB, o BrowserOptions) context.Context {
	tb.Helper()
	if o.Width == 0 || o.Height == 0 {
		o.Width, o.Height = 1280, 800
	}
	if o.Timeout == 0 {
		o.Timeout = 90 * time.Second
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(Chromium(tb)),
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.DisableGPU,
		chromedp.UserDataDir(tb.TempDir()),
		chromedp.WindowSize(o.Width, o.Height),
		// This machine has no network: keep Chromium from trying.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
	)
	if o.PopupBlocker {
		opts = append(opts, chromedp.Flag("disable-popup-blocking", false))
	}
	if o.InsecureCerts {
		opts = append(opts, chromedp.Flag("ignore-certificate-errors", true))
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	tb.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	tb.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, o.Timeout)
	tb.Cleanup(cancel3)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(o.Width), int64(o.Height))); err != nil {
		tb.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// Target waits up to within for the browser target of type typ
// ("iframe", or "page" for a popup) whose URL starts with prefix, and
// returns a context driving it: the widget inside an app's iframe or
// popup, a bank's popup.
func Target(tb testing.TB, ctx context.Context, within time.Duration, typ, prefix string) context.Context {
	tb.Helper()
	var found context.Context
	Eventually(tb, within, "a "+typ+" target at "+prefix, func() bool {
		infos, err := chromedp.Targets(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		for _, info := range infos {
			if info.Type == typ && strings.HasPrefix(info.URL, prefix) {
				var cancel context.CancelFunc
				found, cancel = chromedp.NewContext(ctx, chromedp.WithTargetID(info.TargetID))
				tb.Cleanup(cancel)
				return true
			}
		}
		return false
	})
	return found
}
