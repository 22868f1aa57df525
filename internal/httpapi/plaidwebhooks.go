package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"banklink"
	"banklink/internal/linking"
	"banklink/internal/plaid"
)

// PlaidWebhookPath is where Plaid's webhooks are received. Plaid calls it,
// so it takes no API key: every request must carry a valid
// Plaid-Verification JWT instead. Set the Plaid provider's webhook URL
// (BANKLINK_PLAID_WEBHOOK_URL) to this path on banklink's public URL.
const PlaidWebhookPath = "/providers/plaid/webhooks"

// MaxPlaidWebhookBytes bounds a Plaid webhook's body: Plaid's are a few
// hundred bytes.
const MaxPlaidWebhookBytes = 64 << 10

// PlaidWebhookVerifier verifies and decodes Plaid's webhooks
// (*plaid.Provider).
type PlaidWebhookVerifier interface {
	VerifyWebhook(ctx context.Context, header http.Header, body []byte) (*plaid.Webhook, error)
}

// Aggregations runs the aggregations webhooks ask for
// (*aggregation.Runner).
type Aggregations interface {
	// Start records a durable request to aggregate a connection and
	// aggregates it in the background.
	Start(ctx context.Context, scope banklink.Scope, connectionID string) error
	// RecordFailure records a failure the provider reported as a failed
	// aggregation would.
	RecordFailure(ctx context.Context, scope banklink.Scope, connectionID string, cause error) error
}

// RegisterPlaidWebhooks adds POST PlaidWebhookPath, which receives
// Plaid's Item webhooks, verified by v, and acts on the connections
// holding the Item. Register it only when the Plaid provider is
// configured.
func (s *Server) RegisterPlaidWebhooks(v PlaidWebhookVerifier, aggs Aggregations) {
	s.route("POST "+PlaidWebhookPath, s.plaidWebhook(v, aggs))
}

func (s *Server) plaidWebhook(v PlaidWebhookVerifier, aggs Aggregations) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxPlaidWebhookBytes))
		if _, tooBig := errors.AsType[*http.MaxBytesError](err); tooBig {
			return banklink.Errorf(banklink.EBADREQUEST, "Request body is larger than the %d-byte limit.", MaxPlaidWebhookBytes)
		}
		if err != nil {
			return banklink.Errorf(banklink.EBADREQUEST, "Could not read the request body.")
		}
		hook, err := v.VerifyWebhook(r.Context(), r.Header, body)
		switch code := banklink.ErrorCode(err); {
		case err == nil:
		case code == banklink.EUNAUTHORIZED:
			// Which check failed is for banklink's log only.
			s.Log.Info("plaid webhook rejected", slog.String("request_id", requestIDFrom(r.Context())), slog.String("why", banklink.ErrorMessage(err)))
			return &banklink.Error{Code: banklink.EUNAUTHORIZED, Reason: "INVALID_PLAID_SIGNATURE",
				Message: "Missing, invalid or expired Plaid-Verification signature."}
		case code == banklink.EBADREQUEST:
			return err
		default:
			// Plaid's verification key could not be fetched: Plaid
			// retries a webhook that fails.
			s.Log.Warn("plaid webhook not verified", slog.String("request_id", requestIDFrom(r.Context())), slog.Any("err", err))
			return &banklink.Error{Code: banklink.EUNAVAILABLE, Retryable: true, Reason: "VERIFICATION_UNAVAILABLE",
				Message: "The webhook could not be verified right now; retry later.", Err: err}
		}
		if err := s.handlePlaidItemEvent(r.Context(), hook, aggs); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]string{"requestId": requestIDFrom(r.Context())})
		return nil
	}
}

// handlePlaidItemEvent acts on the connections holding the webhook's
// Item. Only connections that completed and were not deleted or
// superseded by a newer connection of the same login (INACTIVE_DUPLICATE)
// are touched. Every connection is tried; the first failure is returned,
// so that Plaid sends the webhook again.
func (s *Server) handlePlaidItemEvent(ctx context.Context, hook *plaid.Webhook, aggs Aggregations) error {
	ev := hook.ItemEvent()
	attrs := []any{slog.String("request_id", requestIDFrom(ctx)), slog.String("webhook_type", hook.Type), slog.String("webhook_code", hook.Code)}
	if ev.Kind == plaid.ItemIgnored {
		s.Log.Debug("plaid webhook ignored", attrs...)
		return nil
	}
	attrs = append(attrs, slog.String("item_id", hook.ItemID))
	conns, err := s.Store.FindConnectionsByProviderLogin(ctx, plaid.ProviderType, hook.ItemID)
	if err != nil {
		return err
	}
	if len(conns) == 0 {
		s.Log.Info("plaid webhook for an Item no connection holds", attrs...)
		return nil
	}
	now := s.now()
	var first error
	for _, c := range conns {
		did, err := s.applyPlaidItemEvent(ctx, ev, c, aggs, now)
		if err != nil {
			s.Log.Warn("plaid webhook", append(attrs, slog.String("connection_id", c.ID), slog.Any("err", err))...)
			if first == nil {
				first = err
			}
			continue
		}
		if did != "" {
			s.Log.Info("plaid webhook", append(attrs, slog.String("connection_id", c.ID), slog.String("action", did))...)
		}
	}
	return first
}

// applyPlaidItemEvent acts on one connection holding the Item and says
// what it did ("" for nothing).
func (s *Server) applyPlaidItemEvent(ctx context.Context, ev plaid.ItemEvent, c *banklink.Connection, aggs Aggregations, now time.Time) (string, error) {
	scope := banklink.Scope{AccountID: c.AccountID, Environment: c.Environment}
	status := c.EffectiveStatus(now)
	if !status.Linked() || c.StatusReason == "INACTIVE_DUPLICATE" {
		return "", nil
	}
	switch ev.Kind {
	case plaid.ItemDataChanged:
		held := append(append([]banklink.Product{}, c.Products...), c.OptionalProducts...)
		if linking.Refreshable(status) && ev.Wants(held) {
			return "aggregation started", aggs.Start(ctx, scope, c.ID)
		}
	case plaid.ItemFailed:
		return "failure recorded", aggs.RecordFailure(ctx, scope, c.ID, ev.Err)
	case plaid.ItemExpiring:
		ok, err := s.Store.ChangeConnectionStatus(ctx, scope, c.ID, banklink.StatusChange{
			From: banklink.StatusActive, To: banklink.StatusActive, ToReason: "ACCESS_EXPIRING_SOON", At: now})
		if ok {
			return "access expiring soon", err
		}
		return "", err
	case plaid.ItemRepaired:
		if status == banklink.StatusReconnectRequired {
			ok, err := s.Store.ChangeConnectionStatus(ctx, scope, c.ID, banklink.StatusChange{
				From: c.Status, FromReason: c.StatusReason, To: banklink.StatusActive, At: now})
			if err != nil || !ok {
				return "", err
			}
			status = banklink.StatusActive
		}
		if linking.Refreshable(status) {
			return "repaired; aggregation started", aggs.Start(ctx, scope, c.ID)
		}
	}
	return "", nil
}
