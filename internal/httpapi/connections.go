package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"banklink"
)

// ConnectionJSON is the wire form of a connection, as Meld names it.
type ConnectionJSON struct {
	ID                          string             `json:"id"`
	Key                         string             `json:"key"`
	AccountID                   string             `json:"accountId"`
	CustomerID                  string             `json:"customerId"`
	ExternalCustomerID          string             `json:"externalCustomerId"`
	InstitutionID               *string            `json:"institutionId"`
	InstitutionName             *string            `json:"institutionName"`
	Products                    []banklink.Product `json:"products"`
	OptionalProducts            []banklink.Product `json:"optionalProducts"`
	Regions                     []banklink.Region  `json:"regions"`
	Status                      string             `json:"status"`
	StatusReason                *string            `json:"statusReason"`
	ServiceProviderDetails      map[string]string  `json:"serviceProviderDetails"`
	CreatedAt                   string             `json:"createdAt"`
	CompletedAt                 *string            `json:"completedAt"`
	SuccessfullyAggregatedAt    *string            `json:"successfullyAggregatedAt"`
	DuplicateConnectionIDs      []string           `json:"duplicateConnectionIds"`
	ActiveDuplicateConnectionID *string            `json:"activeDuplicateConnectionId"`
	// RequestedServiceProvider is the provider connect/start named.
	RequestedServiceProvider *string `json:"requestedServiceProvider,omitempty"`
	// RoutingDecision says which provider routing chose and why.
	RoutingDecision *RoutingDecisionJSON `json:"routingDecision,omitempty"`
}

// RoutingDecisionJSON is a connection's routing decision on the wire, with
// provider names in Meld's form (SANDBOX_B).
type RoutingDecisionJSON struct {
	ServiceProvider string            `json:"serviceProvider"`
	Reason          string            `json:"reason"`
	Skipped         []RoutingSkipJSON `json:"skipped"`
	DecidedAt       string            `json:"decidedAt"`
}

// RoutingSkipJSON is a provider routing passed over.
type RoutingSkipJSON struct {
	ServiceProvider string `json:"serviceProvider"`
	Reason          string `json:"reason"`
}

func routingDecisionJSON(d *banklink.RoutingDecision) *RoutingDecisionJSON {
	if d == nil {
		return nil
	}
	out := &RoutingDecisionJSON{ServiceProvider: banklink.ProviderWireName(d.Provider), Reason: d.Reason, Skipped: []RoutingSkipJSON{},
		DecidedAt: d.At.UTC().Format(TimestampFormat)}
	for _, s := range d.Skipped {
		out.Skipped = append(out.Skipped, RoutingSkipJSON{ServiceProvider: banklink.ProviderWireName(s.Provider), Reason: s.Reason})
	}
	return out
}

func timePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.UTC().Format(TimestampFormat)
	return &s
}

func connectionJSON(c *banklink.Connection, now time.Time) ConnectionJSON {
	out := ConnectionJSON{
		ID: c.ID, Key: c.Key, AccountID: c.AccountID, CustomerID: c.CustomerID, ExternalCustomerID: c.ExternalCustomerID,
		InstitutionID: strPtr(c.InstitutionID), InstitutionName: strPtr(c.InstitutionName),
		Products: nonNilProducts(c.Products), OptionalProducts: nonNilProducts(c.OptionalProducts), Regions: c.Regions,
		Status: string(c.EffectiveStatus(now)), StatusReason: strPtr(c.StatusReason),
		ServiceProviderDetails:      map[string]string{},
		CreatedAt:                   c.CreatedAt.UTC().Format(TimestampFormat),
		CompletedAt:                 timePtr(c.CompletedAt),
		SuccessfullyAggregatedAt:    timePtr(c.AggregatedAt),
		DuplicateConnectionIDs:      c.DuplicateConnectionIDs,
		ActiveDuplicateConnectionID: strPtr(c.ActiveDuplicateConnectionID),
		RoutingDecision:             routingDecisionJSON(c.RoutingDecision),
	}
	if c.RequestedProvider != "" {
		p := banklink.ProviderWireName(c.RequestedProvider)
		out.RequestedServiceProvider = &p
	}
	if out.Regions == nil {
		out.Regions = []banklink.Region{}
	}
	if c.ProviderType != "" {
		out.ServiceProviderDetails["serviceProvider"] = banklink.ProviderWireName(c.ProviderType)
		out.ServiceProviderDetails["serviceProviderConnectionId"] = c.ProviderLoginID
	}
	return out
}

func (s *Server) handleGetConnection(w http.ResponseWriter, r *http.Request) error {
	key := apiKeyFrom(r.Context())
	c, err := s.Store.FindConnectionByID(r.Context(), key.Scope(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, connectionJSON(c, s.now()))
	return nil
}

// ConnectionList is the body of GET /bank-linking/connections.
type ConnectionList struct {
	Connections []ConnectionJSON `json:"connections"`
	Count       int              `json:"count"`
	Remaining   int              `json:"remaining"`
}

// MaxConnectionLimit bounds limit on GET /bank-linking/connections.
const MaxConnectionLimit = 100

func (s *Server) handleSearchConnections(w http.ResponseWriter, r *http.Request) error {
	key := apiKeyFrom(r.Context())
	v := r.URL.Query()
	now := s.now()
	f := banklink.ConnectionFilter{
		CustomerID: v.Get("customerId"), ExternalCustomerID: v.Get("externalCustomerId"), InstitutionID: v.Get("institutionId"),
		After: v.Get("after"), Before: v.Get("before"), Limit: 10, Now: now,
	}
	if f.After != "" && f.Before != "" {
		return banklink.Errorf(banklink.EBADREQUEST, "Pass either [before] or [after], not both.")
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxConnectionLimit {
			return banklink.FieldErrorf("limit", "must be a whole number from 1 to %d", MaxConnectionLimit)
		}
		f.Limit = n
	}
	for _, st := range csv(v, "statuses") {
		status := banklink.ConnectionStatus(strings.ToUpper(st))
		if !slices.Contains(banklink.ConnectionStatuses, status) {
			return banklink.FieldErrorf("statuses", "contains unknown status %q", truncate(st, 64))
		}
		f.Statuses = append(f.Statuses, status)
	}
	for _, p := range csv(v, "serviceProviders") {
		f.ServiceProviders = append(f.ServiceProviders, banklink.ProviderTypeOf(p))
	}
	for _, d := range []struct {
		name string
		dst  *time.Time
		add  int
	}{{"startDate", &f.CreatedFrom, 0}, {"endDate", &f.CreatedBefore, 1}} {
		if raw := v.Get(d.name); raw != "" {
			t, err := time.Parse(time.DateOnly, raw)
			if err != nil {
				return banklink.FieldErrorf(d.name, "must be a date in yyyy-mm-dd format")
			}
			*d.dst = t.AddDate(0, 0, d.add) // endDate is inclusive
		}
	}
	if !f.CreatedFrom.IsZero() && !f.CreatedBefore.IsZero() && !f.CreatedFrom.Before(f.CreatedBefore) {
		return banklink.FieldErrorf("endDate", "must not be before [startDate]")
	}
	list, remaining, err := s.Store.FindConnections(r.Context(), key.Scope(), f)
	if err != nil {
		return err
	}
	out := ConnectionList{Connections: make([]ConnectionJSON, 0, len(list)), Count: len(list), Remaining: remaining}
	for _, c := range list {
		out.Connections = append(out.Connections, connectionJSON(c, now))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// Refresher starts an aggregation in the background.
type Refresher interface {
	// Start records a durable request to aggregate the connection, then
	// aggregates it in the background.
	Start(ctx context.Context, scope banklink.Scope, connectionID string) error
}

// DefaultRefreshInterval is the least time between two accepted refreshes
// of one connection.
const DefaultRefreshInterval = time.Minute

func (s *Server) handleDeleteConnection(w http.ResponseWriter, r *http.Request) error {
	c, err := s.Store.DeleteConnection(r.Context(), apiKeyFrom(r.Context()).Scope(), r.PathValue("id"), s.now())
	if err != nil {
		return err
	}
	if rm := s.Removers[c.ProviderType]; rm != nil && c.ProviderLoginID != "" {
		// The connection is gone in banklink whatever the provider says;
		// a failed revocation is logged for the operator to retry.
		creds, err := s.providerCredentials(r.Context(), apiKeyFrom(r.Context()).Scope(), c.ProviderType)
		if err == nil {
			err = rm.RemoveLogin(r.Context(), c.ProviderLoginID, creds)
		}
		if err != nil {
			s.Log.Warn("revoke login at provider", slog.String("connection_id", c.ID), slog.String("provider", c.ProviderType), slog.Any("err", err))
		}
	}
	writeJSON(w, http.StatusOK, connectionJSON(c, s.now()))
	return nil
}

func (s *Server) handleRefreshConnection(w http.ResponseWriter, r *http.Request) error {
	scope := apiKeyFrom(r.Context()).Scope()
	var body struct {
		Products []string `json:"products"`
	}
	if r.ContentLength != 0 {
		if _, err := s.decodeBody(w, r, &body); err != nil {
			return err
		}
	}
	products, err := banklink.ValidateProducts("products", body.Products)
	if err != nil {
		return err
	}
	now := s.now()
	c, err := s.Store.FindConnectionByID(r.Context(), scope, r.PathValue("id"))
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
		return banklink.Errorf(banklink.ECONFLICT, "A %s connection cannot be refreshed.%s", st, hint)
	}
	if err := s.checkProviderLimit(r.Context(), w, c, now); err != nil {
		return err
	}
	interval := s.Config.RefreshInterval
	if interval <= 0 {
		interval = DefaultRefreshInterval
	}
	next, err := s.Store.AcceptRefresh(r.Context(), scope, c.ID, now, interval)
	if banklink.ErrorCode(err) == banklink.ERATELIMITED {
		setRetryAfter(w, next, now)
	}
	if err != nil {
		return err
	}
	// AcceptRefresh counted the aggregation work with the acceptance, so
	// it is durable whether or not it can start here and now.
	if s.Refresher != nil {
		if err := s.Refresher.Start(r.Context(), scope, c.ID); err != nil {
			s.Log.Warn("start refresh", slog.String("connection_id", c.ID), slog.Any("err", err))
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"requestId": requestIDFrom(r.Context())})
	return nil
}

// checkProviderLimit refuses a refresh the connection's provider would not
// perform yet (MX aggregates a member at most every few hours), with
// Retry-After saying when it will. A provider that cannot be asked does
// not block the refresh: the aggregation reports what went wrong.
func (s *Server) checkProviderLimit(ctx context.Context, w http.ResponseWriter, c *banklink.Connection, now time.Time) error {
	lim := s.Limiters[c.ProviderType]
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
			setRetryAfter(w, at, now)
		}
		return err
	}
	if err != nil {
		s.Log.Warn("ask provider for its refresh limit", slog.String("connection_id", c.ID), slog.String("provider", c.ProviderType), slog.Any("err", err))
		return nil
	}
	if !next.After(now) {
		return nil
	}
	setRetryAfter(w, next, now)
	return &banklink.Error{Code: banklink.ERATELIMITED, Reason: "PROVIDER_REFRESH_LIMIT", Retryable: true,
		Message: fmt.Sprintf("%s aggregated this connection recently and will not refresh it again before %s; the data already held is that fresh.",
			banklink.ProviderWireName(c.ProviderType), next.UTC().Format(time.RFC3339))}
}

// providerCredentials returns the account's own credentials for a
// provider (its provider configuration), nil when it uses the
// deployment's.
func (s *Server) providerCredentials(ctx context.Context, scope banklink.Scope, providerType string) (map[string]string, error) {
	configs, err := s.Store.FindProviderConfigs(ctx, scope)
	if err != nil {
		return nil, err
	}
	return banklink.CredentialsFor(configs, providerType), nil
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

func setRetryAfter(w http.ResponseWriter, at, now time.Time) {
	w.Header().Set("Retry-After", strconv.Itoa(int(max(1, at.Sub(now).Round(time.Second).Seconds()))))
}

// handleUpdateConnection adds products to a connection. They become
// optional products (the institution may not support them) and a refresh
// fetches them.
func (s *Server) handleUpdateConnection(w http.ResponseWriter, r *http.Request) error {
	scope := apiKeyFrom(r.Context()).Scope()
	var body struct {
		Products []string `json:"products"`
	}
	if _, err := s.decodeBody(w, r, &body); err != nil {
		return err
	}
	products, err := banklink.ValidateProducts("products", body.Products)
	if err != nil {
		return err
	}
	if len(products) == 0 {
		return banklink.FieldErrorf("products", "must list at least one product to add")
	}
	c, err := s.Store.FindConnectionByID(r.Context(), scope, r.PathValue("id"))
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
		return banklink.Errorf(banklink.ECONFLICT, "A %s connection cannot be updated.", st)
	}
	if _, err := s.Store.AddOptionalProducts(r.Context(), scope, c.ID, products, s.now()); err != nil {
		return err
	}
	if s.Refresher != nil && c.Status != banklink.StatusReconnectRequired {
		if err := s.Refresher.Start(r.Context(), scope, c.ID); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"requestId": requestIDFrom(r.Context())})
	return nil
}
