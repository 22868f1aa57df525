package banklink

import (
	"context"
	"encoding/json"
	"slices"
	"time"
)

// Raw provider payloads. Meld serves each account, transaction, holding
// and investment transaction with serviceProviderDetails: the provider's
// own JSON for that record, so that clients reach fields banklink does not
// map. Providers set Raw on what they return (the sandboxes their own
// bank's records); the store keeps the newest one a record was
// aggregated with, and sets RawProvider (the provider type of the
// connection it came through) and RawUpdatedAt (the aggregation that first
// brought those bytes) on what it returns.

// FinancialAccount is one account (checking, card, brokerage ...) a
// connection gives access to, with the account-level products.
type FinancialAccount struct {
	ID           string
	Key          string
	AccountID    string
	Environment  Environment
	CustomerID   string
	ConnectionID string
	// ConnectionIDs are the live connections sharing the record: its
	// connection and that connection's duplicates (the same login linked
	// again), which hold one set of data. Set by the store's reads.
	ConnectionIDs []string
	// ProviderAccountID is the provider's id; with the connection it
	// identifies the account across aggregations.
	ProviderAccountID              string
	InstitutionID                  string
	Status                         string // ACTIVE or INACTIVE
	Type                           string // DEPOSITORY, CREDIT, LOAN, INVESTMENT
	Subtype                        string
	Name                           string
	Mask                           string
	Balances                       *AccountBalances
	Identifiers                    *AccountIdentifiers
	Owners                         []Owner
	HistoricalAggregationSucceeded bool
	ExternalCustomerID             string
	InstitutionName                string
	UpdatedAt                      time.Time
	// Raw, RawProvider and RawUpdatedAt: see "Raw provider payloads".
	Raw          json.RawMessage
	RawProvider  string
	RawUpdatedAt time.Time
}

// AccountBalances are positive for every account type: for cards and loans a
// positive balance is owed.
type AccountBalances struct {
	Currency        string
	CurrentAmount   float64
	AvailableAmount *float64
	UpdatedAt       time.Time
}

// AccountIdentifiers are the numbers money moves with.
type AccountIdentifiers struct {
	ACH *ACHNumbers
	EFT *EFTNumbers
}

// ACHNumbers are US account and routing numbers.
type ACHNumbers struct{ AccountNumber, RoutingNumber string }

// EFTNumbers are Canadian account, institution and branch (transit)
// numbers.
type EFTNumbers struct{ AccountNumber, InstitutionNumber, BranchNumber string }

// Owner is an account holder.
type Owner struct {
	Names        []string
	Addresses    []Address
	Emails       []string
	PhoneNumbers []string
}

// Address is a postal address.
type Address struct {
	Street, City, Region, PostalCode, Country string
	Primary                                   bool
}

// Transaction statuses and recurring flags.
const (
	TxPending = "PENDING"
	TxPosted  = "POSTED"
	TxExpired = "EXPIRED"

	RecurringYes     = "RECURRING"
	RecurringNo      = "NOT_RECURRING"
	RecurringUnknown = "UNKNOWN"
)

// TransactionCategories lists Meld's categories.
var TransactionCategories = []string{"INCOME", "BILLS", "LOAN", "EDUCATION", "ENTERTAINMENT", "FOOD_AND_DRINK", "FEE", "FAMILY", "HEALTH",
	"HOME", "TRANSPORTATION", "TRAVEL", "TRANSFER", "MEDICAL", "INVESTMENTS", "SHOPPING", "TAXES", "OTHER", "UNCATEGORIZED"}

// Transaction is money moving in or out of a financial account. Amount is
// positive when money leaves the account, negative when it arrives.
type Transaction struct {
	ID                 string
	Key                string
	AccountID          string
	CustomerID         string
	ExternalCustomerID string
	ConnectionID       string
	// ConnectionIDs are the live connections sharing the record: its
	// connection and that connection's duplicates (the same login linked
	// again), which hold one set of data. Set by the store's reads.
	ConnectionIDs         []string
	FinancialAccountID    string
	ProviderTransactionID string
	Amount                float64
	Currency              string
	Description           string
	TransactionDate       string // yyyy-mm-dd
	PostedDate            string // yyyy-mm-dd, empty while pending
	Status                string
	Category              string
	Recurring             string
	// ProviderAliasID is another id the provider may name the
	// transaction by, "" for none: Plaid gives a posted transaction a
	// new id while banklink keeps it under the id of the pending one it
	// replaced, and Plaid may remove it by either. A removal
	// (AggregatedAccount.RemovedTransactionIDs) matches both.
	ProviderAliasID string
	// Raw, RawProvider and RawUpdatedAt: see "Raw provider payloads".
	Raw          json.RawMessage
	RawProvider  string
	RawUpdatedAt time.Time
}

// AggregatedAccount is what a provider returns for one account.
type AggregatedAccount struct {
	ProviderAccountID string
	Type, Subtype     string
	Name, Mask        string
	Balances          *AccountBalances
	Identifiers       *AccountIdentifiers
	Owners            []Owner
	Transactions      []Transaction
	// Holdings is the current snapshot, nil when not requested.
	Holdings               []Holding
	InvestmentTransactions []InvestmentTransaction
	// NotShared marks an account the provider sees at the login but the
	// customer has not shared with the app (one opened since linking). It
	// carries no data; the first time one appears the connection becomes
	// ACTIVE / NEW_ACCOUNTS_AVAILABLE, and a repair lets the customer
	// share it.
	NotShared bool
	// Raw is the provider's JSON object for the account, unchanged (see
	// "Raw provider payloads"); nil when the provider has none.
	Raw json.RawMessage
	// RemovedTransactionIDs are provider transaction ids the provider
	// removed, in an incremental aggregation (Aggregation.Incremental).
	RemovedTransactionIDs []string
}

// DeliveredProducts lists the account-level products an aggregation
// delivered for a, as its events name them (never TRANSACTIONS, as in
// Meld's events).
func (a *AggregatedAccount) DeliveredProducts() []Product {
	var out []Product
	if a.Balances != nil {
		out = append(out, Balances)
	}
	if a.Identifiers != nil {
		out = append(out, Identifiers)
	}
	if len(a.Owners) > 0 {
		out = append(out, Owners)
	}
	if a.Holdings != nil {
		out = append(out, InvestmentHoldings)
	}
	return out
}

// AnnounceAccounts returns announced, the provider account ids of unshared
// accounts already announced, with those of unshared it lacks, and
// whether there were any: an unshared account is announced
// (NEW_ACCOUNTS_AVAILABLE) once, by the first aggregation that finds it.
func AnnounceAccounts(announced, unshared []string) ([]string, bool) {
	fresh := false
	for _, id := range unshared {
		if !slices.Contains(announced, id) {
			announced, fresh = append(announced, id), true
		}
	}
	return announced, fresh
}

// Aggregation is what a StatefulAggregator returns: the accounts, and
// where to continue from next time.
type Aggregation struct {
	Accounts []AggregatedAccount
	// State is what the next aggregation of the connection continues
	// from (AggregationRequest.ProviderState); saved with the data, in
	// the same transaction, so the data and the state never disagree.
	// Empty keeps the state held.
	State string
	// Incremental: the accounts' transactions are only the changes since
	// the request's ProviderState, with removals in
	// RemovedTransactionIDs; a transaction not in the list is unchanged,
	// not gone.
	Incremental bool
}

// StatefulAggregator is an Aggregator that can continue from where its
// previous aggregation of a connection stopped (Plaid's transactions
// cursor) instead of reading the whole history again.
type StatefulAggregator interface {
	Aggregator
	// AggregateFrom is Aggregate continuing from req.ProviderState (from
	// the start when empty).
	AggregateFrom(ctx context.Context, req AggregationRequest) (Aggregation, error)
}

// AggregationRequest asks a provider for a connection's data.
type AggregationRequest struct {
	Institution *Institution
	LoginID     string
	// AccountIDs are the provider account ids the customer chose.
	AccountIDs []string
	Products   []Product
	// Since bounds the transactions returned (the initial window or the
	// historical pass).
	Since time.Time
	Now   time.Time
	// ProviderCredentials are the account's own credentials for the
	// provider (its provider configuration), nil for the deployment's: a
	// login made with an account's keys is only readable with them.
	ProviderCredentials map[string]string
	// ProviderState is where a StatefulAggregator's previous aggregation
	// of the connection stopped; empty to read everything.
	ProviderState string
}

// Aggregator is a provider that can fetch a connection's data.
type Aggregator interface {
	Provider
	// Aggregate returns the chosen accounts with the requested products.
	// Returns *ProviderError when the login no longer works.
	Aggregate(ctx context.Context, req AggregationRequest) ([]AggregatedAccount, error)
}

// AggregationStats counts what one aggregation changed.
type AggregationStats struct {
	AccountsAdded, AccountsUpdated         int
	TransactionsAdded, TransactionsUpdated int

	InvestmentTransactionsAdded, InvestmentTransactionsUpdated int
}

// FinancialAccountFilter selects financial accounts. Zero fields do not
// filter.
type FinancialAccountFilter struct {
	CustomerID, ExternalCustomerID, InstitutionID, ConnectionID string
	After, Before                                               string
	Limit                                                       int
}

// TransactionFilter selects transactions. Zero fields do not filter.
type TransactionFilter struct {
	CustomerID, ExternalCustomerID, FinancialAccountID, ConnectionID string
	Status, Category                                                 string
	// StartDate and EndDate bound transactionDate, both inclusive
	// (yyyy-mm-dd).
	StartDate, EndDate string
	After, Before      string
	Limit              int
}

// AccountDataStore keeps aggregated data.
type AccountDataStore interface {
	// SaveAggregation stores a connection's aggregated accounts in one
	// transaction: accounts are matched by provider account id and
	// transactions by provider transaction id, so aggregating again
	// updates rather than duplicates. It records the aggregation time on
	// the connection and resets its failure count.
	SaveAggregation(ctx context.Context, scope Scope, connectionID string, accounts []AggregatedAccount, historical bool, at time.Time) (AggregationStats, error)
	// SaveAggregationFrom is SaveAggregation for a StatefulAggregator's
	// result: it also stores agg.State on the connection, in the same
	// transaction, and with agg.Incremental applies removals rather than
	// treating absent transactions as gone.
	SaveAggregationFrom(ctx context.Context, scope Scope, connectionID string, agg Aggregation, historical bool, at time.Time) (AggregationStats, error)
	// FindFinancialAccountByID returns ENOTFOUND outside scope.
	FindFinancialAccountByID(ctx context.Context, scope Scope, id string) (*FinancialAccount, error)
	// FindFinancialAccounts lists accounts in creation order.
	FindFinancialAccounts(ctx context.Context, scope Scope, f FinancialAccountFilter) ([]*FinancialAccount, int, error)
	// FindTransactionByID returns ENOTFOUND outside scope.
	FindTransactionByID(ctx context.Context, scope Scope, id string) (*Transaction, error)
	// FindTransactions lists transactions newest first. With a customer,
	// connection or financial account the list is one timeline across
	// their accounts; without any, it runs account by account (the most
	// recently linked account first), newest first within each, as
	// Meld's list does: a tenant-wide timeline would need an index that
	// every backfilled row lands in the middle of.
	FindTransactions(ctx context.Context, scope Scope, f TransactionFilter) ([]*Transaction, int, error)
}

// Holding types and investment transaction types, as Meld names them.
var (
	HoldingTypes               = []string{"STOCK", "MUTUALFUND", "CASH", "OTHER", "REALESTATE", "ETF", "DERIVATIVE", "DIGITALASSET"}
	InvestmentTransactionTypes = []string{"SELL", "BUY", "CANCEL", "CASH", "OTHER", "TRANSFER"}
)

// Holding is a position in an investment account.
type Holding struct {
	ID                 string
	Key                string
	AccountID          string
	CustomerID         string
	ExternalCustomerID string
	ConnectionID       string
	// ConnectionIDs are the live connections sharing the record: its
	// connection and that connection's duplicates (the same login linked
	// again), which hold one set of data. Set by the store's reads.
	ConnectionIDs      []string
	FinancialAccountID string
	// ProviderHoldingID identifies the position across aggregations.
	ProviderHoldingID string
	Symbol            string
	Description       string
	Quantity          float64
	ClosePrice        float64
	CurrentValue      float64
	CostBasis         *float64
	Currency          string
	CUSIP, ISIN       string
	Type              string
	UpdatedAt         time.Time
	// Raw, RawProvider and RawUpdatedAt: see "Raw provider payloads".
	Raw          json.RawMessage
	RawProvider  string
	RawUpdatedAt time.Time
}

// InvestmentTransaction is a trade, dividend or transfer in an investment
// account. Amount follows the same sign rule as Transaction.
type InvestmentTransaction struct {
	ID                 string
	Key                string
	AccountID          string
	CustomerID         string
	ExternalCustomerID string
	ConnectionID       string
	// ConnectionIDs are the live connections sharing the record: its
	// connection and that connection's duplicates (the same login linked
	// again), which hold one set of data. Set by the store's reads.
	ConnectionIDs         []string
	FinancialAccountID    string
	ProviderTransactionID string
	Amount                float64
	Quantity              float64
	Price                 float64
	Symbol                string
	Description           string
	Currency              string
	TransactionDate       string
	PostedDate            string
	Status                string
	Type                  string
	// Raw, RawProvider and RawUpdatedAt: see "Raw provider payloads".
	Raw          json.RawMessage
	RawProvider  string
	RawUpdatedAt time.Time
}

// HoldingFilter and InvestmentTransactionFilter select investment data.
type HoldingFilter struct {
	CustomerID, ExternalCustomerID, FinancialAccountID, ConnectionID string
	After, Before                                                    string
	Limit                                                            int
}

// InvestmentTransactionFilter selects investment transactions.
type InvestmentTransactionFilter struct {
	CustomerID, ExternalCustomerID, FinancialAccountID, ConnectionID string
	Statuses                                                         []string
	StartDate, EndDate                                               string
	After, Before                                                    string
	Limit                                                            int
}

// InvestmentStore reads investment data (SaveAggregation writes it).
type InvestmentStore interface {
	FindHoldingByID(ctx context.Context, scope Scope, id string) (*Holding, error)
	FindHoldings(ctx context.Context, scope Scope, f HoldingFilter) ([]*Holding, int, error)
	FindInvestmentTransactionByID(ctx context.Context, scope Scope, id string) (*InvestmentTransaction, error)
	FindInvestmentTransactions(ctx context.Context, scope Scope, f InvestmentTransactionFilter) ([]*InvestmentTransaction, int, error)
}
