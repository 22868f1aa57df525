package httpapi

import (
	"errors"
	"io"
	"log/slog"
	"net/http"

	"banklink"
	"banklink/internal/linking"
)

// ProviderWebhookPath is where each provider's webhooks are received, by
// provider type: Plaid's at /providers/plaid/webhooks, Finicity's at
// /providers/finicity/webhooks. The provider calls it, so it takes no API
// key: the provider's own signature (verified by its WebhookReceiver) is
// the authentication.
const ProviderWebhookPath = "/providers/{provider}/webhooks"

// PlaidWebhookPath is ProviderWebhookPath for Plaid. Set the Plaid
// provider's webhook URL (BANKLINK_PLAID_WEBHOOK_URL) to this path on
// banklink's public URL.
const PlaidWebhookPath = "/providers/plaid/webhooks"

// MaxProviderWebhookBytes bounds a provider webhook's body: Plaid's and
// Finicity's are a few hundred bytes to a few kilobytes.
const MaxProviderWebhookBytes = 64 << 10

// MaxPlaidWebhookBytes is MaxProviderWebhookBytes (its older name).
const MaxPlaidWebhookBytes = MaxProviderWebhookBytes

// WebhookReceivers finds the webhook receiver of a provider type, nil
// when that provider is not configured or sends no webhooks
// (*providers.Registry is one).
type WebhookReceivers interface {
	WebhookReceiver(providerType string) banklink.WebhookReceiver
}

// RegisterProviderWebhooks adds POST ProviderWebhookPath: a provider's
// webhook is verified and decoded by that provider's receiver from rs,
// and linking acts on the connections its events name through aggs
// (*aggregation.Runner). A provider with no receiver is a 404, as if the
// route did not exist.
func (s *Server) RegisterProviderWebhooks(rs WebhookReceivers, aggs linking.Aggregations) {
	s.route("POST "+ProviderWebhookPath, s.providerWebhook(rs, aggs))
}

// RegisterPlaidWebhooks adds the webhook route for one receiver, Plaid's
// (tests that build a Plaid provider by hand use it).
func (s *Server) RegisterPlaidWebhooks(v banklink.WebhookReceiver, aggs linking.Aggregations) {
	s.RegisterProviderWebhooks(receiverOf{"plaid": v}, aggs)
}

// receiverOf is a fixed set of receivers by provider type.
type receiverOf map[string]banklink.WebhookReceiver

func (m receiverOf) WebhookReceiver(t string) banklink.WebhookReceiver { return m[t] }

func (s *Server) providerWebhook(rs WebhookReceivers, aggs linking.Aggregations) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		provider := r.PathValue("provider")
		v := rs.WebhookReceiver(provider)
		if v == nil {
			return banklink.Errorf(banklink.ENOTFOUND, "No provider %q receives webhooks on this server.", provider)
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxProviderWebhookBytes))
		if _, tooBig := errors.AsType[*http.MaxBytesError](err); tooBig {
			return banklink.Errorf(banklink.EBADREQUEST, "Request body is larger than the %d-byte limit.", MaxProviderWebhookBytes)
		}
		if err != nil {
			return banklink.Errorf(banklink.EBADREQUEST, "Could not read the request body.")
		}
		rid := slog.String("request_id", requestIDFrom(r.Context()))
		events, err := v.ReceiveWebhook(r.Context(), r.Header, body)
		switch code := banklink.ErrorCode(err); {
		case err == nil:
		case code == banklink.EUNAUTHORIZED:
			// Which check failed is for banklink's log only; the caller
			// learns the reason the provider's receiver gave (Plaid's:
			// INVALID_PLAID_SIGNATURE), nothing more.
			s.Log.Info("provider webhook rejected", rid, slog.String("provider", provider), slog.String("why", banklink.ErrorMessage(err)))
			reason := "INVALID_SIGNATURE"
			if e, ok := errors.AsType[*banklink.Error](err); ok && e.Reason != "" {
				reason = e.Reason
			}
			return &banklink.Error{Code: banklink.EUNAUTHORIZED, Reason: reason,
				Message: "Missing, invalid or expired webhook signature."}
		case code == banklink.EBADREQUEST:
			return err
		default:
			// The provider's verification key could not be fetched: the
			// provider retries a webhook that fails.
			s.Log.Warn("provider webhook not verified", rid, slog.String("provider", provider), slog.Any("err", err))
			return &banklink.Error{Code: banklink.EUNAVAILABLE, Retryable: true, Reason: "VERIFICATION_UNAVAILABLE",
				Message: "The webhook could not be verified right now; retry later.", Err: err}
		}
		// Every event is acted on; a failure is returned (after the rest)
		// so that the provider sends the webhook again.
		var first error
		for _, ev := range events {
			if err := s.Linking.ReceiveProviderEvent(r.Context(), ev, aggs, rid); err != nil && first == nil {
				first = err
			}
		}
		if first != nil {
			return first
		}
		writeJSON(w, http.StatusOK, map[string]string{"requestId": requestIDFrom(r.Context())})
		return nil
	}
}
