package widget_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"banklink"
	"banklink/internal/aggregation"
	"banklink/internal/dirsync"
	"banklink/internal/httpapi"
	"banklink/internal/plaid"
	"banklink/internal/plaid/fakeplaid"
	"banklink/internal/sandbox"
	"banklink/internal/search"
)

// newPlaidStack is the stack with the Plaid provider (talking to a fake
// Plaid) enabled after the sandbox, Plaid's directory merged into
// banklink's, and Plaid's webhooks received at httpapi.PlaidWebhookPath,
// the webhook URL of every Item linked.
func newPlaidStack(t testing.TB) (*stack, *fakeplaid.Server) {
	t.Helper()
	return newPlaidStackSecret(t, fakeplaid.Secret)
}

// newPlaidStackSecret is newPlaidStack with secret as the deployment's
// Plaid secret.
func newPlaidStackSecret(t testing.TB, secret string) (*stack, *fakeplaid.Server) {
	t.Helper()
	fp := fakeplaid.New(t)
	var prov *plaid.Provider
	st := newStackBuilt(t, []string{sandbox.ProviderType, plaid.ProviderType},
		func(st *stack) (map[string]banklink.InteractiveLogin, map[string]banklink.Aggregator) {
			var err error
			prov, err = plaid.New(plaid.Config{ClientID: fakeplaid.ClientID, Secret: secret, BaseURL: fp.URL, Secrets: st.store,
				WebhookURL: st.srv.URL + httpapi.PlaidWebhookPath, SyncPoll: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			return map[string]banklink.InteractiveLogin{plaid.ProviderType: prov}, map[string]banklink.Aggregator{plaid.ProviderType: prov}
		})
	// The directory as an operator with working keys would sync it.
	dirProv, err := plaid.New(plaid.Config{ClientID: fakeplaid.ClientID, Secret: fakeplaid.Secret, BaseURL: fp.URL, Secrets: st.store})
	if err != nil {
		t.Fatal(err)
	}
	insts, err := dirProv.Institutions(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	updated, added := dirsync.Merge(directory(), insts, plaid.ProviderType)
	if len(updated) == 0 || len(added) == 0 {
		t.Fatalf("merge: %d updated, %d added", len(updated), len(added))
	}
	if err := st.store.UpsertInstitutions(t.Context(), append(updated, added...)); err != nil {
		t.Fatal(err)
	}
	if err := st.api.Directory.(*search.Live).Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	return st, fp
}

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// plaidLink links through the widget with Plaid: connect/start naming
// PLAID, the institution picked in the widget, the login on Plaid's
// Hosted Link page (where the customer picks the same bank), the way back
// to the widget, the accounts. It returns the connection id once
// aggregated, and the Plaid Item behind it.
func (st *stack) plaidLink(fp *fakeplaid.Server, body, institution, plaidInstitution string) (string, *fakeplaid.Item) {
	st.t.Helper()
	resp := st.start(body)
	tok := resp.ConnectToken
	status, s := st.call(tok, "POST", "select", fmt.Sprintf(`{"institutionId":%q}`, st.institution(institution).ID))
	if status != 200 || s["step"] != banklink.StepRedirect || s["loginUrl"] == nil {
		st.t.Fatalf("select: %d %v", status, s)
	}
	// Plaid's page: the customer logs in and Plaid sends them back.
	u, err := url.Parse(s["loginUrl"].(string))
	if err != nil || !strings.HasPrefix(u.String(), fp.URL+"/hl/") {
		st.t.Fatalf("login URL %v", s["loginUrl"])
	}
	u.RawQuery = url.Values{"institution_id": {plaidInstitution}}.Encode()
	hosted, err := noRedirects.Get(u.String())
	if err != nil {
		st.t.Fatal(err)
	}
	hosted.Body.Close()
	back := hosted.Header.Get("Location")
	if hosted.StatusCode != http.StatusFound || !strings.HasPrefix(back, st.srv.URL+"/connect?") {
		st.t.Fatalf("Hosted Link answered %d, to %q", hosted.StatusCode, back)
	}
	// The widget page loads at the callback and posts its query to the
	// widget API, as connect.js does.
	page, err := http.Get(back)
	if err != nil {
		st.t.Fatal(err)
	}
	page.Body.Close()
	cb, _ := url.Parse(back)
	if page.StatusCode != 200 || cb.Query().Get("oauth") != "callback" || cb.Query().Get("connectToken") != tok {
		st.t.Fatalf("callback page %d at %s", page.StatusCode, back)
	}
	status, s = st.call(tok, "POST", "oauth", fmt.Sprintf(`{"code":%q,"error":%q}`, cb.Query().Get("code"), cb.Query().Get("error")))
	if status != 200 || s["step"] != banklink.StepAccounts {
		st.t.Fatalf("oauth: %d %v", status, s)
	}
	st.completeAll(tok, s)
	st.runner.Wait()
	items := fp.Items()
	return resp.ID, items[len(items)-1]
}

func TestPlaidLinkAndRead(t *testing.T) {
	st, fp := newPlaidStack(t)
	id, item := st.plaidLink(fp, `{"externalCustomerId":"plaid-reader","products":["BALANCES","IDENTIFIERS","OWNERS","TRANSACTIONS"],"serviceProvider":"PLAID"}`,
		"Chase", "ins_56")

	var conn httpapi.ConnectionJSON
	st.get("/bank-linking/connections/"+id, &conn)
	if conn.Status != "ACTIVE" || conn.SuccessfullyAggregatedAt == nil || conn.ServiceProviderDetails["serviceProvider"] != "PLAID" ||
		conn.ServiceProviderDetails["serviceProviderConnectionId"] != item.ID || item.InstitutionID != "ins_56" {
		t.Fatalf("connection = %+v (item %s at %s)", conn, item.ID, item.InstitutionID)
	}

	// Accounts: what Plaid served, in banklink's shape.
	var accts struct {
		FinancialAccounts []httpapi.FinancialAccountJSON `json:"financialAccounts"`
		Count             int                            `json:"count"`
	}
	st.get("/bank-linking/accounts?limit=100&connectionId="+id, &accts)
	if accts.Count != len(item.Accounts) {
		t.Fatalf("%d accounts, Plaid has %d", accts.Count, len(item.Accounts))
	}
	byMask := map[string]*fakeplaid.Account{}
	for _, a := range item.Accounts {
		byMask[a.Mask] = a
	}
	types := map[string]string{"depository": "DEPOSITORY", "credit": "CREDIT", "investment": "INVESTMENT"}
	for _, a := range accts.FinancialAccounts {
		w := byMask[a.TruncatedAccountNumber]
		if w == nil {
			t.Errorf("account %s (%s) is not Plaid's", a.Name, a.TruncatedAccountNumber)
			continue
		}
		if a.Name != w.Name || a.Type != types[w.Type] || a.Subtype != strings.ToUpper(strings.ReplaceAll(w.Subtype, " ", "_")) {
			t.Errorf("account %s = %s %s %s", w.Name, a.Name, a.Type, a.Subtype)
		}
		if w.Current != nil && (a.Balances == nil || a.Balances.CurrentAmount != *w.Current || a.Balances.Currency != w.Currency ||
			(w.Available == nil) != (a.Balances.AvailableAmount == nil) || (w.Available != nil && *a.Balances.AvailableAmount != *w.Available)) {
			t.Errorf("%s balances %+v, Plaid: current %v available %v", w.Name, a.Balances, *w.Current, w.Available)
		}
		if w.ACH != nil {
			if a.Identifiers == nil || a.Identifiers.ACH == nil || a.Identifiers.ACH.AccountNumber != w.ACH.Account || a.Identifiers.ACH.RoutingNumber != w.ACH.Routing {
				t.Errorf("%s identifiers %+v, Plaid: %+v", w.Name, a.Identifiers, w.ACH)
			}
		} else if a.Identifiers == nil || a.Identifiers.ACH != nil || a.Identifiers.EFT != nil {
			t.Errorf("%s identifiers %+v", w.Name, a.Identifiers) // an object of nulls, as Meld serves it
		}
		o := w.Owners[0]
		if len(a.Owners) != 1 || !slices.Equal(a.Owners[0].Names, o.Names) || len(a.Owners[0].Emails) != 1 || a.Owners[0].Emails[0].Data != o.Emails[0] ||
			len(a.Owners[0].Addresses) != 1 || a.Owners[0].Addresses[0].Data.City == nil || *a.Owners[0].Addresses[0].Data.City != o.City || len(a.Owners[0].PhoneNumbers) != len(o.Phones) {
			t.Errorf("%s owners %+v, Plaid: %+v", w.Name, a.Owners, o)
		}
		if !a.HistoricalAggregationSucceeded {
			t.Errorf("%s: historical pass not recorded", w.Name)
		}
	}

	// Transactions: every one Plaid holds, with Plaid's amounts (Plaid's
	// sign rule is banklink's: positive when money leaves the account).
	maskOf := map[string]string{}
	for _, a := range accts.FinancialAccounts {
		maskOf[a.ID] = a.TruncatedAccountNumber
	}
	var got, want []string
	for _, tx := range st.allTransactions(id) {
		posted := ""
		if tx.PostedDate != nil {
			posted = *tx.PostedDate
		}
		got = append(got, fmt.Sprintf("%s %s %s %.2f %s %s", maskOf[tx.FinancialAccountID], tx.TransactionDate, posted, tx.Amount, tx.Status, tx.Description))
		if tx.Category == "" || !slices.Contains(banklink.TransactionCategories, tx.Category) {
			t.Errorf("category %q", tx.Category)
		}
	}
	acctMask := map[string]string{}
	for _, a := range item.Accounts {
		acctMask[a.ID] = a.Mask
	}
	for _, tx := range item.Transactions {
		date, posted, status := tx.Date, tx.Date, "POSTED"
		if tx.AuthorizedDate != "" {
			date = tx.AuthorizedDate
		}
		if tx.Pending {
			posted, status = "", "PENDING"
		}
		want = append(want, fmt.Sprintf("%s %s %s %.2f %s %s", acctMask[tx.AccountID], date, posted, tx.Amount, status, tx.Name))
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("%d transactions, Plaid has %d", len(got), len(want))
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Errorf("first difference:\n got %s\nwant %s", got[i], want[i])
				break
			}
		}
	}
	// Money in is negative, money out positive.
	for _, line := range []string{" -23.50 POSTED AMAZON MKTPL REFUND", " -2500.00 POSTED PAYROLL ACME CORP", " 1500.00 POSTED RENT PAYMENT 4421"} {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.HasSuffix(g, line) }) {
			t.Errorf("no transaction %q", line)
		}
	}

	// The pending coffee posts at Plaid (a new Plaid transaction replacing
	// the pending one): banklink updates the one transaction.
	var pendingID string
	for _, tx := range item.Transactions {
		if tx.Pending && tx.Name == "Starbucks" {
			pendingID = tx.ID
		}
	}
	before := len(st.allTransactions(id))
	fp.Mutate(item.ID, func(it *fakeplaid.Item) { it.Post(pendingID, "posted-coffee", time.Now().Format(time.DateOnly)) })
	if err := st.runner.Aggregate(t.Context(), st.scope, id); err != nil {
		t.Fatal(err)
	}
	after := st.allTransactions(id)
	pending := 0
	for _, tx := range after {
		if tx.Status == "PENDING" {
			pending++
		}
	}
	if len(after) != before || pending != 1 {
		t.Errorf("after posting: %d transactions (was %d), %d pending (want 1)", len(after), before, pending)
	}

	// The bank asks the customer to log in again: the next refresh makes
	// the connection RECONNECT_REQUIRED.
	fp.SetItemError(item.ID, "ITEM_LOGIN_REQUIRED")
	var body map[string]any
	if status, _ := st.send("POST", "/bank-linking/connections/"+id+"/refresh", "", &body); status != 200 {
		t.Fatalf("refresh: %d %v", status, body)
	}
	st.runner.Wait()
	st.get("/bank-linking/connections/"+id, &conn)
	if conn.Status != "RECONNECT_REQUIRED" || conn.StatusReason == nil || *conn.StatusReason != "LOGIN_REQUIRED" {
		t.Errorf("after ITEM_LOGIN_REQUIRED: %s %v", conn.Status, conn.StatusReason)
	}
	// The data aggregated before stays readable.
	if n := len(st.allTransactions(id)); n != before {
		t.Errorf("%d transactions after the failed refresh, want %d", n, before)
	}

	// serviceProviderDetails: every account and transaction serves the
	// record Plaid sent for it (the posted coffee's for the coffee).
	plaidAccounts := map[string]string{}
	for _, a := range accts.FinancialAccounts {
		if w := byMask[a.TruncatedAccountNumber]; w != nil {
			plaidAccounts[a.ID] = w.ID
		}
	}
	plaidTransactions := map[string]bool{}
	for _, w := range fp.Item(item.ID).Transactions {
		plaidTransactions[w.ID] = true
	}
	st.checkProviderDetails(id, providerRecords{name: "PLAID", accountKey: "account_id", transactionKey: "transaction_id", accountRef: "account_id",
		accounts: plaidAccounts, transactions: plaidTransactions})
}

func TestPlaidInvestments(t *testing.T) {
	st, fp := newPlaidStack(t)
	id, item := st.plaidLink(fp, `{"externalCustomerId":"plaid-investor","products":["BALANCES","INVESTMENT_HOLDINGS","INVESTMENT_TRANSACTIONS"],"serviceProvider":"PLAID"}`,
		"Vanguard", "ins_115616")
	var holdings struct {
		Holdings []httpapi.HoldingJSON `json:"investmentHoldings"`
		Count    int
	}
	if status := st.get("/bank-linking/investments/holdings?connectionId="+id, &holdings); status != 200 || holdings.Count != len(item.Holdings) {
		t.Fatalf("holdings: %d %d, Plaid has %d", status, holdings.Count, len(item.Holdings))
	}
	value := 0.0
	for _, h := range holdings.Holdings {
		value += h.CurrentValue
		if h.Symbol == "" || h.Quantity <= 0 || h.ClosePrice <= 0 {
			t.Errorf("holding %+v", h)
		}
	}
	var accts struct {
		FinancialAccounts []httpapi.FinancialAccountJSON `json:"financialAccounts"`
	}
	st.get("/bank-linking/accounts?limit=100&connectionId="+id, &accts)
	for _, a := range accts.FinancialAccounts {
		if a.Type == "INVESTMENT" && (a.Balances == nil || fmt.Sprintf("%.2f", a.Balances.CurrentAmount) != fmt.Sprintf("%.2f", value)) {
			t.Errorf("%s balance %+v, holdings worth %.2f", a.Name, a.Balances, value)
		}
	}
	var txs struct {
		Transactions []httpapi.InvestmentTransactionJSON `json:"investmentTransactions"`
		Count        int
	}
	st.get("/bank-linking/investments/transactions?limit=1000&connectionId="+id, &txs)
	// Without TRANSACTIONS at this institution there is no historical
	// pass: the initial window only.
	from := time.Now().Add(-aggregation.InitialWindow).UTC().Format(time.DateOnly)
	want := 0
	for _, tx := range item.InvestmentTransactions {
		if tx.Date >= from {
			want++
		}
	}
	if txs.Count != want || want == 0 {
		t.Errorf("%d investment transactions, Plaid has %d since %s", txs.Count, want, from)
	}
	for _, tx := range txs.Transactions {
		if tx.Type == "BUY" && tx.Amount <= 0 || (tx.Type == "SELL" || tx.Type == "CASH") && tx.Amount >= 0 {
			t.Errorf("sign of %s %.2f", tx.Type, tx.Amount)
		}
	}
}

// TestPlaidAccountCredentials: an account with its own Plaid keys (PUT
// /service-providers/PLAID) links, aggregates and removes its Items with
// them, never with the deployment's (which Plaid refuses here).
func TestPlaidAccountCredentials(t *testing.T) {
	st, fp := newPlaidStackSecret(t, "the-deployment-secret-plaid-refuses")
	var out map[string]any
	if status, _ := st.send("PUT", "/service-providers/PLAID", fmt.Sprintf(`{"credentials":{"clientId":%q,"secret":%q}}`, fakeplaid.ClientID, fakeplaid.Secret), &out); status != 201 {
		t.Fatalf("configure Plaid: %d %v", status, out)
	}
	id, item := st.plaidLink(fp, `{"externalCustomerId":"plaid-own-keys","products":["BALANCES","TRANSACTIONS"],"serviceProvider":"PLAID"}`, "Chase", "ins_56")
	var conn httpapi.ConnectionJSON
	st.get("/bank-linking/connections/"+id, &conn)
	if conn.Status != "ACTIVE" || conn.SuccessfullyAggregatedAt == nil || len(st.allTransactions(id)) == 0 {
		t.Fatalf("aggregated with the account's keys: %s, aggregated %v", conn.Status, conn.SuccessfullyAggregatedAt)
	}
	var body map[string]any
	if status, _ := st.send("DELETE", "/bank-linking/connections/"+id, "", &body); status != 200 {
		t.Fatalf("delete: %d %v", status, body)
	}
	if !fp.Item(item.ID).Removed() {
		t.Error("the Item is still at Plaid: the removal used the deployment's keys")
	}
}
