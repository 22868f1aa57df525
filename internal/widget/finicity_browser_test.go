package widget_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"banklink/internal/finicity"
	"banklink/internal/finicity/fakefinicity"
	"banklink/internal/httpapi"
	"banklink/internal/testenv"

	"github.com/chromedp/chromedp"
)

// finicitySignIn fills the fake Data Connect's form, in the widget's
// frame when frame is set, else on the page.
func finicitySignIn(t *testing.T, ctx context.Context, pass string, frame bool) {
	t.Helper()
	var opts []chromedp.QueryOption
	if frame {
		opts = append(opts, chromedp.FromNode(providerFrame(t, ctx)))
	}
	do(t, ctx,
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`), opts...),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "demo", opts...),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), pass, opts...),
		chromedp.Click(chromedp.CSS(`button[value=submit]`), opts...),
	)
}

// TestFinicityBrowser: in a real browser, Data Connect in redirect mode
// (the customer leaves for it and Finicity sends them back to the widget,
// which reads the outcome and offers the accounts) and in embed mode (in
// the widget's frame, whose CSP allows its origin; a wrong password stays
// in Connect; its done message takes the widget on).
func TestFinicityBrowser(t *testing.T) {
	for _, embed := range []bool{false, true} {
		name := "redirect"
		if embed {
			name = "embed"
		}
		t.Run(name, func(t *testing.T) {
			st, fake, _ := newFinicityStack(t, finicity.Config{Embed: embed})
			browser := newBrowser(t)
			ctx := tab(t, browser)
			resp := st.Start(`{"externalCustomerId":"fin-browser","products":["BALANCES","TRANSACTIONS"],"serviceProvider":"FINICITY"}`)
			do(t, ctx, chromedp.Navigate(resp.WidgetURL))
			pick(t, ctx, "FinBank Profiles", "FinBank Profiles - A")
			waitTitle(t, ctx, "Log in")
			shot(t, ctx, "finicity-"+name+"-1-login")
			if !embed {
				do(t, ctx, chromedp.Click(chromedp.CSS(`a.primary`)))
				finicitySignIn(t, ctx, fakefinicity.PasswordGood, false)
			} else {
				finicitySignIn(t, ctx, fakefinicity.PasswordBad, true)
				var msg string
				var err error
				if !testenv.Poll(20*time.Second, func() bool {
					frame := providerFrame(t, ctx)
					msg, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`p[role=alert]`), chromedp.FromNode(frame), chromedp.AtLeast(0)))
					return err == nil && strings.Contains(msg, "Try again")
				}) {
					t.Fatalf("Data Connect did not show the failed sign-in (%q, %v)", msg, err)
				}
				if got := text(t, ctx, "#title"); got != "Log in" {
					t.Fatalf("after a wrong password the widget shows %q", got)
				}
				finicitySignIn(t, ctx, fakefinicity.PasswordGood, true)
			}
			connectAccounts(t, ctx, "finicity-"+name)
			st.Runner.Wait()
			var conn httpapi.ConnectionJSON
			st.Get("/bank-linking/connections/"+resp.ID, &conn)
			c, _ := fake.Customer(finicity.Username("fin-browser"))
			logins := fake.Logins(c.ID)
			if conn.Status != "ACTIVE" || len(logins) != 1 || conn.ServiceProviderDetails["serviceProviderConnectionId"] != c.ID+"/"+logins[0] {
				t.Fatalf("connection %+v, Finicity logins %v", conn, logins)
			}
		})
	}
}
