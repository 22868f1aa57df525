package httpapi

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"banklink"
	"banklink/internal/linking"
)

// ConnectionJSON is the wire form of a connection, as Meld names it.
type ConnectionJSON struct {
	ID                          string             `json:"id"`
	Key                         string             `json:"key"`
	AccountID                   string             `json:"accountId"`
	CustomerID                  string             `json:"customerId"`
	ExternalCustomerID          NullString         `json:"externalCustomerId"`
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
		ID: c.ID, Key: c.Key, AccountID: c.AccountID, CustomerID: c.CustomerID, ExternalCustomerID: NullString(c.ExternalCustomerID),
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
const DefaultRefreshInterval = linking.DefaultRefreshInterval

func (s *Server) handleDeleteConnection(w http.ResponseWriter, r *http.Request) error {
	c, err := s.Linking.DeleteConnection(r.Context(), apiKeyFrom(r.Context()).Scope(), r.PathValue("id"))
	if err != nil {
		return err
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
	if err := s.Linking.RefreshConnection(r.Context(), scope, r.PathValue("id"), products); err != nil {
		setRetryAfter(w, err)
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"requestId": requestIDFrom(r.Context())})
	return nil
}

// setRetryAfter sets Retry-After when err says when to try again.
func setRetryAfter(w http.ResponseWriter, err error) {
	if ra, ok := errors.AsType[*linking.RetryAfter](err); ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(max(1, ra.Wait.Round(time.Second).Seconds()))))
	}
}

// handleUpdateConnection adds products to a connection
// (linking.Service.AddProducts).
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
	if err := s.Linking.AddProducts(r.Context(), scope, r.PathValue("id"), products); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"requestId": requestIDFrom(r.Context())})
	return nil
}
