package httpapi

import (
	"errors"
	"io"
	"log/slog"
	"net/http"

	"banklink"
	"banklink/internal/linking"
)

// PlaidWebhookPath is where Plaid's webhooks are received. Plaid calls it,
// so it takes no API key: every request must carry a valid
// Plaid-Verification JWT instead. Set the Plaid provider's webhook URL
// (BANKLINK_PLAID_WEBHOOK_URL) to this path on banklink's public URL.
const PlaidWebhookPath = "/providers/plaid/webhooks"

// MaxPlaidWebhookBytes bounds a Plaid webhook's body: Plaid's are a few
// hundred bytes.
const MaxPlaidWebhookBytes = 64 << 10

// RegisterPlaidWebhooks adds POST PlaidWebhookPath, which receives
// Plaid's Item webhooks, verified and decoded by v (*plaid.Provider),
// and has linking act on the connections holding the Item through aggs
// (*aggregation.Runner). Register it only when the Plaid provider is
// configured.
func (s *Server) RegisterPlaidWebhooks(v banklink.WebhookReceiver, aggs linking.Aggregations) {
	s.route("POST "+PlaidWebhookPath, s.plaidWebhook(v, aggs))
}

func (s *Server) plaidWebhook(v banklink.WebhookReceiver, aggs linking.Aggregations) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxPlaidWebhookBytes))
		if _, tooBig := errors.AsType[*http.MaxBytesError](err); tooBig {
			return banklink.Errorf(banklink.EBADREQUEST, "Request body is larger than the %d-byte limit.", MaxPlaidWebhookBytes)
		}
		if err != nil {
			return banklink.Errorf(banklink.EBADREQUEST, "Could not read the request body.")
		}
		events, err := v.ReceiveWebhook(r.Context(), r.Header, body)
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
		// Every event is acted on; a failure is returned (after the rest)
		// so that Plaid sends the webhook again.
		var first error
		for _, ev := range events {
			if err := s.Linking.ReceiveProviderEvent(r.Context(), ev, aggs, slog.String("request_id", requestIDFrom(r.Context()))); err != nil && first == nil {
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
