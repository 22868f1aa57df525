package widget_test

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"banklink"
	"banklink/internal/httpapi"
	"banklink/internal/linking"
	"banklink/internal/mx"
	"banklink/internal/mx/fakemx"
)

func TestMXLinkAndRead(t *testing.T) {
	st, fake := newMXStack(t, false)
	id, member := st.MXLink(fake, `{"externalCustomerId":"mx-reader","products":["BALANCES","IDENTIFIERS","OWNERS","TRANSACTIONS","INVESTMENT_HOLDINGS"],"serviceProvider":"MX"}`,
		"MX Bank", "correct")

	var conn httpapi.ConnectionJSON
	st.Get("/bank-linking/connections/"+id, &conn)
	user := fake.UserGUID("mx-reader")
	if conn.Status != "ACTIVE" || conn.SuccessfullyAggregatedAt == nil || conn.ServiceProviderDetails["serviceProvider"] != "MX" ||
		conn.ServiceProviderDetails["serviceProviderConnectionId"] != user+"/"+member {
		t.Fatalf("connection = %+v (MX user %s, member %s)", conn, user, member)
	}

	// Accounts: the open ones MX served, in banklink's shape.
	var accts struct {
		FinancialAccounts []httpapi.FinancialAccountJSON `json:"financialAccounts"`
		Count             int                            `json:"count"`
	}
	st.Get("/bank-linking/accounts?limit=100&connectionId="+id, &accts)
	byName := map[string]httpapi.FinancialAccountJSON{}
	for _, a := range accts.FinancialAccounts {
		byName[a.Name] = a
	}
	numbers := map[string]fakemx.AccountNumber{}
	for _, n := range fake.AccountNumbers(member) {
		numbers[n.AccountGUID] = n
	}
	owners := map[string]fakemx.AccountOwner{}
	for _, o := range fake.AccountOwners(member) {
		owners[o.AccountGUID] = o
	}
	types := map[string]string{"CHECKING": "DEPOSITORY", "SAVINGS": "DEPOSITORY", "CREDIT_CARD": "CREDIT", "LOAN": "LOAN", "INVESTMENT": "INVESTMENT"}
	open := 0
	for _, w := range fake.Accounts(member) {
		a, ok := byName[w.Name]
		if w.IsClosed {
			if ok {
				t.Errorf("closed account %s linked", w.Name)
			}
			continue
		}
		open++
		if !ok || a.Type != types[w.Type] || a.TruncatedAccountNumber != w.AccountNumber[len(w.AccountNumber)-4:] {
			t.Errorf("account %s = %+v", w.Name, a)
			continue
		}
		if a.Balances == nil || a.Balances.CurrentAmount != *w.Balance || a.Balances.Currency != w.CurrencyCode {
			t.Errorf("%s balances %+v, MX %v %s", w.Name, a.Balances, *w.Balance, w.CurrencyCode)
		}
		if n, ok := numbers[w.GUID]; ok {
			if a.Identifiers == nil || a.Identifiers.ACH == nil || a.Identifiers.ACH.AccountNumber != n.AccountNumber || a.Identifiers.ACH.RoutingNumber != *n.RoutingNumber {
				t.Errorf("%s identifiers %+v, MX %+v", w.Name, a.Identifiers, n)
			}
		} else if a.Identifiers == nil || a.Identifiers.ACH != nil || a.Identifiers.EFT != nil {
			t.Errorf("%s identifiers %+v, MX has none", w.Name, a.Identifiers) // an object of nulls, as Meld serves it
		}
		if o, ok := owners[w.GUID]; ok {
			if len(a.Owners) != 1 || !slices.Equal(a.Owners[0].Names, []string{o.OwnerName}) || len(a.Owners[0].Emails) != 1 || a.Owners[0].Emails[0].Data != o.Email ||
				len(a.Owners[0].Addresses) != 1 || a.Owners[0].Addresses[0].Data.City == nil || *a.Owners[0].Addresses[0].Data.City != o.City {
				t.Errorf("%s owners %+v, MX %+v", w.Name, a.Owners, o)
			}
		}
	}
	if accts.Count != open || open == 0 {
		t.Fatalf("%d accounts, MX has %d open", accts.Count, open)
	}

	// Transactions: every one MX holds (two years: the historical pass
	// ran), with banklink's sign (DEBIT positive, CREDIT negative).
	nameOf := map[string]string{}
	for _, a := range accts.FinancialAccounts {
		nameOf[a.ID] = a.Name
	}
	acctName := map[string]string{}
	for _, a := range fake.Accounts(member) {
		acctName[a.GUID] = a.Name
	}
	var got, want []string
	for _, tx := range st.AllTransactions(id) {
		got = append(got, fmt.Sprintf("%s %s %.2f %s %s", nameOf[tx.FinancialAccountID], tx.TransactionDate, tx.Amount, tx.Status, tx.Description))
		if !slices.Contains(banklink.TransactionCategories, tx.Category) {
			t.Errorf("category %q", tx.Category)
		}
	}
	for _, tx := range fake.Transactions(member) {
		amount := math.Abs(tx.Amount)
		if tx.Type == "CREDIT" {
			amount = -amount
		}
		want = append(want, fmt.Sprintf("%s %s %.2f %s %s", acctName[tx.AccountGUID], tx.Date, amount, tx.Status, tx.Description))
	}
	sort.Strings(got)
	sort.Strings(want)
	if len(want) <= 1000 || !slices.Equal(got, want) {
		t.Errorf("%d transactions, MX has %d", len(got), len(want))
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Errorf("first difference:\n got %s\nwant %s", got[i], want[i])
				break
			}
		}
	}

	// Holdings of the brokerage account.
	var holdings struct {
		Holdings []httpapi.HoldingJSON `json:"investmentHoldings"`
		Count    int
	}
	st.Get("/bank-linking/investments/holdings?connectionId="+id, &holdings)
	mxHoldings := fake.Holdings(member)
	if holdings.Count != len(mxHoldings) || len(mxHoldings) == 0 {
		t.Fatalf("%d holdings, MX has %d", holdings.Count, len(mxHoldings))
	}
	bySymbol := map[string]httpapi.HoldingJSON{}
	for _, h := range holdings.Holdings {
		bySymbol[h.Symbol] = h
	}
	for _, w := range mxHoldings {
		h := bySymbol[w.Symbol]
		if q, _ := strconv.ParseFloat(w.Quantity, 64); h.Quantity != q || h.CurrentValue != w.MarketValue || h.ClosePrice != w.CurrentPrice || h.Description != w.Description {
			t.Errorf("holding %s = %+v, MX %+v", w.Symbol, h, w)
		}
	}

	// serviceProviderDetails: every account, transaction and holding
	// serves the record MX sent for it.
	mxAccounts := map[string]string{}
	for _, w := range fake.Accounts(member) {
		if a, ok := byName[w.Name]; ok {
			mxAccounts[a.ID] = w.GUID
		}
	}
	mxTransactions := map[string]bool{}
	for _, w := range fake.Transactions(member) {
		mxTransactions[w.GUID] = true
	}
	checkProviderDetails(st, id, providerRecords{name: "MX", accountKey: "guid", transactionKey: "guid", accountRef: "account_guid",
		accounts: mxAccounts, transactions: mxTransactions})
}

// TestMXRefreshLimit: MX aggregates a member at most once every three
// hours. A refresh inside that window is refused with 429 and a
// Retry-After that says when MX will; once the window has passed the
// refresh aggregates at MX; a login that stopped working makes the
// connection RECONNECT_REQUIRED; deleting the connection deletes the
// member at MX.
func TestMXRefreshLimit(t *testing.T) {
	st, fake := newMXStack(t, false)
	id, member := st.MXLink(fake, `{"externalCustomerId":"mx-refresher","products":["BALANCES","TRANSACTIONS"],"serviceProvider":"MX"}`,
		"MX Bank", "correct")
	const aggregateRoute = "POST /users/{user_guid}/members/{member_guid}/aggregate"
	if n := fake.Calls(aggregateRoute); n != 0 {
		t.Fatalf("MX asked to aggregate %d times right after the widget", n)
	}

	var body map[string]any
	status, h := st.Send("POST", "/bank-linking/connections/"+id+"/refresh", "", &body)
	retry, _ := strconv.Atoi(h.Get("Retry-After"))
	if status != http.StatusTooManyRequests || body["code"] != "RATE_LIMITED" || retry < int((3*time.Hour-time.Minute).Seconds()) || retry > int((3*time.Hour).Seconds()) {
		t.Fatalf("refresh inside MX's window: %d Retry-After %q %v", status, h.Get("Retry-After"), body)
	}
	var conn httpapi.ConnectionJSON
	if st.Get("/bank-linking/connections/"+id, &conn); conn.Status != "ACTIVE" {
		t.Fatalf("after a refused refresh: %s", conn.Status)
	}

	// MX's own request limit: its Retry-After is passed on.
	fake.Fail(fakemx.Failure{Method: "GET", Path: "/users/{user_guid}/members/{member_guid}/status", Status: http.StatusTooManyRequests, Message: "Rate limit exceeded", RetryAfter: "90"})
	body = nil
	status, h = st.Send("POST", "/bank-linking/connections/"+id+"/refresh", "", &body)
	if retry, _ := strconv.Atoi(h.Get("Retry-After")); status != http.StatusTooManyRequests || body["reason"] != mx.ReasonRateLimited || retry < 89 || retry > 90 {
		t.Fatalf("MX rate limited: %d Retry-After %q %v", status, h.Get("Retry-After"), body)
	}

	// Three hours later MX aggregates again.
	aggregatedBefore := *conn.SuccessfullyAggregatedAt
	fake.AgeMember(member, 3*time.Hour+time.Minute)
	body = nil
	if status, _ := st.Send("POST", "/bank-linking/connections/"+id+"/refresh", "", &body); status != 200 {
		t.Fatalf("refresh after the window: %d %v", status, body)
	}
	st.Runner.Wait()
	if n := fake.Calls(aggregateRoute); n != 1 {
		t.Errorf("MX asked to aggregate %d times", n)
	}
	st.Get("/bank-linking/connections/"+id, &conn)
	if conn.Status != "ACTIVE" || *conn.SuccessfullyAggregatedAt == aggregatedBefore {
		t.Errorf("after the refresh: %s, aggregated %s (before %s)", conn.Status, *conn.SuccessfullyAggregatedAt, aggregatedBefore)
	}

	// The customer changed their password at the bank: MX's next
	// aggregation is DENIED and the connection needs the customer.
	fake.AgeMember(member, 3*time.Hour+time.Minute)
	if err := fake.SetNextAggregation(member, mx.StatusDenied); err != nil {
		t.Fatal(err)
	}
	body = nil
	st.Clock.Advance(time.Second) // past banklink's own interval
	if status, _ := st.Send("POST", "/bank-linking/connections/"+id+"/refresh", "", &body); status != 200 {
		t.Fatalf("refresh: %d %v", status, body)
	}
	st.Runner.Wait()
	st.Get("/bank-linking/connections/"+id, &conn)
	if conn.Status != "RECONNECT_REQUIRED" || conn.StatusReason == nil || *conn.StatusReason != "LOGIN_REQUIRED" {
		t.Errorf("after DENIED: %s %v", conn.Status, conn.StatusReason)
	}

	// Deleting the connection deletes the member at MX.
	body = nil
	if status, _ := st.Send("DELETE", "/bank-linking/connections/"+id, "", &body); status != 200 {
		t.Fatalf("delete: %d %v", status, body)
	}
	if _, ok := fake.Member(member); ok {
		t.Error("the member is still at MX")
	}
}

// TestMXLoginFailures: in redirect mode what MX Connect reports comes back
// to the widget as banklink's login errors. (Embedded, MX Connect shows
// them itself and lets the customer try again: TestMXBrowser.)
func TestMXLoginFailures(t *testing.T) {
	st, fake := newMXStack(t, true)
	for _, tc := range []struct {
		name, password, reason string
		retryable              bool
	}{
		{"wrong password", "nope", banklink.LoginInvalidCredentials, true},
		{"locked", "locked", banklink.LoginLocked, false},
		{"institution degraded", "degraded", banklink.LoginInstitutionDown, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := st.Start(`{"externalCustomerId":"mx-failing","products":["BALANCES"],"serviceProvider":"MX"}`)
			tok := resp.ConnectToken
			status, s := st.Call(tok, "POST", "select", fmt.Sprintf(`{"institutionId":%q}`, st.Institution("MX Bank").ID))
			if status != 200 {
				t.Fatalf("select: %d %v", status, s)
			}
			page, err := noRedirects.Get(s["loginUrl"].(string))
			if err != nil {
				t.Fatal(err)
			}
			html, _ := io.ReadAll(page.Body)
			page.Body.Close()
			m := mxFormAction.FindSubmatch(html)
			if m == nil {
				t.Fatalf("MX Connect: %s", html)
			}
			submitted, err := noRedirects.PostForm(fake.URL+string(m[1]), url.Values{"username": {"mx-" + tc.name}, "password": {tc.password}, "action": {"connect"}})
			if err != nil {
				t.Fatal(err)
			}
			submitted.Body.Close()
			cb, _ := url.Parse(submitted.Header.Get("Location"))
			q := cb.Query()
			status, s = st.Call(tok, "POST", "oauth", fmt.Sprintf(`{"status":%q,"member_guid":%q,"error_reason":%q}`, q.Get("status"), q.Get("member_guid"), q.Get("error_reason")))
			if status == 200 && s["step"] == banklink.StepAccounts {
				t.Fatalf("login succeeded: %v", s)
			}
			if s["reason"] != tc.reason || s["retryable"] != tc.retryable || s["message"] == "" {
				t.Errorf("oauth: %d %v; want %s retryable=%v", status, s, tc.reason, tc.retryable)
			}
		})
	}
}

// TestMXRepair: repairing an MX connection opens MX Connect on the
// connection's member (current_member_guid): the customer fixes the
// login there, the member stays the same, and the connection is ACTIVE
// again with its data flowing.
func TestMXRepair(t *testing.T) {
	st, fake := newMXStack(t, false)
	id, member := st.MXLink(fake, `{"externalCustomerId":"mx-repair","products":["BALANCES","TRANSACTIONS"],"serviceProvider":"MX"}`,
		"MX Bank", "correct")
	// The password changed at the bank: the next aggregation is DENIED.
	fake.AgeMember(member, 3*time.Hour+time.Minute)
	if err := fake.SetNextAggregation(member, mx.StatusDenied); err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if status, _ := st.Send("POST", "/bank-linking/connections/"+id+"/refresh", "", &body); status != 200 {
		t.Fatalf("refresh: %d %v", status, body)
	}
	st.Runner.Wait()
	var conn httpapi.ConnectionJSON
	if st.Get("/bank-linking/connections/"+id, &conn); conn.Status != "RECONNECT_REQUIRED" {
		t.Fatalf("before the repair: %s", conn.Status)
	}
	loginBefore := conn.ServiceProviderDetails["serviceProviderConnectionId"]

	var rep linking.RepairResponse
	if status, _ := st.Send("POST", "/bank-linking/connect/repair", fmt.Sprintf(`{"connectionId":%q}`, id), &rep); status != 201 {
		t.Fatalf("repair: %d %+v", status, rep)
	}
	status, s := st.Call(rep.ConnectToken, "GET", "session", "")
	if status != 200 || s["step"] != banklink.StepRedirect || s["loginEmbed"] == nil {
		t.Fatalf("repair session: %d %v", status, s)
	}
	// Another username: MX Connect updates the member it was opened on.
	posted, s := st.MXConnect(fake, rep.ConnectToken, s["loginUrl"].(string), "mx-new-username", "correct")
	if posted.Metadata["member_guid"] != member || len(fake.Members(fake.UserGUID("mx-repair"))) != 1 {
		t.Fatalf("MX Connect reported member %s (repairing %s); members %+v", posted.Metadata["member_guid"], member, fake.Members(fake.UserGUID("mx-repair")))
	}
	st.CompleteAll(rep.ConnectToken, s)
	st.Runner.Wait()
	st.Get("/bank-linking/connections/"+id, &conn)
	if conn.Status != "ACTIVE" || conn.ServiceProviderDetails["serviceProviderConnectionId"] != loginBefore {
		t.Errorf("after the repair: %s, login %s (was %s)", conn.Status, conn.ServiceProviderDetails["serviceProviderConnectionId"], loginBefore)
	}
	if m, _ := fake.Member(member); m.ConnectionStatus != mx.StatusConnected {
		t.Errorf("member %s after the repair", m.ConnectionStatus)
	}
	if len(st.AllTransactions(id)) == 0 {
		t.Error("no transactions after the repair")
	}
}

// TestMXAccountCredentials: an account with its own MX keys (PUT
// /service-providers/MX) links, aggregates, refreshes and deletes with
// them, never with the deployment's (which MX refuses here).
func TestMXAccountCredentials(t *testing.T) {
	st, fake := newMXStackConfig(t, mx.Config{APIKey: "the-deployment-key-mx-refuses"})
	var out map[string]any
	if status, _ := st.Send("PUT", "/service-providers/MX", fmt.Sprintf(`{"credentials":{"clientId":%q,"apiKey":%q}}`, fakemx.ClientID, fakemx.APIKey), &out); status != 201 {
		t.Fatalf("configure MX: %d %v", status, out)
	}
	id, member := st.MXLink(fake, `{"externalCustomerId":"mx-own-keys","products":["BALANCES","TRANSACTIONS"],"serviceProvider":"MX"}`,
		"MX Bank", "correct")
	var conn httpapi.ConnectionJSON
	st.Get("/bank-linking/connections/"+id, &conn)
	if conn.Status != "ACTIVE" || conn.SuccessfullyAggregatedAt == nil || len(st.AllTransactions(id)) == 0 {
		t.Fatalf("aggregated with the account's keys: %s, aggregated %v", conn.Status, conn.SuccessfullyAggregatedAt)
	}
	// The refresh limit is read with them too: 429, not a provider error.
	var body map[string]any
	if status, _ := st.Send("POST", "/bank-linking/connections/"+id+"/refresh", "", &body); status != http.StatusTooManyRequests || body["reason"] != "PROVIDER_REFRESH_LIMIT" {
		t.Fatalf("refresh: %d %v", status, body)
	}
	body = nil
	if status, _ := st.Send("DELETE", "/bank-linking/connections/"+id, "", &body); status != 200 {
		t.Fatalf("delete: %d %v", status, body)
	}
	if _, ok := fake.Member(member); ok {
		t.Error("the member is still at MX: the removal used the deployment's keys")
	}
}

// TestMXCustomerWithoutExternalID: a customer started without
// externalCustomerId links through MX as an MX user of its own (named by
// banklink's customer id), never sharing one with another such customer.
func TestMXCustomerWithoutExternalID(t *testing.T) {
	st, fake := newMXStack(t, false)
	users := map[string]bool{}
	for range 2 {
		id, _ := st.MXLink(fake, `{"products":["BALANCES"],"serviceProvider":"MX"}`, "MX Bank", "correct")
		var conn httpapi.ConnectionJSON
		st.Get("/bank-linking/connections/"+id, &conn)
		user, _, _ := strings.Cut(conn.ServiceProviderDetails["serviceProviderConnectionId"], "/")
		if conn.Status != "ACTIVE" || conn.ExternalCustomerID != "" || user == "" {
			t.Fatalf("connection = %+v", conn)
		}
		users[user] = true
	}
	if len(users) != 2 {
		t.Errorf("two customers without external ids share MX users %v", users)
	}
}
