package linking

import (
	"context"
	"log/slog"
	"time"

	"banklink"
)

// Aggregations runs the aggregations provider events ask for
// (*aggregation.Runner).
type Aggregations interface {
	Runner
	// RecordFailure records a failure the provider reported as a failed
	// aggregation would.
	RecordFailure(ctx context.Context, scope banklink.Scope, connectionID string, cause error) error
}

// ReceiveProviderEvent acts on the connections holding the event's
// login, starting or recording through aggs. Only connections that
// completed and were not deleted or superseded by a newer connection of
// the same login (INACTIVE_DUPLICATE) are touched. Every connection is
// tried; the first failure is returned, so that the provider sends its
// webhook again.
func (s *Service) ReceiveProviderEvent(ctx context.Context, ev banklink.ProviderEvent, aggs Aggregations, logAttrs ...any) error {
	attrs := append(logAttrs, slog.String("provider", ev.ProviderType), slog.String("event", ev.Name))
	if ev.Kind == banklink.ProviderEventIgnored {
		s.log().Debug("provider event ignored", attrs...)
		return nil
	}
	attrs = append(attrs, slog.String("login_id", ev.LoginID))
	conns, err := s.Store.FindConnectionsByProviderLogin(ctx, ev.ProviderType, ev.LoginID)
	if err != nil {
		return err
	}
	if len(conns) == 0 {
		s.log().Info("provider event for a login no connection holds", attrs...)
		return nil
	}
	now := s.now()
	var first error
	for _, c := range conns {
		did, err := s.applyProviderEvent(ctx, ev, c, aggs, now)
		if err != nil {
			s.log().Warn("provider event", append(attrs, slog.String("connection_id", c.ID), slog.Any("err", err))...)
			if first == nil {
				first = err
			}
			continue
		}
		if did != "" {
			s.log().Info("provider event", append(attrs, slog.String("connection_id", c.ID), slog.String("action", did))...)
		}
	}
	return first
}

// applyProviderEvent acts on one connection holding the login and says
// what it did ("" for nothing).
func (s *Service) applyProviderEvent(ctx context.Context, ev banklink.ProviderEvent, c *banklink.Connection, aggs Aggregations, now time.Time) (string, error) {
	scope := banklink.Scope{AccountID: c.AccountID, Environment: c.Environment}
	status := c.EffectiveStatus(now)
	if !status.Linked() || c.StatusReason == "INACTIVE_DUPLICATE" {
		return "", nil
	}
	switch ev.Kind {
	case banklink.ProviderDataChanged:
		held := append(append([]banklink.Product{}, c.Products...), c.OptionalProducts...)
		if status.Refreshable() && ev.Wants(held) {
			return "aggregation started", aggs.Start(ctx, scope, c.ID)
		}
	case banklink.ProviderLoginFailed:
		return "failure recorded", aggs.RecordFailure(ctx, scope, c.ID, ev.Err)
	case banklink.ProviderAccessExpiring:
		ok, err := s.Store.ChangeConnectionStatus(ctx, scope, c.ID, banklink.StatusChange{
			From: banklink.StatusActive, To: banklink.StatusActive, ToReason: "ACCESS_EXPIRING_SOON", At: now})
		if ok {
			return "access expiring soon", err
		}
		return "", err
	case banklink.ProviderLoginRepaired:
		if status == banklink.StatusReconnectRequired {
			ok, err := s.Store.ChangeConnectionStatus(ctx, scope, c.ID, banklink.StatusChange{
				From: c.Status, FromReason: c.StatusReason, To: banklink.StatusActive, At: now})
			if err != nil || !ok {
				return "", err
			}
			status = banklink.StatusActive
		}
		if status.Refreshable() {
			return "repaired; aggregation started", aggs.Start(ctx, scope, c.ID)
		}
	}
	return "", nil
}
