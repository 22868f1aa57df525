package client

import (
	"context"
	"iter"
	"net/http"
)

// Page selects where a list starts and how many records each request
// fetches; the iterators fetch further pages as they are consumed.
type Page struct {
	// Limit is the page size; 0 means the API's default.
	Limit int `query:"limit"`
	// After starts after the record with this key (walking forward);
	// Before walks backward from the record with this key. Not both.
	After  string `query:"after"`
	Before string `query:"before"`
}

// The filters name their query parameters in `query` tags, which the
// pager encodes (see encodeQuery) and TestFiltersMatchOpenAPI checks
// against the parameters openapi.yaml lists for each operation.

// ConnectionFilter selects connections.
type ConnectionFilter struct {
	CustomerID         string   `query:"customerId"`
	ExternalCustomerID string   `query:"externalCustomerId"`
	InstitutionID      string   `query:"institutionId"`
	Statuses           []string `query:"statuses"`
	ServiceProviders   []string `query:"serviceProviders"`
	// StartDate and EndDate bound the creation date (yyyy-mm-dd, UTC).
	StartDate string `query:"startDate"`
	EndDate   string `query:"endDate"`
	Page
}

// AccountFilter selects financial accounts.
type AccountFilter struct {
	CustomerID         string `query:"customerId"`
	ExternalCustomerID string `query:"externalCustomerId"`
	InstitutionID      string `query:"institutionId"`
	ConnectionID       string `query:"connectionId"`
	Page
}

// TransactionFilter selects transactions.
type TransactionFilter struct {
	CustomerID         string `query:"customerId"`
	ExternalCustomerID string `query:"externalCustomerId"`
	FinancialAccountID string `query:"financialAccountId"`
	ConnectionID       string `query:"connectionId"`
	// Status is PENDING, POSTED or EXPIRED.
	Status    string `query:"status"`
	StartDate string `query:"startDate"`
	EndDate   string `query:"endDate"`
	Category  string `query:"category"`
	Page
}

// HoldingFilter selects investment holdings.
type HoldingFilter struct {
	CustomerID         string `query:"customerId"`
	ExternalCustomerID string `query:"externalCustomerId"`
	FinancialAccountID string `query:"financialAccountId"`
	ConnectionID       string `query:"connectionId"`
	Page
}

// InvestmentTransactionFilter selects investment transactions.
type InvestmentTransactionFilter struct {
	CustomerID         string   `query:"customerId"`
	ExternalCustomerID string   `query:"externalCustomerId"`
	FinancialAccountID string   `query:"financialAccountId"`
	ConnectionID       string   `query:"connectionId"`
	Statuses           []string `query:"statuses"`
	StartDate          string   `query:"startDate"`
	EndDate            string   `query:"endDate"`
	Page
}

// CustomerFilter selects customers.
type CustomerFilter struct {
	CustomerIDs []string `query:"customerIds"`
	ExternalID  string   `query:"externalId"`
	Email       string   `query:"email"`
	Phone       string   `query:"phone"`
	Status      string   `query:"status"`
	Type        string   `query:"type"`
	Page
}

// InstitutionFilter searches the institution directory.
type InstitutionFilter struct {
	Name             string   `query:"name"`
	Regions          []string `query:"regions"`
	Products         []string `query:"products"`
	ServiceProviders []string `query:"serviceProviders"`
	Types            []string `query:"type"`
	// AllowRedirect false hides institutions that need a redirect login.
	AllowRedirect *bool `query:"allowRedirect"`
	Page
}

// EventFilter selects events of the event log.
type EventFilter struct {
	ConnectionID string   `query:"connectionId"`
	EventTypes   []string `query:"eventTypes"`
	Page
}

// ActivityFilter selects entries of the activity log.
type ActivityFilter struct {
	ConnectionID string `query:"connectionId"`
	// Actions and EventTypes: e.g. INSTITUTION_CONNECTION_WIDGET_ERROR
	// and SERVICE_PROVIDER_FAILURE.
	Actions    []string `query:"actions"`
	EventTypes []string `query:"eventTypes"`
	// Start and End bound the entries' time: an RFC 3339 time, or a
	// date (yyyy-mm-dd, UTC; End includes the day).
	Start string `query:"start"`
	End   string `query:"end"`
	Page
}

// --- Connect ---------------------------------------------------------

// ConnectStart creates a customer (or reuses the one with this external
// id), an IN_PROGRESS connection and a connect token for the widget.
func (c *Client) ConnectStart(ctx context.Context, req ConnectStartRequest, opts ...RequestOption) (*ConnectStartResponse, error) {
	return send[ConnectStartResponse](c, ctx, http.MethodPost, "/bank-linking/connect/start", req, withKey, opts)
}

// Repair creates a connect token that repairs a connection.
func (c *Client) Repair(ctx context.Context, connectionID string, opts ...RequestOption) (*RepairResponse, error) {
	return c.RepairWith(ctx, RepairRequest{ConnectionID: connectionID}, opts...)
}

// RepairWith is Repair with the request's other fields (the widget's
// language).
func (c *Client) RepairWith(ctx context.Context, req RepairRequest, opts ...RequestOption) (*RepairResponse, error) {
	return send[RepairResponse](c, ctx, http.MethodPost, "/bank-linking/connect/repair", req, withKey, opts)
}

// --- Connections -----------------------------------------------------

// Connections lists connections in creation order.
func (c *Client) Connections(ctx context.Context, f ConnectionFilter, opts ...RequestOption) iter.Seq2[Connection, error] {
	return list[Connection](c, ctx, "/bank-linking/connections", "connections", f, opts)
}

// Connection gets a connection.
func (c *Client) Connection(ctx context.Context, id string, opts ...RequestOption) (*Connection, error) {
	return get[Connection](c, ctx, path("/bank-linking/connections/%s", id), opts)
}

// DeleteConnection deletes a connection and its data and returns it,
// DELETED.
func (c *Client) DeleteConnection(ctx context.Context, id string, opts ...RequestOption) (*Connection, error) {
	return send[Connection](c, ctx, http.MethodDelete, path("/bank-linking/connections/%s", id), nil, withKey, opts)
}

// RefreshConnection aggregates a connection again (all its products when
// none are given). Webhooks announce the result.
func (c *Client) RefreshConnection(ctx context.Context, id string, products []Product, opts ...RequestOption) (*Accepted, error) {
	body := struct {
		Products []Product `json:"products,omitempty"`
	}{products}
	return send[Accepted](c, ctx, http.MethodPost, path("/bank-linking/connections/%s/refresh", id), body, withKey, opts)
}

// UpdateConnection adds products to a connection.
func (c *Client) UpdateConnection(ctx context.Context, id string, products []Product, opts ...RequestOption) (*Accepted, error) {
	body := struct {
		Products []Product `json:"products"`
	}{products}
	return send[Accepted](c, ctx, http.MethodPost, path("/bank-linking/connections/%s/update", id), body, withKey, opts)
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
	return send[ConnectionImport](c, ctx, http.MethodPost, "/bank-linking/connections/import", body, withKey, opts)
}

// ConnectionImport reads an import request's results again.
func (c *Client) ConnectionImport(ctx context.Context, requestID string, opts ...RequestOption) (*ConnectionImport, error) {
	return get[ConnectionImport](c, ctx, path("/bank-linking/imports/%s", requestID), opts)
}

// --- Data ------------------------------------------------------------

// Accounts lists financial accounts.
func (c *Client) Accounts(ctx context.Context, f AccountFilter, opts ...RequestOption) iter.Seq2[FinancialAccount, error] {
	return list[FinancialAccount](c, ctx, "/bank-linking/accounts", "financialAccounts", f, opts)
}

// Account gets a financial account.
func (c *Client) Account(ctx context.Context, id string, opts ...RequestOption) (*FinancialAccount, error) {
	return get[FinancialAccount](c, ctx, path("/bank-linking/accounts/%s", id), opts)
}

// CreateProcessorToken hands a financial account to a payment processor
// through its provider (Plaid, MX, the sandbox); serviceProvider may be
// empty. The token does not expire: keep it secret and revoke it with
// RevokeProcessorToken.
func (c *Client) CreateProcessorToken(ctx context.Context, financialAccountID string, processor Processor, serviceProvider string, opts ...RequestOption) (*ProcessorToken, error) {
	body := struct {
		Processor       Processor `json:"processor"`
		ServiceProvider string    `json:"serviceProvider,omitempty"`
	}{processor, serviceProvider}
	// No Idempotency-Key (the server refuses one: its stored answer would
	// hold the token in clear), so a failed call is not retried.
	return send[ProcessorToken](c, ctx, http.MethodPost, path("/bank-linking/accounts/%s/processors/create-token", financialAccountID), body, noKey, opts)
}

// RevokeProcessorToken revokes a processor token of the account in
// banklink (the providers cannot revoke one token: tell the processor
// to discard it).
func (c *Client) RevokeProcessorToken(ctx context.Context, financialAccountID, token string, opts ...RequestOption) (*ProcessorToken, error) {
	body := struct {
		Token string `json:"token"`
	}{token}
	return send[ProcessorToken](c, ctx, http.MethodPost, path("/bank-linking/accounts/%s/processors/revoke-token", financialAccountID), body, withKey, opts)
}

// Transactions lists transactions, newest first.
func (c *Client) Transactions(ctx context.Context, f TransactionFilter, opts ...RequestOption) iter.Seq2[Transaction, error] {
	return list[Transaction](c, ctx, "/bank-linking/transactions", "financialAccountTransactions", f, opts)
}

// Transaction gets a transaction.
func (c *Client) Transaction(ctx context.Context, id string, opts ...RequestOption) (*Transaction, error) {
	return get[Transaction](c, ctx, path("/bank-linking/transactions/%s", id), opts)
}

// Holdings lists investment holdings.
func (c *Client) Holdings(ctx context.Context, f HoldingFilter, opts ...RequestOption) iter.Seq2[Holding, error] {
	return list[Holding](c, ctx, "/bank-linking/investments/holdings", "investmentHoldings", f, opts)
}

// Holding gets an investment holding.
func (c *Client) Holding(ctx context.Context, id string, opts ...RequestOption) (*Holding, error) {
	return get[Holding](c, ctx, path("/bank-linking/investments/holdings/%s", id), opts)
}

// InvestmentTransactions lists investment transactions, newest first.
func (c *Client) InvestmentTransactions(ctx context.Context, f InvestmentTransactionFilter, opts ...RequestOption) iter.Seq2[InvestmentTransaction, error] {
	return list[InvestmentTransaction](c, ctx, "/bank-linking/investments/transactions", "investmentTransactions", f, opts)
}

// InvestmentTransaction gets an investment transaction.
func (c *Client) InvestmentTransaction(ctx context.Context, id string, opts ...RequestOption) (*InvestmentTransaction, error) {
	return get[InvestmentTransaction](c, ctx, path("/bank-linking/investments/transactions/%s", id), opts)
}

// --- Customers -------------------------------------------------------

// CreateCustomer creates a customer, or returns (and updates) the live one
// with this external id.
func (c *Client) CreateCustomer(ctx context.Context, in CustomerInput, opts ...RequestOption) (*Customer, error) {
	return send[Customer](c, ctx, http.MethodPost, "/accounts/customers", in, withKey, opts)
}

// Customers lists customers ordered by external id.
func (c *Client) Customers(ctx context.Context, f CustomerFilter, opts ...RequestOption) iter.Seq2[Customer, error] {
	return list[Customer](c, ctx, "/accounts/customers", "customers", f, opts)
}

// DeleteCustomer deletes a customer with all its connections and data.
func (c *Client) DeleteCustomer(ctx context.Context, id string, opts ...RequestOption) (*CustomerDeleted, error) {
	return send[CustomerDeleted](c, ctx, http.MethodDelete, path("/accounts/customers/%s", id), nil, withKey, opts)
}

// --- Institutions ----------------------------------------------------

// Institutions searches the institution directory, best match first.
func (c *Client) Institutions(ctx context.Context, f InstitutionFilter, opts ...RequestOption) iter.Seq2[Institution, error] {
	return list[Institution](c, ctx, "/institutions", "institutions", f, opts)
}

// Institution gets an institution.
func (c *Client) Institution(ctx context.Context, id string, opts ...RequestOption) (*Institution, error) {
	return get[Institution](c, ctx, path("/institutions/%s", id), opts)
}

// --- Routing ---------------------------------------------------------

// ServiceProviders lists the account's provider configurations in
// waterfall order.
func (c *Client) ServiceProviders(ctx context.Context, opts ...RequestOption) iter.Seq2[ServiceProviderConfig, error] {
	return list[ServiceProviderConfig](c, ctx, "/service-providers", "serviceProviders", nil, opts)
}

// PutServiceProvider configures one provider (SANDBOX, SANDBOX_B, PLAID,
// MX).
func (c *Client) PutServiceProvider(ctx context.Context, provider string, in ServiceProviderInput, opts ...RequestOption) (*ServiceProviderConfig, error) {
	return send[ServiceProviderConfig](c, ctx, http.MethodPut, path("/service-providers/%s", provider), in, noKey, opts)
}

// DeleteServiceProvider removes a provider configuration and its
// credentials.
func (c *Client) DeleteServiceProvider(ctx context.Context, provider string, opts ...RequestOption) (*Accepted, error) {
	return send[Accepted](c, ctx, http.MethodDelete, path("/service-providers/%s", provider), nil, withKey, opts)
}

// RoutingRules returns the per-institution routing rules.
func (c *Client) RoutingRules(ctx context.Context, opts ...RequestOption) (*RoutingRules, error) {
	return get[RoutingRules](c, ctx, "/routing/rules", opts)
}

// PutRoutingRules replaces the routing rules.
func (c *Client) PutRoutingRules(ctx context.Context, rules RoutingRules, opts ...RequestOption) (*RoutingRules, error) {
	if rules.Rules == nil {
		rules.Rules = []RoutingRule{}
	}
	return send[RoutingRules](c, ctx, http.MethodPut, "/routing/rules", rules, noKey, opts)
}

// AppProfile returns how the Connect Widget presents the app (a banklink
// extension).
func (c *Client) AppProfile(ctx context.Context, opts ...RequestOption) (*AppProfile, error) {
	return get[AppProfile](c, ctx, "/bank-linking/app-profile", opts)
}

// UpdateAppProfile changes the fields in set; nil fields keep their value,
// "" clears one.
func (c *Client) UpdateAppProfile(ctx context.Context, in AppProfileInput, opts ...RequestOption) (*AppProfile, error) {
	return send[AppProfile](c, ctx, http.MethodPatch, "/bank-linking/app-profile", in, noKey, opts)
}

// --- Webhooks --------------------------------------------------------

// CreateWebhookProfile creates a profile; the answer carries its secret,
// shown this once.
func (c *Client) CreateWebhookProfile(ctx context.Context, in WebhookProfileInput, opts ...RequestOption) (*WebhookProfile, error) {
	return send[WebhookProfile](c, ctx, http.MethodPost, "/webhooks/profiles", in, withKey, opts)
}

// WebhookProfiles lists the profiles, oldest first, without secrets.
func (c *Client) WebhookProfiles(ctx context.Context, opts ...RequestOption) iter.Seq2[WebhookProfile, error] {
	return list[WebhookProfile](c, ctx, "/webhooks/profiles", "profiles", nil, opts)
}

// WebhookProfile gets a profile, without its secret.
func (c *Client) WebhookProfile(ctx context.Context, id string, opts ...RequestOption) (*WebhookProfile, error) {
	return get[WebhookProfile](c, ctx, path("/webhooks/profiles/%s", id), opts)
}

// UpdateWebhookProfile changes the fields of in that are set. It is not
// retried: the API takes no Idempotency-Key for it.
func (c *Client) UpdateWebhookProfile(ctx context.Context, id string, in WebhookProfileInput, opts ...RequestOption) (*WebhookProfile, error) {
	return send[WebhookProfile](c, ctx, http.MethodPatch, path("/webhooks/profiles/%s", id), in, noKey, opts)
}

// DeleteWebhookProfile deletes a profile and drops its pending deliveries.
func (c *Client) DeleteWebhookProfile(ctx context.Context, id string, opts ...RequestOption) (*Accepted, error) {
	return send[Accepted](c, ctx, http.MethodDelete, path("/webhooks/profiles/%s", id), nil, withKey, opts)
}

// RotateWebhookSecret gives a profile a new secret; the old one keeps
// signing for overlapSeconds (nil: the server's default of a day).
func (c *Client) RotateWebhookSecret(ctx context.Context, id string, overlapSeconds *int, opts ...RequestOption) (*WebhookProfile, error) {
	body := struct {
		OverlapSeconds *int `json:"overlapSeconds,omitempty"`
	}{overlapSeconds}
	return send[WebhookProfile](c, ctx, http.MethodPost, path("/webhooks/profiles/%s/rotate-secret", id), body, withKey, opts)
}

// TestWebhook queues a WEBHOOK_TEST event to profileID, or to every
// enabled profile when it is empty.
func (c *Client) TestWebhook(ctx context.Context, profileID string, opts ...RequestOption) (*Event, error) {
	body := struct {
		ProfileID string `json:"profileId,omitempty"`
	}{profileID}
	return send[Event](c, ctx, http.MethodPost, "/webhooks/test", body, withKey, opts)
}

// Events lists the event log, oldest first: page with After set to the
// last key processed to catch up on anything missed.
func (c *Client) Events(ctx context.Context, f EventFilter, opts ...RequestOption) iter.Seq2[Event, error] {
	return list[Event](c, ctx, "/webhooks/events", "events", f, opts)
}

// Event gets an event with its deliveries and their attempts.
func (c *Client) Event(ctx context.Context, id string, opts ...RequestOption) (*EventWithDeliveries, error) {
	return get[EventWithDeliveries](c, ctx, path("/webhooks/events/%s", id), opts)
}

// RedeliverEvent queues an event again, to profileID or to every enabled
// profile receiving its type when it is empty.
func (c *Client) RedeliverEvent(ctx context.Context, id, profileID string, opts ...RequestOption) (*Redelivery, error) {
	body := struct {
		ProfileID string `json:"profileId,omitempty"`
	}{profileID}
	return send[Redelivery](c, ctx, http.MethodPost, path("/webhooks/events/%s/redeliver", id), body, withKey, opts)
}

// --- Activity log ----------------------------------------------------

// Activity lists the activity log of widget sessions (each step, choice
// and failure), oldest first. To follow it, keep the last entry's Key and
// pass it as Page.After next time: the iterator then yields only newer
// entries.
func (c *Client) Activity(ctx context.Context, f ActivityFilter, opts ...RequestOption) iter.Seq2[Activity, error] {
	return list[Activity](c, ctx, "/activity-log", "activities", f, opts)
}

// --- Operations ------------------------------------------------------

// Healthz reports whether the process is up.
func (c *Client) Healthz(ctx context.Context) (*Status, error) {
	return get[Status](c, ctx, "/healthz", nil)
}

// Readyz reports whether the server can serve requests (a 503 *Error
// when its database is unreachable).
func (c *Client) Readyz(ctx context.Context) (*Status, error) {
	return get[Status](c, ctx, "/readyz", nil)
}
