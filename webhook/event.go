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
}

// ServiceProviderDetails names the provider behind a connection.
type ServiceProviderDetails struct {
	ServiceProvider             string `json:"serviceProvider"`
	ServiceProviderConnectionID string `json:"serviceProviderConnectionId,omitempty"`
}
