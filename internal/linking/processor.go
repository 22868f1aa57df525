package linking

import (
	"context"
	"errors"
	"log/slog"

	"banklink"
	"banklink/webhook"
)

// CreateProcessorToken hands a financial account to a payment processor:
// the account's provider makes the token through its own API, banklink
// keeps it sealed and emits PROCESSOR_TOKEN_CREATED in the same
// transaction. serviceProvider, when given, must be the account's
// provider (Meld asks for it when an account is linked through several).
// Another tenant's account is NOT_FOUND, as any unknown id.
func (s *Service) CreateProcessorToken(ctx context.Context, scope banklink.Scope, financialAccountID, processor, serviceProvider string) (*banklink.ProcessorToken, error) {
	proc, err := banklink.ParseProcessor("processor", processor)
	if err != nil {
		return nil, err
	}
	fa, err := s.Store.FindFinancialAccountByID(ctx, scope, financialAccountID)
	if err != nil {
		return nil, err
	}
	conn, err := s.Store.FindConnectionByID(ctx, scope, fa.ConnectionID)
	if err != nil {
		return nil, err
	}
	if serviceProvider != "" && banklink.ProviderTypeOf(serviceProvider) != conn.ProviderType {
		return nil, banklink.FieldErrorf("serviceProvider", "is %s, but this account is linked through %s only", truncate(serviceProvider, 40), banklink.ProviderWireName(conn.ProviderType))
	}
	if !conn.Status.Linked() {
		return nil, banklink.Errorf(banklink.ECONFLICT, "The account's connection is %s: it holds no login to hand to a processor.", conn.Status)
	}
	var creator banklink.ProcessorTokenCreator
	if s.Providers != nil {
		creator = s.Providers.ProcessorTokenCreator(conn.ProviderType)
	}
	if creator == nil {
		return nil, &banklink.Error{Code: banklink.EBADREQUEST, Reason: "PROCESSOR_TOKENS_NOT_SUPPORTED",
			Message: banklink.ProviderWireName(conn.ProviderType) + " does not issue processor tokens; PLAID, MX and the sandbox providers do."}
	}
	creds, err := s.providerCredentials(ctx, scope, conn.ProviderType)
	if err != nil {
		return nil, err
	}
	token, err := creator.CreateProcessorToken(ctx, banklink.ProcessorTokenRequest{LoginID: conn.ProviderLoginID,
		ProviderAccountID: fa.ProviderAccountID, Processor: proc, ProviderCredentials: creds})
	if err != nil {
		return nil, providerRefusal(err, conn)
	}
	t := &banklink.ProcessorToken{ID: banklink.NewID(), AccountID: scope.AccountID, Environment: scope.Environment,
		FinancialAccountID: fa.ID, ConnectionID: conn.ID, ProviderType: conn.ProviderType, Processor: proc, Token: token, CreatedAt: s.now()}
	if err := s.Store.CreateProcessorToken(ctx, t, processorTokenEvent(ctx, webhook.ProcessorTokenCreated, conn, t)); err != nil {
		return nil, err
	}
	s.log().Info("processor token created", slog.String("processor_record_id", t.ID), slog.String("financial_account_id", fa.ID),
		slog.String("processor", string(proc)), slog.String("provider", conn.ProviderType))
	return t, nil
}

// RevokeProcessorToken revokes token, a processor token of the financial
// account, in banklink: it is marked revoked and PROCESSOR_TOKEN_REVOKED
// is emitted. Neither Plaid nor MX has an endpoint revoking one
// processor token (Plaid's processor access ends with /item/remove, MX's
// with the member's deletion, both ending the whole connection), so the
// app tells its processor to discard the token; the event is its record.
func (s *Service) RevokeProcessorToken(ctx context.Context, scope banklink.Scope, financialAccountID, token string) (*banklink.ProcessorToken, error) {
	if token == "" {
		return nil, banklink.FieldErrorf("token", "is required: the processor token to revoke")
	}
	// The account and its connection name the event's customer; a
	// deleted connection's tokens can still be revoked.
	var conn *banklink.Connection
	if fa, err := s.Store.FindFinancialAccountByID(ctx, scope, financialAccountID); err == nil {
		conn, _ = s.Store.FindConnectionByID(ctx, scope, fa.ConnectionID)
	}
	t, err := s.Store.RevokeProcessorToken(ctx, scope, financialAccountID, token, s.now(), func(t *banklink.ProcessorToken) *banklink.Event {
		c := conn
		if c == nil {
			c = &banklink.Connection{ID: t.ConnectionID, ProviderType: t.ProviderType}
		}
		return processorTokenEvent(ctx, webhook.ProcessorTokenRevoked, c, t)
	})
	if err != nil {
		return nil, err
	}
	s.log().Info("processor token revoked", slog.String("processor_record_id", t.ID), slog.String("financial_account_id", t.FinancialAccountID))
	return t, nil
}

func processorTokenEvent(ctx context.Context, typ webhook.EventType, conn *banklink.Connection, t *banklink.ProcessorToken) *banklink.Event {
	p := banklink.ConnectionPayload(conn)
	p.FinancialAccountID, p.Processor, p.ProcessorTokenID = t.FinancialAccountID, string(t.Processor), t.ID
	return banklink.NewEvent(ctx, typ, p)
}

// providerRefusal turns a provider's refusal of a request about an
// existing connection into the app's terms: a login that needs the
// customer is a CONFLICT (repair the connection first), the rest is the
// provider's failure.
func providerRefusal(err error, conn *banklink.Connection) error {
	var pe *banklink.ProviderError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Reason {
	case banklink.LoginInvalidCredentials, banklink.LoginLocked, banklink.LoginOAuthDenied, banklink.LoginInvalidMFA:
		return &banklink.Error{Code: banklink.ECONFLICT, Reason: pe.Reason, Err: err,
			Message: banklink.ProviderWireName(conn.ProviderType) + " refused: the connection's login needs its customer (repair it with POST /bank-linking/connect/repair)."}
	}
	return &banklink.Error{Code: banklink.EPROVIDER, Reason: pe.Reason, Retryable: pe.Retryable, Err: err,
		Message: banklink.ProviderWireName(conn.ProviderType) + " could not do this now: " + pe.DisplayMessage}
}
