package linking

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"banklink"
)

// RecordActivity appends one step of a widget session to the activity
// log: e's connection, institution and provider default to the
// session's. A widget error at an institution is also the funnel's
// latest failure there, the reason a customer who stops there dropped
// off. Like the funnel, the log is best effort: a failure is logged,
// never returned.
func (s *Service) RecordActivity(ctx context.Context, sess *banklink.ConnectSession, repair bool, e banklink.ActivityEvent) {
	if sess != nil {
		e.ConnectionID = sess.ConnectionID
		if e.InstitutionID == "" {
			e.InstitutionID = sess.InstitutionID
		}
		if e.Provider == "" {
			e.Provider = sess.ProviderType
		}
	}
	e.Repair = repair
	if e.At.IsZero() {
		e.At = s.now()
	}
	// Nobody waits for the log: the store may write it after the
	// customer's answer (banklink.BestEffort).
	ctx = banklink.BestEffort(ctx)
	if err := s.Store.RecordActivity(ctx, &e); err != nil {
		s.log().Warn("record activity", slog.String("connection_id", e.ConnectionID), slog.String("action", e.Action), slog.Any("err", err))
	}
	if e.Action == banklink.ActivityWidgetError && e.InstitutionID != "" {
		err := s.Store.RecordFunnelStep(ctx, banklink.FunnelStep{ConnectionID: e.ConnectionID, Step: banklink.FunnelFailed,
			InstitutionID: e.InstitutionID, Provider: e.Provider, Reason: e.Reason, At: e.At})
		if err != nil {
			s.log().Warn("record funnel step", slog.String("connection_id", e.ConnectionID), slog.String("step", banklink.FunnelFailed), slog.Any("err", err))
		}
	}
}

// WidgetError describes err, the failure of a widget request at login
// step (banklink.LoginStep*, or "" outside a login), as an activity log
// entry, Meld's INSTITUTION_CONNECTION_WIDGET_ERROR: a provider's failure
// (or, when initializing, its failure to start a login), or banklink's
// own. Errors in the customer's request that nothing was tried for (a
// malformed body, a step out of order, a lost race between two tabs)
// are not activity: ok is false.
func WidgetError(err error, step string, initializing bool) (e banklink.ActivityEvent, ok bool) {
	e = banklink.ActivityEvent{Action: banklink.ActivityWidgetError, EventType: banklink.ActivityProviderFailure, Step: step}
	if initializing {
		e.EventType = banklink.ActivityProviderInitFailure
	}
	if pe, isPE := errors.AsType[*banklink.ProviderError](err); isPE {
		e.Reason, e.Message = pe.Reason, pe.DisplayMessage
		return e, true
	}
	be, isBE := errors.AsType[*banklink.Error](err)
	if !isBE {
		e.EventType, e.Reason, e.Message = banklink.ActivityInternalFailure, banklink.EINTERNAL, "Internal error."
		return e, true
	}
	switch be.Code {
	case banklink.ELOGIN, banklink.EPROVIDER:
		e.Reason, e.Message = be.Reason, be.Message
		if e.Reason == "" {
			e.Reason = be.Code
		}
		return e, true
	case banklink.EUNAVAILABLE, banklink.EINTERNAL:
		e.EventType, e.Reason, e.Message = banklink.ActivityInternalFailure, be.Code, be.Message
		return e, true
	}
	return e, false
}

// PruneActivity deletes activity older than retention, in batches, and
// returns how many entries it deleted.
func (s *Service) PruneActivity(ctx context.Context, retention time.Duration) (int, error) {
	before := s.now().Add(-retention)
	total := 0
	for {
		n, err := s.Store.PruneActivity(ctx, before, pruneBatch)
		total += n
		if err != nil || n < pruneBatch {
			return total, err
		}
	}
}

const pruneBatch = 1000

// PruneActivityEvery prunes activity older than retention now and then
// every interval until ctx ends.
func (s *Service) PruneActivityEvery(ctx context.Context, interval, retention time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.PruneActivity(ctx, retention); err != nil && ctx.Err() == nil {
			s.log().Warn("prune activity", slog.Any("err", err))
		} else if n > 0 {
			s.log().Info("pruned activity", slog.Int("entries", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
