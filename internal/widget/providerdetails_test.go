package widget_test

import (
	"encoding/json"
	"testing"
	"time"

	"banklink"
	"banklink/internal/httpapi"
	"banklink/internal/sandbox"
)

// providerRecords says how a provider's records name themselves, for
// checkProviderDetails.
type providerRecords struct {
	// name is the wire name; "" for a provider without payloads (the
	// sandboxes), whose records must all serve [].
	name string
	// accountKey and transactionKey name the record's own id in an
	// account's and a transaction's data, accountRef the account's id in
	// a transaction's or holding's data.
	accountKey, transactionKey, accountRef string
	// accounts maps banklink's financial account ids to the provider's;
	// transactions holds the provider's transaction ids.
	accounts     map[string]string
	transactions map[string]bool
}

// checkProviderDetails reads every account, transaction, holding and
// investment transaction of connection connID through the API: each
// serves exactly one serviceProviderDetails entry from p.name whose data
// is the provider's record for it (its account by id, every transaction
// the provider holds exactly once, holdings under their account), or none
// at all for a provider without payloads. The first account and
// transaction read by id serve the same.
func checkProviderDetails(st *stack, connID string, p providerRecords) {
	t := st.T
	t.Helper()
	// data returns the one entry's data, or nil when there is none; the
	// entry names it kind, as Meld's entries do.
	data := func(what string, details []httpapi.ServiceProviderDetailJSON, kind string) map[string]any {
		t.Helper()
		if p.name == "" {
			if len(details) != 0 {
				t.Errorf("%s: serviceProviderDetails %+v, want []", what, details)
			}
			return nil
		}
		if len(details) != 1 || details[0].ServiceProvider != p.name {
			t.Errorf("%s: serviceProviderDetails %+v, want one from %s", what, details, p.name)
			return nil
		}
		if details[0].Kind != kind {
			t.Errorf("%s: serviceProviderDetails carries %q, want %q", what, details[0].Kind, kind)
		}
		if _, err := time.Parse(httpapi.TimestampFormat, details[0].UpdatedAt); err != nil {
			t.Errorf("%s: updatedAt %q: %v", what, details[0].UpdatedAt, err)
		}
		var m map[string]any
		if err := json.Unmarshal(details[0].Data, &m); err != nil {
			t.Errorf("%s: data %s: %v", what, details[0].Data, err)
		}
		return m
	}
	var accts struct {
		FinancialAccounts []httpapi.FinancialAccountJSON `json:"financialAccounts"`
	}
	st.Get("/bank-linking/accounts?limit=100&connectionId="+connID, &accts)
	for i, a := range accts.FinancialAccounts {
		if d := data("account "+a.Name, a.ServiceProviderDetails, httpapi.RawAccount); d != nil && d[p.accountKey] != p.accounts[a.ID] {
			t.Errorf("account %s: data %s = %v, want %s", a.Name, p.accountKey, d[p.accountKey], p.accounts[a.ID])
		}
		if i == 0 {
			var one httpapi.FinancialAccountJSON
			st.Get("/bank-linking/accounts/"+a.ID, &one)
			if got, want := mustJSON(t, one.ServiceProviderDetails), mustJSON(t, a.ServiceProviderDetails); got != want {
				t.Errorf("account %s by id: %s, listed %s", a.Name, got, want)
			}
		}
	}
	seen := map[any]int{}
	txs := st.AllTransactions(connID)
	for i, tx := range txs {
		d := data("transaction "+tx.Description, tx.ServiceProviderDetails, httpapi.RawTransaction)
		if d != nil {
			seen[d[p.transactionKey]]++
			if d[p.accountRef] != p.accounts[tx.FinancialAccountID] {
				t.Errorf("transaction %s: data %s = %v, want %s", tx.Description, p.accountRef, d[p.accountRef], p.accounts[tx.FinancialAccountID])
			}
		}
		if i == 0 {
			var one httpapi.TransactionJSON
			st.Get("/bank-linking/transactions/"+tx.ID, &one)
			if got, want := mustJSON(t, one.ServiceProviderDetails), mustJSON(t, tx.ServiceProviderDetails); got != want {
				t.Errorf("transaction %s by id: %s, listed %s", tx.ID, got, want)
			}
		}
	}
	if p.name != "" {
		for id := range p.transactions {
			if seen[id] != 1 {
				t.Errorf("provider transaction %s served %d times", id, seen[id])
			}
		}
		if len(seen) != len(p.transactions) || len(txs) == 0 {
			t.Errorf("%d transactions serve %d provider records, the provider holds %d", len(txs), len(seen), len(p.transactions))
		}
	}
	var holdings struct {
		Holdings []httpapi.HoldingJSON `json:"investmentHoldings"`
	}
	st.Get("/bank-linking/investments/holdings?limit=1000&connectionId="+connID, &holdings)
	for _, h := range holdings.Holdings {
		if d := data("holding "+h.Symbol, h.ServiceProviderDetails, httpapi.RawHolding); d != nil && d[p.accountRef] != p.accounts[h.FinancialAccountID] {
			t.Errorf("holding %s: data %s = %v, want %s", h.Symbol, p.accountRef, d[p.accountRef], p.accounts[h.FinancialAccountID])
		}
	}
	var invTxs struct {
		Transactions []httpapi.InvestmentTransactionJSON `json:"investmentTransactions"`
	}
	st.Get("/bank-linking/investments/transactions?limit=1000&connectionId="+connID, &invTxs)
	for _, tx := range invTxs.Transactions {
		if d := data("investment transaction "+tx.Description, tx.ServiceProviderDetails, httpapi.RawInvestmentTransaction); d != nil && d[p.accountRef] != p.accounts[tx.FinancialAccountID] {
			t.Errorf("investment transaction %s: data %s = %v, want %s", tx.Description, p.accountRef, d[p.accountRef], p.accounts[tx.FinancialAccountID])
		}
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSandboxServesProviderDetails: the sandboxes serve their own bank's
// records as serviceProviderDetails, in the shape a real provider's take,
// so a sandbox user sees what production will send.
func TestSandboxServesProviderDetails(t *testing.T) {
	for _, tc := range []struct{ name, provider, wire string }{
		{"sandbox", sandbox.ProviderType, "SANDBOX"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newStackWith(t, tc.provider)
			id := st.Link(`{"externalCustomerId":"raw","products":["BALANCES","TRANSACTIONS","INVESTMENT_HOLDINGS","INVESTMENT_TRANSACTIONS"]}`, "user_good")
			accounts, _, err := st.Store.FindFinancialAccounts(t.Context(), st.Scope, banklink.FinancialAccountFilter{ConnectionID: id, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			ids := map[string]string{}
			for _, a := range accounts {
				ids[a.ID] = a.ProviderAccountID
			}
			txs, _, err := st.Store.FindTransactions(t.Context(), st.Scope, banklink.TransactionFilter{ConnectionID: id, Limit: 100000})
			if err != nil {
				t.Fatal(err)
			}
			held := map[string]bool{}
			for _, tx := range txs {
				held[tx.ProviderTransactionID] = true
			}
			checkProviderDetails(st, id, providerRecords{name: tc.wire, accountKey: "account_id", transactionKey: "transaction_id", accountRef: "account_id",
				accounts: ids, transactions: held})
		})
	}
}
