package banklink

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"time"
)

// Processor is a payment processor an app hands a linked account to
// (Stripe, Dwolla …), as Meld names it.
type Processor string

// Processors is Meld's processor enum: Plaid's processors (its
// /processor/token/create list, apex_clearing as APEX) and STRIPE, which
// Plaid serves with bank account tokens instead.
var Processors = []Processor{"ACHQ", "ADP_ROLL", "ADYEN", "ALLOY", "ALPACA", "ANSA", "APEX", "ARRAY", "ASTRA", "ATOMIC", "ATOMICFI",
	"BAKKT", "BLOOM_CREDIT", "BOND", "BOOM", "BRALE", "CARDLESS", "CARDLYTICS", "CHECK", "CHECKBOOK", "CHECKOUT", "CIRCLE", "CURINOS",
	"DRIVEWEALTH", "DWOLLA", "ESUSU", "FIANT", "FINIX", "FORTRESS_TRUST", "FRAME", "GAINBRIDGE", "GALILEO", "GEMINI", "GUSTO",
	"HIGHNOTE", "I2C", "INTERCHANGE", "INTERCHECKS", "KNOT", "LAYER", "LITHIC", "LOANPRO", "MARQETA", "MODERN_TREASURY", "MOOV",
	"NUVEI", "OATFI", "OCROLUS", "OPEN_LEDGER", "PARAFIN", "PAYNOTE", "PINWHEEL", "RISKIFIED", "RIZE", "SARDINE", "SCRIBEUP",
	"SFOX", "SILA_MONEY", "SOLID", "STAKE", "STRADDLE", "STRIPE", "SVB_API", "TABA_PAY", "TEAL", "THREAD_BANK", "TREASURY_PRIME",
	"UNIT", "UTB", "VALON", "VESTA", "VOPAY", "WEDBUSH", "WEPAY", "WYRE", "ZERO_HASH"}

// ParseProcessor returns the processor s names (exactly, as Meld spells
// it), or a BAD_REQUEST about field.
func ParseProcessor(field, s string) (Processor, error) {
	if s == "" {
		return "", FieldErrorf(field, "is required: name the payment processor, e.g. DWOLLA or STRIPE")
	}
	p := Processor(s)
	if !slices.Contains(Processors, p) {
		return "", FieldErrorf(field, "%q is not a processor banklink knows; see the processor enum in openapi.yaml", truncateText(s, 40))
	}
	return p, nil
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// ProcessorTokenRequest asks a provider for a processor token for one of
// a login's accounts.
type ProcessorTokenRequest struct {
	LoginID           string
	ProviderAccountID string
	Processor         Processor
	// ProviderCredentials are the account's own credentials for the
	// provider, nil for the deployment's (as for AggregationRequest).
	ProviderCredentials map[string]string
}

// ProcessorTokenCreator is a provider that hands an account to a payment
// processor through its own API (Plaid's /processor/token/create, MX's
// /authorization_code). The token it returns is secret: the caller stores
// it sealed and never logs it.
type ProcessorTokenCreator interface {
	CreateProcessorToken(ctx context.Context, req ProcessorTokenRequest) (string, error)
}

// ProcessorToken is a token handed out for a financial account. Token is
// set only on the one returned by CreateProcessorToken; the store keeps it
// sealed.
type ProcessorToken struct {
	ID                 string
	AccountID          string
	Environment        Environment
	FinancialAccountID string
	ConnectionID       string
	ProviderType       string
	Processor          Processor
	Token              string
	CreatedAt          time.Time
	RevokedAt          *time.Time
}

// ProcessorTokenHash is how the store finds a token without opening it.
func ProcessorTokenHash(token string) string {
	sum := sha256.Sum256([]byte("processor-token\x00" + token))
	return hex.EncodeToString(sum[:])
}

// ProcessorTokenStore keeps processor tokens, sealed.
type ProcessorTokenStore interface {
	// CreateProcessorToken stores t (its Token sealed, bound to its ID)
	// and emits ev in the same transaction. Returns ECONFLICT when the
	// token is stored already.
	CreateProcessorToken(ctx context.Context, t *ProcessorToken, ev *Event) error
	// RevokeProcessorToken marks revoked at at the scope's token whose
	// value is token, on financialAccountID, and emits the event
	// makeEvent builds from it, in one transaction. Returns ENOTFOUND
	// when the scope has no such token on that account and ECONFLICT when
	// it is revoked already. The returned token has no Token.
	RevokeProcessorToken(ctx context.Context, scope Scope, financialAccountID, token string, at time.Time, makeEvent func(*ProcessorToken) *Event) (*ProcessorToken, error)
	// OpenProcessorToken returns the scope's token id with its Token
	// opened. Returns ENOTFOUND outside scope.
	OpenProcessorToken(ctx context.Context, scope Scope, id string) (*ProcessorToken, error)
}

// RouteImported is the routing reason of a connection imported from a
// provider rather than linked through the widget.
const RouteImported = "IMPORTED"

// MaxImportBatch is the most connections one import request takes.
const MaxImportBatch = 100

// ImportLoginRequest names a login an app made directly with a provider
// (a Plaid Item and its access token).
type ImportLoginRequest struct {
	LoginID string
	// AccessToken is the provider's secret for the login; never logged.
	AccessToken         string
	ProviderCredentials map[string]string
}

// ImportedLogin is what the provider says about an imported login.
type ImportedLogin struct {
	LoginID string
	// ProviderInstitutionID is the provider's id of the institution.
	ProviderInstitutionID string
	// Products are the banklink products the login can serve.
	Products []Product
}

// LoginImporter is a provider whose existing logins can be brought into
// banklink (Plaid Items). CheckLogin validates the login at the provider
// and keeps nothing; AdoptLogin stores its secret for banklink's later
// calls and re-points the provider's webhooks. A login that fails
// CheckLogin is never adopted.
type LoginImporter interface {
	CheckLogin(ctx context.Context, req ImportLoginRequest) (*ImportedLogin, error)
	AdoptLogin(ctx context.Context, req ImportLoginRequest) error
}

// Import result statuses.
const (
	ImportCreated  = "IMPORTED"
	ImportExisting = "ALREADY_IMPORTED"
	ImportFailed   = "FAILED"
)

// ImportResult is what became of one connection of an import request.
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

// ConnectionImport is one import request and its results.
type ConnectionImport struct {
	ID          string
	AccountID   string
	Environment Environment
	Results     []ImportResult
	CreatedAt   time.Time
}

// ImportStore keeps imported connections and import requests.
type ImportStore interface {
	// ImportConnection creates conn, ACTIVE and completed by c, for the
	// scope's customer cust (found by ID when set, else by ExternalID,
	// created when new), and records that it holds c.LoginID, emitting
	// CONNECTION_COMPLETED, in one transaction; its aggregation work is
	// requested with it. When the scope imported that login already it
	// changes nothing and returns the connection holding it with existed
	// true. Returns ENOTFOUND for a customer ID outside scope or an
	// unknown institution.
	ImportConnection(ctx context.Context, cust *Customer, conn *Connection, c Completion) (stored *Connection, existed bool, err error)
	// SaveConnectionImport stores an import request's results.
	SaveConnectionImport(ctx context.Context, imp *ConnectionImport) error
	// FindConnectionImport returns ENOTFOUND outside scope.
	FindConnectionImport(ctx context.Context, scope Scope, id string) (*ConnectionImport, error)
}
