package client

import "encoding/json"

// The types below mirror the schemas of openapi.yaml one to one: a field
// per schema property, with the schema's JSON name. Nullable properties
// are pointers (or json.RawMessage for free-form values) so that null and
// absent survive a round trip; TestTypesMatchOpenAPI fails when a schema
// gains a property these types do not have.

// Product is a data product a connection can hold.
type Product string

// The products.
const (
	ProductBalances               Product = "BALANCES"
	ProductOwners                 Product = "OWNERS"
	ProductIdentifiers            Product = "IDENTIFIERS"
	ProductTransactions           Product = "TRANSACTIONS"
	ProductInvestmentHoldings     Product = "INVESTMENT_HOLDINGS"
	ProductInvestmentTransactions Product = "INVESTMENT_TRANSACTIONS"
)

// ConnectStartRequest is the body of POST /bank-linking/connect/start.
type ConnectStartRequest struct {
	// ExternalCustomerID is your id for the customer, optional: without
	// it (and without CustomerID) a new customer is created.
	ExternalCustomerID string `json:"externalCustomerId,omitempty"`
	// CustomerID links the connection to an existing customer.
	CustomerID                string                     `json:"customerId,omitempty"`
	Products                  []Product                  `json:"products,omitempty"`
	OptionalProducts          []Product                  `json:"optionalProducts,omitempty"`
	Regions                   []string                   `json:"regions,omitempty"`
	InstitutionID             string                     `json:"institutionId,omitempty"`
	InstitutionSearchString   string                     `json:"institutionSearchString,omitempty"`
	AccountPreferenceOverride *AccountPreferenceOverride `json:"accountPreferenceOverride,omitempty"`
	RedirectURL               string                     `json:"redirectUrl,omitempty"`
	ServiceProvider           string                     `json:"serviceProvider,omitempty"`
	// Language is the widget's language, a BCP 47 tag such as "fr-CA"
	// (banklink's addition); empty follows the customer's browser.
	Language string `json:"language,omitempty"`
}

// AccountPreferenceOverride tunes the picker of one connect token.
type AccountPreferenceOverride struct {
	AllowRedirect *bool `json:"allowRedirect,omitempty"`
}

// ConnectStartResponse is the answer of connect/start.
type ConnectStartResponse struct {
	ID                       string     `json:"id"`
	ConnectToken             string     `json:"connectToken"`
	CustomerID               string     `json:"customerId"`
	ExternalCustomerID       NullString `json:"externalCustomerId"`
	WidgetURL                string     `json:"widgetUrl"`
	ConnectTokenExpiresAt    string     `json:"connectTokenExpiresAt"`
	EligibleInstitutionCount int        `json:"eligibleInstitutionCount"`
	Warnings                 []string   `json:"warnings,omitempty"`
}

// RepairResponse is the answer of connect/repair.
type RepairResponse struct {
	ID                    string `json:"id"`
	ConnectToken          string `json:"connectToken"`
	InstitutionID         string `json:"institutionId"`
	WidgetURL             string `json:"widgetUrl"`
	ConnectTokenExpiresAt string `json:"connectTokenExpiresAt"`
	// Warnings is advice, such as a language the widget shows in English.
	Warnings []string `json:"warnings,omitempty"`
}

// RepairRequest is the body of POST /bank-linking/connect/repair.
type RepairRequest struct {
	ConnectionID string `json:"connectionId"`
	// Language is the widget's language, as in ConnectStartRequest.
	Language string `json:"language,omitempty"`
}

// Connection is one provider login at one institution.
type Connection struct {
	ID                          string            `json:"id"`
	Key                         string            `json:"key"`
	AccountID                   string            `json:"accountId"`
	CustomerID                  string            `json:"customerId"`
	ExternalCustomerID          NullString        `json:"externalCustomerId"`
	InstitutionID               *string           `json:"institutionId"`
	InstitutionName             *string           `json:"institutionName"`
	Products                    []Product         `json:"products"`
	OptionalProducts            []Product         `json:"optionalProducts"`
	Regions                     []string          `json:"regions"`
	Status                      string            `json:"status"`
	StatusReason                *string           `json:"statusReason"`
	ServiceProviderDetails      map[string]string `json:"serviceProviderDetails"`
	CreatedAt                   string            `json:"createdAt"`
	CompletedAt                 *string           `json:"completedAt"`
	SuccessfullyAggregatedAt    *string           `json:"successfullyAggregatedAt"`
	DuplicateConnectionIDs      []string          `json:"duplicateConnectionIds"`
	ActiveDuplicateConnectionID *string           `json:"activeDuplicateConnectionId"`
	RequestedServiceProvider    string            `json:"requestedServiceProvider,omitempty"`
	RoutingDecision             *RoutingDecision  `json:"routingDecision,omitempty"`
}

// RoutingDecision says which provider serves a connection and why.
type RoutingDecision struct {
	ServiceProvider string            `json:"serviceProvider"`
	Reason          string            `json:"reason"`
	DecidedAt       string            `json:"decidedAt"`
	Skipped         []SkippedProvider `json:"skipped"`
}

// SkippedProvider is a provider routing passed over.
type SkippedProvider struct {
	ServiceProvider string `json:"serviceProvider"`
	Reason          string `json:"reason"`
}

// Accepted is the answer of asynchronous requests.
type Accepted struct {
	RequestID string `json:"requestId"`
}

// FinancialAccount is an account at an institution, with its balances,
// identifiers and owners.
type FinancialAccount struct {
	ID                             string                  `json:"id"`
	Key                            string                  `json:"key"`
	AccountID                      string                  `json:"accountId"`
	CustomerID                     string                  `json:"customerId"`
	ExternalCustomerID             NullString              `json:"externalCustomerId"`
	ConnectionIDs                  []string                `json:"connectionIds"`
	ConnectionID                   string                  `json:"connectionId"`
	InstitutionID                  string                  `json:"institutionId"`
	InstitutionName                string                  `json:"institutionName"`
	Status                         string                  `json:"status"`
	Type                           string                  `json:"type"`
	Subtype                        string                  `json:"subtype"`
	Name                           string                  `json:"name"`
	TruncatedAccountNumber         string                  `json:"truncatedAccountNumber"`
	HistoricalAggregationSucceeded bool                    `json:"historicalAggregationSucceeded"`
	Balances                       *Balances               `json:"balances"`
	Identifiers                    *Identifiers            `json:"identifiers"`
	Owners                         []Owner                 `json:"owners"`
	ServiceProviderDetails         []ServiceProviderDetail `json:"serviceProviderDetails"`
}

// Balances of a financial account.
type Balances struct {
	Currency        string   `json:"currency"`
	CurrentAmount   float64  `json:"currentAmount"`
	AvailableAmount *float64 `json:"availableAmount"`
	UpdatedAt       string   `json:"updatedAt"`
}

// Identifiers are account and routing numbers.
type Identifiers struct {
	ACH           *ACH            `json:"ach"`
	EFT           *EFT            `json:"eft"`
	International json.RawMessage `json:"international"`
	BACS          json.RawMessage `json:"bacs"`
}

// ACH identifies a US account.
type ACH struct {
	AccountNumber string `json:"accountNumber"`
	RoutingNumber string `json:"routingNumber"`
}

// EFT identifies a Canadian account.
type EFT struct {
	AccountNumber     string `json:"accountNumber"`
	InstitutionNumber string `json:"institutionNumber"`
	BranchNumber      string `json:"branchNumber"`
}

// Owner is an account holder.
type Owner struct {
	Names        []string       `json:"names"`
	Addresses    []OwnerAddress `json:"addresses"`
	Emails       []OwnerDatum   `json:"emails"`
	PhoneNumbers []OwnerDatum   `json:"phoneNumbers"`
}

// OwnerAddress is one address of an owner.
type OwnerAddress struct {
	Data    *Address `json:"data,omitempty"`
	Primary string   `json:"primary,omitempty"`
}

// Address is a postal address.
type Address struct {
	Street     string `json:"street,omitempty"`
	City       string `json:"city,omitempty"`
	Region     string `json:"region,omitempty"`
	PostalCode string `json:"postalCode,omitempty"`
	Country    string `json:"country,omitempty"`
	Full       string `json:"full,omitempty"`
}

// OwnerDatum is an owner's email or phone number.
type OwnerDatum struct {
	Data string `json:"data,omitempty"`
}

// ServiceProviderDetail is a provider's own JSON for a record, as Meld
// serves it: the provider's object under the member naming what it is
// (only the one matching the record is set).
type ServiceProviderDetail struct {
	ServiceProvider       string          `json:"serviceProvider"`
	UpdatedAt             string          `json:"updatedAt"`
	Account               json.RawMessage `json:"account,omitempty"`
	Transaction           json.RawMessage `json:"transaction,omitempty"`
	Holding               json.RawMessage `json:"holding,omitempty"`
	InvestmentTransaction json.RawMessage `json:"investmentTransaction,omitempty"`
}

// Transaction is a transaction of a financial account.
type Transaction struct {
	ID                     string                  `json:"id"`
	Key                    string                  `json:"key"`
	AccountID              string                  `json:"accountId"`
	CustomerID             string                  `json:"customerId"`
	ExternalCustomerID     NullString              `json:"externalCustomerId"`
	FinancialAccountID     string                  `json:"financialAccountId"`
	ConnectionIDs          []string                `json:"connectionIds"`
	Amount                 float64                 `json:"amount"`
	Currency               string                  `json:"currency"`
	Description            string                  `json:"description"`
	TransactionDate        string                  `json:"transactionDate"`
	PostedDate             *string                 `json:"postedDate"`
	Status                 string                  `json:"status"`
	Category               string                  `json:"category"`
	Recurring              string                  `json:"recurring"`
	ServiceProviderDetails []ServiceProviderDetail `json:"serviceProviderDetails"`
}

// Customer is an end user of the app.
type Customer struct {
	ID                       string            `json:"id"`
	Key                      string            `json:"key"`
	AccountID                string            `json:"accountId"`
	ExternalID               NullString        `json:"externalId"`
	Name                     *CustomerName     `json:"name"`
	Email                    *string           `json:"email"`
	Phone                    *string           `json:"phone"`
	DateOfBirth              *string           `json:"dateOfBirth"`
	Addresses                []json.RawMessage `json:"addresses"`
	ServiceProviderCustomers []json.RawMessage `json:"serviceProviderCustomers"`
	Status                   string            `json:"status"`
	CreatedAt                string            `json:"createdAt"`
}

// CustomerName is a customer's name; the API sends both parts, "" for
// one not given.
type CustomerName struct {
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
}

// CustomerInput is the body of POST /accounts/customers.
type CustomerInput struct {
	ExternalID  string        `json:"externalId"`
	Name        *CustomerName `json:"name,omitempty"`
	Email       string        `json:"email,omitempty"`
	Phone       string        `json:"phone,omitempty"`
	DateOfBirth string        `json:"dateOfBirth,omitempty"`
}

// CustomerDeleted is the answer of DELETE /accounts/customers/{id}.
type CustomerDeleted struct {
	ID                              string            `json:"id"`
	IsDeleted                       bool              `json:"isDeleted"`
	ServiceProviderCustomersDeleted map[string]string `json:"serviceProviderCustomersDeleted"`
}

// Holding is an investment position.
type Holding struct {
	ID                     string                  `json:"id"`
	Key                    string                  `json:"key"`
	AccountID              string                  `json:"accountId"`
	CustomerID             string                  `json:"customerId"`
	ExternalCustomerID     NullString              `json:"externalCustomerId"`
	FinancialAccountID     string                  `json:"financialAccountId"`
	ConnectionIDs          []string                `json:"connectionIds"`
	Symbol                 string                  `json:"symbol"`
	Description            string                  `json:"description"`
	Quantity               float64                 `json:"quantity"`
	ClosePrice             float64                 `json:"closePrice"`
	CurrentValue           float64                 `json:"currentValue"`
	CostBasis              *float64                `json:"costBasis"`
	Currency               string                  `json:"currency"`
	CUSIP                  *string                 `json:"cusip"`
	ISIN                   *string                 `json:"isin"`
	Type                   string                  `json:"type"`
	UpdatedAt              string                  `json:"updatedAt"`
	ServiceProviderDetails []ServiceProviderDetail `json:"serviceProviderDetails"`
}

// InvestmentTransaction is a trade, dividend or transfer in an
// investment account.
type InvestmentTransaction struct {
	ID                     string                  `json:"id"`
	Key                    string                  `json:"key"`
	AccountID              string                  `json:"accountId"`
	CustomerID             string                  `json:"customerId"`
	ExternalCustomerID     NullString              `json:"externalCustomerId"`
	FinancialAccountID     string                  `json:"financialAccountId"`
	ConnectionIDs          []string                `json:"connectionIds"`
	Amount                 float64                 `json:"amount"`
	Quantity               float64                 `json:"quantity"`
	CostBasis              float64                 `json:"costBasis"`
	Price                  float64                 `json:"price"`
	Symbol                 string                  `json:"symbol"`
	Description            string                  `json:"description"`
	Currency               string                  `json:"currency"`
	TransactionDate        string                  `json:"transactionDate"`
	PostedDate             *string                 `json:"postedDate"`
	Status                 string                  `json:"status"`
	Type                   string                  `json:"type"`
	ServiceProviderDetails []ServiceProviderDetail `json:"serviceProviderDetails"`
}

// Institution is a bank, credit union or brokerage of the directory.
type Institution struct {
	ID        string                         `json:"id"`
	Key       string                         `json:"key"`
	Name      string                         `json:"name"`
	SubName   *string                        `json:"subName"`
	Aliases   []string                       `json:"aliases"`
	Domain    *string                        `json:"domain"`
	Type      string                         `json:"type"`
	IsTest    bool                           `json:"isTest"`
	Rank      int                            `json:"rank"`
	Images    InstitutionImages              `json:"images"`
	Regions   []string                       `json:"regions"`
	Products  []string                       `json:"products"`
	Providers map[string]InstitutionProvider `json:"providers"`
}

// InstitutionImages are an institution's logos.
type InstitutionImages struct {
	Icon NullString `json:"icon"`
	Tile NullString `json:"tile"`
	Wide NullString `json:"wide"`
}

// InstitutionProvider is how one provider reaches an institution.
type InstitutionProvider struct {
	ServiceProviderInstitutionID string   `json:"serviceProviderInstitutionId"`
	Products                     []string `json:"products"`
	OAuth                        bool     `json:"oauth"`
	Health                       string   `json:"health"`
}

// ServiceProviderConfig is an account's configuration of one provider.
type ServiceProviderConfig struct {
	ID              string   `json:"id"`
	ServiceProvider string   `json:"serviceProvider"`
	DisplayOrder    int      `json:"displayOrder"`
	Enabled         bool     `json:"enabled"`
	Generation      int      `json:"generation"`
	CredentialKeys  []string `json:"credentialKeys"`
	CreatedAt       string   `json:"createdAt"`
	UpdatedAt       string   `json:"updatedAt"`
}

// ServiceProviderInput is the body of PUT /service-providers/{name}.
// Nil fields keep their value.
type ServiceProviderInput struct {
	DisplayOrder *int              `json:"displayOrder,omitempty"`
	Enabled      *bool             `json:"enabled,omitempty"`
	Credentials  map[string]string `json:"credentials,omitempty"`
}

// RoutingRules are the per-institution routing rules.
type RoutingRules struct {
	Rules []RoutingRule `json:"rules"`
}

// RoutingRule forces or excludes a provider at an institution.
type RoutingRule struct {
	InstitutionID   string `json:"institutionId"`
	ServiceProvider string `json:"serviceProvider"`
	Action          string `json:"action"`
}

// AppProfileInput changes an app profile: nil fields keep their value,
// a pointer to "" clears one.
type AppProfileInput struct {
	DisplayName      *string `json:"displayName,omitempty"`
	LogoURL          *string `json:"logoUrl,omitempty"`
	PrivacyPolicyURL *string `json:"privacyPolicyUrl,omitempty"`
	BrandColor       *string `json:"brandColor,omitempty"`
}

// AppProfile is how the Connect Widget presents the app: its consent
// screen's name, logo and privacy link, and its buttons' colour. Fields
// not set are "".
type AppProfile struct {
	DisplayName      string  `json:"displayName"`
	LogoURL          string  `json:"logoUrl"`
	PrivacyPolicyURL string  `json:"privacyPolicyUrl"`
	BrandColor       string  `json:"brandColor"`
	UpdatedAt        *string `json:"updatedAt"`
}

// WebhookProfileInput is the body of create and update; in an update nil
// fields keep their value.
type WebhookProfileInput struct {
	URL        string   `json:"url,omitempty"`
	Version    string   `json:"version,omitempty"`
	Enabled    *bool    `json:"enabled,omitempty"`
	EventTypes []string `json:"eventTypes,omitempty"`
}

// WebhookProfile is where and how events are delivered.
type WebhookProfile struct {
	ID         string   `json:"id"`
	URL        string   `json:"url"`
	Version    string   `json:"version"`
	Enabled    bool     `json:"enabled"`
	EventTypes []string `json:"eventTypes"`
	// Secret is set only in the answers of create and rotate-secret.
	Secret                  string `json:"secret,omitempty"`
	PreviousSecretExpiresAt string `json:"previousSecretExpiresAt,omitempty"`
	CreatedAt               string `json:"createdAt"`
	UpdatedAt               string `json:"updatedAt"`
}

// Event is a webhook event as the event log keeps it: Meld's envelope
// plus Key for paging.
type Event struct {
	Key       string       `json:"key"`
	EventType string       `json:"eventType"`
	EventID   string       `json:"eventId"`
	Timestamp string       `json:"timestamp"`
	AccountID string       `json:"accountId"`
	ProfileID *string      `json:"profileId"`
	Version   string       `json:"version"`
	Payload   EventPayload `json:"payload"`
}

// EventWithDeliveries is an event with its delivery log.
type EventWithDeliveries struct {
	Event
	Deliveries []Delivery `json:"deliveries"`
}

// EventPayload is the payload of every event type; which fields are set
// depends on the type.
type EventPayload struct {
	RequestID                   string                  `json:"requestId"`
	CustomerID                  string                  `json:"customerId,omitempty"`
	ExternalCustomerID          string                  `json:"externalCustomerId,omitempty"`
	ConnectionID                string                  `json:"connectionId,omitempty"`
	InstitutionID               string                  `json:"institutionId,omitempty"`
	InstitutionName             string                  `json:"institutionName,omitempty"`
	Reason                      string                  `json:"reason,omitempty"`
	OldStatus                   string                  `json:"oldStatus,omitempty"`
	OldStatusReason             string                  `json:"oldStatusReason,omitempty"`
	NewStatus                   string                  `json:"newStatus,omitempty"`
	NewStatusReason             string                  `json:"newStatusReason,omitempty"`
	ActiveDuplicateConnectionID string                  `json:"activeDuplicateConnectionId,omitempty"`
	FinancialAccounts           []EventFinancialAccount `json:"financialAccounts,omitempty"`
	ServiceProviderDetails      *EventServiceProvider   `json:"serviceProviderDetails,omitempty"`
	// The processor token events name the account, the processor and
	// the token's id (never the token).
	FinancialAccountID string `json:"financialAccountId,omitempty"`
	Processor          string `json:"processor,omitempty"`
	ProcessorTokenID   string `json:"processorTokenId,omitempty"`
}

// EventFinancialAccount says what changed in one financial account.
type EventFinancialAccount struct {
	ID                             string   `json:"id"`
	Name                           string   `json:"name,omitempty"`
	TruncatedAccountNumber         string   `json:"truncatedAccountNumber,omitempty"`
	NewAccount                     *bool    `json:"newAccount,omitempty"`
	Products                       []string `json:"products,omitempty"`
	NumTransactionsAdded           *int     `json:"numTransactionsAdded,omitempty"`
	NumTransactionsUpdated         *int     `json:"numTransactionsUpdated,omitempty"`
	TransactionIDsRemoved          []string `json:"transactionIdsRemoved,omitempty"`
	NumInvestmentTransactionsAdded *int     `json:"numInvestmentTransactionsAdded,omitempty"`
	// OldestTransactionUpdatedSearchKey: page GET transactions with
	// before=<it> to read every transaction the aggregation wrote.
	OldestTransactionUpdatedSearchKey string   `json:"oldestTransactionUpdatedSearchKey,omitempty"`
	NumInvestmentTransactionsUpdated  *int     `json:"numInvestmentTransactionsUpdated,omitempty"`
	InvestmentTransactionIDsRemoved   []string `json:"investmentTransactionIdsRemoved,omitempty"`
}

// EventServiceProvider names the provider behind an event's connection.
type EventServiceProvider struct {
	ServiceProvider             string `json:"serviceProvider,omitempty"`
	ServiceProviderConnectionID string `json:"serviceProviderConnectionId,omitempty"`
}

// Delivery is one event's delivery to one profile.
type Delivery struct {
	ID            string            `json:"id"`
	ProfileID     string            `json:"profileId"`
	Status        string            `json:"status"`
	NextAttemptAt string            `json:"nextAttemptAt,omitempty"`
	DeliveredAt   string            `json:"deliveredAt,omitempty"`
	CreatedAt     string            `json:"createdAt"`
	Attempts      []DeliveryAttempt `json:"attempts"`
}

// DeliveryAttempt is one attempt of a delivery.
type DeliveryAttempt struct {
	Attempt    int     `json:"attempt"`
	At         string  `json:"at"`
	URL        string  `json:"url"`
	StatusCode int     `json:"statusCode,omitempty"`
	Reason     string  `json:"reason,omitempty"`
	LatencyMs  float64 `json:"latencyMs"`
	Response   string  `json:"response,omitempty"`
}

// Redelivery is the answer of POST /webhooks/events/{id}/redeliver.
type Redelivery struct {
	RequestID  string     `json:"requestId"`
	Deliveries []Delivery `json:"deliveries"`
}

// Status is the answer of /healthz and /readyz.
type Status struct {
	Status string `json:"status"`
}

// Processor is a payment processor an account is handed to (Meld's
// processor enum: DWOLLA, STRIPE …).
type Processor string

// ProcessorToken is a token for a payment processor. Token is set in
// CreateProcessorToken's answer only.
type ProcessorToken struct {
	Token              string    `json:"token,omitempty"`
	Processor          Processor `json:"processor"`
	ServiceProvider    string    `json:"serviceProvider"`
	ID                 string    `json:"id"`
	FinancialAccountID string    `json:"financialAccountId"`
	CreatedAt          string    `json:"createdAt"`
	RevokedAt          *string   `json:"revokedAt"`
}

// PlaidImport is one Plaid Item to import, with its customer by
// CustomerID or ExternalCustomerID.
type PlaidImport struct {
	ItemID             string `json:"itemId"`
	AccessToken        string `json:"accessToken"`
	CustomerID         string `json:"customerId,omitempty"`
	ExternalCustomerID string `json:"externalCustomerId,omitempty"`
}

// ConnectionImport is an import request's outcome, one result per entry
// in request order.
type ConnectionImport struct {
	RequestID   string         `json:"requestId"`
	CreatedAt   string         `json:"createdAt"`
	Connections []ImportResult `json:"connections"`
}

// ImportResult is what became of one imported connection: Status
// IMPORTED, ALREADY_IMPORTED or FAILED (with ErrorCode and ErrorMessage).
type ImportResult struct {
	Index              int    `json:"index"`
	Status             string `json:"status"`
	ServiceProvider    string `json:"serviceProvider,omitempty"`
	LoginID            string `json:"loginId,omitempty"`
	ConnectionID       string `json:"connectionId,omitempty"`
	CustomerID         string `json:"customerId,omitempty"`
	ExternalCustomerID string `json:"externalCustomerId,omitempty"`
	ErrorCode          string `json:"errorCode,omitempty"`
	ErrorMessage       string `json:"errorMessage,omitempty"`
}

// Activity is one step of a widget session in the activity log
// (GET /activity-log). Failures have Action
// INSTITUTION_CONNECTION_WIDGET_ERROR and an EventType.
type Activity struct {
	ID              string  `json:"id"`
	Key             string  `json:"key"`
	AccountID       string  `json:"accountId"`
	CustomerID      string  `json:"customerId"`
	ConnectionID    string  `json:"connectionId"`
	Action          string  `json:"action"`
	EventType       *string `json:"eventType"`
	Timestamp       string  `json:"timestamp"`
	InstitutionID   *string `json:"institutionId"`
	InstitutionName *string `json:"institutionName"`
	ServiceProvider *string `json:"serviceProvider"`
	Step            *string `json:"step"`
	Reason          *string `json:"reason"`
	Message         *string `json:"message"`
	SearchString    *string `json:"searchString"`
	Repair          bool    `json:"repair"`
}

// NullString is a string the API sends as null when it has no value (the
// external id of a customer created without one); it reads null as "".
type NullString string

// MarshalJSON writes "" as null.
func (n NullString) MarshalJSON() ([]byte, error) {
	if n == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(n))
}

// UnmarshalJSON reads null as "".
func (n *NullString) UnmarshalJSON(b []byte) error {
	var s *string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*n = ""
	if s != nil {
		*n = NullString(*s)
	}
	return nil
}
