package banklink

import "time"

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
}

// CustomerStatusActive is the status of every live customer.
const CustomerStatusActive = "ACTIVE"
