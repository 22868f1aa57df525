package providers_test

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"banklink"
	"banklink/internal/finicity"
	"banklink/internal/finicity/fakefinicity"
	"banklink/internal/httpapi"
	"banklink/internal/mx/fakemx"
	"banklink/internal/plaid/fakeplaid"
	"banklink/internal/sandbox"
	"banklink/internal/wiring/wiringtest"
)

// providerCase is one provider under the same link-and-read test.
type providerCase struct {
	name, wire string
	// link builds a stack with the provider, links customer through the
	// widget's API with the given connect/start body, and returns the
	// stack, the connection, readers of the provider's side, and change,
	// which changes the provider's data as time passes (nil when the
	// provider's data cannot be changed from outside).
	link func(t *testing.T, body, customer string) (st *wiringtest.Stack, connID string, up func() wiringtest.Upstream, removed func() bool, change func())
	// expiredByChange is how many transactions change removes at the
	// provider: banklink keeps them as EXPIRED.
	expiredByChange int
}

var providerCases = []providerCase{
	{name: "sandbox", wire: "SANDBOX", link: func(t *testing.T, body, customer string) (*wiringtest.Stack, string, func() wiringtest.Upstream, func() bool, func()) {
		st := wiringtest.New(t)
		id := st.Link(body, "user_good")
		var conn httpapi.ConnectionJSON
		st.Get("/bank-linking/connections/"+id, &conn)
		bank := st.Institution("Sandbox Bank")
		loginID := conn.ServiceProviderDetails["serviceProviderConnectionId"]
		up := func() wiringtest.Upstream {
			// The sandbox bank is its own upstream: what it serves for
			// the login over the whole history.
			agg, err := st.Sbx.Aggregate(t.Context(), banklink.AggregationRequest{Institution: bank, LoginID: loginID,
				Products: []banklink.Product{banklink.Balances, banklink.Identifiers, banklink.Owners, banklink.Transactions, banklink.InvestmentHoldings},
				Since:    time.Now().AddDate(0, -sandbox.HistoryMonths, 0), Now: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			var u wiringtest.Upstream
			for _, a := range agg {
				routing, number, owner := "", "", ""
				if a.Identifiers != nil && a.Identifiers.ACH != nil {
					routing, number = a.Identifiers.ACH.RoutingNumber, a.Identifiers.ACH.AccountNumber
				}
				if len(a.Owners) > 0 {
					owner = a.Owners[0].Names[0]
				}
				u.Accounts = append(u.Accounts, wiringtest.AccountLine(a.Name, a.Type, a.Mask, a.Balances.CurrentAmount, a.Balances.Currency, routing, number, owner))
				for _, tx := range a.Transactions {
					u.Transactions = append(u.Transactions, wiringtest.TransactionLine(a.Mask, tx.TransactionDate, tx.Amount, tx.Status, tx.Description))
				}
				for _, h := range a.Holdings {
					u.Holdings = append(u.Holdings, wiringtest.HoldingLine(h.Symbol, h.Quantity, h.CurrentValue))
				}
			}
			return u
		}
		return st, id, up, nil, nil
	}},
	{name: "plaid", wire: "PLAID", expiredByChange: 1, link: func(t *testing.T, body, customer string) (*wiringtest.Stack, string, func() wiringtest.Upstream, func() bool, func()) {
		st, fp := wiringtest.NewPlaid(t)
		id, item := st.PlaidLink(fp, body, "Chase", "ins_56")
		types := map[string]string{"depository": "DEPOSITORY", "credit": "CREDIT", "investment": "INVESTMENT", "loan": "LOAN"}
		up := func() wiringtest.Upstream {
			it := fp.Item(item.ID)
			var u wiringtest.Upstream
			mask := map[string]string{}
			for _, a := range it.Accounts {
				mask[a.ID] = a.Mask
				routing, number, owner := "", "", ""
				if a.ACH != nil {
					routing, number = a.ACH.Routing, a.ACH.Account
				}
				if len(a.Owners) > 0 {
					owner = a.Owners[0].Names[0]
				}
				u.Accounts = append(u.Accounts, wiringtest.AccountLine(a.Name, types[a.Type], a.Mask, *a.Current, a.Currency, routing, number, owner))
			}
			for _, tx := range it.Transactions {
				// Plaid's sign is banklink's; the date is when it
				// happened (authorized_date) when Plaid knows it.
				date, status := tx.Date, "POSTED"
				if tx.AuthorizedDate != "" {
					date = tx.AuthorizedDate
				}
				if tx.Pending {
					status = "PENDING"
				}
				u.Transactions = append(u.Transactions, wiringtest.TransactionLine(mask[tx.AccountID], date, tx.Amount, status, tx.Name))
			}
			ticker := map[string]string{}
			for _, sec := range it.Securities {
				ticker[sec.ID] = sec.Ticker
			}
			for _, h := range it.Holdings {
				u.Holdings = append(u.Holdings, wiringtest.HoldingLine(ticker[h.SecurityID], h.Quantity, h.Value))
			}
			return u
		}
		// A day at the bank: a new purchase, the pending coffee posts
		// (a new Plaid transaction replacing the pending one), a pending
		// charge is declined (removed), an old one is corrected.
		change := func() {
			fp.Mutate(item.ID, func(it *fakeplaid.Item) {
				var pendings []*fakeplaid.Transaction
				var posted *fakeplaid.Transaction
				for _, tx := range it.Transactions {
					if tx.Pending {
						pendings = append(pendings, tx)
					} else if posted == nil {
						posted = tx
					}
				}
				if len(pendings) < 2 || posted == nil {
					t.Fatalf("the fake Item has %d pending transactions", len(pendings))
				}
				it.AddTransaction(&fakeplaid.Transaction{ID: "conformance-new", AccountID: it.Accounts[0].ID, Amount: 42.5, Currency: "USD",
					Date: time.Now().Format(time.DateOnly), Name: "HARDWARE STORE", Primary: "GENERAL_MERCHANDISE"})
				it.Post(pendings[0].ID, "conformance-posted", time.Now().Format(time.DateOnly))
				it.RemoveTransaction(pendings[1].ID)
			})
		}
		return st, id, up, func() bool { return fp.Item(item.ID).Removed() }, change
	}},
	{name: "mx", wire: "MX", link: func(t *testing.T, body, customer string) (*wiringtest.Stack, string, func() wiringtest.Upstream, func() bool, func()) {
		st, fake := wiringtest.NewMX(t, false)
		id, member := st.MXLink(fake, body, "MX Bank", "correct")
		types := map[string]string{"CHECKING": "DEPOSITORY", "SAVINGS": "DEPOSITORY", "CREDIT_CARD": "CREDIT", "LOAN": "LOAN", "INVESTMENT": "INVESTMENT"}
		up := func() wiringtest.Upstream {
			var u wiringtest.Upstream
			numbers := map[string]fakemx.AccountNumber{}
			for _, n := range fake.AccountNumbers(member) {
				numbers[n.AccountGUID] = n
			}
			owners := map[string]string{}
			for _, o := range fake.AccountOwners(member) {
				owners[o.AccountGUID] = o.OwnerName
			}
			mask := map[string]string{}
			for _, a := range fake.Accounts(member) {
				if a.IsClosed {
					continue // MX's closed accounts are not offered
				}
				mask[a.GUID] = a.AccountNumber[len(a.AccountNumber)-4:]
				routing, number := "", ""
				if n, ok := numbers[a.GUID]; ok {
					routing, number = *n.RoutingNumber, n.AccountNumber
				}
				u.Accounts = append(u.Accounts, wiringtest.AccountLine(a.Name, types[a.Type], mask[a.GUID], *a.Balance, a.CurrencyCode, routing, number, owners[a.GUID]))
			}
			for _, tx := range fake.Transactions(member) {
				// MX's amounts are unsigned: DEBIT is money out.
				amount := math.Abs(tx.Amount)
				if tx.Type == "CREDIT" {
					amount = -amount
				}
				u.Transactions = append(u.Transactions, wiringtest.TransactionLine(mask[tx.AccountGUID], tx.Date, amount, tx.Status, tx.Description))
			}
			for _, h := range fake.Holdings(member) {
				q, _ := strconv.ParseFloat(h.Quantity, 64)
				u.Holdings = append(u.Holdings, wiringtest.HoldingLine(h.Symbol, q, h.MarketValue))
			}
			return u
		}
		return st, id, up, func() bool { _, ok := fake.Member(member); return !ok }, nil
	}},
}

// TestEveryProviderLinksAndReads is one link-and-read test run on every
// provider: the customer links through the widget's API, banklink
// aggregates, and what the Meld API serves (accounts, balances, account
// and routing numbers, owners, every transaction, holdings) equals what the
// provider holds; the app was told by webhook events; deleting the
// connection revokes the login at the provider.
func TestEveryProviderLinksAndReads(t *testing.T) {
	for _, pc := range providerCases {
		t.Run(pc.name, func(t *testing.T) {
			customer := "conformance-" + pc.name
			body := fmt.Sprintf(`{"externalCustomerId":%q,"products":["BALANCES","IDENTIFIERS","OWNERS","TRANSACTIONS"],"optionalProducts":["INVESTMENT_HOLDINGS"],"serviceProvider":%q}`, customer, pc.wire)
			st, id, up, removed, change := pc.link(t, body, customer)

			var conn httpapi.ConnectionJSON
			st.Get("/bank-linking/connections/"+id, &conn)
			if conn.Status != "ACTIVE" || conn.SuccessfullyAggregatedAt == nil || conn.ServiceProviderDetails["serviceProvider"] != pc.wire ||
				conn.ServiceProviderDetails["serviceProviderConnectionId"] == "" {
				t.Fatalf("connection = %+v", conn)
			}
			expired := 0
			compare := func(when string) {
				t.Helper()
				want := up()

				var accts struct {
					FinancialAccounts []httpapi.FinancialAccountJSON `json:"financialAccounts"`
				}
				st.Get("/bank-linking/accounts?limit=100&connectionId="+id, &accts)
				var got wiringtest.Upstream
				mask := map[string]string{}
				for _, a := range accts.FinancialAccounts {
					mask[a.ID] = a.TruncatedAccountNumber
					routing, number, owner := "", "", ""
					if a.Identifiers != nil && a.Identifiers.ACH != nil {
						routing, number = a.Identifiers.ACH.RoutingNumber, a.Identifiers.ACH.AccountNumber
					}
					if len(a.Owners) > 0 {
						owner = a.Owners[0].Names[0]
					}
					if a.Balances == nil {
						t.Fatalf("account %s has no balances", a.Name)
					}
					got.Accounts = append(got.Accounts, wiringtest.AccountLine(a.Name, a.Type, a.TruncatedAccountNumber, a.Balances.CurrentAmount, a.Balances.Currency, routing, number, owner))
				}
				expired = 0
				for _, tx := range st.AllTransactions(id) {
					if tx.Status == "EXPIRED" {
						// Gone at the provider; kept, marked, and
						// counted below.
						expired++
						continue
					}
					got.Transactions = append(got.Transactions, wiringtest.TransactionLine(mask[tx.FinancialAccountID], tx.TransactionDate, tx.Amount, tx.Status, tx.Description))
				}
				var holdings struct {
					Holdings []httpapi.HoldingJSON `json:"investmentHoldings"`
				}
				st.Get("/bank-linking/investments/holdings?limit=1000&connectionId="+id, &holdings)
				for _, h := range holdings.Holdings {
					got.Holdings = append(got.Holdings, wiringtest.HoldingLine(h.Symbol, h.Quantity, h.CurrentValue))
				}
				for _, part := range []struct {
					name      string
					got, want []string
				}{{"accounts", got.Accounts, want.Accounts}, {"transactions", got.Transactions, want.Transactions}, {"holdings", got.Holdings, want.Holdings}} {
					slices.Sort(part.got)
					slices.Sort(part.want)
					if !slices.Equal(part.got, part.want) {
						t.Errorf("%s, %s: banklink serves %d, the provider holds %d", when, part.name, len(part.got), len(part.want))
						for i := range max(len(part.got), len(part.want)) {
							g, w := "", ""
							if i < len(part.got) {
								g = part.got[i]
							}
							if i < len(part.want) {
								w = part.want[i]
							}
							if g != w {
								t.Errorf("first difference:\n got %s\nwant %s", g, w)
								break
							}
						}
					}
				}
				if len(want.Accounts) == 0 || len(want.Transactions) == 0 {
					t.Errorf("the provider holds %d accounts and %d transactions: nothing compared", len(want.Accounts), len(want.Transactions))
				}
			}
			compare("after the link")
			// A refresh after the provider's data changed serves the
			// provider's data again (Plaid: from its transactions
			// cursor, only the changes).
			if change != nil {
				change()
			}
			if err := st.Runner.Aggregate(t.Context(), st.Scope, id); err != nil {
				t.Fatal(err)
			}
			compare("after a refresh")
			if expired != pc.expiredByChange {
				t.Errorf("%d transactions EXPIRED after the refresh, want %d", expired, pc.expiredByChange)
			}

			// The app heard about it.
			var events struct {
				Events []struct {
					EventType string `json:"eventType"`
				} `json:"events"`
			}
			st.Get("/webhooks/events?limit=100&connectionId="+url.QueryEscape(id), &events)
			var types []string
			for _, e := range events.Events {
				types = append(types, e.EventType)
			}
			for _, want := range []string{"BANK_LINKING_CONNECTION_COMPLETED", "BANK_LINKING_ACCOUNTS_UPDATED", "BANK_LINKING_TRANSACTIONS_AGGREGATED"} {
				if !slices.Contains(types, want) {
					t.Errorf("no %s event (events: %v)", want, types)
				}
			}

			// Deleting the connection revokes the login upstream.
			var deleted httpapi.ConnectionJSON
			if status, _ := st.Send("DELETE", "/bank-linking/connections/"+id, "", &deleted); status != 200 || deleted.Status != "DELETED" {
				t.Fatalf("delete: %d %+v", status, deleted)
			}
			if removed != nil && !removed() {
				t.Errorf("the login is still at %s after the connection was deleted", pc.wire)
			}
		})
	}
}
func init() {
	providerCases = append(providerCases, providerCase{name: "finicity", wire: "FINICITY", expiredByChange: 1,
		link: func(t *testing.T, body, customer string) (*wiringtest.Stack, string, func() wiringtest.Upstream, func() bool, func()) {
			st, fake, _ := wiringtest.NewFinicity(t, finicity.Config{})
			id, loginID := st.FinicityLink(fake, body, "FinBank Profiles - A")
			_, login, _ := strings.Cut(loginID, "/")
			up := func() wiringtest.Upstream { return wiringtest.FinicityUpstream(fake, loginID) }
			removed := func() bool { l, _ := fake.LoginOf(login); return l.Deleted }
			// A day at the bank: a new purchase, a pending charge
			// declined (gone: banklink keeps it as EXPIRED).
			change := func() {
				fake.Mutate(login, func(l *fakefinicity.Login) {
					a := l.Accounts[0]
					now := time.Now().UTC()
					a.Transactions = append(a.Transactions, &fakefinicity.Transaction{ID: 9000000001, Amount: -42.5, Status: "active",
						Description: "HARDWARE STORE", Date: now, Posted: now, Added: now})
					for i, tx := range a.Transactions {
						if tx.Status == "pending" {
							a.Transactions = append(a.Transactions[:i], a.Transactions[i+1:]...)
							break
						}
					}
				})
			}
			return st, id, up, removed, change
		}})
}
