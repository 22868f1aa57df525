package widget_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"banklink"
	"banklink/internal/httpapi"
	"banklink/internal/mx/fakemx"
	"banklink/internal/plaid/fakeplaid"
	"banklink/internal/sandbox"
	"banklink/webhook"
)

// TestProcessorTokensEndToEnd links an account through the widget with
// each provider (on the fakes, held to the providers' specs), hands it to
// a processor through the provider's own API, revokes the token, and
// checks the signed events and that no log line carries the token.
func TestProcessorTokensEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		name, wire string
		// link returns the stack, the connection and a check that the
		// provider handed out token for the connection's login.
		link func(t *testing.T) (st *stack, connID string, issued func(token string) bool)
	}{
		{"plaid", "PLAID", func(t *testing.T) (*stack, string, func(string) bool) {
			st, fp := newPlaidStack(t)
			id, item := st.PlaidLink(fp, `{"externalCustomerId":"pt-plaid","products":["TRANSACTIONS"],"serviceProvider":"PLAID"}`, "Chase", "ins_56")
			return st, id, func(tok string) bool {
				return slices.ContainsFunc(fp.ProcessorTokens(), func(p fakeplaid.ProcessorToken) bool {
					return p.Token == tok && p.ItemID == item.ID && p.Processor == "dwolla"
				})
			}
		}},
		{"mx", "MX", func(t *testing.T) (*stack, string, func(string) bool) {
			st, fake := newMXStack(t, false)
			id, member := st.MXLink(fake, `{"externalCustomerId":"pt-mx","products":["TRANSACTIONS"],"serviceProvider":"MX"}`, "MX Bank", "correct")
			return st, id, func(tok string) bool {
				return slices.ContainsFunc(fake.AuthorizationCodes(), func(c fakemx.AuthorizationCode) bool {
					return c.Code == tok && c.MemberGUID == member && slices.Contains(c.Features, "read-protected")
				})
			}
		}},
		{"sandbox", "SANDBOX", func(t *testing.T) (*stack, string, func(string) bool) {
			st := newStack(t)
			id := st.Link(`{"externalCustomerId":"pt-sandbox","products":["TRANSACTIONS"]}`, "user_good")
			st.Runner.Wait()
			return st, id, func(tok string) bool { return strings.HasPrefix(tok, sandbox.ProcessorTokenPrefix) }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, connID, issued := tc.link(t)
			sink := st.HookSink(t)
			var page struct {
				FinancialAccounts []struct{ ID string }
			}
			st.Get("/bank-linking/accounts?limit=100&connectionId="+connID, &page)
			if len(page.FinancialAccounts) == 0 {
				t.Fatal("no accounts linked")
			}
			acct := page.FinancialAccounts[0].ID
			var tok httpapi.ProcessorTokenJSON
			if status, _ := st.Send("POST", "/bank-linking/accounts/"+acct+"/processors/create-token", `{"processor":"DWOLLA","serviceProvider":"`+tc.wire+`"}`, &tok); status != 200 {
				t.Fatalf("create-token: %d %+v", status, tok)
			}
			if tok.Processor != "DWOLLA" || tok.ServiceProvider != tc.wire || tok.FinancialAccountID != acct || !issued(tok.Token) {
				t.Fatalf("token %+v was not issued by %s", tok, tc.name)
			}
			var revoked httpapi.ProcessorTokenJSON
			if status, _ := st.Send("POST", "/bank-linking/accounts/"+acct+"/processors/revoke-token", fmt.Sprintf(`{"token":%q}`, tok.Token), &revoked); status != 200 || revoked.RevokedAt == nil {
				t.Fatalf("revoke-token: %d %+v", status, revoked)
			}
			types, payloads := sink.Flush(t, st, connID)
			var got []webhook.EventType
			for i, typ := range types {
				if typ == webhook.ProcessorTokenCreated || typ == webhook.ProcessorTokenRevoked {
					got = append(got, typ)
					if p := payloads[i]; p.ProcessorTokenID != tok.ID || p.FinancialAccountID != acct || p.Processor != "DWOLLA" || p.CustomerID == "" {
						t.Errorf("%s payload %+v", typ, p)
					}
				}
			}
			if !slices.Equal(got, []webhook.EventType{webhook.ProcessorTokenCreated, webhook.ProcessorTokenRevoked}) {
				t.Errorf("events %v", types)
			}
			if strings.Contains(st.Logs.String(), tok.Token) {
				t.Error("the logs carry the processor token")
			}
		})
	}
}

// TestImportPlaidItems imports three Items an app linked with Plaid
// directly, one whose access token was revoked: the two good ones become
// ACTIVE connections, their webhooks now come to banklink, their data is
// read and the app's signed webhooks are delivered; the revoked one makes
// nothing. Importing again changes nothing.
func TestImportPlaidItems(t *testing.T) {
	st, fp := newPlaidStack(t)
	sink := st.HookSink(t)
	const appHook = "https://app.example/plaid-hooks"
	a := fp.NewItem("ins_56", appHook, "transactions", "auth", "identity")
	b := fp.NewItem("ins_56", appHook, "transactions")
	c := fp.NewItem("ins_56", appHook, "transactions")
	fp.RemoveItem(c.ID) // the app's token for c was revoked
	body := fmt.Sprintf(`{"connections":[
		{"serviceProvider":"PLAID","itemId":%q,"accessToken":%q,"externalCustomerId":"imp-a"},
		{"serviceProvider":"PLAID","itemId":%q,"accessToken":%q,"externalCustomerId":"imp-b"},
		{"serviceProvider":"PLAID","itemId":%q,"accessToken":%q,"externalCustomerId":"imp-c"}]}`,
		a.ID, a.AccessToken, b.ID, b.AccessToken, c.ID, c.AccessToken)
	var imp httpapi.ImportJSON
	if status, _ := st.Send("POST", "/bank-linking/connections/import", body, &imp); status != 200 {
		t.Fatalf("import: %d %+v", status, imp)
	}
	res := imp.Connections
	if len(res) != 3 || res[0].Status != banklink.ImportCreated || res[1].Status != banklink.ImportCreated ||
		res[2].Status != banklink.ImportFailed || res[2].ErrorCode != banklink.EBADREQUEST || !strings.Contains(res[2].ErrorMessage, "INVALID_ACCESS_TOKEN") {
		t.Fatalf("results %+v", res)
	}
	st.Runner.Wait()
	hook := st.Srv.URL + httpapi.PlaidWebhookPath
	for i, it := range []*fakeplaid.Item{a, b} {
		id := res[i].ConnectionID
		t.Run(it.ID, func(t *testing.T) {
			var conn httpapi.ConnectionJSON
			st.Get("/bank-linking/connections/"+id, &conn)
			if conn.Status != "ACTIVE" || conn.RoutingDecision == nil || conn.RoutingDecision.Reason != banklink.RouteImported ||
				conn.ServiceProviderDetails["serviceProviderConnectionId"] != it.ID || conn.SuccessfullyAggregatedAt == nil {
				t.Errorf("connection %+v", conn)
			}
			// Plaid now sends the Item's webhooks to banklink, and said so.
			if got := fp.Item(it.ID).Webhook; got != hook {
				t.Errorf("the Item's webhook is %q, want %q", got, hook)
			}
			acked := slices.ContainsFunc(fp.Deliveries(), func(d fakeplaid.Delivery) bool {
				return d.URL == hook && strings.Contains(string(d.Body), "WEBHOOK_UPDATE_ACKNOWLEDGED") && strings.Contains(string(d.Body), it.ID) && d.Status == 200
			})
			if !acked {
				t.Error("banklink did not receive WEBHOOK_UPDATE_ACKNOWLEDGED")
			}
			// The data, read through Meld's endpoints.
			var accounts struct {
				FinancialAccounts []struct{ ID, Name string }
			}
			st.Get("/bank-linking/accounts?limit=100&connectionId="+id, &accounts)
			if len(accounts.FinancialAccounts) != len(fp.Item(it.ID).Accounts) {
				t.Errorf("%d accounts, the Item has %d", len(accounts.FinancialAccounts), len(fp.Item(it.ID).Accounts))
			}
			var txs struct {
				Transactions []struct{ ID string } `json:"financialAccountTransactions"`
			}
			st.Get("/bank-linking/transactions?limit=100&connectionId="+id, &txs)
			if len(txs.Transactions) == 0 {
				t.Error("no transactions")
			}
			// The app's signed webhooks: Meld's usual sequence.
			types, _ := sink.Flush(t, st, id)
			for _, want := range []webhook.EventType{webhook.ConnectionCompleted, webhook.AccountsUpdating, webhook.AccountsUpdated, webhook.TransactionsAggregated} {
				if !slices.Contains(types, want) {
					t.Errorf("no %s among %v", want, types)
				}
			}
			// Plaid's webhooks now reach banklink and refresh the data.
			before := count(types, webhook.AccountsUpdating)
			fp.FireWebhook(it.ID, "TRANSACTIONS", "SYNC_UPDATES_AVAILABLE", "")
			st.Runner.Wait()
			if types, _ := sink.Flush(t, st, id); count(types, webhook.AccountsUpdating) <= before {
				t.Errorf("Plaid's webhook did not refresh the connection: %v", types)
			}
		})
	}
	// The revoked token made no connection and no customer.
	var conns struct{ Connections []httpapi.ConnectionJSON }
	st.Get("/bank-linking/connections?externalCustomerId=imp-c", &conns)
	var customers struct{ Customers []struct{ ID string } }
	st.Get("/accounts/customers?externalId=imp-c", &customers)
	if len(conns.Connections) != 0 || len(customers.Customers) != 0 {
		t.Errorf("the revoked Item left %d connections, %d customers", len(conns.Connections), len(customers.Customers))
	}
	// Importing again: the same connections, nothing new.
	var again httpapi.ImportJSON
	if status, _ := st.Send("POST", "/bank-linking/connections/import", body, &again); status != 200 {
		t.Fatalf("import again: %d", status)
	}
	for i := range 2 {
		if r := again.Connections[i]; r.Status != banklink.ImportExisting || r.ConnectionID != res[i].ConnectionID {
			t.Errorf("again %d: %+v", i, r)
		}
	}
	var all struct{ Connections []httpapi.ConnectionJSON }
	st.Get("/bank-linking/connections?serviceProviders=PLAID&limit=100", &all)
	if len(all.Connections) != 2 {
		t.Errorf("%d Plaid connections after importing twice, want 2", len(all.Connections))
	}
	// An imported account goes to a processor like a linked one.
	var accounts struct{ FinancialAccounts []struct{ ID string } }
	st.Get("/bank-linking/accounts?connectionId="+res[0].ConnectionID, &accounts)
	var tok httpapi.ProcessorTokenJSON
	if status, _ := st.Send("POST", "/bank-linking/accounts/"+accounts.FinancialAccounts[0].ID+"/processors/create-token", `{"processor":"STRIPE"}`, &tok); status != 200 || !strings.HasPrefix(tok.Token, "btok_") {
		t.Errorf("Stripe token for an imported account: %d %+v", status, tok)
	}
	for _, secret := range []string{a.AccessToken, b.AccessToken, c.AccessToken, tok.Token} {
		if strings.Contains(st.Logs.String(), secret) {
			t.Errorf("the logs carry %q", secret)
		}
	}
}

func count[T comparable](list []T, v T) int {
	n := 0
	for _, x := range list {
		if x == v {
			n++
		}
	}
	return n
}
