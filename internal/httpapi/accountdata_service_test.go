package httpapi_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"banklink"
	"banklink/internal/aggregation"
	"banklink/internal/httpapi"
	"banklink/internal/linking"
	"banklink/internal/sandbox"
	"banklink/internal/wiring/wiringtest"
)

func TestLinkAndReadEveryProduct(t *testing.T) {
	st := wiringtest.New(t)
	id := st.Link(`{"externalCustomerId":"reader","products":["BALANCES","IDENTIFIERS","OWNERS","TRANSACTIONS"]}`, "user_good")

	var conn httpapi.ConnectionJSON
	st.Get("/bank-linking/connections/"+id, &conn)
	if conn.Status != "ACTIVE" || conn.SuccessfullyAggregatedAt == nil || conn.ServiceProviderDetails["serviceProvider"] != "SANDBOX" {
		t.Fatalf("connection = %+v", conn)
	}
	var accts struct {
		FinancialAccounts []httpapi.FinancialAccountJSON `json:"financialAccounts"`
		Count             int                            `json:"count"`
	}
	st.Get("/bank-linking/accounts?connectionId="+id+"&limit=100", &accts)
	bank := st.Institution("Sandbox Bank")
	loginID := conn.ServiceProviderDetails["serviceProviderConnectionId"]
	wantAccts := sandbox.Accounts(bank, loginID)
	if accts.Count != len(wantAccts) {
		t.Fatalf("%d accounts, want %d", accts.Count, len(wantAccts))
	}
	// Values come from the sandbox bank itself.
	agg, err := st.Sbx.Aggregate(t.Context(), banklink.AggregationRequest{Institution: bank, LoginID: loginID,
		Products: []banklink.Product{banklink.Balances, banklink.Identifiers, banklink.Owners, banklink.Transactions},
		Since:    time.Now().AddDate(0, -sandbox.HistoryMonths, 0), Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	byMask := map[string]banklink.AggregatedAccount{}
	wantTx := 0
	for _, a := range agg {
		byMask[a.Mask] = a
		wantTx += len(a.Transactions)
	}
	for _, a := range accts.FinancialAccounts {
		w := byMask[a.TruncatedAccountNumber]
		if a.Balances == nil || a.Balances.CurrentAmount != w.Balances.CurrentAmount || len(a.Owners) != 1 || a.Owners[0].Names[0] != w.Owners[0].Names[0] {
			t.Errorf("account %s = %+v, want %+v", a.Name, a, w)
		}
		if a.Type == "DEPOSITORY" && (a.Identifiers == nil || a.Identifiers.ACH == nil || a.Identifiers.ACH.RoutingNumber != w.Identifiers.ACH.RoutingNumber) {
			t.Errorf("account %s identifiers = %+v", a.Name, a.Identifiers)
		}
		if !a.HistoricalAggregationSucceeded {
			t.Errorf("account %s: historical pass not recorded", a.Name)
		}
		var one httpapi.FinancialAccountJSON
		if st.Get("/bank-linking/accounts/"+a.ID, &one); one.ID != a.ID {
			t.Errorf("get account %s = %+v", a.ID, one)
		}
	}
	txs := st.AllTransactions(id)
	if len(txs) < 1000 || len(txs) != wantTx {
		t.Errorf("%d transactions, sandbox has %d (24 months)", len(txs), wantTx)
	}
	seen := map[string]bool{}
	statuses := map[string]int{}
	for i, tx := range txs {
		if seen[tx.ID] {
			t.Fatalf("transaction %s twice", tx.ID)
		}
		seen[tx.ID] = true
		statuses[tx.Status]++
		if i > 0 && tx.TransactionDate > txs[i-1].TransactionDate {
			t.Fatalf("not newest first at %d", i)
		}
		if (tx.Status == "POSTED") != (tx.PostedDate != nil) {
			t.Errorf("status %s with postedDate %v", tx.Status, tx.PostedDate)
		}
	}
	if statuses["PENDING"] == 0 || statuses["POSTED"] == 0 {
		t.Errorf("statuses = %v", statuses)
	}
	var one httpapi.TransactionJSON
	if st.Get("/bank-linking/transactions/"+txs[0].ID, &one); one.ID != txs[0].ID || one.FinancialAccountID == "" {
		t.Errorf("get transaction = %+v", one)
	}

	// Same login, same data, in another database (a restart from scratch).
	again := wiringtest.New(t)
	id2 := again.Link(`{"externalCustomerId":"reader","products":["BALANCES","IDENTIFIERS","OWNERS","TRANSACTIONS"]}`, "user_good")
	a, b := st.Fingerprint(id), again.Fingerprint(id2)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("same login gave different data (%d vs %d lines)", len(a), len(b))
	}
}

func TestOnlyHeldProductsAreAggregated(t *testing.T) {
	st := wiringtest.New(t)
	id := st.Link(`{"externalCustomerId":"b-only","products":["BALANCES"]}`, "user_good")
	var accts struct {
		FinancialAccounts []httpapi.FinancialAccountJSON `json:"financialAccounts"`
	}
	st.Get("/bank-linking/accounts?connectionId="+id, &accts)
	if len(accts.FinancialAccounts) == 0 {
		t.Fatal("no accounts")
	}
	for _, a := range accts.FinancialAccounts {
		// identifiers is on every account, its members null without
		// IDENTIFIERS, as in Meld's recording.
		if a.Balances == nil || a.Identifiers == nil || a.Identifiers.ACH != nil || a.Identifiers.EFT != nil || a.Owners != nil {
			t.Errorf("%s: balances %v identifiers %v owners %v", a.Name, a.Balances, a.Identifiers, a.Owners)
		}
	}
	if txs := st.AllTransactions(id); len(txs) != 0 {
		t.Errorf("%d transactions without TRANSACTIONS", len(txs))
	}
}

func TestDataEndpointErrors(t *testing.T) {
	st := wiringtest.New(t)
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/bank-linking/accounts/nope", 404},
		{"/bank-linking/transactions/nope", 404},
		{"/bank-linking/accounts?limit=101", 400},
		{"/bank-linking/accounts?customerId=a&externalCustomerId=b", 400},
		{"/bank-linking/accounts?after=bad", 400},
		{"/bank-linking/transactions?limit=1001", 400},
		{"/bank-linking/transactions?after=bad", 400},
		{"/bank-linking/transactions?status=SETTLED", 400},
		{"/bank-linking/transactions?category=PETS", 400},
		{"/bank-linking/transactions?startDate=2026-13-01", 400},
		{"/bank-linking/transactions?startDate=2026-02-01&endDate=2026-01-01", 400},
		{"/bank-linking/transactions?before=a&after=b", 400},
	} {
		t.Run(tc.path, func(t *testing.T) {
			var body map[string]any
			if status := st.Get(tc.path, &body); status != tc.status {
				t.Errorf("%d %v", status, body)
			}
		})
	}
}

func TestRefreshAndDelete(t *testing.T) {
	st := wiringtest.New(t)
	id := st.Link(`{"externalCustomerId":"rd","products":["BALANCES","TRANSACTIONS"]}`, "user_good")
	var body map[string]any
	if status, _ := st.Send("POST", "/bank-linking/connections/"+id+"/refresh", `{"products":["TRANSACTIONS"]}`, &body); status != 200 || body["requestId"] == "" {
		t.Fatalf("refresh: %d %v", status, body)
	}
	st.Runner.Wait()
	status, h := st.Send("POST", "/bank-linking/connections/"+id+"/refresh", "", &body)
	if status != 429 || h.Get("Retry-After") == "" || body["code"] != "RATE_LIMITED" {
		t.Errorf("second refresh: %d %v %v", status, h, body)
	}
	if status, _ := st.Send("POST", "/bank-linking/connections/"+id+"/refresh", `{"products":["OWNERS"]}`, &body); status != 400 {
		t.Errorf("refresh of a product not held: %d %v", status, body)
	}
	// Refreshing again adds nothing twice.
	before := len(st.AllTransactions(id))
	if err := st.Runner.Aggregate(t.Context(), st.Scope, id); err != nil {
		t.Fatal(err)
	}
	if after := len(st.AllTransactions(id)); after != before {
		t.Errorf("re-aggregation changed %d transactions into %d", before, after)
	}

	pending := st.Start(`{"externalCustomerId":"rd"}`)
	if status, _ := st.Send("POST", "/bank-linking/connections/"+pending.ID+"/refresh", "", &body); status != 409 {
		t.Errorf("refresh IN_PROGRESS: %d %v", status, body)
	}
	if status, _ := st.Send("POST", "/bank-linking/connections/nope/refresh", "", &body); status != 404 {
		t.Errorf("refresh unknown: %d", status)
	}

	var conn httpapi.ConnectionJSON
	if status, _ := st.Send("DELETE", "/bank-linking/connections/"+id, "", &conn); status != 200 || conn.Status != "DELETED" {
		t.Fatalf("delete: %d %+v", status, conn)
	}
	if txs := st.AllTransactions(id); len(txs) != 0 {
		t.Errorf("%d transactions after delete", len(txs))
	}
	if status, _ := st.Send("DELETE", "/bank-linking/connections/"+id, "", &body); status != 409 {
		t.Errorf("second delete: %d", status)
	}
	if status, _ := st.Send("POST", "/bank-linking/connections/"+id+"/refresh", "", &body); status != 409 {
		t.Errorf("refresh deleted: %d", status)
	}
}

func TestUpdateAddsOptionalProducts(t *testing.T) {
	st := wiringtest.New(t)
	id := st.Link(`{"externalCustomerId":"up","products":["BALANCES"]}`, "user_good")
	var body map[string]any
	if status, _ := st.Send("POST", "/bank-linking/connections/"+id+"/update", `{"products":["OWNERS","IDENTIFIERS"]}`, &body); status != 200 {
		t.Fatalf("update: %d %v", status, body)
	}
	st.Runner.Wait()
	var conn httpapi.ConnectionJSON
	st.Get("/bank-linking/connections/"+id, &conn)
	if fmt.Sprint(conn.Products) != "[BALANCES]" || fmt.Sprint(conn.OptionalProducts) != "[OWNERS IDENTIFIERS]" {
		t.Errorf("products %v optional %v", conn.Products, conn.OptionalProducts)
	}
	var accts struct {
		FinancialAccounts []httpapi.FinancialAccountJSON `json:"financialAccounts"`
	}
	st.Get("/bank-linking/accounts?connectionId="+id, &accts)
	if len(accts.FinancialAccounts) == 0 || accts.FinancialAccounts[0].Owners == nil || accts.FinancialAccounts[0].Identifiers == nil {
		t.Errorf("owners and identifiers not fetched after update: %+v", accts.FinancialAccounts)
	}
	for _, tc := range []struct {
		body   string
		status int
	}{
		{`{"products":["OWNERS"]}`, 400},
		{`{"products":["BALANCES"]}`, 400},
		{`{"products":[]}`, 400},
		{`{"products":["HISTORICAL_TRANSACTIONS"]}`, 400},
		{`{`, 400},
	} {
		if status, _ := st.Send("POST", "/bank-linking/connections/"+id+"/update", tc.body, &body); status != tc.status {
			t.Errorf("%s: %d %v", tc.body, status, body)
		}
	}
}

// TestSandboxStatusScenarios links with the sandbox's status-forcing
// logins and checks where the connection ends up.
func TestSandboxStatusScenarios(t *testing.T) {
	st := wiringtest.New(t)
	for _, tc := range []struct {
		user, status, reason string
		hasData              bool
	}{
		{sandbox.UserDegraded, "DEGRADED", "INSTITUTION_CURRENTLY_UNAVAILABLE", true},
		{sandbox.UserReconnect, "RECONNECT_REQUIRED", "LOGIN_REQUIRED", false},
		{sandbox.UserUnrecoverable, "DEGRADED", "INSTITUTION_CURRENTLY_UNAVAILABLE", false},
	} {
		t.Run(tc.user, func(t *testing.T) {
			id := st.Link(`{"externalCustomerId":"s","products":["BALANCES","TRANSACTIONS"]}`, tc.user)
			var conn httpapi.ConnectionJSON
			st.Get("/bank-linking/connections/"+id, &conn)
			if conn.Status != tc.status || conn.StatusReason == nil || *conn.StatusReason != tc.reason {
				t.Errorf("status %s %v, want %s %s", conn.Status, conn.StatusReason, tc.status, tc.reason)
			}
			if got := len(st.AllTransactions(id)) > 0; got != tc.hasData {
				t.Errorf("has data = %v", got)
			}
		})
	}
	// Three failures in a row: UNRECOVERABLE.
	id := st.Link(`{"externalCustomerId":"s3"}`, sandbox.UserUnrecoverable)
	for range 2 {
		st.Runner.Aggregate(t.Context(), st.Scope, id)
	}
	var conn httpapi.ConnectionJSON
	st.Get("/bank-linking/connections/"+id, &conn)
	if conn.Status != "UNRECOVERABLE" || *conn.StatusReason != "CONTINUED_AGGREGATION_FAILURES" {
		t.Errorf("after 3 failures: %s %v", conn.Status, *conn.StatusReason)
	}
}

// TestResumeAfterLeaseEnds: a completed link is durable work. While the
// replica that took it holds its lease, no other replica runs it; once
// the lease ends unrenewed (that replica died), another resumes it.
func TestResumeAfterLeaseEnds(t *testing.T) {
	st := wiringtest.New(t)
	// The replica that completes the link dies before aggregating it: its
	// runner takes the lease and never runs.
	dead := aggregation.New(st.Store, nil, nil)
	st.Svc.Linking.Runner = linking.RunnerFunc(func(ctx context.Context, scope banklink.Scope, id string) error {
		_, _, err := st.Store.RequestAggregation(ctx, scope, id, time.Now(), banklink.Lease{Owner: dead.Owner, Until: time.Now().Add(dead.Lease)})
		return err
	})
	id := st.Link(`{"externalCustomerId":"res","products":["BALANCES"]}`, "user_good")
	var conn httpapi.ConnectionJSON
	st.Get("/bank-linking/connections/"+id, &conn)
	if conn.SuccessfullyAggregatedAt != nil {
		t.Fatal("aggregated by a replica that died")
	}
	sem := make(chan struct{}, aggregation.ResumeWorkers)
	if n, err := st.Runner.Resume(t.Context(), sem); err != nil || n != 0 {
		t.Fatalf("resumed %d (%v) under the dead replica's lease", n, err)
	}
	st.Runner.Wait()
	st.Get("/bank-linking/connections/"+id, &conn)
	if conn.SuccessfullyAggregatedAt != nil {
		t.Fatal("aggregated under another replica's lease")
	}
	st.Runner.Now = func() time.Time { return time.Now().Add(dead.Lease + time.Second) }
	if n, err := st.Runner.Resume(t.Context(), sem); err != nil || n != 1 {
		t.Fatalf("resumed %d (%v) after the lease, want 1", n, err)
	}
	st.Runner.Wait()
	st.Get("/bank-linking/connections/"+id, &conn)
	if conn.SuccessfullyAggregatedAt == nil {
		t.Error("resume did not aggregate")
	}
	if len(sem) != 0 {
		t.Errorf("%d resume slots still taken", len(sem))
	}
	// Done work is not resumed again.
	if n, err := st.Runner.Resume(t.Context(), sem); err != nil || n != 0 {
		t.Fatalf("resumed finished work: %d, %v", n, err)
	}
}

func TestInvestments(t *testing.T) {
	st := wiringtest.New(t)
	id := st.Link(`{"externalCustomerId":"inv","products":["BALANCES","INVESTMENT_HOLDINGS","INVESTMENT_TRANSACTIONS"]}`, "user_good")
	var holdings struct {
		Holdings  []httpapi.HoldingJSON `json:"investmentHoldings"`
		Count     int
		Remaining int
	}
	if status := st.Get("/bank-linking/investments/holdings?connectionId="+id, &holdings); status != 200 || holdings.Count == 0 {
		t.Fatalf("holdings: %d %+v", status, holdings)
	}
	var accts struct {
		FinancialAccounts []httpapi.FinancialAccountJSON `json:"financialAccounts"`
	}
	st.Get("/bank-linking/accounts?limit=100&connectionId="+id, &accts)
	value := map[string]float64{}
	for _, h := range holdings.Holdings {
		if h.Quantity <= 0 || h.ClosePrice <= 0 || h.CUSIP == nil || len(*h.ISIN) != 12 {
			t.Errorf("holding = %+v", h)
		}
		value[h.FinancialAccountID] += h.CurrentValue
	}
	for _, a := range accts.FinancialAccounts {
		if a.Type == "INVESTMENT" && (a.Balances == nil || fmt.Sprintf("%.2f", a.Balances.CurrentAmount) != fmt.Sprintf("%.2f", value[a.ID])) {
			t.Errorf("%s balance %+v, holdings worth %.2f", a.Name, a.Balances, value[a.ID])
		}
	}
	var one httpapi.HoldingJSON
	if st.Get("/bank-linking/investments/holdings/"+holdings.Holdings[0].ID, &one); one.ID != holdings.Holdings[0].ID {
		t.Errorf("get holding = %+v", one)
	}
	var txs struct {
		Transactions []httpapi.InvestmentTransactionJSON `json:"investmentTransactions"`
		Count        int
		Remaining    int
	}
	st.Get("/bank-linking/investments/transactions?limit=1000&connectionId="+id, &txs)
	types := map[string]int{}
	for i, tx := range txs.Transactions {
		types[tx.Type]++
		if i > 0 && tx.TransactionDate > txs.Transactions[i-1].TransactionDate {
			t.Fatalf("not newest first at %d", i)
		}
		if tx.Type == "BUY" && tx.Amount <= 0 || tx.Type == "CASH" && tx.Amount >= 0 {
			t.Errorf("sign of %s %.2f", tx.Type, tx.Amount)
		}
	}
	if types["BUY"] < 24 || types["CASH"] == 0 {
		t.Errorf("investment transaction types = %v (24 months of monthly buys expected)", types)
	}
	var oneTx httpapi.InvestmentTransactionJSON
	if st.Get("/bank-linking/investments/transactions/"+txs.Transactions[0].ID, &oneTx); oneTx.ID != txs.Transactions[0].ID {
		t.Errorf("get investment transaction = %+v", oneTx)
	}
	// Re-aggregating keeps ids: the holdings snapshot is matched, not replaced.
	if err := st.Runner.Aggregate(t.Context(), st.Scope, id); err != nil {
		t.Fatal(err)
	}
	var after struct {
		Holdings []httpapi.HoldingJSON `json:"investmentHoldings"`
	}
	st.Get("/bank-linking/investments/holdings?connectionId="+id, &after)
	if len(after.Holdings) != len(holdings.Holdings) || after.Holdings[0].ID != holdings.Holdings[0].ID {
		t.Errorf("holdings changed identity on refresh")
	}
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/bank-linking/investments/holdings/nope", 404},
		{"/bank-linking/investments/transactions/nope", 404},
		{"/bank-linking/investments/holdings?after=bad", 400},
		{"/bank-linking/investments/transactions?statuses=SHADOW", 400},
		{"/bank-linking/investments/transactions?endDate=x", 400},
		{"/bank-linking/investments/transactions?limit=0", 400},
	} {
		var body map[string]any
		if status := st.Get(tc.path, &body); status != tc.status {
			t.Errorf("%s: %d %v", tc.path, status, body)
		}
	}
}

func TestDuplicateConnections(t *testing.T) {
	st := wiringtest.New(t)
	first := st.Link(`{"externalCustomerId":"dup","products":["BALANCES"]}`, "user_good")
	second := st.Link(`{"externalCustomerId":"dup","products":["BALANCES"]}`, "user_good")
	other := st.Link(`{"externalCustomerId":"dup","products":["BALANCES"]}`, "user_mfa_question_not") // another login
	var a, b, c httpapi.ConnectionJSON
	st.Get("/bank-linking/connections/"+first, &a)
	st.Get("/bank-linking/connections/"+second, &b)
	st.Get("/bank-linking/connections/"+other, &c)
	if a.Status != "PARTIALLY_ACTIVE" || a.StatusReason == nil || *a.StatusReason != "INACTIVE_DUPLICATE" ||
		a.ActiveDuplicateConnectionID == nil || *a.ActiveDuplicateConnectionID != second || fmt.Sprint(a.DuplicateConnectionIDs) != "["+second+"]" {
		t.Errorf("first = %s %v active %v dups %v", a.Status, a.StatusReason, a.ActiveDuplicateConnectionID, a.DuplicateConnectionIDs)
	}
	if b.Status != "ACTIVE" || fmt.Sprint(b.DuplicateConnectionIDs) != "["+first+"]" || b.ActiveDuplicateConnectionID != nil {
		t.Errorf("second = %s dups %v active %v", b.Status, b.DuplicateConnectionIDs, b.ActiveDuplicateConnectionID)
	}
	if c.Status != "ACTIVE" || c.DuplicateConnectionIDs != nil {
		t.Errorf("a different login is not a duplicate: %s %v", c.Status, c.DuplicateConnectionIDs)
	}
}

// TestRepair breaks a connection (RECONNECT_REQUIRED), repairs it through
// the widget with a repair token, and checks it is ACTIVE with data and
// the token works once.
func TestRepair(t *testing.T) {
	st := wiringtest.New(t)
	id := st.Link(`{"externalCustomerId":"rep","products":["BALANCES","TRANSACTIONS"]}`, sandbox.UserReconnect)
	var conn httpapi.ConnectionJSON
	st.Get("/bank-linking/connections/"+id, &conn)
	if conn.Status != "RECONNECT_REQUIRED" {
		t.Fatalf("status %s", conn.Status)
	}
	var rep linking.RepairResponse
	if status, _ := st.Send("POST", "/bank-linking/connect/repair", fmt.Sprintf(`{"connectionId":%q}`, id), &rep); status != 201 || rep.ID != id || rep.InstitutionID == "" {
		t.Fatalf("repair: %d %+v", status, rep)
	}
	tok := rep.ConnectToken
	// The picker is skipped and the connection keeps its status meanwhile.
	status, s := st.Call(tok, "GET", "session", "")
	if status != 200 || s["step"] != "CREDENTIALS" || s["institutionLocked"] != true {
		t.Fatalf("repair session: %d %v", status, s)
	}
	st.Get("/bank-linking/connections/"+id, &conn)
	if conn.Status != "RECONNECT_REQUIRED" {
		t.Errorf("status during repair = %s", conn.Status)
	}
	_, s = st.Call(tok, "POST", "login", `{"credentials":{"username":"user_good","password":"pass_good"}}`)
	first := s["accounts"].([]any)[0].(map[string]any)["id"].(string)
	if status, s := st.Call(tok, "POST", "complete", fmt.Sprintf(`{"accountIds":[%q],"consent":true}`, first)); status != 200 {
		t.Fatalf("complete repair: %d %v", status, s)
	}
	st.Runner.Wait()
	st.Get("/bank-linking/connections/"+id, &conn)
	if conn.Status != "ACTIVE" || conn.StatusReason != nil || len(st.AllTransactions(id)) == 0 {
		t.Errorf("after repair: %s %v", conn.Status, conn.StatusReason)
	}
	if status, s := st.Call(tok, "GET", "session", ""); status != 401 || s["reason"] != "TOKEN_USED" {
		t.Errorf("repair token reused: %d %v", status, s)
	}
	var body map[string]any
	for _, tc := range []struct {
		body   string
		status int
	}{
		{fmt.Sprintf(`{"connectionId":%q}`, id), 409}, // ACTIVE needs no repair
		{`{"connectionId":"nope"}`, 404},
		{`{}`, 400},
	} {
		if status, _ := st.Send("POST", "/bank-linking/connect/repair", tc.body, &body); status != tc.status {
			t.Errorf("%s: %d %v", tc.body, status, body)
		}
	}
}
