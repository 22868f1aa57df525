package banklink

import (
	"context"
	"slices"
	"time"
)

// ConnectionStatus is the lifecycle status of a connection.
type ConnectionStatus string

// Connection statuses, as Meld names them.
const (
	StatusInProgress        ConnectionStatus = "IN_PROGRESS"
	StatusExpired           ConnectionStatus = "EXPIRED"
	StatusActive            ConnectionStatus = "ACTIVE"
	StatusPartiallyActive   ConnectionStatus = "PARTIALLY_ACTIVE"
	StatusDegraded          ConnectionStatus = "DEGRADED"
	StatusReconnectRequired ConnectionStatus = "RECONNECT_REQUIRED"
	StatusUnrecoverable     ConnectionStatus = "UNRECOVERABLE"
	StatusUndetermined      ConnectionStatus = "UNDETERMINED"
	StatusDeleted           ConnectionStatus = "DELETED"
)

// ConnectionCompletionWindow is how long a connection may stay IN_PROGRESS
// before it becomes EXPIRED.
const ConnectionCompletionWindow = 4 * time.Hour

// Connection is one customer's login at one institution through one
// provider. connect/start creates it IN_PROGRESS; the widget completes it.
type Connection struct {
	ID                 string
	Key                string
	AccountID          string
	Environment        Environment
	CustomerID         string
	ExternalCustomerID string

	// InstitutionID is set when connect/start named one (the widget skips
	// its picker) or once the customer has picked one.
	InstitutionID           string
	InstitutionName         string
	InstitutionSearchString string

	Products         []Product
	OptionalProducts []Product
	Regions          []Region
	AllowRedirect    bool
	RedirectURL      string
	RoutingProfile   string
	// RequestedProvider is the provider connect/start named (bypassing
	// routing), empty to let routing choose.
	RequestedProvider string
	// RoutingDecision is how the connection's provider was chosen; set on
	// completion.
	RoutingDecision *RoutingDecision

	Status       ConnectionStatus
	StatusReason string

	// ProviderType and ProviderLoginID are set on completion.
	ProviderType    string
	ProviderLoginID string

	CreatedAt   time.Time
	UpdatedAt   time.Time
	CompletedAt *time.Time
	// ExpiresAt is when an IN_PROGRESS connection becomes EXPIRED.
	ExpiresAt time.Time
	// AggregatedAt is the last successful aggregation.
	AggregatedAt *time.Time
	// ProviderState is where the provider's last aggregation stopped (see
	// StatefulAggregator); empty when it keeps none. Never on the wire.
	ProviderState string
	// DuplicateConnectionIDs are the customer's other connections to the
	// same institution with the same login, newest first; on an inactive
	// duplicate ActiveDuplicateConnectionID names the active one.
	DuplicateConnectionIDs      []string
	ActiveDuplicateConnectionID string
}

// ConnectionFilter selects connections. Zero fields do not filter.
type ConnectionFilter struct {
	CustomerID         string
	ExternalCustomerID string
	InstitutionID      string
	// Statuses as the API reports them: EXPIRED includes IN_PROGRESS
	// connections past their completion window.
	Statuses         []ConnectionStatus
	ServiceProviders []string
	// CreatedFrom and CreatedBefore bound createdAt: [from, before).
	CreatedFrom, CreatedBefore time.Time
	// After and Before are cursor keys; at most one is set.
	After, Before string
	Limit         int
	// Now decides which IN_PROGRESS connections have expired.
	Now time.Time
}

// EffectiveStatus is the status the API reports: an IN_PROGRESS
// connection past its completion window is EXPIRED, whether or not a
// sweeper has written that yet.
func (c *Connection) EffectiveStatus(now time.Time) ConnectionStatus {
	if c.Status == StatusInProgress && !c.ExpiresAt.After(now) {
		return StatusExpired
	}
	return c.Status
}

// ConnectionStatuses lists every status.
var ConnectionStatuses = []ConnectionStatus{StatusInProgress, StatusExpired, StatusActive, StatusPartiallyActive, StatusDegraded,
	StatusReconnectRequired, StatusUnrecoverable, StatusUndetermined, StatusDeleted}

// Refreshable reports whether a refresh (POST /connections/{id}/refresh, a
// provider saying it has new data) may start from status: the connection
// is linked and its login works, or may work again. RECONNECT_REQUIRED
// needs a repair first; the provider would refuse the login.
func (s ConnectionStatus) Refreshable() bool {
	switch s {
	case StatusActive, StatusPartiallyActive, StatusDegraded, StatusUndetermined, StatusUnrecoverable:
		return true
	}
	return false
}

// Linked reports whether a connection in status holds a provider login:
// it completed and was not deleted. Only a linked connection can be
// aggregated, and only linked connections are each other's duplicates.
func (s ConnectionStatus) Linked() bool {
	switch s {
	case StatusInProgress, StatusExpired, StatusDeleted:
		return false
	}
	return true
}

// RefreshedOnSchedule reports whether the scheduled refresh
// (ClaimDueRefreshes) picks connections in status: the refreshable ones
// but UNRECOVERABLE, which stopped after repeated failures and waits for
// a repair or an explicit refresh. (The schedule also skips inactive
// duplicates and connections never aggregated.)
func (s ConnectionStatus) RefreshedOnSchedule() bool {
	return s.Refreshable() && s != StatusUnrecoverable
}

// ConnectionStore keeps connections through their life: started for a
// customer, found, refreshed, given more products, moved between statuses,
// claimed for scheduled refreshes, deleted.
type ConnectionStore interface {
	// StartConnection finds the scope's customer with cust.ExternalID or
	// creates cust, then inserts conn for that customer, in one
	// transaction. On return cust holds the stored customer (its ID,
	// Key and CreatedAt) and conn.CustomerID and conn.Key are set. Returns
	// ENOTFOUND if conn names an institution that does not exist.
	StartConnection(ctx context.Context, cust *Customer, conn *Connection) error
	// FindConnectionByID returns ENOTFOUND unless the connection exists in
	// scope.
	FindConnectionByID(ctx context.Context, scope Scope, id string) (*Connection, error)
	// FindConnections lists the scope's connections matching f, in
	// creation order, and how many more match beyond the page in the
	// direction of travel.
	FindConnections(ctx context.Context, scope Scope, f ConnectionFilter) ([]*Connection, int, error)
	// FindConnectionsByProviderLogin returns the connections, of every
	// account and environment, linked through the provider's login
	// loginID (a provider's webhook names its login, not a connection),
	// oldest first. DELETED connections are left out; an empty loginID
	// finds none.
	FindConnectionsByProviderLogin(ctx context.Context, providerType, loginID string) ([]*Connection, error)
	// AcceptRefresh records a refresh request unless one was accepted less
	// than minInterval ago, in which case it returns ERATELIMITED and the
	// time when the next refresh will be accepted.
	AcceptRefresh(ctx context.Context, scope Scope, id string, at time.Time, minInterval time.Duration) (next time.Time, err error)
	// AddOptionalProducts adds products to a connection's optional
	// products. Returns ECONFLICT when the connection is DELETED.
	AddOptionalProducts(ctx context.Context, scope Scope, id string, products []Product, at time.Time) (*Connection, error)
	// ChangeConnectionStatus moves a connection from one status and
	// reason to another when something other than an aggregation says so
	// (a provider's webhook), emitting CONNECTION_STATUS_CHANGE and, when
	// the customer must act, CUSTOMER_ACTION_REQUIRED. It changes nothing
	// and reports false unless the connection is still exactly in
	// c.From / c.FromReason, so a concurrent change wins. Moving to ACTIVE
	// restarts the count of failed aggregations. Returns ENOTFOUND outside
	// scope.
	ChangeConnectionStatus(ctx context.Context, scope Scope, id string, c StatusChange) (bool, error)
	// RecordAggregationFailure counts a failed aggregation and sets the
	// connection's status and reason; it returns the failures in a row.
	RecordAggregationFailure(ctx context.Context, scope Scope, connectionID string, status ConnectionStatus, reason string, at time.Time) (int, error)
	// ClaimDueRefreshes claims up to limit connections, of every account
	// and environment, due for a scheduled refresh, oldest data first:
	// ACTIVE, PARTIALLY_ACTIVE, DEGRADED or UNDETERMINED, not an
	// inactive duplicate, aggregated at least once, neither aggregated
	// successfully nor asked to refresh since dueBefore, and with no
	// replica's lease on their aggregation work. Each claim records at as
	// the refresh request (a refresh request within the refresh interval
	// is answered 429 as usual), requests aggregation work as
	// RequestAggregation does and takes its lease, in one statement.
	ClaimDueRefreshes(ctx context.Context, dueBefore, at time.Time, lease Lease, limit int) ([]AggregationWork, error)
	// DeleteConnection removes the connection's accounts and transactions
	// and marks it DELETED. Returns ENOTFOUND outside scope and ECONFLICT
	// when it is already deleted.
	DeleteConnection(ctx context.Context, scope Scope, id string, at time.Time) (*Connection, error)
}

// AggregationWorkStore makes accepted aggregation work durable. Every
// request to aggregate a connection that banklink accepts (a completed
// link or repair, an accepted refresh, a provider's webhook, a scheduled
// refresh) is counted on the connection when it is accepted; a run
// answers the requests counted when it began (its Ticket). Work is
// pending until a run for the latest count finishes, so a process killed
// mid-run leaves it pending, and its lease, not renewed, expires for
// another replica (or the restarted one) to claim.
type AggregationWorkStore interface {
	// RequestAggregation counts one more request for the connection's
	// aggregation and takes its lease for lease.Owner when the lease is
	// free at at or already lease.Owner's. It returns the work (its ticket
	// counts this request) and whether the caller holds the lease and so
	// must run it; when another replica holds it, that replica's
	// FinishAggregation finds this request pending. A lease with no Owner
	// takes nothing: a free lease stays free, and the work waits among the
	// pending work ClaimAggregations hands out, ordered by lease.Until
	// (a replica too busy to run it leaves it for whichever frees up
	// first). Returns ENOTFOUND outside scope.
	RequestAggregation(ctx context.Context, scope Scope, id string, at time.Time, lease Lease) (AggregationWork, bool, error)
	// ClaimAggregations takes the lease of up to limit connections, of
	// every account and environment, whose work is pending and whose
	// lease is free at at (never held, released, or expired with a
	// replica that died), least recently leased first. DELETED, EXPIRED and
	// IN_PROGRESS connections are left out: their work cannot run.
	ClaimAggregations(ctx context.Context, at time.Time, lease Lease, limit int) ([]AggregationWork, error)
	// RenewAggregationLeases extends to until the leases lease owner
	// holds on the connections ids.
	RenewAggregationLeases(ctx context.Context, owner string, ids []string, until time.Time) error
	// FinishAggregation records that a run for work ended (whatever its
	// outcome: a failure is recorded on the connection, not retried
	// here): the requests its ticket counts are done. When more were
	// counted meanwhile the owner keeps the lease and more is true, with
	// next the work to run; otherwise the lease is released.
	FinishAggregation(ctx context.Context, work AggregationWork, owner string) (next AggregationWork, more bool, err error)
	// PendingAggregations counts the connections, of every account and
	// environment, whose aggregation work is pending and can run (held
	// by a replica or waiting): the backlog.
	PendingAggregations(ctx context.Context) (int, error)
}

// Lease is a replica's hold on a connection's aggregation work: no other
// replica claims the work before Until.
type Lease struct {
	Owner string
	Until time.Time
}

// AggregationWork is a connection's pending aggregation, as claimed.
type AggregationWork struct {
	Scope        Scope
	ConnectionID string
	// Ticket counts the requests accepted for the connection when the
	// work was claimed: a run answers all of them.
	Ticket int64
}

// StatusChange is a compare-and-set of a connection's status and reason.
type StatusChange struct {
	From       ConnectionStatus
	FromReason string
	To         ConnectionStatus
	ToReason   string
	At         time.Time
}

// Repairable reports whether a repair (a new token that sends the customer
// back to the institution's login) can bring the connection back.
func (c *Connection) Repairable() bool {
	all, reasons := RepairableReasons(c.Status)
	return all || slices.Contains(reasons, c.StatusReason)
}

// RepairableReasons says when a connection in status is repairable:
// whatever its reason (all), or only with one of reasons. It is
// Repairable's data, which the store renders as SQL too.
func RepairableReasons(status ConnectionStatus) (all bool, reasons []string) {
	switch status {
	case StatusReconnectRequired, StatusDegraded, StatusUnrecoverable, StatusPartiallyActive, StatusUndetermined:
		return true, nil
	case StatusActive:
		// A working connection is repaired only to renew access about to
		// expire or to share accounts opened since the link.
		return false, []string{"ACCESS_EXPIRING_SOON", "NEW_ACCOUNTS_AVAILABLE"}
	}
	return false, nil
}

// AfterAggregation returns the status and reason of a connection in
// status/reason once an aggregation of it succeeded. The provider
// answering heals what was failing on its or the institution's side
// (DEGRADED, UNRECOVERABLE, UNDETERMINED become ACTIVE); what only the
// customer can fix (RECONNECT_REQUIRED), a partial link and the other
// statuses stay. newAccounts: the aggregation found accounts the customer
// has not shared, for the first time (AnnounceAccounts); a plain ACTIVE
// connection then says NEW_ACCOUNTS_AVAILABLE, which a repair resolves.
func AfterAggregation(status ConnectionStatus, reason string, newAccounts bool) (ConnectionStatus, string) {
	switch status {
	case StatusDegraded, StatusUnrecoverable, StatusUndetermined:
		status, reason = StatusActive, ""
	}
	if newAccounts && status == StatusActive && reason == "" {
		reason = "NEW_ACCOUNTS_AVAILABLE"
	}
	return status, reason
}

// ActivatesDuplicate reports whether saving an aggregation of a
// connection in status with reason makes it the active one of its
// duplicates: refreshing an inactive duplicate does, as in Meld (the
// others become PARTIALLY_ACTIVE / INACTIVE_DUPLICATE); a historical pass
// does not.
func ActivatesDuplicate(status ConnectionStatus, reason string, historical bool) bool {
	return !historical && status == StatusPartiallyActive && reason == "INACTIVE_DUPLICATE"
}

// CompletedMicros is CompletedAt in Unix microseconds, 0 when unset: the
// value a repair token pins (see connecttoken.Claims.RepairOf).
func (c *Connection) CompletedMicros() int64 {
	if c.CompletedAt == nil {
		return 0
	}
	return c.CompletedAt.UnixMicro()
}

// NeedsCustomer reports whether a connection in status with reason can
// only be fixed by its customer (a CUSTOMER_ACTION_REQUIRED event): a
// login to redo, or an action at the institution.
func NeedsCustomer(status ConnectionStatus, reason string) bool {
	return status == StatusReconnectRequired || reason == "INSTITUTION_ACTION_REQUIRED"
}
