package httpapi

import (
	"net/http"
	"net/mail"
	"strings"
	"time"

	"banklink"
)

// CustomerJSON is the wire form of a customer.
type CustomerJSON struct {
	ID                       string     `json:"id"`
	Key                      string     `json:"key"`
	AccountID                string     `json:"accountId"`
	ExternalID               NullString `json:"externalId"`
	Name                     *NameJSON  `json:"name"`
	Email                    *string    `json:"email"`
	Phone                    *string    `json:"phone"`
	DateOfBirth              *string    `json:"dateOfBirth"`
	Addresses                []any      `json:"addresses"`
	ServiceProviderCustomers []any      `json:"serviceProviderCustomers"`
	Status                   string     `json:"status"`
	CreatedAt                string     `json:"createdAt"`
}

// NameJSON is a customer's name.
type NameJSON struct {
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
}

func customerJSON(c *banklink.Customer) CustomerJSON {
	out := CustomerJSON{ID: c.ID, Key: c.Key, AccountID: c.AccountID, ExternalID: NullString(c.ExternalID), Email: strPtr(c.Details.Email),
		Phone: strPtr(c.Details.Phone), DateOfBirth: strPtr(c.Details.DateOfBirth), Addresses: []any{}, ServiceProviderCustomers: []any{},
		Status: c.Status, CreatedAt: c.CreatedAt.UTC().Format(TimestampFormat)}
	if c.Details.FirstName != "" || c.Details.LastName != "" {
		out.Name = &NameJSON{FirstName: c.Details.FirstName, LastName: c.Details.LastName}
	}
	return out
}

type createCustomerRequest struct {
	ExternalID *string `json:"externalId"`
	Name       *struct {
		FirstName string `json:"firstName"`
		LastName  string `json:"lastName"`
	} `json:"name"`
	Email       string `json:"email"`
	Phone       string `json:"phone"`
	DateOfBirth string `json:"dateOfBirth"`
}

// handleCreateCustomer creates a customer, or returns the one with this
// externalId (updating the details given): 201 when created, 200 when it
// existed.
func (s *Server) handleCreateCustomer(w http.ResponseWriter, r *http.Request) error {
	scope := apiKeyFrom(r.Context()).Scope()
	var body createCustomerRequest
	if _, err := s.decodeBody(w, r, &body); err != nil {
		return err
	}
	if body.ExternalID == nil {
		return banklink.FieldErrorf("externalId", "must not be null")
	}
	ext, err := banklink.CleanText("externalId", *body.ExternalID, banklink.MaxExternalIDLength)
	if err != nil {
		return err
	}
	if ext == "" {
		return banklink.FieldErrorf("externalId", "must not be empty")
	}
	d := banklink.CustomerDetails{Email: strings.TrimSpace(body.Email), Phone: strings.TrimSpace(body.Phone), DateOfBirth: body.DateOfBirth}
	if body.Name != nil {
		if d.FirstName, err = banklink.CleanText("name.firstName", body.Name.FirstName, 100); err != nil {
			return err
		}
		if d.LastName, err = banklink.CleanText("name.lastName", body.Name.LastName, 100); err != nil {
			return err
		}
	}
	if d.Email != "" {
		if a, err := mail.ParseAddress(d.Email); err != nil || a.Address != d.Email || len(d.Email) > 254 {
			return banklink.FieldErrorf("email", "must be an email address such as jane@example.com")
		}
	}
	if d.Phone, err = banklink.CleanText("phone", d.Phone, 32); err != nil {
		return err
	}
	if d.DateOfBirth != "" {
		t, err := time.Parse(time.DateOnly, d.DateOfBirth)
		if err != nil || t.After(s.now()) {
			return banklink.FieldErrorf("dateOfBirth", "must be a past date in yyyy-MM-dd format")
		}
	}
	c, created, err := s.Store.UpsertCustomer(r.Context(), &banklink.Customer{ID: banklink.NewID(), AccountID: scope.AccountID,
		Environment: scope.Environment, ExternalID: ext, Details: d})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, customerJSON(c))
	return nil
}

func (s *Server) handleSearchCustomers(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	limit, after, before, err := pageParams(v, 10, 100)
	if err != nil {
		return err
	}
	if st := v.Get("status"); st != "" && !strings.EqualFold(st, banklink.CustomerStatusActive) {
		return banklink.FieldErrorf("status", "must be ACTIVE")
	}
	if t := v.Get("type"); t != "" && !strings.EqualFold(t, "INDIVIDUAL") {
		return banklink.FieldErrorf("type", "must be INDIVIDUAL")
	}
	list, remaining, err := s.Store.FindCustomers(r.Context(), apiKeyFrom(r.Context()).Scope(), banklink.CustomerFilter{
		IDs: csv(v, "customerIds"), ExternalID: v.Get("externalId"), Email: v.Get("email"), Phone: v.Get("phone"),
		After: after, Before: before, Limit: limit,
	})
	if err != nil {
		return err
	}
	writeList(w, "customers", list, remaining, customerJSON)
	return nil
}

func (s *Server) handleDeleteCustomer(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.Store.DeleteCustomer(r.Context(), apiKeyFrom(r.Context()).Scope(), id, s.now()); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "isDeleted": true, "serviceProviderCustomersDeleted": map[string]string{}})
	return nil
}
