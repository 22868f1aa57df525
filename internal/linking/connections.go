package linking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"banklink"
)

// Providers finds the capabilities of the providers running on this
// deployment, by provider type; nil when the provider lacks it.
type Providers interface {
	LoginRemover(providerType string) banklink.LoginRemover
	RefreshLimiter(providerType string) banklink.RefreshLimiter
	// CredentialKeys are the credential keys the provider takes
	// (banklink.CredentialKeyer); false when it takes any.
	CredentialKeys(providerType string) ([]string, bool)
	ProcessorTokenCreator(providerType string) banklink.ProcessorTokenCreator
	LoginImporter(providerType string) banklink.LoginImporter
}

// DefaultRefreshInterval is the least time between two accepted refreshes
// of one connection.
const DefaultRefreshInterval = time.Minute

// RetryAfter is a refusal that says when to try again: an adapter shows
// Wait (HTTP's Retry-After); the error itself is in the chain.
type RetryAfter struct {
	Err  error
	Wait time.Duration
}

func (e *RetryAfter) Error() string { return e.Err.Error() }
func (e *RetryAfter) Unwrap() error { return e.Err }

func retryAfter(err error, at, now time.Time) error {
	return &RetryAfter{Err: err, Wait: at.Sub(now)}
}

// DeleteConnection deletes a connection and revokes its login at the
// provider. The connection is gone in banklink whatever the provider
// says; a failed revocation is logged for the operator to retry.
func (s *Service) DeleteConnection(ctx context.Context, scope banklink.Scope, id string) (*banklink.Connection, error) {
	c, err := s.Store.DeleteConnection(ctx, scope, id, s.now())
	if err != nil {
		return nil, err
	}
	var rm banklink.LoginRemover
	if s.Providers != nil {
		rm = s.Providers.LoginRemover(c.ProviderType)
	}
	if rm != nil && c.ProviderLoginID != "" {
		creds, err := s.providerCredentials(ctx, scope, c.ProviderType)
		if err == nil {
			err = rm.RemoveLogin(ctx, c.ProviderLoginID, creds)
		}
		if err != nil {
			s.log().Warn("revoke login at provider", slog.String("connection_id", c.ID), slog.String("provider", c.ProviderType), slog.Any("err", err))
		}
	}
	return c, nil
}

// RefreshConnection accepts a refresh of the connection's products (all
// it holds when products is empty) and starts its aggregation. It refuses
// a connection that cannot be refreshed (CONFLICT), and one refreshed
// too recently, by banklink or by its provider (RATE_LIMITED, wrapped in
// a *RetryAfter when the wait is known).
func (s *Service) RefreshConnection(ctx context.Context, scope banklink.Scope, id string, products []banklink.Product) error {
	now := s.now()
	c, err := s.Store.FindConnectionByID(ctx, scope, id)
	if err != nil {
		return err
	}
	held := append(append([]banklink.Product{}, c.Products...), c.OptionalProducts...)
	for _, p := range products {
		if !slices.Contains(held, p) {
			return banklink.FieldErrorf("products", "contains %s, which this connection does not hold; add it with POST /bank-linking/connections/%s/update", p, c.ID)
		}
	}
	if st := c.EffectiveStatus(now); !st.Refreshable() {
		hint := ""
		if st == banklink.StatusReconnectRequired {
			hint = " Repair it with POST /bank-linking/connect/repair."
		}
		return banklink.Errorf(banklink.ECONFLICT, "A connection in status %s cannot be refreshed.%s", st, hint)
	}
	if err := s.checkProviderLimit(ctx, c, now); err != nil {
		return err
	}
	interval := s.Config.RefreshInterval
	if interval <= 0 {
		interval = DefaultRefreshInterval
	}
	next, err := s.Store.AcceptRefresh(ctx, scope, c.ID, now, interval)
	if banklink.ErrorCode(err) == banklink.ERATELIMITED {
		return retryAfter(err, next, now)
	}
	if err != nil {
		return err
	}
	// AcceptRefresh counted the aggregation work with the acceptance, so
	// it is durable whether or not it can start here and now.
	if s.Runner != nil {
		if err := s.Runner.Start(ctx, scope, c.ID); err != nil {
			s.log().Warn("start refresh", slog.String("connection_id", c.ID), slog.Any("err", err))
		}
	}
	return nil
}

// checkProviderLimit refuses a refresh the connection's provider would not
// perform yet (MX aggregates a member at most every few hours), saying
// when it will. A provider that cannot be asked does not block the
// refresh: the aggregation reports what went wrong.
func (s *Service) checkProviderLimit(ctx context.Context, c *banklink.Connection, now time.Time) error {
	var lim banklink.RefreshLimiter
	if s.Providers != nil {
		lim = s.Providers.RefreshLimiter(c.ProviderType)
	}
	if lim == nil || c.ProviderLoginID == "" {
		return nil
	}
	creds, err := s.providerCredentials(ctx, banklink.Scope{AccountID: c.AccountID, Environment: c.Environment}, c.ProviderType)
	if err != nil {
		return err
	}
	next, err := lim.NextRefresh(ctx, c.ProviderLoginID, creds, now)
	if banklink.ErrorCode(err) == banklink.ERATELIMITED {
		// The provider's own request limit: it says when.
		if at, ok := retryAt(err); ok {
			return retryAfter(err, at, now)
		}
		return err
	}
	if err != nil {
		s.log().Warn("ask provider for its refresh limit", slog.String("connection_id", c.ID), slog.String("provider", c.ProviderType), slog.Any("err", err))
		return nil
	}
	if !next.After(now) {
		return nil
	}
	return retryAfter(&banklink.Error{Code: banklink.ERATELIMITED, Reason: "PROVIDER_REFRESH_LIMIT", Retryable: true,
		Message: fmt.Sprintf("%s aggregated this connection recently and will not refresh it again before %s; the data already held is that fresh.",
			banklink.ProviderWireName(c.ProviderType), next.UTC().Format(time.RFC3339))}, next, now)
}

// retryAt finds when to retry in an error's chain: a provider's rate limit
// error says so with a RetryAfterTime method.
func retryAt(err error) (time.Time, bool) {
	var r interface{ RetryAfterTime() time.Time }
	if errors.As(err, &r) {
		return r.RetryAfterTime(), true
	}
	return time.Time{}, false
}

// providerCredentials returns the account's own credentials for a
// provider (its provider configuration), nil when it uses the
// deployment's.
func (s *Service) providerCredentials(ctx context.Context, scope banklink.Scope, providerType string) (map[string]string, error) {
	configs, err := s.Store.FindProviderConfigs(ctx, scope)
	if err != nil {
		return nil, err
	}
	return banklink.CredentialsFor(configs, providerType), nil
}

// AddProducts adds products to a connection. They become optional
// products (the institution may not support them) and a refresh fetches
// them, unless the connection waits for a repair.
func (s *Service) AddProducts(ctx context.Context, scope banklink.Scope, id string, products []banklink.Product) error {
	if len(products) == 0 {
		return banklink.FieldErrorf("products", "must list at least one product to add")
	}
	c, err := s.Store.FindConnectionByID(ctx, scope, id)
	if err != nil {
		return err
	}
	held := append(append([]banklink.Product{}, c.Products...), c.OptionalProducts...)
	for _, p := range products {
		if slices.Contains(held, p) {
			return banklink.FieldErrorf("products", "contains %s, which the connection already holds", p)
		}
	}
	if st := c.EffectiveStatus(s.now()); !st.Refreshable() && st != banklink.StatusReconnectRequired {
		return banklink.Errorf(banklink.ECONFLICT, "A connection in status %s cannot be updated.", st)
	}
	if _, err := s.Store.AddOptionalProducts(ctx, scope, c.ID, products, s.now()); err != nil {
		return err
	}
	if s.Runner != nil && c.Status != banklink.StatusReconnectRequired {
		if err := s.Runner.Start(ctx, scope, c.ID); err != nil {
			return err
		}
	}
	return nil
}
