package client

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Page selects where a list starts and how many records each request
// fetches; the iterators fetch further pages as they are consumed.
type Page struct {
	// Limit is the page size; 0 means the API's default.
	Limit int
	// After starts after the record with this key (walking forward);
	// Before walks backward from the record with this key. Not both.
	After, Before string
}

// ConnectionFilter selects connections.
type ConnectionFilter struct {
	CustomerID, ExternalCustomerID, InstitutionID string
	Statuses, ServiceProviders                    []string
	// StartDate and EndDate bound the creation date (yyyy-mm-dd, UTC).
	StartDate, EndDate string
	Page
}

// AccountFilter selects financial accounts.
type AccountFilter struct {
	CustomerID, ExternalCustomerID, InstitutionID, ConnectionID string
	Page
}

// TransactionFilter selects transactions.
type TransactionFilter struct {
	CustomerID, ExternalCustomerID, FinancialAccountID, ConnectionID string
	// Status is PENDING, POSTED or EXPIRED.
	Status             string
	StartDate, EndDate string
	Category           string
	Page
}

// HoldingFilter selects investment holdings.
type HoldingFilter struct {
	CustomerID, ExternalCustomerID, FinancialAccountID, ConnectionID string
	Page
}

// InvestmentTransactionFilter selects investment transactions.
type InvestmentTransactionFilter struct {
	CustomerID, ExternalCustomerID, FinancialAccountID, ConnectionID string
	Statuses                                                         []string
	StartDate, EndDate                                               string
	Page
}

// CustomerFilter selects customers.
type CustomerFilter struct {
	CustomerIDs                            []string
	ExternalID, Email, Phone, Status, Type string
	Page
}

// InstitutionFilter searches the institution directory.
type InstitutionFilter struct {
	Name                                       string
	Regions, Products, ServiceProviders, Types []string
	// AllowRedirect false hides institutions that need a redirect login.
	AllowRedirect *bool
	Page
}

// EventFilter selects events of the event log.
type EventFilter struct {
	ConnectionID string
	EventTypes   []string
	Page
}

// ActivityFilter selects entries of the activity log.
type ActivityFilter struct {
	ConnectionID string
	// Actions and EventTypes: e.g. INSTITUTION_CONNECTION_WIDGET_ERROR
	// and SERVICE_PROVIDER_FAILURE.
	Actions, EventTypes []string
	// Start and End bound the entries' time: an RFC 3339 time, or a
	// date (yyyy-mm-dd, UTC; End includes the day).
	Start, End string
	Page
}

// query builds a query string, leaving out empty values (the API refuses
// empty parameters).
type query url.Values

func (q query) set(k, v string) {
	if v != "" {
		url.Values(q).Set(k, v)
	}
}

func (q query) list(k string, v []string) {
	if len(v) > 0 {
		url.Values(q).Set(k, strings.Join(v, ","))
	}
}

func (q query) page(p Page) {
	if p.Limit > 0 {
		q.set("limit", strconv.Itoa(p.Limit))
	}
	q.set("after", p.After)
	q.set("before", p.Before)
}

func path(format string, ids ...string) string {
	a := make([]any, len(ids))
	for i, id := range ids {
		a[i] = url.PathEscape(id)
	}
	return fmt.Sprintf(format, a...)
}

// list walks a list endpoint: items are under field, each page says how
// many records remain, and the next page starts after the last key (or,
// walking backward, before the first).
func list[T any](c *Client, ctx context.Context, p string, q query, field string, key func(*T) string, opts []RequestOption) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		backward := url.Values(q).Get("before") != ""
		for {
			var env map[string]json.RawMessage
			r := &request{method: http.MethodGet, path: p, query: url.Values(q), out: &env}
			if err := c.call(ctx, r, opts); err != nil {
				var zero T
				yield(zero, err)
				return
			}
			var items []T
			var remaining int
			if err := json.Unmarshal(env[field], &items); err != nil {
				var zero T
				yield(zero, fmt.Errorf("banklink: decode %s: %w", field, err))
				return
			}
			if raw, ok := env["remaining"]; ok {
				json.Unmarshal(raw, &remaining)
			}
			for i := range items {
				if !yield(items[i], nil) {
					return
				}
			}
			if remaining <= 0 || len(items) == 0 || key == nil {
				return
			}
			q2 := query{}
			for k, v := range q {
				q2[k] = v
			}
			if backward {
				url.Values(q2).Set("before", key(&items[0]))
			} else {
				url.Values(q2).Del("before")
				url.Values(q2).Set("after", key(&items[len(items)-1]))
			}
			q = q2
		}
	}
}

func (c *Client) get(ctx context.Context, p string, out any, opts []RequestOption) error {
	return c.call(ctx, &request{method: http.MethodGet, path: p, out: out}, opts)
}

// send is a mutating request; idempotent says the operation takes an
// Idempotency-Key.
func (c *Client) send(ctx context.Context, method, p string, body, out any, idempotent bool, opts []RequestOption) error {
	return c.call(ctx, &request{method: method, path: p, body: body, out: out, idempotent: idempotent}, opts)
}

// --- Connect ---------------------------------------------------------

// ConnectStart creates a customer (or reuses the one with this external
// id), an IN_PROGRESS connection and a connect token for the widget.
func (c *Client) ConnectStart(ctx context.Context, req ConnectStartRequest, opts ...RequestOption) (*ConnectStartResponse, error) {
	var out ConnectStartResponse
	return &out, c.send(ctx, http.MethodPost, "/bank-linking/connect/start", req, &out, true, opts)
}

// Repair creates a connect token that repairs a connection.
func (c *Client) Repair(ctx context.Context, connectionID string, opts ...RequestOption) (*RepairResponse, error) {
	var out RepairResponse
	body := map[string]string{"connectionId": connectionID}
	return &out, c.send(ctx, http.MethodPost, "/bank-linking/connect/repair", body, &out, true, opts)
}

// --- Connections -----------------------------------------------------

// Connections lists connections in creation order.
func (c *Client) Connections(ctx context.Context, f ConnectionFilter, opts ...RequestOption) iter.Seq2[Connection, error] {
	q := query{}
	q.set("customerId", f.CustomerID)
	q.set("externalCustomerId", f.ExternalCustomerID)
	q.set("institutionId", f.InstitutionID)
	q.list("statuses", f.Statuses)
	q.list("serviceProviders", f.ServiceProviders)
	q.set("startDate", f.StartDate)
	q.set("endDate", f.EndDate)
	q.page(f.Page)
	return list(c, ctx, "/bank-linking/connections", q, "connections", func(x *Connection) string { return x.Key }, opts)
}

// Connection gets a connection.
func (c *Client) Connection(ctx context.Context, id string, opts ...RequestOption) (*Connection, error) {
	var out Connection
	return &out, c.get(ctx, path("/bank-linking/connections/%s", id), &out, opts)
}

// DeleteConnection deletes a connection and its data and returns it,
// DELETED.
func (c *Client) DeleteConnection(ctx context.Context, id string, opts ...RequestOption) (*Connection, error) {
	var out Connection
	return &out, c.send(ctx, http.MethodDelete, path("/bank-linking/connections/%s", id), nil, &out, true, opts)
}

// RefreshConnection aggregates a connection again (all its products when
// none are given). Webhooks announce the result.
func (c *Client) RefreshConnection(ctx context.Context, id string, products []Product, opts ...RequestOption) (*Accepted, error) {
	var out Accepted
	body := struct {
		Products []Product `json:"products,omitempty"`
	}{products}
	return &out, c.send(ctx, http.MethodPost, path("/bank-linking/connections/%s/refresh", id), body, &out, true, opts)
}

// UpdateConnection adds products to a connection.
func (c *Client) UpdateConnection(ctx context.Context, id string, products []Product, opts ...RequestOption) (*Accepted, error) {
	var out Accepted
	body := struct {
		Products []Product `json:"products"`
	}{products}
	return &out, c.send(ctx, http.MethodPost, path("/bank-linking/connections/%s/update", id), body, &out, true, opts)
}

// ImportPlaidConnections imports Items an app linked with Plaid directly
// (at most 100 per call). Each entry's outcome is in the answer's
// Connections, in order.
func (c *Client) ImportPlaidConnections(ctx context.Context, items []PlaidImport, opts ...RequestOption) (*ConnectionImport, error) {
	type entry struct {
		ServiceProvider string `json:"serviceProvider"`
		PlaidImport
	}
	body := struct {
		Connections []entry `json:"connections"`
	}{Connections: []entry{}}
	for _, it := range items {
		body.Connections = append(body.Connections, entry{"PLAID", it})
	}
	var out ConnectionImport
	return &out, c.send(ctx, http.MethodPost, "/bank-linking/connections/import", body, &out, true, opts)
}

// ConnectionImport reads an import request's results again.
func (c *Client) ConnectionImport(ctx context.Context, requestID string, opts ...RequestOption) (*ConnectionImport, error) {
	var out ConnectionImport
	return &out, c.get(ctx, path("/bank-linking/imports/%s", requestID), &out, opts)
}

// --- Data ------------------------------------------------------------

// Accounts lists financial accounts.
func (c *Client) Accounts(ctx context.Context, f AccountFilter, opts ...RequestOption) iter.Seq2[FinancialAccount, error] {
	q := query{}
	q.set("customerId", f.CustomerID)
	q.set("externalCustomerId", f.ExternalCustomerID)
	q.set("institutionId", f.InstitutionID)
	q.set("connectionId", f.ConnectionID)
	q.page(f.Page)
	return list(c, ctx, "/bank-linking/accounts", q, "financialAccounts", func(x *FinancialAccount) string { return x.Key }, opts)
}

// Account gets a financial account.
func (c *Client) Account(ctx context.Context, id string, opts ...RequestOption) (*FinancialAccount, error) {
	var out FinancialAccount
	return &out, c.get(ctx, path("/bank-linking/accounts/%s", id), &out, opts)
}

// CreateProcessorToken hands a financial account to a payment processor
// through its provider (Plaid, MX, the sandbox); serviceProvider may be
// empty. The token does not expire: keep it secret and revoke it with
// RevokeProcessorToken.
func (c *Client) CreateProcessorToken(ctx context.Context, financialAccountID string, processor Processor, serviceProvider string, opts ...RequestOption) (*ProcessorToken, error) {
	var out ProcessorToken
	body := struct {
		Processor       Processor `json:"processor"`
		ServiceProvider string    `json:"serviceProvider,omitempty"`
	}{processor, serviceProvider}
	// No Idempotency-Key (the server refuses one: its stored answer would
	// hold the token in clear), so a failed call is not retried.
	return &out, c.send(ctx, http.MethodPost, path("/bank-linking/accounts/%s/processors/create-token", financialAccountID), body, &out, false, opts)
}

// RevokeProcessorToken revokes a processor token of the account in
// banklink (the providers cannot revoke one token: tell the processor
// to discard it).
func (c *Client) RevokeProcessorToken(ctx context.Context, financialAccountID, token string, opts ...RequestOption) (*ProcessorToken, error) {
	var out ProcessorToken
	body := struct {
		Token string `json:"token"`
	}{token}
	return &out, c.send(ctx, http.MethodPost, path("/bank-linking/accounts/%s/processors/revoke-token", financialAccountID), body, &out, true, opts)
}

// Transactions lists transactions, newest first.
func (c *Client) Transactions(ctx context.Context, f TransactionFilter, opts ...RequestOption) iter.Seq2[Transaction, error] {
	q := query{}
	q.set("customerId", f.CustomerID)
	q.set("externalCustomerId", f.ExternalCustomerID)
	q.set("financialAccountId", f.FinancialAccountID)
	q.set("connectionId", f.ConnectionID)
	q.set("status", f.Status)
	q.set("startDate", f.StartDate)
	q.set("endDate", f.EndDate)
	q.set("category", f.Category)
	q.page(f.Page)
	return list(c, ctx, "/bank-linking/transactions", q, "financialAccountTransactions", func(x *Transaction) string { return x.Key }, opts)
}

// Transaction gets a transaction.
func (c *Client) Transaction(ctx context.Context, id string, opts ...RequestOption) (*Transaction, error) {
	var out Transaction
	return &out, c.get(ctx, path("/bank-linking/transactions/%s", id), &out, opts)
}

// Holdings lists investment holdings.
func (c *Client) Holdings(ctx context.Context, f HoldingFilter, opts ...RequestOption) iter.Seq2[Holding, error] {
	q := query{}
	q.set("customerId", f.CustomerID)
	q.set("externalCustomerId", f.ExternalCustomerID)
	q.set("financialAccountId", f.FinancialAccountID)
	q.set("connectionId", f.ConnectionID)
	q.page(f.Page)
	return list(c, ctx, "/bank-linking/investments/holdings", q, "investmentHoldings", func(x *Holding) string { return x.Key }, opts)
}

// Holding gets an investment holding.
func (c *Client) Holding(ctx context.Context, id string, opts ...RequestOption) (*Holding, error) {
	var out Holding
	return &out, c.get(ctx, path("/bank-linking/investments/holdings/%s", id), &out, opts)
}

// InvestmentTransactions lists investment transactions, newest first.
func (c *Client) InvestmentTransactions(ctx context.Context, f InvestmentTransactionFilter, opts ...RequestOption) iter.Seq2[InvestmentTransaction, error] {
	q := query{}
	q.set("customerId", f.CustomerID)
	q.set("externalCustomerId", f.ExternalCustomerID)
	q.set("financialAccountId", f.FinancialAccountID)
	q.set("connectionId", f.ConnectionID)
	q.list("statuses", f.Statuses)
	q.set("startDate", f.StartDate)
	q.set("endDate", f.EndDate)
	q.page(f.Page)
	return list(c, ctx, "/bank-linking/investments/transactions", q, "investmentTransactions", func(x *InvestmentTransaction) string { return x.Key }, opts)
}

// InvestmentTransaction gets an investment transaction.
func (c *Client) InvestmentTransaction(ctx context.Context, id string, opts ...RequestOption) (*InvestmentTransaction, error) {
	var out InvestmentTransaction
	return &out, c.get(ctx, path("/bank-linking/investments/transactions/%s", id), &out, opts)
}

// --- Customers -------------------------------------------------------

// CreateCustomer creates a customer, or returns (and updates) the live one
// with this external id.
func (c *Client) CreateCustomer(ctx context.Context, in CustomerInput, opts ...RequestOption) (*Customer, error) {
	var out Customer
	return &out, c.send(ctx, http.MethodPost, "/accounts/customers", in, &out, true, opts)
}

// Customers lists customers ordered by external id.
func (c *Client) Customers(ctx context.Context, f CustomerFilter, opts ...RequestOption) iter.Seq2[Customer, error] {
	q := query{}
	q.list("customerIds", f.CustomerIDs)
	q.set("externalId", f.ExternalID)
	q.set("email", f.Email)
	q.set("phone", f.Phone)
	q.set("status", f.Status)
	q.set("type", f.Type)
	q.page(f.Page)
	return list(c, ctx, "/accounts/customers", q, "customers", func(x *Customer) string { return x.Key }, opts)
}

// DeleteCustomer deletes a customer with all its connections and data.
func (c *Client) DeleteCustomer(ctx context.Context, id string, opts ...RequestOption) (*CustomerDeleted, error) {
	var out CustomerDeleted
	return &out, c.send(ctx, http.MethodDelete, path("/accounts/customers/%s", id), nil, &out, true, opts)
}

// --- Institutions ----------------------------------------------------

// Institutions searches the institution directory, best match first.
func (c *Client) Institutions(ctx context.Context, f InstitutionFilter, opts ...RequestOption) iter.Seq2[Institution, error] {
	q := query{}
	q.set("name", f.Name)
	q.list("regions", f.Regions)
	q.list("products", f.Products)
	q.list("serviceProviders", f.ServiceProviders)
	q.list("type", f.Types)
	if f.AllowRedirect != nil {
		q.set("allowRedirect", strconv.FormatBool(*f.AllowRedirect))
	}
	q.page(f.Page)
	return list(c, ctx, "/institutions", q, "institutions", func(x *Institution) string { return x.Key }, opts)
}

// Institution gets an institution.
func (c *Client) Institution(ctx context.Context, id string, opts ...RequestOption) (*Institution, error) {
	var out Institution
	return &out, c.get(ctx, path("/institutions/%s", id), &out, opts)
}

// --- Routing ---------------------------------------------------------

// ServiceProviders lists the account's provider configurations in
// waterfall order.
func (c *Client) ServiceProviders(ctx context.Context, opts ...RequestOption) iter.Seq2[ServiceProviderConfig, error] {
	return list[ServiceProviderConfig](c, ctx, "/service-providers", query{}, "serviceProviders", nil, opts)
}

// PutServiceProvider configures one provider (SANDBOX, SANDBOX_B, PLAID,
// MX).
func (c *Client) PutServiceProvider(ctx context.Context, provider string, in ServiceProviderInput, opts ...RequestOption) (*ServiceProviderConfig, error) {
	var out ServiceProviderConfig
	return &out, c.send(ctx, http.MethodPut, path("/service-providers/%s", provider), in, &out, false, opts)
}

// DeleteServiceProvider removes a provider configuration and its
// credentials.
func (c *Client) DeleteServiceProvider(ctx context.Context, provider string, opts ...RequestOption) (*Accepted, error) {
	var out Accepted
	return &out, c.send(ctx, http.MethodDelete, path("/service-providers/%s", provider), nil, &out, true, opts)
}

// RoutingRules returns the per-institution routing rules.
func (c *Client) RoutingRules(ctx context.Context, opts ...RequestOption) (*RoutingRules, error) {
	var out RoutingRules
	return &out, c.get(ctx, "/routing/rules", &out, opts)
}

// PutRoutingRules replaces the routing rules.
func (c *Client) PutRoutingRules(ctx context.Context, rules RoutingRules, opts ...RequestOption) (*RoutingRules, error) {
	if rules.Rules == nil {
		rules.Rules = []RoutingRule{}
	}
	var out RoutingRules
	return &out, c.send(ctx, http.MethodPut, "/routing/rules", rules, &out, false, opts)
}

// --- Webhooks --------------------------------------------------------

// CreateWebhookProfile creates a profile; the answer carries its secret,
// shown this once.
func (c *Client) CreateWebhookProfile(ctx context.Context, in WebhookProfileInput, opts ...RequestOption) (*WebhookProfile, error) {
	var out WebhookProfile
	return &out, c.send(ctx, http.MethodPost, "/webhooks/profiles", in, &out, true, opts)
}

// WebhookProfiles lists the profiles, oldest first, without secrets.
func (c *Client) WebhookProfiles(ctx context.Context, opts ...RequestOption) iter.Seq2[WebhookProfile, error] {
	return list[WebhookProfile](c, ctx, "/webhooks/profiles", query{}, "profiles", nil, opts)
}

// WebhookProfile gets a profile, without its secret.
func (c *Client) WebhookProfile(ctx context.Context, id string, opts ...RequestOption) (*WebhookProfile, error) {
	var out WebhookProfile
	return &out, c.get(ctx, path("/webhooks/profiles/%s", id), &out, opts)
}

// UpdateWebhookProfile changes the fields of in that are set. It is not
// retried: the API takes no Idempotency-Key for it.
func (c *Client) UpdateWebhookProfile(ctx context.Context, id string, in WebhookProfileInput, opts ...RequestOption) (*WebhookProfile, error) {
	var out WebhookProfile
	return &out, c.send(ctx, http.MethodPatch, path("/webhooks/profiles/%s", id), in, &out, false, opts)
}

// DeleteWebhookProfile deletes a profile and drops its pending deliveries.
func (c *Client) DeleteWebhookProfile(ctx context.Context, id string, opts ...RequestOption) (*Accepted, error) {
	var out Accepted
	return &out, c.send(ctx, http.MethodDelete, path("/webhooks/profiles/%s", id), nil, &out, true, opts)
}

// RotateWebhookSecret gives a profile a new secret; the old one keeps
// signing for overlapSeconds (nil: the server's default of a day).
func (c *Client) RotateWebhookSecret(ctx context.Context, id string, overlapSeconds *int, opts ...RequestOption) (*WebhookProfile, error) {
	var out WebhookProfile
	body := struct {
		OverlapSeconds *int `json:"overlapSeconds,omitempty"`
	}{overlapSeconds}
	return &out, c.send(ctx, http.MethodPost, path("/webhooks/profiles/%s/rotate-secret", id), body, &out, true, opts)
}

// TestWebhook queues a WEBHOOK_TEST event to profileID, or to every
// enabled profile when it is empty.
func (c *Client) TestWebhook(ctx context.Context, profileID string, opts ...RequestOption) (*Event, error) {
	var out Event
	body := struct {
		ProfileID string `json:"profileId,omitempty"`
	}{profileID}
	return &out, c.send(ctx, http.MethodPost, "/webhooks/test", body, &out, true, opts)
}

// Events lists the event log, oldest first: page with After set to the
// last key processed to catch up on anything missed.
func (c *Client) Events(ctx context.Context, f EventFilter, opts ...RequestOption) iter.Seq2[Event, error] {
	q := query{}
	q.set("connectionId", f.ConnectionID)
	q.list("eventTypes", f.EventTypes)
	q.page(f.Page)
	return list(c, ctx, "/webhooks/events", q, "events", func(x *Event) string { return x.Key }, opts)
}

// Activity lists the activity log of widget sessions, oldest first.
func (c *Client) Activity(ctx context.Context, f ActivityFilter, opts ...RequestOption) iter.Seq2[Activity, error] {
	q := query{}
	q.set("connectionId", f.ConnectionID)
	q.list("actions", f.Actions)
	q.list("eventTypes", f.EventTypes)
	q.set("start", f.Start)
	q.set("end", f.End)
	q.page(f.Page)
	return list(c, ctx, "/activity-log", q, "activities", func(x *Activity) string { return x.Key }, opts)
}

// Event gets an event with its deliveries and their attempts.
func (c *Client) Event(ctx context.Context, id string, opts ...RequestOption) (*EventWithDeliveries, error) {
	var out EventWithDeliveries
	return &out, c.get(ctx, path("/webhooks/events/%s", id), &out, opts)
}

// RedeliverEvent queues an event again, to profileID or to every enabled
// profile receiving its type when it is empty.
func (c *Client) RedeliverEvent(ctx context.Context, id, profileID string, opts ...RequestOption) (*Redelivery, error) {
	var out Redelivery
	body := struct {
		ProfileID string `json:"profileId,omitempty"`
	}{profileID}
	return &out, c.send(ctx, http.MethodPost, path("/webhooks/events/%s/redeliver", id), body, &out, true, opts)
}

// --- Operations ------------------------------------------------------

// Healthz reports whether the process is up.
func (c *Client) Healthz(ctx context.Context) (*Status, error) {
	var out Status
	return &out, c.get(ctx, "/healthz", &out, nil)
}

// Readyz reports whether the server can serve requests (a 503 *Error
// when its database is unreachable).
func (c *Client) Readyz(ctx context.Context) (*Status, error) {
	var out Status
	return &out, c.get(ctx, "/readyz", &out, nil)
}
