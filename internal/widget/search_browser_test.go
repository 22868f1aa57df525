package widget_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// listObserver records, in the page, when the picker's first result
// appears: window.__listAt, in ms since navigation start.
const listObserver = `window.__listAt = 0;
new MutationObserver(function (m, o) {
  if (document.querySelector("#results li")) { window.__listAt = performance.now(); o.disconnect(); }
}).observe(document, {childList: true, subtree: true});`

// TestBrowserTimeToList measures how long a cold widget takes to show the
// picker's list, on loopback and with a phone-like 150 ms round trip
// emulated, and the bytes it loads (uncompressed and gzip -9). It asserts
// no timing (the machine is shared); the numbers go to
// test-artifacts/widget/time-to-list.tsv and docs/benchmarks.md.
func TestBrowserTimeToList(t *testing.T) {
	st := newStack(t)
	browser := newBrowser(t)
	var report []string
	for _, latency := range []float64{0, 150} {
		var times []float64
		var requests int
		for run := range 3 {
			resp := st.Start(fmt.Sprintf(`{"externalCustomerId":"ttl-%v-%d"}`, latency, run))
			ctx := tab(t, browser)
			if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
				t.Fatal(err)
			}
			if _, err := chromedp.Call(ctx, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
				t.Fatal(err)
			}
			if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
				MatchedNetworkConditions: []*network.Conditions{{Latency: latency, DownloadThroughput: -1, UploadThroughput: -1}},
			}); err != nil {
				t.Fatal(err)
			}
			if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: listObserver}); err != nil {
				t.Fatal(err)
			}
			do(t, ctx, chromedp.Navigate(resp.WidgetURL), chromedp.WaitVisible(chromedp.CSS(`#results li`)))
			at, err := chromedp.Run(ctx, chromedp.Poll[float64](`window.__listAt || false`, chromedp.WithPollingTimeout(10*time.Second)))
			if err != nil {
				t.Fatal(err)
			}
			n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`performance.getEntriesByType("resource").filter(function(e){return e.startTime < window.__listAt}).length + 1`))
			times = append(times, at)
			requests = n
			if run == 0 {
				tl, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`performance.getEntriesByType("navigation").concat(performance.getEntriesByType("resource")).map(function(e){return e.name.replace(/\?.*/,"").replace(location.origin,"")+" "+Math.round(e.startTime)+"-"+Math.round(e.responseEnd)}).join("; ")`))
				report = append(report, fmt.Sprintf("latency %v ms timeline (start-end ms): %s", latency, tl))
			}
		}
		slices.Sort(times)
		report = append(report, fmt.Sprintf("latency %v ms\trequests before the list %d\ttime to list (median of 3) %.0f ms\truns %v", latency, requests, times[1], times))
	}

	// Bytes, cold: every response the picker needs, as served, and gzip -9.
	resp := st.Start(`{"externalCustomerId":"ttl-bytes"}`)
	ctx := tab(t, browser)
	do(t, ctx, chromedp.Navigate(resp.WidgetURL), chromedp.WaitVisible(chromedp.CSS(`#results li`)))
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](`performance.getEntriesByType("resource").map(function(e){return e.name})`))
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	if err := json.Unmarshal(raw, &urls); err != nil {
		t.Fatal(err)
	}
	urls = append([]string{resp.WidgetURL}, urls...)
	var plain, packed int
	for _, u := range urls {
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Authorization", "Bearer "+resp.ConnectToken)
		req.Header.Set("Accept-Encoding", "identity")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		zw.Write(body)
		zw.Close()
		plain += len(body)
		packed += gz.Len()
		name := strings.TrimPrefix(u, st.Srv.URL)
		if i := strings.IndexAny(name, "?"); i >= 0 {
			name = name[:i]
		}
		report = append(report, fmt.Sprintf("%s\t%d\tgzip -9 %d", name, len(body), gz.Len()))
	}
	report = append(report, fmt.Sprintf("total bodies\t%d\tgzip -9 %d", plain, packed))
	t.Logf("\n%s", strings.Join(report, "\n"))
	if err := os.WriteFile(filepath.Join(artifactsDir(t), "time-to-list.tsv"), []byte(strings.Join(report, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = context.Background
}
