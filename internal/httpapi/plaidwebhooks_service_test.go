package httpapi_test

import (
	"slices"
	"testing"
	"time"

	"banklink"
	"banklink/internal/httpapi"
	"banklink/internal/plaid/fakeplaid"
	"banklink/internal/wiring/wiringtest"
	"banklink/webhook"
)

// TestPlaidWebhooks: the fake Plaid sends real signed webhooks to the
// Item's webhook URL, banklink's route, and the connection follows
// without anyone calling refresh.
func TestPlaidWebhooks(t *testing.T) {
	for _, tc := range []struct {
		name string
		// change happens at Plaid, which then sends the webhook.
		change     func(fp *fakeplaid.Server, item *fakeplaid.Item)
		typ, code  string
		status     string
		reason     string
		wantEvents []webhook.EventType
		check      func(t *testing.T, st *wiringtest.Stack, id string)
	}{
		{name: "new transactions appear",
			change: func(fp *fakeplaid.Server, item *fakeplaid.Item) {
				fp.Mutate(item.ID, func(it *fakeplaid.Item) {
					it.AddTransaction(&fakeplaid.Transaction{ID: "tx-latte", AccountID: it.Accounts[0].ID, Amount: 5.75, Currency: "USD",
						Date: time.Now().Format(time.DateOnly), Name: "BLUE BOTTLE LATTE", MerchantName: "Blue Bottle", Primary: "FOOD_AND_DRINK", Detailed: "FOOD_AND_DRINK_COFFEE"})
				})
			},
			typ: "TRANSACTIONS", code: "SYNC_UPDATES_AVAILABLE", status: "ACTIVE",
			// As a refresh: the recent window only (the two-year history
			// is held since the link, and announced once).
			wantEvents: []webhook.EventType{webhook.AccountsUpdating, webhook.AccountsUpdated, webhook.TransactionsAggregated},
			check: func(t *testing.T, st *wiringtest.Stack, id string) {
				found := false
				for _, tx := range st.AllTransactions(id) {
					if tx.Description == "BLUE BOTTLE LATTE" && tx.Amount == 5.75 && tx.Status == "POSTED" {
						found = true
					}
				}
				if !found {
					t.Error("the new transaction is not served")
				}
			}},
		{name: "login required",
			change: func(fp *fakeplaid.Server, item *fakeplaid.Item) { fp.SetItemError(item.ID, "ITEM_LOGIN_REQUIRED") },
			typ:    "ITEM", code: "ERROR", status: "RECONNECT_REQUIRED", reason: "LOGIN_REQUIRED",
			wantEvents: []webhook.EventType{webhook.ConnectionStatusChange, webhook.CustomerActionRequired}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, fp := wiringtest.NewPlaid(t)
			id, item := st.PlaidLink(fp, `{"externalCustomerId":"plaid-webhooks","products":["BALANCES","TRANSACTIONS"],"serviceProvider":"PLAID"}`,
				"Chase", "ins_56")
			if want := st.Srv.URL + httpapi.PlaidWebhookPath; item.Webhook != want {
				t.Fatalf("the Item's webhook is %q, want %q", item.Webhook, want)
			}
			events, _, err := st.Store.FindEvents(t.Context(), st.Scope, banklink.EventFilter{Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			seen := len(events)
			tc.change(fp, item)
			fp.FireWebhook(item.ID, tc.typ, tc.code, "")
			st.Runner.Wait()
			// Every webhook Plaid sent (the Link session's too) was
			// accepted.
			for _, d := range fp.Deliveries() {
				if d.URL != item.Webhook || d.Status != 200 {
					t.Errorf("delivery to %s answered %d", d.URL, d.Status)
				}
			}
			var conn httpapi.ConnectionJSON
			st.Get("/bank-linking/connections/"+id, &conn)
			reason := ""
			if conn.StatusReason != nil {
				reason = *conn.StatusReason
			}
			if conn.Status != tc.status || reason != tc.reason {
				t.Errorf("connection is %s / %q, want %s / %q", conn.Status, reason, tc.status, tc.reason)
			}
			events, _, err = st.Store.FindEvents(t.Context(), st.Scope, banklink.EventFilter{Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			var got []webhook.EventType
			for _, e := range events[seen:] {
				got = append(got, e.Type)
			}
			if !slices.Equal(got, tc.wantEvents) {
				t.Errorf("events sent to the app = %v, want %v", got, tc.wantEvents)
			}
			if tc.check != nil {
				tc.check(t, st, id)
			}
		})
	}
}
