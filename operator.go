package banklink

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"net/mail"
	"net/url"
	"strings"
	"time"
)

// Operator is a person who signs in to the dashboard of one account. The
// password is kept only as a slow hash (bcrypt).
type Operator struct {
	ID           string
	AccountID    string
	Email        string // normalized: see NormalizeEmail
	PasswordHash []byte
	CreatedAt    time.Time
}

// OperatorSession is a signed-in dashboard session. The session id itself
// lives only in the operator's cookie; the store keeps its SHA-256.
type OperatorSession struct {
	IDHash     []byte
	OperatorID string
	// CSRFToken is the session's synchronizer token: every state-changing
	// dashboard request must carry it.
	CSRFToken  string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastSeenAt time.Time

	// Filled by FindOperatorSession: who the session belongs to.
	AccountID string
	Email     string
}

// OperatorStore keeps dashboard operators and their sessions.
type OperatorStore interface {
	// CreateOperator inserts o (its email normalized). Returns ENOTFOUND
	// if the account does not exist and ECONFLICT if the email is taken.
	CreateOperator(ctx context.Context, o *Operator) error
	// FindOperatorByEmail returns ENOTFOUND if no operator has the
	// (normalized) email.
	FindOperatorByEmail(ctx context.Context, email string) (*Operator, error)
	// FindOperators returns an account's operators, oldest first.
	FindOperators(ctx context.Context, accountID string) ([]*Operator, error)
	// CountOperators counts the operators of every account.
	CountOperators(ctx context.Context) (int, error)

	// CreateOperatorSession inserts s and removes sessions that expired
	// before s.CreatedAt. Returns ENOTFOUND if the operator does not exist.
	CreateOperatorSession(ctx context.Context, s *OperatorSession) error
	// FindOperatorSession returns the session whose id hashes to idHash
	// if it has not expired at now, with its operator's account and
	// email; ENOTFOUND otherwise.
	FindOperatorSession(ctx context.Context, idHash []byte, now time.Time) (*OperatorSession, error)
	// TouchOperatorSession records activity on a session.
	TouchOperatorSession(ctx context.Context, idHash []byte, at time.Time) error
	// DeleteOperatorSession ends a session (signing out). Deleting a
	// session that does not exist is not an error.
	DeleteOperatorSession(ctx context.Context, idHash []byte) error
}

// NormalizeEmail is the form operators' emails are stored and looked up
// in: trimmed and lower-cased.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ValidEmail reports whether s (normalized) is a plain address such as
// ops@example.com.
func ValidEmail(s string) bool {
	if len(s) > 254 || strings.ContainsAny(s, " <>\"") {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".")
}

// ParseOrigin accepts a web origin: scheme (http or https), host and
// optional port, no path, query or credentials. Allowed widget origins
// (the widget's CSP frame-ancestors) are origins; the CLI and the
// dashboard both validate them with this.
func ParseOrigin(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
		return "", fmt.Errorf("%q is not an origin like https://app.example.com", s)
	}
	return u.Scheme + "://" + strings.ToLower(u.Host), nil
}

// CheckWidgetOrigin checks an origin (from ParseOrigin) allowed to embed
// env's widget. The widget posts its events to the embedding page's exact
// origin only when that origin is in the list, so an entry the page's
// origin can never equal is a mistake: a wildcard is refused everywhere.
// Production widgets carry real bank data and may only be embedded by
// https pages; sandbox also accepts http, for development servers such as
// http://localhost:3000.
func CheckWidgetOrigin(origin string, env Environment) error {
	scheme, host, _ := strings.Cut(origin, "://")
	if strings.Contains(host, "*") {
		return fmt.Errorf("%s has a wildcard: list each origin, since the widget only posts its events to an exact origin", origin)
	}
	if env == Production && scheme != "https" {
		return fmt.Errorf("%s is not https: production widgets may only be embedded by https pages (sandbox accepts http)", origin)
	}
	return nil
}

// LatestCursor is a cursor key beyond every record: Before: LatestCursor
// pages backwards from the newest connection or event, for newest-first
// views such as the dashboard's.
var LatestCursor = func() string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], math.MaxInt64)
	return EncodeBase58(b[:], 11)
}()

// Funnel steps: how far a customer got in the widget.
const (
	FunnelOpened    = "opened"    // the widget loaded its session
	FunnelChosen    = "chosen"    // an institution was picked (or set by connect/start)
	FunnelLoggedIn  = "logged_in" // the provider accepted the login (after any MFA)
	FunnelCompleted = "completed" // the connection completed
	// FunnelFailed is not a step reached but a login step that failed at
	// an institution, with its reason: the latest one is kept, and tells
	// why a session that stopped there dropped off.
	FunnelFailed = "failed"
)

// FunnelSteps lists the steps in order.
var FunnelSteps = []string{FunnelOpened, FunnelChosen, FunnelLoggedIn, FunnelCompleted}

// FunnelStep records that a connection's widget session reached a step
// at an institution through a provider (both empty for FunnelOpened).
type FunnelStep struct {
	ConnectionID  string
	Step          string
	InstitutionID string
	Provider      string
	// Reason is FunnelFailed's: a Login* reason or an error code.
	Reason string
	At     time.Time
}

// FunnelStore keeps the linking-conversion funnel.
type FunnelStore interface {
	// RecordFunnelStep records s once per connection, step, institution
	// and provider: a second record of the same is ignored, except that
	// a FunnelFailed record replaces the reason and time of the last.
	// The account and environment are the connection's; a connection
	// that does not exist records nothing.
	RecordFunnelStep(ctx context.Context, s FunnelStep) error
	// FunnelSteps returns the scope's records made in [from, to), by
	// time, for ComputeFunnel.
	FunnelSteps(ctx context.Context, scope Scope, from, to time.Time) ([]FunnelStep, error)
}
