package widget_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"banklink"
	"banklink/internal/bidi"
	"banklink/internal/testenv"
)

// TestOAuthFirefox runs the iframe + popup OAuth flow in Firefox, driven
// over WebDriver BiDi, at phone and desktop sizes: Approve ends in
// onSuccess with the connection id, Deny in onError, then onExit. Firefox
// 153 ESR has location.ancestorOrigins, but older Firefoxes (ESR 128)
// and other browsers do not: with it turned off
// (dom.location.ancestorOrigins.enabled) the widget in the frame knows
// the app's origin only from its first referrer, and its events must
// still reach the app; the popup's return must still find the frame
// through window.opener.
func TestOAuthFirefox(t *testing.T) {
	path := testenv.Firefox(t)
	st := newStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	chase := st.Institution("Chase")
	authorize := st.Srv.URL + "/connect/sandbox/authorize"

	type run struct {
		variant string
		size    struct {
			name string
			w, h int64
		}
		deny bool
	}
	var runs []run
	for _, variant := range []string{"no-ancestorOrigins", "default"} {
		for _, size := range oauthSizes {
			for _, deny := range []bool{false, true} {
				if variant == "default" && deny {
					continue // the refusal's path does not depend on it
				}
				runs = append(runs, run{variant, size, deny})
			}
		}
	}
	browsers := map[string]*bidi.Browser{}
	for _, v := range []string{"no-ancestorOrigins", "default"} {
		var prefs map[string]any
		if v == "no-ancestorOrigins" {
			prefs = map[string]any{"dom.location.ancestorOrigins.enabled": false}
		}
		b, err := bidi.Start(ctx, path, t.TempDir(), prefs)
		if err != nil {
			t.Fatalf("start firefox: %v", err)
		}
		defer b.Close()
		browsers[v] = b
	}

	for _, r := range runs {
		b, size, deny := browsers[r.variant], r.size, r.deny
		name := r.variant + "/" + map[bool]string{false: "approve", true: "deny"}[deny] + "/" + size.name
		t.Run(name, func(t *testing.T) {
			ff := &firefoxTab{t: t, b: b, ctx: ctx}
			resp := st.Start(fmt.Sprintf(`{"externalCustomerId":"ff-%s","institutionId":%q}`, strings.ReplaceAll(name, "/", "-"), chase.ID))
			var created struct {
				Context string `json:"context"`
			}
			if err := b.Call(ctx, "browsingContext.create", map[string]any{"type": "tab"}, &created); err != nil {
				t.Fatal(err)
			}
			tab := created.Context
			defer b.Call(ctx, "browsingContext.close", map[string]any{"context": tab}, nil)
			ff.must(b.SetViewport(ctx, tab, int(size.w), int(size.h)))
			ff.must(b.Navigate(ctx, tab, oauthApp(t, st, resp.WidgetURL, "iframe", "")))
			ff.must(b.Click(ctx, tab, "#open"))
			frame := ff.context(func(c bidi.Context) bool { return c.Parent == tab && strings.HasPrefix(c.URL, st.Srv.URL+"/connect") })
			ff.title(frame, "Log in")
			var ancestors string
			ff.must(b.Eval(ctx, frame, `typeof location.ancestorOrigins`, &ancestors))
			if (ancestors == "undefined") != (r.variant == "no-ancestorOrigins") {
				t.Errorf("%s: typeof location.ancestorOrigins is %s", r.variant, ancestors)
			}
			ff.shot(tab, "oauth-firefox-"+r.variant+"-"+size.name+"-1-continue")
			ff.must(b.Click(ctx, frame, "#oauth-open"))
			popup := ff.context(func(c bidi.Context) bool { return c.Parent == "" && strings.HasPrefix(c.URL, authorize) })
			ff.wait(popup, `!!document.getElementById("approve")`)
			ff.shot(popup, "oauth-firefox-"+r.variant+"-"+size.name+"-2-bank")
			if deny {
				ff.must(b.Click(ctx, popup, "#deny"))
				ff.wait(tab, `calls.some(function (c) { return c.cb === "error"; })`)
				ff.title(frame, "Log in")
				ff.shot(tab, "oauth-firefox-"+r.variant+"-"+size.name+"-deny")
				ff.must(b.Click(ctx, frame, "#close"))
				ff.wait(tab, `calls.some(function (c) { return c.cb === "exit"; })`)
			} else {
				ff.must(b.Click(ctx, popup, "#approve"))
				ff.title(frame, "Choose accounts")
				ff.shot(tab, "oauth-firefox-"+r.variant+"-"+size.name+"-3-accounts")
				ff.must(b.Click(ctx, frame, "form button.primary"))
				ff.wait(tab, `calls.some(function (c) { return c.cb === "success"; })`)
				ff.shot(tab, "oauth-firefox-"+r.variant+"-"+size.name+"-4-app")
			}
			if !testenv.Poll(10*time.Second, func() bool {
				cs, err := b.Contexts(ctx)
				for _, c := range cs {
					if strings.HasPrefix(c.URL, st.Srv.URL) && c.Parent == "" {
						return false
					}
				}
				return err == nil
			}) {
				t.Errorf("the popup is still open after the bank's return")
			}

			var calls []appCall
			ff.must(b.Eval(ctx, tab, `calls`, &calls))
			ev := events(calls)
			var want []string
			if deny {
				want = []string{"init", "debug:open_oauth", "error", "exit"}
			} else {
				want = []string{"init", "debug:open_oauth", "connect_complete"}
			}
			if !subsequence(ev, want) {
				t.Errorf("events %v, want %v in order", ev, want)
			}
			for _, c := range calls {
				switch {
				case c.CB == "success" && (deny || c.Arg.ConnectionID != resp.ID):
					t.Errorf("onSuccess %+v", c.Arg)
				case c.CB == "error" && (!deny || c.Arg.Reason != string(banklink.LoginOAuthDenied) || c.Arg.ConnectionID != resp.ID):
					t.Errorf("onError %+v", c.Arg)
				case c.CB == "exit" && (!deny || c.Arg.Status != "ERROR"):
					t.Errorf("onExit %+v", c.Arg)
				}
			}
		})
	}
}

// firefoxTab is a test's hold on Firefox.
type firefoxTab struct {
	t   *testing.T
	b   *bidi.Browser
	ctx context.Context
}

func (f *firefoxTab) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatalf("firefox: %v", err)
	}
}

// context waits for a browsing context that match accepts.
func (f *firefoxTab) context(match func(bidi.Context) bool) string {
	f.t.Helper()
	var id string
	var cs []bidi.Context
	if !testenv.Poll(20*time.Second, func() bool {
		var err error
		cs, err = f.b.Contexts(f.ctx)
		f.must(err)
		for _, c := range cs {
			if match(c) {
				id = c.ID
				return true
			}
		}
		return false
	}) {
		f.t.Fatalf("firefox: no such browsing context among %+v", cs)
	}
	return id
}

// wait waits until js is true in the context; an evaluation that fails
// (the page is navigating) is tried again.
func (f *firefoxTab) wait(context, js string) {
	f.t.Helper()
	var err error
	if !testenv.Poll(30*time.Second, func() bool {
		var ok bool
		err = f.b.Eval(f.ctx, context, js, &ok)
		return err == nil && ok
	}) {
		f.t.Fatalf("firefox: never %s (%v)", js, err)
	}
}

// title waits until the widget's heading reads want, accepting the
// consent screen on the way (as waitTitle does).
func (f *firefoxTab) title(context, want string) {
	f.t.Helper()
	f.wait(context, fmt.Sprintf(`(function(){var b=document.getElementById("consent-continue");if(b&&!b.disabled&&%q!==document.getElementById("title").textContent)b.click();
		return !!document.getElementById("title") && document.getElementById("title").textContent === %q && document.getElementById("app").getAttribute("aria-busy") === "false"})()`, want, want))
}

func (f *firefoxTab) shot(context, name string) {
	f.t.Helper()
	png, err := f.b.Screenshot(f.ctx, context)
	f.must(err)
	f.must(os.WriteFile(filepath.Join(artifactsDir(f.t), name+".png"), png, 0o644))
}
