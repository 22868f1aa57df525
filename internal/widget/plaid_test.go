package widget_test

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"banklink"
	"banklink/internal/aggregation"
	"banklink/internal/httpapi"
	"banklink/internal/plaid/fakeplaid"
)

func TestPlaidLinkAndRead(t *testing.T) {
	st, fp := newPlaidStack(t)
	id, item := st.PlaidLink(fp, `{"externalCustomerId":"plaid-reader","products":["BALANCES","IDENTIFIERS","OWNERS","TRANSACTIONS"],"serviceProvider":"PLAID"}`,
		"Chase", "ins_56")

	var conn httpapi.ConnectionJSON
	st.Get("/bank-linking/connections/"+id, &conn)
	if conn.Status != "ACTIVE" || conn.SuccessfullyAggregatedAt == nil || conn.ServiceProviderDetails["serviceProvider"] != "PLAID" ||
		conn.ServiceProviderDetails["serviceProviderConnectionId"] != item.ID || item.InstitutionID != "ins_56" {
		t.Fatalf("connection = %+v (item %s at %s)", conn, item.ID, item.InstitutionID)
	}

	// Accounts: what Plaid served, in banklink's shape.
	var accts struct {
		FinancialAccounts []httpapi.FinancialAccountJSON `json:"financialAccounts"`
		Count             int                            `json:"count"`
	}
	st.Get("/bank-linking/accounts?limit=100&connectionId="+id, &accts)
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
	for _, tx := range st.AllTransactions(id) {
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
	before := len(st.AllTransactions(id))
	fp.Mutate(item.ID, func(it *fakeplaid.Item) { it.Post(pendingID, "posted-coffee", time.Now().Format(time.DateOnly)) })
	if err := st.Runner.Aggregate(t.Context(), st.Scope, id); err != nil {
		t.Fatal(err)
	}
	after := st.AllTransactions(id)
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
	if status, _ := st.Send("POST", "/bank-linking/connections/"+id+"/refresh", "", &body); status != 200 {
		t.Fatalf("refresh: %d %v", status, body)
	}
	st.Runner.Wait()
	st.Get("/bank-linking/connections/"+id, &conn)
	if conn.Status != "RECONNECT_REQUIRED" || conn.StatusReason == nil || *conn.StatusReason != "LOGIN_REQUIRED" {
		t.Errorf("after ITEM_LOGIN_REQUIRED: %s %v", conn.Status, conn.StatusReason)
	}
	// The data aggregated before stays readable.
	if n := len(st.AllTransactions(id)); n != before {
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
	checkProviderDetails(st, id, providerRecords{name: "PLAID", accountKey: "account_id", transactionKey: "transaction_id", accountRef: "account_id",
		accounts: plaidAccounts, transactions: plaidTransactions})
}

func TestPlaidInvestments(t *testing.T) {
	st, fp := newPlaidStack(t)
	id, item := st.PlaidLink(fp, `{"externalCustomerId":"plaid-investor","products":["BALANCES","INVESTMENT_HOLDINGS","INVESTMENT_TRANSACTIONS"],"serviceProvider":"PLAID"}`,
		"Vanguard", "ins_115616")
	var holdings struct {
		Holdings []httpapi.HoldingJSON `json:"investmentHoldings"`
		Count    int
	}
	if status := st.Get("/bank-linking/investments/holdings?connectionId="+id, &holdings); status != 200 || holdings.Count != len(item.Holdings) {
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
	st.Get("/bank-linking/accounts?limit=100&connectionId="+id, &accts)
	for _, a := range accts.FinancialAccounts {
		if a.Type == "INVESTMENT" && (a.Balances == nil || fmt.Sprintf("%.2f", a.Balances.CurrentAmount) != fmt.Sprintf("%.2f", value)) {
			t.Errorf("%s balance %+v, holdings worth %.2f", a.Name, a.Balances, value)
		}
	}
	var txs struct {
		Transactions []httpapi.InvestmentTransactionJSON `json:"investmentTransactions"`
		Count        int
	}
	st.Get("/bank-linking/investments/transactions?limit=1000&connectionId="+id, &txs)
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
	if status, _ := st.Send("PUT", "/service-providers/PLAID", fmt.Sprintf(`{"credentials":{"clientId":%q,"secret":%q}}`, fakeplaid.ClientID, fakeplaid.Secret), &out); status != 201 {
		t.Fatalf("configure Plaid: %d %v", status, out)
	}
	id, item := st.PlaidLink(fp, `{"externalCustomerId":"plaid-own-keys","products":["BALANCES","TRANSACTIONS"],"serviceProvider":"PLAID"}`, "Chase", "ins_56")
	var conn httpapi.ConnectionJSON
	st.Get("/bank-linking/connections/"+id, &conn)
	if conn.Status != "ACTIVE" || conn.SuccessfullyAggregatedAt == nil || len(st.AllTransactions(id)) == 0 {
		t.Fatalf("aggregated with the account's keys: %s, aggregated %v", conn.Status, conn.SuccessfullyAggregatedAt)
	}
	var body map[string]any
	if status, _ := st.Send("DELETE", "/bank-linking/connections/"+id, "", &body); status != 200 {
		t.Fatalf("delete: %d %v", status, body)
	}
	if !fp.Item(item.ID).Removed() {
		t.Error("the Item is still at Plaid: the removal used the deployment's keys")
	}
}
