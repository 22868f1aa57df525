package banklink

import (
	"context"
	"time"
)

// MaxExternalIDLength bounds externalCustomerId.
const MaxExternalIDLength = 255

// Customer is an app's end user. Apps name customers by their own
// externalCustomerId; banklink gives each a customerId.
type Customer struct {
	ID          string
	Key         string
	AccountID   string
	Environment Environment
	ExternalID  string
	Status      string
	CreatedAt   time.Time
	Details     CustomerDetails
}

// CustomerDetails are what an app may tell banklink about a customer.
type CustomerDetails struct {
	FirstName   string `json:"firstName,omitempty"`
	LastName    string `json:"lastName,omitempty"`
	Email       string `json:"email,omitempty"`
	Phone       string `json:"phone,omitempty"`
	DateOfBirth string `json:"dateOfBirth,omitempty"`
}

// CustomerStatusDeleted marks a deleted customer; its external id is free
// for a new customer.
const CustomerStatusDeleted = "DELETED"

// CustomerFilter selects customers. Zero fields do not filter.
type CustomerFilter struct {
	IDs           []string
	ExternalID    string
	Email, Phone  string
	After, Before string
	Limit         int
}

// CustomerStore keeps customers.
type CustomerStore interface {
	// UpsertCustomer returns the scope's customer with c.ExternalID,
	// creating it from c when there is none (created reports which).
	// Details given for an existing customer replace its stored ones.
	UpsertCustomer(ctx context.Context, c *Customer) (stored *Customer, created bool, err error)
	// FindCustomerByID returns ENOTFOUND unless the customer exists in
	// scope.
	FindCustomerByID(ctx context.Context, scope Scope, id string) (*Customer, error)
	// FindCustomerByExternalID returns ENOTFOUND unless the customer exists
	// in scope.
	FindCustomerByExternalID(ctx context.Context, scope Scope, externalID string) (*Customer, error)
	// FindCustomers lists the scope's live customers ordered by external
	// id.
	FindCustomers(ctx context.Context, scope Scope, f CustomerFilter) ([]*Customer, int, error)
	// DeleteCustomer deletes the customer's connections and their data and
	// marks it DELETED. Returns ENOTFOUND outside scope or when already
	// deleted.
	DeleteCustomer(ctx context.Context, scope Scope, id string, at time.Time) error
}

// CustomerStatusActive is the status of every live customer.
const CustomerStatusActive = "ACTIVE"
