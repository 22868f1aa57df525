package banklink

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"slices"
	"time"

	"banklink/webhook"
)

// Event is something that happened to an account's data, kept in the
// event log (GET /webhooks/events) and delivered to every webhook profile
// subscribed to its type. Events are written in the same transaction as
// the change that causes them, so none is lost and none describes a
// change that was rolled back.
type Event struct {
	ID          string
	Key         string // cursor, in emission order
	AccountID   string
	Environment Environment
	Type        webhook.EventType
	// ConnectionID groups a connection's events; deliveries of one
	// connection's events to one profile start in order.
	ConnectionID string
	Payload      webhook.Payload
	CreatedAt    time.Time
	// ProfileID, when set, sends the event to that profile only (the test
	// event).
	ProfileID string
}

// NewEvent returns an event of type t about connection p.ConnectionID.
// The payload's requestId is the id of the request carried by ctx or, for
// background work, a fresh one.
func NewEvent(ctx context.Context, t webhook.EventType, p webhook.Payload) *Event {
	if p.RequestID == "" {
		p.RequestID = RequestIDFrom(ctx)
	}
	if p.RequestID == "" {
		p.RequestID = NewID()
	}
	return &Event{ID: NewID(), Type: t, ConnectionID: p.ConnectionID, Payload: p}
}

// EventTimestampFormat is the layout of an event's timestamp: ISO-8601 with
// microseconds, as Meld sends it.
const EventTimestampFormat = "2006-01-02T15:04:05.000000Z"

// Envelope renders the compact JSON body delivered to a profile (or, with
// an empty profileID, shown in the event log).
func (e *Event) Envelope(profileID, version string) ([]byte, error) {
	payload, err := json.Marshal(e.Payload)
	if err != nil {
		return nil, err
	}
	env := webhook.Envelope{
		EventType: e.Type, EventID: e.ID, Timestamp: e.CreatedAt.UTC().Format(EventTimestampFormat),
		AccountID: e.AccountID, Version: version, Payload: payload,
	}
	if profileID != "" {
		env.ProfileID = &profileID
	}
	return json.Marshal(env)
}

// WebhookVersions are the payload versions a profile may ask for; the
// first is the default.
var WebhookVersions = []string{"2022-11-10", "2021-10-27"}

// WebhookProfile is where an account's events go in one environment.
type WebhookProfile struct {
	ID          string
	AccountID   string
	Environment Environment
	URL         string
	Version     string
	Enabled     bool
	// EventTypes limits the events sent; empty means all.
	EventTypes []webhook.EventType
	// Secret signs deliveries. After a rotation PreviousSecret keeps
	// signing too until PreviousSecretExpiresAt, so receivers can switch
	// without dropping events.
	Secret                  string
	PreviousSecret          string
	PreviousSecretExpiresAt *time.Time
	CreatedAt, UpdatedAt    time.Time
}

// Secrets returns the secrets that sign a delivery sent at now, newest
// first.
func (p *WebhookProfile) Secrets(now time.Time) []string {
	out := []string{p.Secret}
	if p.PreviousSecret != "" && p.PreviousSecretExpiresAt != nil && now.Before(*p.PreviousSecretExpiresAt) {
		out = append(out, p.PreviousSecret)
	}
	return out
}

// Wants reports whether the profile receives events of type t.
func (p *WebhookProfile) Wants(t webhook.EventType) bool {
	if !p.Enabled {
		return false
	}
	if len(p.EventTypes) == 0 || t == webhook.Test {
		return true
	}
	for _, w := range p.EventTypes {
		if w == t {
			return true
		}
	}
	return false
}

// NewWebhookSecret returns a fresh signing secret: 32 random bytes,
// base64url without padding (43 characters).
func NewWebhookSecret() string {
	var b [32]byte
	rand.Read(b[:])
	return "whsec_" + base64.RawURLEncoding.EncodeToString(b[:])
}

// DeliveryState is where a delivery stands.
type DeliveryState string

// The delivery states.
const (
	DeliveryPending   DeliveryState = "PENDING"
	DeliveryDelivered DeliveryState = "DELIVERED"
	DeliveryFailed    DeliveryState = "FAILED"
)

// Delivery is one event on its way to one profile.
type Delivery struct {
	ID             string
	EventID        string
	ProfileID      string
	State          DeliveryState
	Attempts       int
	NextAttemptAt  *time.Time
	FirstAttemptAt *time.Time
	DeliveredAt    *time.Time
	LastStatusCode int
	LastReason     string
	CreatedAt      time.Time
	// AttemptLog is filled by FindDeliveries.
	AttemptLog []DeliveryAttempt

	// Set by ClaimDeliveries: what the worker needs to send it.
	Event   *Event
	Profile *WebhookProfile
}

// DeliveryAttempt records one HTTP request of a delivery.
type DeliveryAttempt struct {
	Attempt    int
	At         time.Time
	URL        string
	StatusCode int // 0 when no response came
	// Reason is empty on success, else Meld's retry reason: "Timeout",
	// "HTTP error: 500", "Could not connect".
	Reason  string
	Latency time.Duration
	// Response is the start of the response body, for debugging.
	Response string
}

// DeliveryOutcome is what FinishDelivery records.
type DeliveryOutcome struct {
	Attempt DeliveryAttempt
	// Delivered: the receiver answered 2xx in time.
	Delivered bool
	// NextAttemptAt schedules a retry; nil with Delivered false gives up.
	NextAttemptAt *time.Time
}

// EventFilter selects events. Zero fields do not filter.
type EventFilter struct {
	ConnectionID  string
	Types         []webhook.EventType
	After, Before string
	Limit         int
}

// WebhookProfileStore keeps the apps' webhook profiles.
type WebhookProfileStore interface {
	// CreateWebhookProfile inserts p. Returns ENOTFOUND if its account does
	// not exist.
	CreateWebhookProfile(ctx context.Context, p *WebhookProfile) error
	// FindWebhookProfileByID returns ENOTFOUND outside scope.
	FindWebhookProfileByID(ctx context.Context, scope Scope, id string) (*WebhookProfile, error)
	// FindWebhookProfiles lists the scope's profiles, oldest first.
	FindWebhookProfiles(ctx context.Context, scope Scope) ([]*WebhookProfile, error)
	// UpdateWebhookProfile stores p's url, version, enabled flag, event
	// types and secrets. Returns ENOTFOUND outside p's scope.
	UpdateWebhookProfile(ctx context.Context, p *WebhookProfile) error
	// DeleteWebhookProfile deletes a profile and its pending deliveries.
	DeleteWebhookProfile(ctx context.Context, scope Scope, id string) error
}

// EventStore keeps the webhook events emitted and what became of their
// deliveries, as the API shows them.
type EventStore interface {
	// EmitEvents appends events that no other change causes (the
	// aggregation starting, the test event) and queues their deliveries.
	EmitEvents(ctx context.Context, scope Scope, events ...*Event) error
	// FindEventByID returns ENOTFOUND outside scope.
	FindEventByID(ctx context.Context, scope Scope, id string) (*Event, error)
	// FindEvents lists events in emission order and how many more match
	// beyond the page in the direction of travel.
	FindEvents(ctx context.Context, scope Scope, f EventFilter) ([]*Event, int, error)
	// FindDeliveries returns an event's deliveries with their attempts.
	FindDeliveries(ctx context.Context, scope Scope, eventID string) ([]*Delivery, error)
	// Redeliver queues the event again for profileID, or for every
	// enabled profile that wants it when profileID is empty, and returns
	// the new deliveries.
	Redeliver(ctx context.Context, scope Scope, eventID, profileID string, at time.Time) ([]*Delivery, error)
}

// DeliveryStore is the outbox the webhook workers drain: deliveries
// claimed under a lease, finished, released, counted.
type DeliveryStore interface {
	// ClaimDeliveries leases up to limit due deliveries to owner until
	// leaseUntil. Deliveries of one connection's events to one profile
	// are claimed in order: one whose earlier sibling has not been tried
	// yet, or is being tried, waits. Several workers and replicas claim
	// concurrently without ever sharing a delivery.
	ClaimDeliveries(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]*Delivery, error)
	// FinishDelivery records an attempt of a delivery owner leased.
	// Returns ECONFLICT when the lease was lost (expired and taken over).
	FinishDelivery(ctx context.Context, owner, deliveryID string, o DeliveryOutcome) error
	// FinishDeliveries records several attempts in one transaction and
	// returns the ids of the deliveries whose lease owner had lost.
	FinishDeliveries(ctx context.Context, owner string, outcomes map[string]DeliveryOutcome) (lost []string, err error)
	// ReleaseDeliveries gives back owner's leases (graceful shutdown).
	ReleaseDeliveries(ctx context.Context, owner string) error
	// PendingDeliveries counts deliveries not yet delivered or failed.
	PendingDeliveries(ctx context.Context) (int, error)
	// NextDeliveryAt returns when the earliest pending delivery is due,
	// or nil when there is none.
	NextDeliveryAt(ctx context.Context) (*time.Time, error)
}

type requestIDKey struct{}

// WithRequestID returns ctx carrying the id of the API request being
// served, so events caused by the request name it.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFrom returns the request id ctx carries, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// ConnectionPayload is the part of an event payload that names a
// connection, its customer, institution and provider.
func ConnectionPayload(c *Connection) webhook.Payload {
	p := webhook.Payload{
		CustomerID: c.CustomerID, ExternalCustomerID: c.ExternalCustomerID, ConnectionID: c.ID,
		InstitutionID: c.InstitutionID, InstitutionName: c.InstitutionName,
	}
	if c.ProviderType != "" {
		p.ServiceProviderDetails = &webhook.ServiceProviderDetails{ServiceProvider: ProviderWireName(c.ProviderType), ServiceProviderConnectionID: c.ProviderLoginID}
	}
	return p
}

// StatusChangeEvent reports a connection moving from one status to
// another.
func StatusChangeEvent(ctx context.Context, c *Connection, oldStatus ConnectionStatus, oldReason string) *Event {
	p := ConnectionPayload(c)
	p.OldStatus, p.OldStatusReason = string(oldStatus), oldReason
	p.NewStatus, p.NewStatusReason = string(c.Status), c.StatusReason
	p.ActiveDuplicateConnectionID = c.ActiveDuplicateConnectionID
	return NewEvent(ctx, webhook.ConnectionStatusChange, p)
}

// SavedAccount is one account a save of an aggregation wrote, as the
// events about the save report it.
type SavedAccount struct {
	ID, Name, Mask string
	// New: the save created the account.
	New bool
	// Products are the account-level products delivered
	// (AggregatedAccount.DeliveredProducts).
	Products                                                   []Product
	TransactionsAdded, TransactionsUpdated                     int
	InvestmentTransactionsAdded, InvestmentTransactionsUpdated int
	// TransactionIDsRemoved are the transactions the save expired (gone at
	// the provider); TransactionsUpdated counts them too.
	TransactionIDsRemoved []string
	// OldestTransactionUpdatedSearchKey, when the save added or updated
	// transactions, is a cursor of the account's newest-first
	// transaction list placed just past the oldest of them: GET
	// /bank-linking/transactions?financialAccountId=…&before=<it> pages
	// toward the newest through every transaction the save wrote
	// (docs/webhooks.md).
	OldestTransactionUpdatedSearchKey string
}

// SavedAggregation is what saving an aggregation changed. The store fills
// it in and emits its Events in the save's transaction.
type SavedAggregation struct {
	// Connection is the connection after the save; OldStatus and
	// OldReason are its status and reason before.
	Connection *Connection
	OldStatus  ConnectionStatus
	OldReason  string
	// Historical: the two-year pass, which reports transactions only.
	Historical bool
	// Accounts are the shared accounts saved, in the aggregation's order.
	Accounts []SavedAccount
	// Removed are the accounts a window pass no longer found (closed or
	// no longer shared): ID, Name and Mask only.
	Removed []SavedAccount
	// NewAccountsAvailable: the aggregation found unshared accounts for
	// the first time (AnnounceAccounts).
	NewAccountsAvailable bool
}

// Events returns the events a saved aggregation emits, in order:
// CONNECTION_STATUS_CHANGE when the status or reason changed; for the
// historical pass HISTORICAL_TRANSACTIONS_AGGREGATED, or else
// ACCOUNTS_UPDATED, ACCOUNTS_REMOVED when accounts went away and
// TRANSACTIONS_AGGREGATED, the transactions events only when the
// connection holds a transactions product; and NEW_ACCOUNTS_AVAILABLE.
func (s *SavedAggregation) Events(ctx context.Context) []*Event {
	c := s.Connection
	var events []*Event
	if c.Status != s.OldStatus || c.StatusReason != s.OldReason {
		events = append(events, StatusChangeEvent(ctx, c, s.OldStatus, s.OldReason))
	}
	about := func(t webhook.EventType, accounts []webhook.FinancialAccount) {
		p := ConnectionPayload(c)
		p.FinancialAccounts = accounts
		events = append(events, NewEvent(ctx, t, p))
	}
	held := NewProductSet(append(slices.Clone(c.Products), c.OptionalProducts...)...)
	wantsTx := held.Has(Transactions) || held.Has(InvestmentTransactions)
	switch {
	case s.Historical && wantsTx:
		about(webhook.HistoricalTransactionsAggregated, s.transactionCounts())
	case !s.Historical:
		about(webhook.AccountsUpdated, s.updatedAccounts())
		if len(s.Removed) > 0 {
			var removed []webhook.FinancialAccount
			for _, a := range s.Removed {
				removed = append(removed, webhook.FinancialAccount{ID: a.ID, Name: a.Name, TruncatedAccountNumber: a.Mask})
			}
			about(webhook.AccountsRemoved, removed)
		}
		if wantsTx {
			about(webhook.TransactionsAggregated, s.transactionCounts())
		}
	}
	if s.NewAccountsAvailable {
		about(webhook.NewAccountsAvailable, nil)
	}
	return events
}

// updatedAccounts is ACCOUNTS_UPDATED's list: each account, whether it is
// new, and the products delivered.
func (s *SavedAggregation) updatedAccounts() []webhook.FinancialAccount {
	var out []webhook.FinancialAccount
	for _, a := range s.Accounts {
		var products []string
		for _, p := range a.Products {
			products = append(products, string(p))
		}
		out = append(out, webhook.FinancialAccount{ID: a.ID, Name: a.Name, TruncatedAccountNumber: a.Mask, NewAccount: &a.New, Products: products})
	}
	return out
}

// transactionCounts is the transactions events' list: each account's
// transactions added, updated and removed.
func (s *SavedAggregation) transactionCounts() []webhook.FinancialAccount {
	var out []webhook.FinancialAccount
	for _, a := range s.Accounts {
		out = append(out, webhook.FinancialAccount{ID: a.ID, Name: a.Name, TruncatedAccountNumber: a.Mask,
			NumTransactionsAdded: &a.TransactionsAdded, NumTransactionsUpdated: &a.TransactionsUpdated, TransactionIDsRemoved: a.TransactionIDsRemoved,
			OldestTransactionUpdatedSearchKey: a.OldestTransactionUpdatedSearchKey,
			NumInvestmentTransactionsAdded:    &a.InvestmentTransactionsAdded, NumInvestmentTransactionsUpdated: &a.InvestmentTransactionsUpdated})
	}
	return out
}

// Stats counts what the save added and updated.
func (s *SavedAggregation) Stats() AggregationStats {
	var st AggregationStats
	for _, a := range s.Accounts {
		if a.New {
			st.AccountsAdded++
		} else {
			st.AccountsUpdated++
		}
		st.TransactionsAdded += a.TransactionsAdded
		st.TransactionsUpdated += a.TransactionsUpdated
		st.InvestmentTransactionsAdded += a.InvestmentTransactionsAdded
		st.InvestmentTransactionsUpdated += a.InvestmentTransactionsUpdated
	}
	return st
}
