package banklink

import (
	"context"
	"time"
)

// Activity log actions: what happened in a connection's widget session.
// ActivityWidgetError is Meld's (INSTITUTION_CONNECTION_WIDGET_ERROR, with
// the Activity* event types below); the others are banklink's additions,
// named in the same style, so that the log tells a session's whole story
// and not only its failures.
const (
	ActivityWidgetOpened        = "INSTITUTION_CONNECTION_WIDGET_OPENED"
	ActivityInstitutionSearched = "INSTITUTION_CONNECTION_INSTITUTION_SEARCHED"
	ActivityInstitutionSelected = "INSTITUTION_CONNECTION_INSTITUTION_SELECTED"
	ActivityWentBack            = "INSTITUTION_CONNECTION_WIDGET_BACK"
	ActivityMFARequired         = "INSTITUTION_CONNECTION_MFA_REQUIRED"
	ActivityLoginSucceeded      = "INSTITUTION_CONNECTION_LOGIN_SUCCEEDED"
	ActivityWidgetError         = "INSTITUTION_CONNECTION_WIDGET_ERROR"
	ActivityConsentGiven        = "INSTITUTION_CONNECTION_CONSENT_GIVEN"
	ActivityCompleted           = "INSTITUTION_CONNECTION_COMPLETED"
	ActivityWidgetExited        = "INSTITUTION_CONNECTION_WIDGET_EXITED"
)

// ActivityActions lists every action, in the order a session meets them.
var ActivityActions = []string{ActivityWidgetOpened, ActivityInstitutionSearched, ActivityInstitutionSelected, ActivityWentBack,
	ActivityMFARequired, ActivityLoginSucceeded, ActivityWidgetError, ActivityConsentGiven, ActivityCompleted, ActivityWidgetExited}

// Event types of ActivityWidgetError, Meld's subtypes of a widget error.
const (
	// ActivityProviderInitFailure: the provider's login could not be
	// started (its credentials are wrong, it is down, creating its user
	// failed) before the customer could try.
	ActivityProviderInitFailure = "SERVICE_PROVIDER_INITIALIZATION_FAILURE"
	// ActivityProviderFailure: the provider refused or failed a login,
	// an MFA answer or a redirect (Reason says which).
	ActivityProviderFailure = "SERVICE_PROVIDER_FAILURE"
	// ActivityInternalFailure: banklink failed.
	ActivityInternalFailure = "INTERNAL_FAILURE"
)

// ActivityEventTypes lists the event types.
var ActivityEventTypes = []string{ActivityProviderInitFailure, ActivityProviderFailure, ActivityInternalFailure}

// Login steps an activity names (ActivityEvent.Step).
const (
	LoginStepCredentials = "CREDENTIALS"
	LoginStepMFA         = "MFA"
	LoginStepRedirect    = "OAUTH"
)

// ActivityEvent is one entry of the activity log. It never holds a
// customer's credentials or answers; Detail holds only what the customer
// typed into the institution search box.
type ActivityEvent struct {
	ID  string
	Key string
	// AccountID, Environment and CustomerID are the connection's, set by
	// the store.
	AccountID    string
	Environment  Environment
	CustomerID   string
	ConnectionID string
	Action       string
	// EventType is the subtype of ActivityWidgetError; empty otherwise.
	EventType     string
	InstitutionID string
	// Provider is the provider type the session was routed to.
	Provider string
	// Step is the login step of a login outcome (LoginStep*).
	Step string
	// Reason is a Login* reason or an error code, for failures; for an
	// institution chosen, the routing rule that picked the provider.
	Reason string
	// Message is what the customer was shown, or the routing
	// explanation.
	Message string
	// Detail is the search text of ActivityInstitutionSearched, and the
	// last one of an ActivityWidgetExited with reason
	// INSTITUTION_NOT_FOUND.
	Detail string
	// Repair is set in a repair session.
	Repair bool
	At     time.Time
}

// ActivityFilter selects activity. Zero fields do not filter.
type ActivityFilter struct {
	ConnectionID string
	Actions      []string
	EventTypes   []string
	// Start and End bound At: [Start, End).
	Start, End time.Time
	// After and Before are cursor keys; at most one is set.
	After, Before string
	Limit         int
}

// DefaultActivityRetention is how long activity is kept unless
// configured otherwise.
const DefaultActivityRetention = 90 * 24 * time.Hour

// ActivityStore keeps the activity log.
type ActivityStore interface {
	// RecordActivity appends e. Its account, environment and customer
	// are taken from its connection, so activity can never be recorded
	// for another tenant; a connection that does not exist records
	// nothing. ID and Key are set.
	RecordActivity(ctx context.Context, e *ActivityEvent) error
	// FindActivity returns the scope's activity matching f, oldest
	// first, and how many more match beyond the page.
	FindActivity(ctx context.Context, scope Scope, f ActivityFilter) ([]*ActivityEvent, int, error)
	// PruneActivity deletes at most limit entries older than before and
	// returns how many it deleted.
	PruneActivity(ctx context.Context, before time.Time, limit int) (int, error)
}
