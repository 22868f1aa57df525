package wiringtest

import (
	"fmt"
	"sort"

	"banklink/internal/httpapi"
)

// link runs the widget flow through its API and returns the connection id
// once its aggregation has finished.
func (st *Stack) Link(body, user string) string {
	st.T.Helper()
	resp := st.Start(body)
	tok := resp.ConnectToken
	bank := st.Institution("Sandbox Bank")
	st.Call(tok, "POST", "select", fmt.Sprintf(`{"institutionId":%q}`, bank.ID))
	_, s := st.Call(tok, "POST", "login", fmt.Sprintf(`{"credentials":{"username":%q,"password":"pass_good"}}`, user))
	st.CompleteAll(tok, s)
	st.Runner.Wait()
	return resp.ID
}

// completeAll finishes a widget session showing its accounts (s, the
// session view): consent to share every one of them.
func (st *Stack) CompleteAll(tok string, s map[string]any) {
	st.T.Helper()
	var ids []string
	for _, a := range s["accounts"].([]any) {
		ids = append(ids, fmt.Sprintf("%q", a.(map[string]any)["id"]))
	}
	if status, s := st.Call(tok, "POST", "complete", fmt.Sprintf(`{"consent":true,"accountIds":[%s]}`, JoinComma(ids))); status != 200 {
		st.T.Fatalf("complete: %d %v", status, s)
	}
}

func JoinComma(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ","
		}
		out += x
	}
	return out
}

type TxList struct {
	Transactions []httpapi.TransactionJSON `json:"financialAccountTransactions"`
	Count        int                       `json:"count"`
	Remaining    int                       `json:"remaining"`
}

// allTransactions walks every page of a connection's transactions.
func (st *Stack) AllTransactions(connID string) []httpapi.TransactionJSON {
	var out []httpapi.TransactionJSON
	after := ""
	for {
		var page TxList
		path := "/bank-linking/transactions?limit=1000&connectionId=" + connID
		if after != "" {
			path += "&after=" + after
		}
		if status := st.Get(path, &page); status != 200 {
			st.T.Fatalf("transactions: %d", status)
		}
		out = append(out, page.Transactions...)
		if page.Remaining == 0 {
			return out
		}
		after = page.Transactions[len(page.Transactions)-1].Key
	}
}

// fingerprint reduces a connection's data to what must be identical for
// the same login: accounts, numbers, balances and every transaction.
func (st *Stack) Fingerprint(connID string) []string {
	var accts struct {
		FinancialAccounts []httpapi.FinancialAccountJSON `json:"financialAccounts"`
	}
	st.Get("/bank-linking/accounts?limit=100&connectionId="+connID, &accts)
	var fp []string
	for _, a := range accts.FinancialAccounts {
		line := fmt.Sprintf("account %s %s %s ••%s", a.Name, a.Type, a.Subtype, a.TruncatedAccountNumber)
		if a.Balances != nil {
			line += fmt.Sprintf(" %.2f %s", a.Balances.CurrentAmount, a.Balances.Currency)
		}
		if a.Identifiers != nil && a.Identifiers.ACH != nil {
			line += " " + a.Identifiers.ACH.RoutingNumber + "/" + a.Identifiers.ACH.AccountNumber
		}
		for _, o := range a.Owners {
			line += fmt.Sprint(" ", o.Names, o.Emails)
		}
		fp = append(fp, line)
	}
	for _, t := range st.AllTransactions(connID) {
		fp = append(fp, fmt.Sprintf("tx %s %s %.2f %s %s %s", t.TransactionDate, t.Description, t.Amount, t.Status, t.Category, t.Recurring))
	}
	sort.Strings(fp)
	return fp
}
