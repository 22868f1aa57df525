package banklink

import (
	"context"
	"strings"
	"time"
)

// Provider is an upstream aggregator (the sandbox bank, Plaid, MX ...).
// Like dex's connectors, the base interface is tiny and capabilities are
// optional interfaces found by type assertion, so a provider implements
// only what its API offers.
type Provider interface {
	// Type is the provider type name, e.g. "sandbox".
	Type() string
}

// CredentialField describes one input of a provider's login form.
type CredentialField struct {
	Name  string // form field name, e.g. "username"
	Label string // shown to the customer
	// Secret fields are rendered as password inputs.
	Secret bool
}

// LoginStart is what the widget shows first for an institution: a
// credential form, or a redirect to the institution (OAuth).
type LoginStart struct {
	Fields []CredentialField
	// RedirectURL, when set, is where the customer logs in instead.
	RedirectURL string
	// Embed, when set, shows RedirectURL inside the widget (an iframe)
	// instead of leaving for it: a provider's own hosted login (MX
	// Connect) that reports its outcome to the embedding page by
	// postMessage rather than by redirecting back.
	Embed *LoginEmbed
}

// LoginEmbed says how the widget talks to an embedded provider page.
type LoginEmbed struct {
	// Origin is the page's origin: only its messages count.
	Origin string
	// DoneEvents are the message types (the message's "type") that mean
	// the login finished; the widget hands the message's metadata, with
	// "event" set to the type, to the provider's CompleteRedirect.
	DoneEvents []string
}

// FrameSource is a provider whose login pages the widget embeds: their
// origins join the widget page's Content-Security-Policy frame-src.
type FrameSource interface {
	FrameOrigins() []string
}

// MFAKind is the kind of a multi-factor challenge.
type MFAKind string

// The MFA kinds.
const (
	MFACode     MFAKind = "CODE"
	MFAQuestion MFAKind = "QUESTION"
	MFAChoice   MFAKind = "CHOICE"
)

// MFAChallenge asks the customer for one more factor.
type MFAChallenge struct {
	Kind    MFAKind
	Prompt  string
	Choices []string // for MFAChoice
}

// ProviderAccount is an account a login gives access to, as listed for
// the customer to choose from.
type ProviderAccount struct {
	ID      string // the provider's account id
	Name    string
	Type    string // DEPOSITORY, CREDIT, LOAN, INVESTMENT
	Subtype string
	Mask    string // last 4 digits
}

// LoginStep is the outcome of one login interaction: another MFA
// challenge, or success with the accounts to choose from.
type LoginStep struct {
	MFA *MFAChallenge
	// State is opaque provider state to hand back with the next answer;
	// it must never contain the customer's credentials.
	State string
	// On success: the provider's id for this login (the same login at the
	// same institution yields the same id, which is how duplicates are
	// recognised) and the accounts.
	LoginID  string
	Accounts []ProviderAccount
}

// Done reports whether the login succeeded.
func (s *LoginStep) Done() bool { return s.MFA == nil }

// LoginRequest starts an interactive login.
type LoginRequest struct {
	Institution *Institution
	// ProviderInstitutionID is the provider's id of the institution.
	ProviderInstitutionID string
	Products              []Product
	// OptionalProducts are the connection's optional products: fetched
	// where the institution offers them, never a reason to refuse one.
	// A provider that asks for consent or data at login asks for them
	// too, so that they can be aggregated afterwards.
	OptionalProducts []Product
	// Credentials are the customer's inputs. Providers pass them on and
	// must not store or log them.
	Credentials map[string]string
	// CallbackURL is where a redirect login returns.
	CallbackURL string
	// ProviderCredentials are the account's credentials for the provider
	// (from its ProviderConfig), nil when the deployment's defaults apply.
	ProviderCredentials map[string]string
	// ProviderUserID is the customer's provider-side user, for providers
	// that are UserProvisioners.
	ProviderUserID string
	// RepairLoginID is set, by the widget, only when the customer is
	// repairing a connection this provider linked: it is the connection's
	// login (ProviderLoginID). A provider that can fix a login in place
	// (Plaid's update mode) fixes that one, keeping its id, instead of
	// creating another login; providers that cannot ignore it.
	RepairLoginID string
	// Language is the customer's language, a BCP 47 tag ("en", "fr-CA"):
	// a provider whose prompts or pages can speak it uses it, others
	// ignore it.
	Language string
	// Now is the request time.
	Now time.Time
}

// Login failure codes, carried in ProviderError.Reason.
const (
	LoginInvalidCredentials = "INVALID_CREDENTIALS"
	LoginInvalidMFA         = "INVALID_MFA"
	LoginLocked             = "ACCOUNT_LOCKED"
	LoginInstitutionDown    = "INSTITUTION_DOWN"
	LoginProviderDown       = "SERVICE_PROVIDER_DOWN"
	LoginNoAccounts         = "NO_ELIGIBLE_ACCOUNTS"
	LoginOAuthDenied        = "OAUTH_DENIED"
)

// ProviderError is a provider-side failure with a reason code and a
// message that is safe to show the customer.
type ProviderError struct {
	Reason string
	// DisplayMessage is written for the customer.
	DisplayMessage string
	// Retryable: submitting the same login again can succeed without the
	// customer acting outside the widget (a mistyped password, an
	// institution briefly down); false when it cannot (a login locked at
	// the bank). It never ends the widget session: other credentials may
	// still be tried (docs/widget.md).
	Retryable bool
}

func (e *ProviderError) Error() string { return "provider: " + e.Reason + ": " + e.DisplayMessage }

// InteractiveLogin is a provider whose login runs inside banklink's widget.
type InteractiveLogin interface {
	Provider
	// StartLogin says how the customer logs in at the institution.
	StartLogin(ctx context.Context, req LoginRequest) (LoginStart, error)
	// SubmitCredentials runs the login. Returns *ProviderError on failure.
	SubmitCredentials(ctx context.Context, req LoginRequest) (*LoginStep, error)
	// AnswerMFA answers the challenge of a previous step.
	AnswerMFA(ctx context.Context, req LoginRequest, state, answer string) (*LoginStep, error)
	// CompleteRedirect finishes a redirect login from the callback's query.
	CompleteRedirect(ctx context.Context, req LoginRequest, query map[string]string) (*LoginStep, error)
}

// LoginRemover is a provider that can revoke a login at its end (Plaid's
// /item/remove), called when a connection is deleted so the provider stops
// holding (and billing for) access.
type LoginRemover interface {
	// credentials are the account's own for the provider (nil: the
	// deployment's), those the login was made with.
	RemoveLogin(ctx context.Context, loginID string, credentials map[string]string) error
}

// RefreshLimiter is a provider that aggregates a login on request only so
// often (MX: once per member every few hours). The refresh endpoint asks
// it before accepting a refresh, so an app learns when to come back (429
// with Retry-After) instead of a refresh that silently changes nothing.
type RefreshLimiter interface {
	// NextRefresh returns when the provider will next aggregate the login
	// on request; the zero time means now.
	// credentials are as for LoginRemover.
	NextRefresh(ctx context.Context, loginID string, credentials map[string]string, now time.Time) (time.Time, error)
}

// CredentialKeyer is a provider that says which keys an account's
// credentials for it take (ProviderConfig.Credentials): the API refuses
// others (a misspelt key would silently fall back to the deployment's
// credentials) and the dashboard offers those fields.
type CredentialKeyer interface {
	CredentialKeys() []string
}

// ProviderWireName is how a provider type is named on the wire
// ("sandbox-b" is "SANDBOX_B").
func ProviderWireName(providerType string) string {
	return strings.ToUpper(strings.ReplaceAll(providerType, "-", "_"))
}

// ProviderTypeOf is the provider type a wire name means, the inverse of
// ProviderWireName (it also accepts the type itself).
func ProviderTypeOf(wire string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(wire), "_", "-"))
}
