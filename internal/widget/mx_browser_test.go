package widget_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"banklink/internal/httpapi"
	"banklink/internal/testenv"

	"github.com/chromedp/chromedp"
)

// providerFrame returns the embedded provider page's frame node, read
// afresh: the frame navigates when its form is submitted.
func providerFrame(t *testing.T, ctx context.Context) *chromedp.Node {
	t.Helper()
	var frame *chromedp.Node
	testenv.Eventually(t, 20*time.Second, "the provider frame", func() bool {
		nodes, err := chromedp.Run(ctx, chromedp.Nodes(chromedp.CSS("iframe.provider-frame"), chromedp.AtLeast(0)))
		if err == nil && len(nodes) == 1 && nodes[0].ContentDocument != nil {
			frame = nodes[0]
		}
		return frame != nil
	})
	return frame
}

// mxLogin fills MX Connect's form inside the widget's frame.
func mxLogin(t *testing.T, ctx context.Context, user, pass string) {
	t.Helper()
	frame := providerFrame(t, ctx)
	do(t, ctx,
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`), chromedp.FromNode(frame)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), user, chromedp.FromNode(frame)),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), pass, chromedp.FromNode(frame)),
		chromedp.Click(chromedp.CSS(`button[value=connect]`), chromedp.FromNode(frame)),
	)
}

// TestMXBrowser: in a real browser the widget embeds MX Connect (the
// widget page's CSP lets it frame MX's origin and nothing else), a failed
// login stays inside MX Connect, and MX Connect's memberConnected message
// takes the widget on to the accounts.
func TestMXBrowser(t *testing.T) {
	st, fake := newMXStack(t, false)
	browser := newBrowser(t)
	ctx := tab(t, browser)
	resp := st.Start(`{"externalCustomerId":"mx-browser","products":["BALANCES","TRANSACTIONS"],"serviceProvider":"MX"}`)
	do(t, ctx, chromedp.Navigate(resp.WidgetURL))
	pick(t, ctx, "MX Bank", "MX Bank")
	waitTitle(t, ctx, "Log in")
	shot(t, ctx, "mx-1-embedded")

	mxLogin(t, ctx, "mx-browser", "nope")
	var msg string
	var err error
	if !testenv.Poll(20*time.Second, func() bool {
		frame := providerFrame(t, ctx)
		msg, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`p[role=alert]`), chromedp.FromNode(frame), chromedp.AtLeast(0)))
		return err == nil && strings.Contains(msg, "Try again")
	}) {
		t.Fatalf("MX Connect did not show the failed login (%q, %v)", msg, err)
	}
	if got := text(t, ctx, "#title"); got != "Log in" {
		t.Fatalf("after a failed MX login the widget shows %q", got)
	}

	mxLogin(t, ctx, "mx-browser", "correct")
	connectAccounts(t, ctx, "mx")
	st.Runner.Wait()
	var conn httpapi.ConnectionJSON
	st.Get("/bank-linking/connections/"+resp.ID, &conn)
	members := fake.Members(fake.UserGUID("mx-browser"))
	if conn.Status != "ACTIVE" || len(members) != 1 || conn.ServiceProviderDetails["serviceProviderConnectionId"] != fake.UserGUID("mx-browser")+"/"+members[0].GUID {
		t.Fatalf("connection %+v, MX members %+v", conn, members)
	}
}
