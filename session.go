package banklink

import (
	"context"
	"time"
)

// Connect session steps: where a customer is in the widget.
const (
	StepPick        = "PICK"
	StepCredentials = "CREDENTIALS"
	StepRedirect    = "REDIRECT"
	StepMFA         = "MFA"
	StepAccounts    = "ACCOUNTS"
	StepDone        = "DONE"
)

// MaxLoginFailures is how many failed logins or MFA answers one session
// allows before the widget stops offering retries.
const MaxLoginFailures = 5

// ConnectSession is the widget's server-side state for one connection. It
// survives reloads (and mobile process death): the widget resumes from it.
// It never holds the customer's credentials.
type ConnectSession struct {
	ConnectionID  string
	Step          string
	InstitutionID string
	ProviderType  string
	// ProviderState is the provider's opaque state between MFA answers.
	ProviderState string
	LoginID       string
	MFA           *MFAChallenge
	Accounts      []ProviderAccount
	// Failures counts the failed logins and MFA answers, and those in
	// flight (see CountLoginAttempt).
	Failures int
	// Routing is the decision behind ProviderType.
	Routing *RoutingDecision
	// Tab is the browser tab that drives the session (a random id the
	// widget page keeps in that tab), "" until one claims it. Another tab
	// is told the session continues elsewhere and cannot act on it until
	// it takes the session over, so two tabs on one link never mix one's
	// credentials with the other's institution.
	Tab string
	// Consent is what the customer agreed to on the widget's consent
	// screen; nil until they did.
	Consent   *Consent
	UpdatedAt time.Time
	// Version is how many times the session was saved: a save replaces
	// the stored session only if it is still at the version that was
	// read, so that of two requests acting on the same step (on any
	// replicas) only one moves the session on. 0 is a session not stored
	// yet.
	Version int
}

// Consent is a customer's answer on the widget's consent screen, the
// first screen: they agreed to share the connection's products with the
// app, except the optional products they declined. Required products
// cannot be declined (the customer may close the widget instead).
type Consent struct {
	// Declined lists the connection's optional products the customer
	// declined: they are not requested from the provider, and the
	// connection completes without them (Completion.Declined).
	Declined []Product `json:"declined,omitempty"`
	At       time.Time `json:"at"`
}

// Completion records how a connection completed in the widget.
type Completion struct {
	InstitutionID string
	ProviderType  string
	LoginID       string
	At            time.Time
	// Routing is the decision that picked ProviderType.
	Routing *RoutingDecision
	// Declined are optional products the customer declined in the
	// widget: completing (or repairing) removes them from the
	// connection's OptionalProducts, so they are never aggregated.
	Declined []Product
}

// ConnectSessionStore keeps widget sessions and completes connections.
type ConnectSessionStore interface {
	// FindConnectSession returns ENOTFOUND when the widget has not saved
	// any progress for the connection yet.
	FindConnectSession(ctx context.Context, connectionID string) (*ConnectSession, error)
	// SaveConnectSession inserts s (Version 0) or replaces the stored
	// session if it is still at s.Version, and then increments s.Version.
	// It writes Failures only when it creates the session or replaces a
	// finished (StepDone) one, as a repair does; otherwise only
	// CountLoginAttempt and ForgiveLoginAttempt change them. Returns
	// ECONFLICT when the session changed since s was read (or was created
	// by someone else) and when the connection is no longer IN_PROGRESS or
	// repairable.
	SaveConnectSession(ctx context.Context, s *ConnectSession) error
	// CountLoginAttempt counts one login attempt of s (credentials, an MFA
	// answer, the return from a redirect login) as a failure before it
	// reaches the provider, so that concurrent attempts on every replica
	// count against one limit: it adds one to the stored Failures if they
	// are below limit and the session is still at s.Version, and returns
	// the new count (also set in s.Failures). Returns ERATELIMITED,
	// changing nothing, when Failures reached limit, ECONFLICT when the
	// session changed since s was read, ENOTFOUND when there is none.
	CountLoginAttempt(ctx context.Context, s *ConnectSession, limit int) (int, error)
	// ForgiveLoginAttempt takes back one failure CountLoginAttempt
	// counted, for an attempt that did not fail on the customer's side.
	// Under BestEffort it may return before the write is done, but a
	// later CountLoginAttempt counts after it.
	ForgiveLoginAttempt(ctx context.Context, connectionID string) error
	// CompleteConnection moves an IN_PROGRESS, unexpired connection to
	// ACTIVE exactly once, however many replicas or double submits race.
	// Returns ENOTFOUND outside scope and ECONFLICT when the connection is
	// already complete, expired or otherwise not IN_PROGRESS.
	CompleteConnection(ctx context.Context, scope Scope, connectionID string, c Completion) (*Connection, error)
	// RepairConnection makes a repairable connection ACTIVE again with the
	// new login, once per repair token: repairOf is the completion time
	// (Unix microseconds) the token was made for, and a connection
	// completed or repaired since is refused with ECONFLICT.
	RepairConnection(ctx context.Context, scope Scope, connectionID string, c Completion, repairOf int64) (*Connection, error)
	// CompleteConnectSession is the widget's last step as one transaction:
	// it saves s (as SaveConnectSession: at StepDone, holding the accounts
	// the customer chose) and completes its connection as
	// CompleteConnection does or, when repairOf is not 0, repairs it as
	// RepairConnection does. Either both happen or neither: of concurrent
	// calls, on any replicas, exactly one succeeds and the others return
	// ECONFLICT, so the accounts stored are those of the completion that
	// won. Returns ENOTFOUND outside scope.
	CompleteConnectSession(ctx context.Context, scope Scope, s *ConnectSession, c Completion, repairOf int64) (*Connection, error)
}

// WidgetOriginStore keeps the origins an account lets embed the widget.
type WidgetOriginStore interface {
	// FindWidgetOrigins returns the origins allowed to embed the widget.
	FindWidgetOrigins(ctx context.Context, scope Scope) ([]string, error)
	// SetWidgetOrigins replaces them.
	SetWidgetOrigins(ctx context.Context, scope Scope, origins []string) error
}
