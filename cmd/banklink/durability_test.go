package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"testing"
	"time"

	"banklink"
	"banklink/internal/crashpoint"
	"banklink/internal/sandbox"
	"banklink/internal/testenv"
)

// Accepted aggregation work must survive a SIGKILL at its worst moment, on
// both databases: a link whose first aggregation is cut between its
// recent-window pass and its two-year history, and a refresh the API has
// answered but not yet run. The crash points make the kill land exactly
// there (a kill timed from outside hits it only by luck).

// backend is where a crash test's processes keep their data.
type backend struct {
	name string
	args func(t *testing.T) []string
}

var backends = []backend{
	{"sqlite", func(t *testing.T) []string { return []string{"-data-dir", t.TempDir()} }},
	{"postgres", func(t *testing.T) []string { return []string{"-database", testenv.PostgresDSN(t)} }},
}

// shortLease makes work a dead process held claimable after a second.
var shortLease = []string{"-aggregation-lease", "1s"}

func crashAt(point string) []string { return []string{crashpoint.Env + "=" + point} }

// linkAll links a new customer's Sandbox Bank login through p's API and
// widget, sharing every account, and returns the connection id.
func linkAll(t *testing.T, p *process, key, customer string) string {
	t.Helper()
	var started struct{ ID, ConnectToken string }
	body := fmt.Sprintf(`{"externalCustomerId":%q,"products":["BALANCES","TRANSACTIONS"]}`, customer)
	if status := api(t, p.url, key, "POST", "/bank-linking/connect/start", body, &started); status != 201 {
		t.Fatalf("connect/start: %d", status)
	}
	tok := started.ConnectToken
	if status, body := widgetCall(t, p.url, tok, "POST", "select", fmt.Sprintf(`{"institutionId":%q}`, sandbox.TestBankID)); status != 200 {
		t.Fatalf("select: %d %s", status, body)
	}
	status, resp := widgetCall(t, p.url, tok, "POST", "login", `{"credentials":{"username":"user_good","password":"pass_good"}}`)
	if status != 200 {
		t.Fatalf("login: %d %s", status, resp)
	}
	var login struct{ Accounts []struct{ ID string } }
	if err := json.Unmarshal([]byte(resp), &login); err != nil || len(login.Accounts) == 0 {
		t.Fatalf("login answer %s: %v", resp, err)
	}
	ids, _ := json.Marshal(func() []string {
		var out []string
		for _, a := range login.Accounts {
			out = append(out, a.ID)
		}
		return out
	}())
	if status, body := widgetCall(t, p.url, tok, "POST", "complete", fmt.Sprintf(`{"consent":true,"accountIds":%s}`, ids)); status != 200 {
		t.Fatalf("complete: %d %s", status, body)
	}
	return started.ID
}

// history is what a process serves of a connection's transactions.
type history struct {
	count  int
	oldest string // transactionDate of the oldest
	login  string // the sandbox login, to ask the sandbox bank for the truth
}

func readHistory(t *testing.T, p *process, key, connID string) history {
	t.Helper()
	var h history
	var conn struct{ ServiceProviderDetails map[string]string }
	if status := api(t, p.url, key, "GET", "/bank-linking/connections/"+connID, "", &conn); status != 200 {
		t.Fatalf("connection: %d", status)
	}
	h.login = conn.ServiceProviderDetails["serviceProviderConnectionId"]
	after := ""
	for {
		var page struct {
			Transactions []struct{ Key, TransactionDate string } `json:"financialAccountTransactions"`
			Remaining    int
		}
		path := "/bank-linking/transactions?limit=1000&connectionId=" + connID
		if after != "" {
			path += "&after=" + url.QueryEscape(after)
		}
		if status := api(t, p.url, key, "GET", path, "", &page); status != 200 {
			t.Fatalf("transactions: %d", status)
		}
		for _, tx := range page.Transactions {
			h.count++
			if h.oldest == "" || tx.TransactionDate < h.oldest {
				h.oldest = tx.TransactionDate
			}
		}
		if page.Remaining == 0 || len(page.Transactions) == 0 {
			return h
		}
		after = page.Transactions[len(page.Transactions)-1].Key
	}
}

// upstreamCount is how many transactions the sandbox bank holds for the
// login over its whole history: what a complete aggregation stores.
func upstreamCount(t *testing.T, login string) int {
	t.Helper()
	var bank *banklink.Institution
	for _, in := range sandbox.TestInstitutions() {
		if in.ID == sandbox.TestBankID {
			bank = in
		}
	}
	now := time.Now()
	accts, err := (&sandbox.Provider{}).Aggregate(t.Context(), banklink.AggregationRequest{Institution: bank, LoginID: login,
		Products: []banklink.Product{banklink.Balances, banklink.Transactions}, Since: now.AddDate(0, -sandbox.HistoryMonths, 0), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, a := range accts {
		n += len(a.Transactions)
	}
	return n
}

func countEvents(t *testing.T, p *process, key, eventType, connID string) int {
	t.Helper()
	var page struct{ Events []struct{ EventID string } }
	if status := api(t, p.url, key, "GET", "/webhooks/events?limit=100&eventTypes="+eventType+"&connectionId="+connID, "", &page); status != 200 {
		t.Fatalf("events: %d", status)
	}
	return len(page.Events)
}

// wantFullHistory waits until p serves the connection's whole two-year
// history, announced once.
func wantFullHistory(t *testing.T, p *process, key, connID string) {
	t.Helper()
	var h history
	testenv.Eventually(t, 60*time.Second, "the two-year history after the crash", func() bool {
		h = readHistory(t, p, key, connID)
		return countEvents(t, p, key, "BANK_LINKING_HISTORICAL_TRANSACTIONS_AGGREGATED", connID) > 0
	})
	h = readHistory(t, p, key, connID)
	if want := upstreamCount(t, h.login); h.count != want {
		t.Errorf("%d transactions after recovery, want the sandbox bank's %d", h.count, want)
	}
	if n := countEvents(t, p, key, "BANK_LINKING_HISTORICAL_TRANSACTIONS_AGGREGATED", connID); n != 1 {
		t.Errorf("HISTORICAL_TRANSACTIONS_AGGREGATED sent %d times, want once", n)
	}
}

// TestCrashBetweenPassesKeepsHistory: SIGKILL after the recent window is
// saved and before the historical pass; the restarted process must
// finish the history. Before durable work, the connection stayed ACTIVE
// with the 90-day window for good.
func TestCrashBetweenPassesKeepsHistory(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			store := b.args(t)
			p := startProcess(t, crashAt(crashpoint.BetweenPasses), append(store, shortLease...)...)
			key := p.key
			id := linkAll(t, p, key, "crash-between")
			p.waitKilled(t, 60*time.Second)

			again := startProcess(t, nil, append(store, shortLease...)...)
			wantFullHistory(t, again, key, id)
		})
	}
}

// TestSurvivorRepairsKilledReplica: two replicas on one PostgreSQL; the
// one aggregating a new link dies between its passes, and the other,
// without any restart, finishes the history once the lease ends.
func TestSurvivorRepairsKilledReplica(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	dying := startProcess(t, crashAt(crashpoint.BetweenPasses), append([]string{"-database", dsn}, shortLease...)...)
	survivor := startProcess(t, nil, append([]string{"-database", dsn}, shortLease...)...)
	key := dying.key
	var ids []string
	for i := range 3 {
		// The first link kills the dying replica; the others go to the
		// survivor's API but their work may be claimed by either.
		p := dying
		if i > 0 {
			p = survivor
		}
		ids = append(ids, linkAll(t, p, key, fmt.Sprintf("survivor-%d", i)))
		if i == 0 {
			dying.waitKilled(t, 60*time.Second)
		}
	}
	for _, id := range ids {
		wantFullHistory(t, survivor, key, id)
	}
}

// TestAcceptedRefreshSurvivesCrash: a refresh the API answered 200 is
// durable work. The process dies right after answering, before the
// refresh runs; the restarted process runs it and sends its
// ACCOUNTS_UPDATED. Before, the refresh was lost with the process.
func TestAcceptedRefreshSurvivesCrash(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			store := append(b.args(t), shortLease...)
			p := startProcess(t, nil, store...)
			key := p.key
			id := linkAll(t, p, key, "crash-refresh")
			testenv.Eventually(t, 60*time.Second, "the first aggregation", func() bool {
				return countEvents(t, p, key, "BANK_LINKING_HISTORICAL_TRANSACTIONS_AGGREGATED", id) > 0
			})
			updated := countEvents(t, p, key, "BANK_LINKING_ACCOUNTS_UPDATED", id)
			p.kill()

			// The crash point fires as the refresh's run starts, before
			// it reads anything, and waits long enough for the 200 to
			// reach us.
			crashing := startProcess(t, crashAt(crashpoint.RunStarted+"@300ms"), store...)
			if status := api(t, crashing.url, key, "POST", "/bank-linking/connections/"+id+"/refresh", "", nil); status != 200 {
				t.Fatalf("refresh: %d", status)
			}
			crashing.waitKilled(t, 30*time.Second)

			again := startProcess(t, nil, store...)
			testenv.Eventually(t, 60*time.Second, "the accepted refresh after the crash", func() bool {
				return countEvents(t, again, key, "BANK_LINKING_ACCOUNTS_UPDATED", id) > updated
			})
		})
	}
}
