package widget_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"banklink/internal/httpapi"
	"banklink/internal/linking"
	"banklink/internal/plaid/fakeplaid"
)

// TestPlaidRepairInUpdateMode: repairing a Plaid connection sends the
// customer through Link's update mode for the connection's Item, which is
// fixed in place: same Item, same login id, ACTIVE again, data flowing.
func TestPlaidRepairInUpdateMode(t *testing.T) {
	for _, tc := range []struct {
		name string
		// breakIt makes the connection need a repair.
		breakIt        func(st *stack, fp *fakeplaid.Server, id string, item *fakeplaid.Item)
		status, reason string
	}{
		{name: "login required, found by a refresh",
			breakIt: func(st *stack, fp *fakeplaid.Server, id string, item *fakeplaid.Item) {
				fp.SetItemError(item.ID, "ITEM_LOGIN_REQUIRED")
				var body map[string]any
				if status, _ := st.Send("POST", "/bank-linking/connections/"+id+"/refresh", "", &body); status != 200 {
					st.T.Fatalf("refresh: %d %v", status, body)
				}
				st.Runner.Wait()
			},
			status: "RECONNECT_REQUIRED", reason: "LOGIN_REQUIRED"},
		{name: "consent expiring, announced by Plaid's webhook",
			breakIt: func(st *stack, fp *fakeplaid.Server, id string, item *fakeplaid.Item) {
				fp.FireWebhook(item.ID, "ITEM", "PENDING_EXPIRATION", "")
			},
			status: "ACTIVE", reason: "ACCESS_EXPIRING_SOON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, fp := newPlaidStack(t)
			id, item := st.PlaidLink(fp, `{"externalCustomerId":"plaid-repair","products":["BALANCES","TRANSACTIONS"],"serviceProvider":"PLAID"}`,
				"Chase", "ins_56")
			tc.breakIt(st, fp, id, item)
			var conn httpapi.ConnectionJSON
			st.Get("/bank-linking/connections/"+id, &conn)
			if conn.Status != tc.status || conn.StatusReason == nil || *conn.StatusReason != tc.reason {
				t.Fatalf("before the repair: %s %v, want %s / %s", conn.Status, conn.StatusReason, tc.status, tc.reason)
			}
			items, tokens := len(fp.Items()), len(fp.LinkTokenRequests())

			var rep linking.RepairResponse
			if status, _ := st.Send("POST", "/bank-linking/connect/repair", fmt.Sprintf(`{"connectionId":%q}`, id), &rep); status != 201 {
				t.Fatalf("repair: %d %+v", status, rep)
			}
			tok := rep.ConnectToken
			// The widget goes straight to the institution's login: Plaid's
			// page, in update mode for the connection's Item.
			status, s := st.Call(tok, "GET", "session", "")
			if status != 200 || s["step"] != "REDIRECT" || !strings.HasPrefix(fmt.Sprint(s["loginUrl"]), fp.URL+"/hl/") {
				t.Fatalf("repair session: %d %v", status, s)
			}
			lts := fp.LinkTokenRequests()
			if len(lts) != tokens+1 {
				t.Fatalf("%d Link tokens created for the repair, want 1", len(lts)-tokens)
			}
			if lt := lts[len(lts)-1]; lt.ItemID != item.ID || len(lt.Products) != 0 {
				t.Errorf("repair Link token for Item %q with products %v, want update mode for %s", lt.ItemID, lt.Products, item.ID)
			}
			// The customer logs in again on Plaid's page (Link finds the
			// institution itself) and comes back.
			hosted, err := noRedirects.Get(s["loginUrl"].(string))
			if err != nil {
				t.Fatal(err)
			}
			hosted.Body.Close()
			back := hosted.Header.Get("Location")
			if hosted.StatusCode != http.StatusFound || !strings.HasPrefix(back, st.Srv.URL+"/connect?") {
				t.Fatalf("Hosted Link answered %d, to %q", hosted.StatusCode, back)
			}
			cb, _ := url.Parse(back)
			status, s = st.Call(tok, "POST", "oauth", fmt.Sprintf(`{"code":%q,"error":%q}`, cb.Query().Get("code"), cb.Query().Get("error")))
			if status != 200 || s["step"] != "ACCOUNTS" {
				t.Fatalf("oauth: %d %v", status, s)
			}
			st.CompleteAll(tok, s)
			st.Runner.Wait()

			st.Get("/bank-linking/connections/"+id, &conn)
			if conn.Status != "ACTIVE" || conn.StatusReason != nil {
				t.Errorf("after the repair: %s %v", conn.Status, conn.StatusReason)
			}
			if got := conn.ServiceProviderDetails["serviceProviderConnectionId"]; got != item.ID {
				t.Errorf("login after the repair = %v, want the same Item %s", got, item.ID)
			}
			if len(fp.Items()) != items || fp.Item(item.ID).Error != "" {
				t.Errorf("%d Items at Plaid (was %d); the Item's error %q", len(fp.Items()), items, fp.Item(item.ID).Error)
			}
			// The repaired Item serves data again.
			if len(st.AllTransactions(id)) == 0 {
				t.Error("no transactions after the repair")
			}
		})
	}
}
