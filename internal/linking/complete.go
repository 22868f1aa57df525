package linking

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"banklink"
)

// Token failure reasons of a connect token that no longer opens its
// connection.
const (
	ReasonTokenUsed         = "TOKEN_USED"
	ReasonConnectionExpired = "CONNECTION_EXPIRED"
)

func tokenError(reason, msg string) error {
	return &banklink.Error{Code: banklink.EUNAUTHORIZED, Reason: reason, Message: msg}
}

// Link is a verified connect token's hold on its connection: the scope,
// the connection as read when the token was checked, and whether the
// token repairs the connection completed at RepairOf (Unix microseconds).
type Link struct {
	Scope      banklink.Scope
	Connection *banklink.Connection
	Repair     bool
	RepairOf   int64
}

// CheckOpen reports whether l's connection still takes a login: an
// IN_PROGRESS connection before it expires, or, for a repair token, the
// still-broken connection the token was made for. Otherwise the token
// is spent (UNAUTHORIZED with ReasonTokenUsed or
// ReasonConnectionExpired).
func CheckOpen(l *Link, now time.Time) error {
	conn := l.Connection
	if l.Repair {
		if !conn.Repairable() || conn.CompletedMicros() != l.RepairOf {
			return tokenError(ReasonTokenUsed, "This link has already been used. Please return to the app.")
		}
		return nil
	}
	if conn.Status != banklink.StatusInProgress {
		return tokenError(ReasonTokenUsed, "This link has already been used. Please return to the app.")
	}
	if !conn.ExpiresAt.After(now) {
		return tokenError(ReasonConnectionExpired, "This link has expired. Please return to the app and start again.")
	}
	return nil
}

// CompleteRequest is the customer's choice of accounts.
type CompleteRequest struct {
	AccountIDs []string
	Consent    bool
}

// Completed is a completed (or repaired) connection: what was stored.
type Completed struct {
	Connection  *banklink.Connection
	Institution *banklink.Institution
	Accounts    []banklink.ProviderAccount
}

// OutOfDate is the conflict of a widget step that another window, tab or
// replica finished first.
func OutOfDate() error {
	return banklink.Errorf(banklink.ECONFLICT, "This step was already completed in another window or tab. Reload to continue.")
}

// CompleteLink finishes l's connection with the accounts the customer
// chose and starts its aggregation. Saving the choice and completing the
// connection are one store transaction, so of concurrent submits (a
// double click, two tabs, two replicas) exactly one completes. A submit
// that arrives after, or loses to, another is answered with the stored
// result when it chose the same accounts, and with CONFLICT when it
// chose others: those were not stored.
func (s *Service) CompleteLink(ctx context.Context, l *Link, req CompleteRequest) (*Completed, error) {
	sess, err := s.Store.FindConnectSession(ctx, l.Connection.ID)
	if banklink.ErrorCode(err) == banklink.ENOTFOUND {
		return nil, banklink.Errorf(banklink.ECONFLICT, "Choose an institution and log in first.")
	}
	if err != nil {
		return nil, err
	}
	in, ok := s.Directory.Current().ByID(sess.InstitutionID)
	if !ok {
		return nil, banklink.Errorf(banklink.ENOTFOUND, "Institution not found.")
	}
	if err := CheckOpen(l, s.now()); err != nil {
		if completedBy(l, l.Connection, sess) {
			return replayCompletion(l.Connection, in, sess, req.AccountIDs)
		}
		return nil, err
	}
	if sess.Step != banklink.StepAccounts {
		// A concurrent submit may have completed the connection between
		// the request's read of it (still open) and this read of the
		// session: answer as for any submit that lost that race.
		if sess.Step == banklink.StepDone {
			if conn, ferr := s.Store.FindConnectionByID(ctx, l.Scope, l.Connection.ID); ferr == nil && completedBy(l, conn, sess) {
				return replayCompletion(conn, in, sess, req.AccountIDs)
			}
		}
		return nil, banklink.Errorf(banklink.ECONFLICT, "Log in to the institution before choosing accounts.")
	}
	if !req.Consent {
		return nil, banklink.FieldErrorf("consent", "must be true: the customer has to agree to share the listed data")
	}
	var chosen []banklink.ProviderAccount
	for _, a := range sess.Accounts {
		if slices.Contains(req.AccountIDs, a.ID) {
			chosen = append(chosen, a)
		}
	}
	if len(chosen) == 0 || len(chosen) != len(req.AccountIDs) {
		return nil, banklink.FieldErrorf("accountIds", "must list at least one of the offered accounts, and only those")
	}
	completion := banklink.Completion{InstitutionID: in.ID, ProviderType: sess.ProviderType, LoginID: sess.LoginID, At: s.now(), Routing: sess.Routing}
	if sess.Consent != nil {
		// What the customer declined on the consent screen leaves the
		// connection as it completes: never aggregated, never listed.
		completion.Declined = sess.Consent.Declined
	}
	var repairOf int64
	if l.Repair {
		repairOf = l.RepairOf
	}
	offered := len(sess.Accounts)
	sess.Step, sess.Accounts, sess.UpdatedAt = banklink.StepDone, chosen, s.now()
	conn, err := s.Store.CompleteConnectSession(ctx, l.Scope, sess, completion, repairOf)
	if banklink.ErrorCode(err) == banklink.ECONFLICT {
		// Another submit completed first, or the session moved on since
		// it was read: nothing of this one was stored.
		won, serr := s.Store.FindConnectSession(ctx, l.Connection.ID)
		conn, ferr := s.Store.FindConnectionByID(ctx, l.Scope, l.Connection.ID)
		if serr == nil && ferr == nil {
			if completedBy(l, conn, won) {
				return replayCompletion(conn, in, won, req.AccountIDs)
			}
			// Expired meanwhile, say.
			if err := CheckOpen(&Link{Scope: l.Scope, Connection: conn, Repair: l.Repair, RepairOf: l.RepairOf}, s.now()); err != nil {
				return nil, err
			}
		}
		return nil, OutOfDate()
	}
	if err != nil {
		return nil, err
	}
	s.TrackFunnel(ctx, sess, banklink.FunnelCompleted)
	s.RecordActivity(ctx, sess, l.Repair, banklink.ActivityEvent{Action: banklink.ActivityConsentGiven,
		Message: consentMessage(len(chosen), offered, completion.Declined)})
	s.RecordActivity(ctx, sess, l.Repair, banklink.ActivityEvent{Action: banklink.ActivityCompleted})
	// Completing counted the aggregation work in the same transaction,
	// so it is durable even if it cannot start here and now.
	if s.Runner != nil {
		if err := s.Runner.Start(ctx, l.Scope, conn.ID); err != nil {
			s.log().Warn("start aggregation", "connection_id", conn.ID, "err", err)
		}
	}
	s.log().Info("connection completed", "connection_id", conn.ID, "institution_id", in.ID, "provider", sess.ProviderType, "accounts", len(sess.Accounts))
	return &Completed{Connection: conn, Institution: in, Accounts: sess.Accounts}, nil
}

// completedBy reports whether sess finished conn: completed it or, for a
// repair token, repaired it since the token was made.
func completedBy(l *Link, conn *banklink.Connection, sess *banklink.ConnectSession) bool {
	return sess.Step == banklink.StepDone && conn.ProviderLoginID == sess.LoginID && conn.CompletedAt != nil &&
		(!l.Repair || conn.CompletedMicros() != l.RepairOf)
}

// replayCompletion answers a submit for a connection done already: with
// the stored result when it chose the accounts that were stored (a double
// click, a retry after a lost answer), else with CONFLICT, so that a
// success always tells what was stored.
func replayCompletion(conn *banklink.Connection, in *banklink.Institution, done *banklink.ConnectSession, accountIDs []string) (*Completed, error) {
	stored := make([]string, 0, len(done.Accounts))
	for _, a := range done.Accounts {
		stored = append(stored, a.ID)
	}
	asked := slices.Clone(accountIDs)
	slices.Sort(stored)
	slices.Sort(asked)
	if !slices.Equal(stored, slices.Compact(asked)) {
		return nil, banklink.Errorf(banklink.ECONFLICT, "This connection was already completed with other accounts. Please return to the app.")
	}
	return &Completed{Connection: conn, Institution: in, Accounts: done.Accounts}, nil
}

// TrackFunnel records that sess reached step (and, when it opened on an
// institution connect/start named, that the institution was chosen).
// The funnel is analytics: a failure is logged, never returned.
func (s *Service) TrackFunnel(ctx context.Context, sess *banklink.ConnectSession, step string) {
	ctx = banklink.BestEffort(ctx)
	steps := []string{step}
	if step == banklink.FunnelOpened && sess.InstitutionID != "" {
		// connect/start named the institution: it was chosen for the
		// customer, who never sees the picker.
		steps = append(steps, banklink.FunnelChosen)
	}
	for _, st := range steps {
		err := s.Store.RecordFunnelStep(ctx, banklink.FunnelStep{ConnectionID: sess.ConnectionID, Step: st,
			InstitutionID: sess.InstitutionID, Provider: sess.ProviderType, At: s.now()})
		if err != nil {
			s.log().Warn("record funnel step", slog.String("connection_id", sess.ConnectionID), slog.String("step", st), slog.Any("err", err))
		}
	}
}

// consentMessage says what the customer agreed to, for the activity log.
func consentMessage(chosen, offered int, declined []banklink.Product) string {
	msg := fmt.Sprintf("Agreed to share %d of %d accounts.", chosen, offered)
	if len(declined) > 0 {
		msg += fmt.Sprintf(" Declined %v.", declined)
	}
	return msg
}
