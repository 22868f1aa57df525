package widget_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"banklink"
	"banklink/internal/sandbox"
	"banklink/internal/webhooks"
	"banklink/internal/webhookurl"
	"banklink/webhook"
)

// Golden wire shapes: what Meld's documentation (meld-api.md) and its
// recorded sandbox responses (meld-recorded-shapes.md) say each resource
// looks like, as key trees with types, null-or-not and enum values.
// checkShape holds a real response to one: a missing, renamed or
// re-typed field fails, and so does any field not in the tree unless it
// is one of banklink's additions, all of which are listed in docs/api.md
// (TestAdditionsDocumented).

type (
	// obj is an object with exactly these members (plus additions).
	obj map[string]any
	// arr is an array of items of one shape.
	arr struct{ of any }
	// orNull is a shape or null.
	orNull struct{ of any }
	// enum is a string from a list.
	enum []string
)

// The scalar shapes.
const (
	str     = "string"
	num     = "number"
	boolean = "boolean"
	object  = "object" // any object (a provider's own payload)
	anyVal  = "any"
)

var (
	products       = enum{"BALANCES", "IDENTIFIERS", "OWNERS", "TRANSACTIONS", "INVESTMENT_HOLDINGS", "INVESTMENT_TRANSACTIONS"}
	connStatuses   = enum{"IN_PROGRESS", "EXPIRED", "ACTIVE", "PARTIALLY_ACTIVE", "DEGRADED", "RECONNECT_REQUIRED", "UNRECOVERABLE", "UNDETERMINED", "DELETED"}
	providerNames  = enum{"SANDBOX", "SANDBOX_B", "PLAID", "MX", "FINICITY", "AKOYA", "YODLEE", "SALTEDGE", "SALTEDGEPARTNERS"}
	txCategories   = enum(banklink.TransactionCategories)
	microsecondsTS = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)
)

// spd is a serviceProviderDetails entry carrying the raw object under
// kind, as Meld's recorded accounts do.
func spd(kind string) arr {
	return arr{obj{"serviceProvider": providerNames, "updatedAt": str, kind: object}}
}

var goldenShapes = map[string]obj{
	// POST /bank-linking/connect/start (recorded).
	"ConnectStart": {"id": str, "connectToken": str, "customerId": str, "externalCustomerId": orNull{str}, "widgetUrl": str},
	// GET /bank-linking/connections/{id} (meld-api.md 4.5).
	"Connection": {"id": str, "key": str, "accountId": str, "customerId": str, "externalCustomerId": orNull{str},
		"institutionId": orNull{str}, "institutionName": orNull{str}, "products": arr{products}, "optionalProducts": arr{products},
		"regions": arr{str}, "status": connStatuses, "statusReason": orNull{str},
		"serviceProviderDetails": obj{"serviceProvider": providerNames, "serviceProviderConnectionId": str},
		"createdAt":              str, "successfullyAggregatedAt": orNull{str}, "duplicateConnectionIds": orNull{arr{str}}, "activeDuplicateConnectionId": orNull{str}},
	// GET /bank-linking/accounts (recorded; connectionIds and
	// historicalAggregationSucceeded from meld-api.md 4.7).
	"FinancialAccount": {"key": str, "id": str, "accountId": str, "customerId": str, "institutionId": str, "institutionName": str,
		"status": enum{"ACTIVE", "INACTIVE"}, "type": enum{"DEPOSITORY", "CREDIT", "LOAN", "INVESTMENT", "OTHER"}, "subtype": str,
		"name": str, "truncatedAccountNumber": str,
		"identifiers": obj{
			"ach":           orNull{obj{"accountNumber": str, "routingNumber": str}},
			"eft":           orNull{obj{"accountNumber": str, "institutionNumber": str, "branchNumber": str}},
			"international": orNull{obj{"iban": str, "bic": str, "bban": str, "accountName": str, "accountNumber": str, "sortCode": str}},
			"bacs":          orNull{obj{"accountNumber": str, "sortCode": str}},
		},
		"balances": orNull{obj{"currency": str, "currentAmount": num, "availableAmount": orNull{num}, "updatedAt": str}},
		"owners": orNull{arr{obj{
			"addresses": arr{obj{"data": obj{"street": orNull{str}, "city": orNull{str}, "region": orNull{str}, "postalCode": orNull{str},
				"country": orNull{str}, "full": str}, "primary": enum{"TRUE", "FALSE", "UNKNOWN"}}},
			"emails": orNull{arr{obj{"data": str}}}, "names": arr{str}, "phoneNumbers": orNull{arr{obj{"data": str}}},
		}}},
		"serviceProviderDetails": spd("account"), "externalCustomerId": orNull{str}, "connectionId": str,
		"connectionIds": arr{str}, "historicalAggregationSucceeded": boolean},
	// GET /bank-linking/transactions (meld-api.md 4.8).
	"Transaction": {"id": str, "key": str, "accountId": str, "customerId": str, "externalCustomerId": orNull{str},
		"financialAccountId": str, "connectionIds": arr{str}, "amount": num, "currency": str, "description": str,
		"transactionDate": str, "postedDate": orNull{str}, "status": enum{"PENDING", "POSTED", "SHADOW", "EXPIRED"},
		"category": txCategories, "recurring": enum{"UNKNOWN", "RECURRING", "NOT_RECURRING"}, "serviceProviderDetails": spd("transaction")},
	// GET /bank-linking/investments/holdings (meld-api.md 4.9).
	"Holding": {"id": str, "key": str, "accountId": str, "customerId": str, "externalCustomerId": orNull{str},
		"financialAccountId": str, "connectionIds": arr{str}, "symbol": str, "description": str, "quantity": num,
		"closePrice": num, "currentValue": num, "costBasis": orNull{num}, "currency": str, "cusip": orNull{str}, "isin": orNull{str},
		"type": enum(banklink.HoldingTypes), "updatedAt": str, "serviceProviderDetails": spd("holding")},
	// GET /bank-linking/investments/transactions (meld-api.md 4.9; its
	// statuses filter implies status).
	"InvestmentTransaction": {"id": str, "key": str, "accountId": str, "customerId": str, "externalCustomerId": orNull{str},
		"financialAccountId": str, "connectionIds": arr{str}, "amount": num, "quantity": num, "costBasis": num, "symbol": str,
		"description": str, "currency": str, "transactionDate": str, "postedDate": orNull{str}, "status": enum{"PENDING", "POSTED"},
		"type": enum(banklink.InvestmentTransactionTypes), "serviceProviderDetails": spd("investmentTransaction")},
	// GET /accounts/customers (meld-api.md 4.10).
	"Customer": {"id": str, "key": str, "accountId": str, "externalId": orNull{str}, "name": orNull{obj{"firstName": str, "lastName": str}},
		"email": orNull{str}, "phone": orNull{str}, "dateOfBirth": orNull{str}, "addresses": arr{anyVal}, "serviceProviderCustomers": arr{anyVal},
		"status": enum{"ACTIVE"}},
	// GET /institutions/{id} (meld-api.md 4.6).
	"Institution": {"id": str, "key": str, "name": str, "subName": orNull{str}, "aliases": arr{str}, "domain": orNull{str}, "type": str,
		"isTest": boolean, "rank": num, "images": obj{"icon": orNull{str}, "tile": orNull{str}, "wide": orNull{str}}, "providers": object},
	// Webhook envelope (meld-api.md 6).
	"Envelope": {"eventType": enum(eventTypeNames()), "eventId": str, "timestamp": str, "accountId": str, "profileId": orNull{str},
		"version": str, "payload": object},
}

// goldenAdditions are banklink's members beyond Meld's, by shape: each is
// listed in docs/api.md ("Additions to Meld's wire format").
var goldenAdditions = map[string][]string{
	"ConnectStart":          {"connectTokenExpiresAt", "eligibleInstitutionCount", "warnings"},
	"Connection":            {"completedAt", "requestedServiceProvider", "routingDecision"},
	"InvestmentTransaction": {"price"},
	"Customer":              {"createdAt"},
	"Institution":           {"regions", "products"},
}

func eventTypeNames() []string {
	var out []string
	for _, t := range webhook.EventTypes {
		out = append(out, string(t))
	}
	return out
}

// payloadShapes are the webhook payloads by event type (meld-api.md 6:
// the fields, which events carry which, and nulls as Meld sends them).
func payloadShapes() map[webhook.EventType]obj {
	base := func(extra obj) obj {
		o := obj{"requestId": str, "customerId": str, "externalCustomerId": orNull{str}, "connectionId": str,
			"institutionId": orNull{str}, "institutionName": orNull{str},
			"serviceProviderDetails": obj{"serviceProvider": providerNames, "serviceProviderConnectionId": str}}
		for k, v := range extra {
			o[k] = v
		}
		return o
	}
	counts := arr{obj{"id": str, "name": str, "truncatedAccountNumber": str, "numTransactionsAdded": num, "numTransactionsUpdated": num,
		"transactionIdsRemoved": arr{str}, "numInvestmentTransactionsAdded": num, "numInvestmentTransactionsUpdated": num,
		"investmentTransactionIdsRemoved": arr{str}, "oldestTransactionUpdatedSearchKey": orNull{str}}}
	reasons := enum{"LOGIN_REQUIRED", "REPAIRING_INSTITUTION", "TOKEN_EXPIRED", "OTHER", "INSTITUTION_ACTION_REQUIRED", "INTERACTIVE_REFRESH",
		"NEW_ACCOUNTS_AVAILABLE", "ACCESS_EXPIRING_SOON"}
	return map[webhook.EventType]obj{
		webhook.ConnectionCompleted: base(nil),
		webhook.ConnectionStatusChange: base(obj{"oldStatus": orNull{connStatuses}, "oldStatusReason": orNull{str}, "newStatus": connStatuses,
			"newStatusReason": orNull{str}, "activeDuplicateConnectionId": orNull{str}}),
		webhook.AccountsUpdating: base(nil),
		webhook.AccountsUpdated: base(obj{"financialAccounts": arr{obj{"id": str, "name": str, "truncatedAccountNumber": str,
			"newAccount": boolean, "products": arr{products}}}}),
		webhook.TransactionsAggregated:           base(obj{"financialAccounts": counts}),
		webhook.HistoricalTransactionsAggregated: base(obj{"financialAccounts": counts}),
		webhook.NewAccountsAvailable:             base(nil),
		webhook.AccountsRemoved:                  base(obj{"financialAccounts": arr{obj{"id": str, "name": str, "truncatedAccountNumber": str}}}),
		webhook.CustomerActionRequired:           base(obj{"reason": reasons}),
		webhook.ConnectionDeleted:                base(nil),
		webhook.Test:                             {"requestId": str},
		// banklink's own (docs/api.md, additions).
		webhook.ProcessorTokenCreated: base(obj{"financialAccountId": str, "processor": str, "processorTokenId": str}),
		webhook.ProcessorTokenRevoked: base(obj{"financialAccountId": str, "processor": str, "processorTokenId": str}),
	}
}

// checkShape reports where got (decoded JSON) departs from want; extra
// are the member names allowed beyond want at the top level.
func checkShape(t reporter, path string, want, got any, extra []string) {
	t.Helper()
	switch w := want.(type) {
	case orNull:
		if got != nil {
			checkShape(t, path, w.of, got, nil)
		}
	case obj:
		m, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s: %s, want an object", path, describeValue(got))
			return
		}
		for k, v := range w {
			g, present := m[k]
			if !present {
				t.Errorf("%s.%s: missing", path, k)
				continue
			}
			checkShape(t, path+"."+k, v, g, nil)
		}
		for k := range m {
			if _, ok := w[k]; !ok && !slices.Contains(extra, k) {
				t.Errorf("%s.%s: not a Meld field and not a listed addition", path, k)
			}
		}
	case arr:
		l, ok := got.([]any)
		if !ok {
			t.Errorf("%s: %s, want an array", path, describeValue(got))
			return
		}
		for i, v := range l {
			checkShape(t, fmt.Sprintf("%s[%d]", path, i), w.of, v, nil)
		}
	case enum:
		s, ok := got.(string)
		if !ok || !slices.Contains(w, s) {
			t.Errorf("%s: %s, want one of %v", path, describeValue(got), []string(w))
		}
	case string:
		ok := false
		switch w {
		case str:
			_, ok = got.(string)
		case num:
			_, ok = got.(float64)
		case boolean:
			_, ok = got.(bool)
		case object:
			_, ok = got.(map[string]any)
		case anyVal:
			ok = true
		}
		if !ok {
			t.Errorf("%s: %s, want a %s", path, describeValue(got), w)
		}
	default:
		t.Errorf("%s: unknown shape %T", path, want)
	}
}

// reporter is what checkShape reports to: a *testing.T, or a recorder.
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

// failures records what checkShape reports.
type failures []string

func (f *failures) Helper() {}
func (f *failures) Errorf(format string, args ...any) {
	*f = append(*f, fmt.Sprintf(format, args...))
}

func describeValue(v any) string {
	if v == nil {
		return "null"
	}
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		b = append(b[:80], "…"...)
	}
	return fmt.Sprintf("%T %s", v, b)
}

// rawSink receives webhook deliveries as they are sent.
type rawSink struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
}

func newRawSink(st *stack, t *testing.T) *rawSink {
	t.Helper()
	s := &rawSink{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.bodies = append(s.bodies, b)
		s.mu.Unlock()
		io.WriteString(w, "ok")
	}))
	t.Cleanup(s.Close)
	var p map[string]any
	if status, _ := st.Send("POST", "/webhooks/profiles", fmt.Sprintf(`{"url":%q}`, s.URL+"/hooks"), &p); status != 201 {
		t.Fatalf("create profile: %d %v", status, p)
	}
	return s
}

// droppingAggregator is the sandbox, except that once drop is set it no
// longer returns the account named drop (closed at the bank).
type droppingAggregator struct {
	*sandbox.Provider
	drop atomic.Value
}

func (d *droppingAggregator) Aggregate(ctx context.Context, req banklink.AggregationRequest) ([]banklink.AggregatedAccount, error) {
	out, err := d.Provider.Aggregate(ctx, req)
	if name, _ := d.drop.Load().(string); name != "" {
		out = slices.DeleteFunc(out, func(a banklink.AggregatedAccount) bool { return a.Name == name })
	}
	return out, err
}

// TestGoldenWireShapes links sandbox connections through the real stack
// and holds every resource an app reads (connect/start, connection, an
// account of every type, transaction, holding, investment transaction,
// customer, institution) and every webhook event type, as delivered, to
// the shapes Meld documents and its sandbox recorded.
func TestGoldenWireShapes(t *testing.T) {
	agg := &droppingAggregator{Provider: &sandbox.Provider{}}
	st := newStackWithProviders(t, []string{sandbox.ProviderType}, nil, map[string]banklink.Aggregator{sandbox.ProviderType: agg})
	agg.AuthorizeURL = st.Sbx.AuthorizeURL
	sink := newRawSink(st, t)
	check := func(name string, got any) {
		t.Helper()
		checkShape(t, name, goldenShapes[name], got, goldenAdditions[name])
	}
	var test map[string]any
	if status, _ := st.Send("POST", "/webhooks/test", "", &test); status != 201 {
		t.Fatalf("webhook test: %d %v", status, test)
	}

	// connect/start over HTTP, then the widget's steps.
	link := func(user string) string {
		t.Helper()
		var started map[string]any
		if status, _ := st.Send("POST", "/bank-linking/connect/start",
			`{"externalCustomerId":"golden","products":["BALANCES","IDENTIFIERS","OWNERS","TRANSACTIONS"],"optionalProducts":["INVESTMENT_HOLDINGS","INVESTMENT_TRANSACTIONS"]}`, &started); status != 201 {
			t.Fatalf("connect/start: %d %v", status, started)
		}
		check("ConnectStart", started)
		tok := started["connectToken"].(string)
		st.Call(tok, "POST", "select", fmt.Sprintf(`{"institutionId":%q}`, st.Institution("Sandbox Bank").ID))
		_, s := st.Call(tok, "POST", "login", fmt.Sprintf(`{"credentials":{"username":%q,"password":"pass_good"}}`, user))
		st.CompleteAll(tok, s)
		st.Runner.Wait()
		return started["id"].(string)
	}
	id := link("user_good")

	var conn map[string]any
	st.Get("/bank-linking/connections/"+id, &conn)
	check("Connection", conn)

	var accounts struct {
		FinancialAccounts []map[string]any `json:"financialAccounts"`
	}
	st.Get("/bank-linking/accounts?limit=100&connectionId="+id, &accounts)
	types := map[string]bool{}
	for _, a := range accounts.FinancialAccounts {
		check("FinancialAccount", a)
		types[a["type"].(string)] = true
	}
	for _, want := range []string{"DEPOSITORY", "CREDIT", "LOAN", "INVESTMENT"} {
		if !types[want] {
			t.Errorf("no %s account to check (types %v)", want, types)
		}
	}
	var one map[string]any
	st.Get("/bank-linking/accounts/"+accounts.FinancialAccounts[0]["id"].(string), &one)
	check("FinancialAccount", one)

	for _, r := range []struct{ name, path, list string }{
		{"Transaction", "/bank-linking/transactions?limit=50&connectionId=" + id, "financialAccountTransactions"},
		{"Holding", "/bank-linking/investments/holdings?limit=50&connectionId=" + id, "investmentHoldings"},
		{"InvestmentTransaction", "/bank-linking/investments/transactions?limit=50&connectionId=" + id, "investmentTransactions"},
		{"Customer", "/accounts/customers?externalId=golden", "customers"},
	} {
		var page map[string]any
		st.Get(r.path, &page)
		items, _ := page[r.list].([]any)
		if len(items) == 0 {
			t.Errorf("%s: no %s to check", r.path, r.list)
		}
		for _, it := range items {
			check(r.name, it)
		}
	}
	var inst map[string]any
	st.Get("/institutions/"+st.Institution("Sandbox Bank").ID, &inst)
	check("Institution", inst)

	// The other event types: an account closed at the bank, an account
	// opened since, a login that stopped working, a deletion.
	agg.drop.Store(accounts.FinancialAccounts[0]["name"].(string))
	if err := st.Runner.Aggregate(t.Context(), st.Scope, id); err != nil {
		t.Fatal(err)
	}
	agg.drop.Store("")
	link("user_new_accounts")
	link("user_reconnect")
	// A processor token for the first account, then revoked (banklink's
	// two event types of its own, listed in docs/api.md).
	acctPath := "/bank-linking/accounts/" + accounts.FinancialAccounts[0]["id"].(string) + "/processors/"
	var tok map[string]any
	if status, _ := st.Send("POST", acctPath+"create-token", `{"processor":"DWOLLA"}`, &tok); status != 200 && status != 201 {
		t.Fatalf("create-token: %d %v", status, tok)
	}
	var revoked map[string]any
	if status, _ := st.Send("POST", acctPath+"revoke-token", fmt.Sprintf(`{"token":%q}`, tok["token"]), &revoked); status != 200 {
		t.Fatalf("revoke-token: %d %v", status, revoked)
	}
	var deleted map[string]any
	if status, _ := st.Send("DELETE", "/bank-linking/connections/"+id, "", &deleted); status != 200 {
		t.Fatalf("delete: %d %v", status, deleted)
	}

	if _, err := webhooks.New(st.Store, webhooks.Config{Private: webhookurl.PrivateSandbox}, nil).DeliverDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	sink.mu.Lock()
	bodies := slices.Clone(sink.bodies)
	sink.mu.Unlock()
	shapes := payloadShapes()
	seen := map[webhook.EventType]int{}
	for _, b := range bodies {
		var env map[string]any
		if err := json.Unmarshal(b, &env); err != nil {
			t.Fatalf("delivery %s: %v", b, err)
		}
		check("Envelope", env)
		et := webhook.EventType(fmt.Sprint(env["eventType"]))
		seen[et]++
		if ts, _ := env["timestamp"].(string); !microsecondsTS.MatchString(ts) {
			t.Errorf("%s: timestamp %q, want microseconds", et, ts)
		}
		checkShape(t, string(et)+".payload", shapes[et], env["payload"], nil)
	}
	for _, et := range webhook.EventTypes {
		if seen[et] == 0 {
			t.Errorf("no %s delivered to check (seen %v)", et, seen)
		}
	}
}

// TestGoldenShapesFailOnDrift: the shape check is not vacuous; a renamed,
// missing, re-typed or unlisted member fails it.
func TestGoldenShapesFailOnDrift(t *testing.T) {
	good := map[string]any{"id": "a", "connectToken": "t", "customerId": "c", "externalCustomerId": nil, "widgetUrl": "u"}
	for _, tc := range []struct {
		name   string
		change func(m map[string]any)
	}{
		{"renamed", func(m map[string]any) { m["widgetURL"] = m["widgetUrl"]; delete(m, "widgetUrl") }},
		{"missing", func(m map[string]any) { delete(m, "customerId") }},
		{"re-typed", func(m map[string]any) { m["id"] = 7.0 }},
		{"null where not nullable", func(m map[string]any) { m["connectToken"] = nil }},
		{"unlisted addition", func(m map[string]any) { m["extra"] = true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := map[string]any{}
			for k, v := range good {
				m[k] = v
			}
			var ok failures
			checkShape(&ok, "ConnectStart", goldenShapes["ConnectStart"], m, goldenAdditions["ConnectStart"])
			if len(ok) != 0 {
				t.Fatalf("the unchanged response fails: %v", ok)
			}
			tc.change(m)
			var got failures
			checkShape(&got, "ConnectStart", goldenShapes["ConnectStart"], m, goldenAdditions["ConnectStart"])
			if len(got) == 0 {
				t.Errorf("%v passes the golden shape", m)
			}
		})
	}
}

// TestAdditionsDocumented: every member the golden shapes allow beyond
// Meld's is listed in docs/api.md's additions section.
func TestAdditionsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "## Additions to Meld's wire format")
	if !ok {
		t.Fatal(`docs/api.md has no "Additions to Meld's wire format" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var names []string
	for shape := range goldenAdditions {
		names = append(names, shape)
	}
	sort.Strings(names)
	for _, shape := range names {
		for _, f := range goldenAdditions[shape] {
			if !strings.Contains(section, "`"+f+"`") {
				t.Errorf("%s.%s is not listed in docs/api.md's additions", shape, f)
			}
		}
	}
}
