package webhook

import "encoding/json"

// EventType names a webhook event.
type EventType string

// The event types banklink sends: Meld's bank-linking events and the test
// event.
const (
	ConnectionCompleted              EventType = "BANK_LINKING_CONNECTION_COMPLETED"
	ConnectionDeleted                EventType = "BANK_LINKING_CONNECTION_DELETED"
	ConnectionStatusChange           EventType = "BANK_LINKING_CONNECTION_STATUS_CHANGE"
	CustomerActionRequired           EventType = "BANK_LINKING_CUSTOMER_ACTION_REQUIRED"
	AccountsUpdating                 EventType = "BANK_LINKING_ACCOUNTS_UPDATING"
	AccountsUpdated                  EventType = "BANK_LINKING_ACCOUNTS_UPDATED"
	AccountsRemoved                  EventType = "BANK_LINKING_ACCOUNTS_REMOVED"
	NewAccountsAvailable             EventType = "BANK_LINKING_NEW_ACCOUNTS_AVAILABLE"
	TransactionsAggregated           EventType = "BANK_LINKING_TRANSACTIONS_AGGREGATED"
	HistoricalTransactionsAggregated EventType = "BANK_LINKING_HISTORICAL_TRANSACTIONS_AGGREGATED"
	Test                             EventType = "WEBHOOK_TEST"
	// banklink's own: a processor token was created for, or revoked on,
	// a financial account.
	ProcessorTokenCreated EventType = "BANK_LINKING_PROCESSOR_TOKEN_CREATED"
	ProcessorTokenRevoked EventType = "BANK_LINKING_PROCESSOR_TOKEN_REVOKED"
)

// EventTypes lists every type, in lifecycle order.
var EventTypes = []EventType{
	ConnectionCompleted, ConnectionStatusChange, AccountsUpdating, AccountsUpdated, TransactionsAggregated,
	HistoricalTransactionsAggregated, NewAccountsAvailable, AccountsRemoved, CustomerActionRequired, ConnectionDeleted,
	ProcessorTokenCreated, ProcessorTokenRevoked, Test,
}

// Valid reports whether t is a known event type.
func (t EventType) Valid() bool {
	for _, k := range EventTypes {
		if k == t {
			return true
		}
	}
	return false
}

// Envelope is the JSON body of every webhook request.
type Envelope struct {
	EventType EventType       `json:"eventType"`
	EventID   string          `json:"eventId"`
	Timestamp string          `json:"timestamp"`
	AccountID string          `json:"accountId"`
	ProfileID *string         `json:"profileId"`
	Version   string          `json:"version"`
	Payload   json.RawMessage `json:"payload"`
}

// Payload is the payload of the bank-linking events. Which fields are set
// depends on the event type.
type Payload struct {
	RequestID          string `json:"requestId"`
	CustomerID         string `json:"customerId,omitempty"`
	ExternalCustomerID string `json:"externalCustomerId,omitempty"`
	ConnectionID       string `json:"connectionId,omitempty"`
	InstitutionID      string `json:"institutionId,omitempty"`
	InstitutionName    string `json:"institutionName,omitempty"`
	// Reason is set on CUSTOMER_ACTION_REQUIRED.
	Reason string `json:"reason,omitempty"`
	// Status changes.
	OldStatus                   string `json:"oldStatus,omitempty"`
	OldStatusReason             string `json:"oldStatusReason,omitempty"`
	NewStatus                   string `json:"newStatus,omitempty"`
	NewStatusReason             string `json:"newStatusReason,omitempty"`
	ActiveDuplicateConnectionID string `json:"activeDuplicateConnectionId,omitempty"`
	// FinancialAccounts is set on the accounts and transactions events.
	FinancialAccounts      []FinancialAccount      `json:"financialAccounts,omitempty"`
	ServiceProviderDetails *ServiceProviderDetails `json:"serviceProviderDetails,omitempty"`
	// The processor token events name the account, the processor and the
	// token's id, never the token.
	FinancialAccountID string `json:"financialAccountId,omitempty"`
	Processor          string `json:"processor,omitempty"`
	ProcessorTokenID   string `json:"processorTokenId,omitempty"`
}

// FinancialAccount describes what changed in one financial account.
type FinancialAccount struct {
	ID                     string   `json:"id"`
	Name                   string   `json:"name,omitempty"`
	TruncatedAccountNumber string   `json:"truncatedAccountNumber,omitempty"`
	NewAccount             *bool    `json:"newAccount,omitempty"`
	Products               []string `json:"products,omitempty"`
	// Transaction counts are set on the transactions events.
	NumTransactionsAdded             *int     `json:"numTransactionsAdded,omitempty"`
	NumTransactionsUpdated           *int     `json:"numTransactionsUpdated,omitempty"`
	TransactionIDsRemoved            []string `json:"transactionIdsRemoved,omitempty"`
	NumInvestmentTransactionsAdded   *int     `json:"numInvestmentTransactionsAdded,omitempty"`
	NumInvestmentTransactionsUpdated *int     `json:"numInvestmentTransactionsUpdated,omitempty"`
	InvestmentTransactionIDsRemoved  []string `json:"investmentTransactionIdsRemoved,omitempty"`
	// OldestTransactionUpdatedSearchKey is set on the transactions events
	// when the aggregation added or updated transactions of the account:
	// a cursor of GET /bank-linking/transactions placed just past the
	// oldest of them, so paging with before=<key> (and
	// financialAccountId) toward the newest returns every one.
	OldestTransactionUpdatedSearchKey string `json:"oldestTransactionUpdatedSearchKey,omitempty"`
}

// nullable is s as JSON, or null when it is empty.
func nullable(s string) json.RawMessage {
	if s == "" {
		return json.RawMessage("null")
	}
	b, _ := json.Marshal(s)
	return b
}

// stringList is l as JSON, or [] when it is empty.
func stringList(l []string) json.RawMessage {
	if len(l) == 0 {
		return json.RawMessage("[]")
	}
	b, _ := json.Marshal(l)
	return b
}

// MarshalJSON writes the payload as Meld does: the members an event type
// carries are present even when they have no value, as null (or []):
// on every event about a connection customerId, externalCustomerId,
// institutionId and institutionName; on status changes the old and new
// status and reason and activeDuplicateConnectionId. Members of other
// event types are left out.
func (p Payload) MarshalJSON() ([]byte, error) {
	type plain Payload
	out := struct {
		plain
		CustomerID                  json.RawMessage `json:"customerId,omitempty"`
		ExternalCustomerID          json.RawMessage `json:"externalCustomerId,omitempty"`
		InstitutionID               json.RawMessage `json:"institutionId,omitempty"`
		InstitutionName             json.RawMessage `json:"institutionName,omitempty"`
		OldStatus                   json.RawMessage `json:"oldStatus,omitempty"`
		OldStatusReason             json.RawMessage `json:"oldStatusReason,omitempty"`
		NewStatus                   json.RawMessage `json:"newStatus,omitempty"`
		NewStatusReason             json.RawMessage `json:"newStatusReason,omitempty"`
		ActiveDuplicateConnectionID json.RawMessage `json:"activeDuplicateConnectionId,omitempty"`
	}{plain: plain(p)}
	if p.ConnectionID != "" {
		out.CustomerID, out.ExternalCustomerID = nullable(p.CustomerID), nullable(p.ExternalCustomerID)
		out.InstitutionID, out.InstitutionName = nullable(p.InstitutionID), nullable(p.InstitutionName)
	} else {
		out.CustomerID, out.ExternalCustomerID = omitEmpty(p.CustomerID), omitEmpty(p.ExternalCustomerID)
		out.InstitutionID, out.InstitutionName = omitEmpty(p.InstitutionID), omitEmpty(p.InstitutionName)
	}
	if p.NewStatus != "" {
		out.OldStatus, out.OldStatusReason = nullable(p.OldStatus), nullable(p.OldStatusReason)
		out.NewStatus, out.NewStatusReason = nullable(p.NewStatus), nullable(p.NewStatusReason)
		out.ActiveDuplicateConnectionID = nullable(p.ActiveDuplicateConnectionID)
	}
	return json.Marshal(out)
}

// omitEmpty is s as JSON, or nothing (the member left out) when empty.
func omitEmpty(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return nullable(s)
}

// MarshalJSON writes the account as Meld does: on ACCOUNTS_UPDATED
// (newAccount set) products is [] when none were delivered; on the
// transactions events (the counts set) transactionIdsRemoved and
// investmentTransactionIdsRemoved are [] when nothing was removed and
// oldestTransactionUpdatedSearchKey null when nothing was written.
func (a FinancialAccount) MarshalJSON() ([]byte, error) {
	type plain FinancialAccount
	out := struct {
		plain
		Products                          json.RawMessage `json:"products,omitempty"`
		TransactionIDsRemoved             json.RawMessage `json:"transactionIdsRemoved,omitempty"`
		InvestmentTransactionIDsRemoved   json.RawMessage `json:"investmentTransactionIdsRemoved,omitempty"`
		OldestTransactionUpdatedSearchKey json.RawMessage `json:"oldestTransactionUpdatedSearchKey,omitempty"`
	}{plain: plain(a)}
	if a.NewAccount != nil || len(a.Products) > 0 {
		out.Products = stringList(a.Products)
	}
	if a.NumTransactionsAdded != nil || len(a.TransactionIDsRemoved) > 0 {
		out.TransactionIDsRemoved = stringList(a.TransactionIDsRemoved)
		out.OldestTransactionUpdatedSearchKey = nullable(a.OldestTransactionUpdatedSearchKey)
	}
	if a.NumInvestmentTransactionsAdded != nil || len(a.InvestmentTransactionIDsRemoved) > 0 {
		out.InvestmentTransactionIDsRemoved = stringList(a.InvestmentTransactionIDsRemoved)
	}
	return json.Marshal(out)
}

// ServiceProviderDetails names the provider behind a connection.
type ServiceProviderDetails struct {
	ServiceProvider             string `json:"serviceProvider"`
	ServiceProviderConnectionID string `json:"serviceProviderConnectionId,omitempty"`
}
