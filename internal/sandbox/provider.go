package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"

	"banklink"
)

// Sandbox credentials. docs/sandbox.md lists them for people; tests use
// these constants.
const (
	PasswordGood    = "pass_good"
	UserGood        = "user_good"
	UserMFACode     = "user_mfa_code"
	UserMFAQuestion = "user_mfa_question"
	UserMFAChoice   = "user_mfa_choice"
	UserLocked      = "user_locked"
	// These log in, then aggregation goes wrong: the recent window works
	// but the historical pass fails (DEGRADED, data kept), the login
	// stopped working (RECONNECT_REQUIRED), or every attempt fails
	// (DEGRADED, then UNRECOVERABLE after three in a row).
	UserDegraded      = "user_degraded"
	UserReconnect     = "user_reconnect"
	UserUnrecoverable = "user_unrecoverable"
	// UserNewAccounts links normally; from its first aggregation on the
	// bank reports one more account, opened since: the connection becomes
	// ACTIVE / NEW_ACCOUNTS_AVAILABLE.
	UserNewAccounts  = "user_new_accounts"
	MFACodeAnswer    = "1234"
	MFAQuestionReply = "rover"
	// OAuthApproveCode is what the simulated bank's authorize page returns
	// when the customer approves.
	OAuthApproveCode = "sandbox-approved"
)

// Provider is the built-in sandbox provider: a deterministic fake bank
// that needs no network, so the whole flow runs in CI.
type Provider struct {
	// AuthorizeURL is the simulated bank's OAuth page, served by banklink
	// itself (for example http://127.0.0.1:8080/connect/sandbox/authorize).
	AuthorizeURL string
	// Kind is ProviderType (the default when empty) or ProviderTypeB.
	Kind string
}

// NewB returns the second sandbox aggregator, sandbox-b.
func NewB() *Provider { return &Provider{Kind: ProviderTypeB} }

var _ banklink.InteractiveLogin = (*Provider)(nil)

// Type implements banklink.Provider.
func (p *Provider) Type() string {
	if p.Kind == "" {
		return ProviderType
	}
	return p.Kind
}

func (p *Provider) isDown(in *banklink.Institution) bool {
	pi, ok := in.Providers[p.Type()]
	return ok && pi.Health == banklink.HealthDown
}

func downError() error {
	return &banklink.ProviderError{Reason: banklink.LoginInstitutionDown, Retryable: true,
		DisplayMessage: "This institution is not responding right now. Please try again later or pick another institution."}
}

// StartLogin implements banklink.InteractiveLogin.
func (p *Provider) StartLogin(ctx context.Context, req banklink.LoginRequest) (banklink.LoginStart, error) {
	if p.isDown(req.Institution) {
		return banklink.LoginStart{}, downError()
	}
	if pi := req.Institution.Providers[p.Type()]; pi.Redirect {
		q := url.Values{"institution": {req.Institution.Name}, "return": {req.CallbackURL}}
		if pi.NoFrame {
			// The simulated bank refuses to be framed, as Chase's does.
			q.Set("frames", "deny")
		}
		return banklink.LoginStart{RedirectURL: p.AuthorizeURL + "?" + q.Encode()}, nil
	}
	return banklink.LoginStart{Fields: []banklink.CredentialField{
		{Name: "username", Label: "Username"},
		{Name: "password", Label: "Password", Secret: true},
	}}, nil
}

// loginID is the provider's stable id for one login at one institution:
// logging in again with the same username yields the same id, which is how
// duplicate connections are recognised.
func loginID(institutionID, username string) string {
	sum := sha256.Sum256([]byte("sandbox-login\x00" + institutionID + "\x00" + username))
	id := banklink.EncodeBase58(sum[:12], 17)
	// The scenario rides in the login id (never the username itself) so
	// later aggregations know how to behave.
	switch username {
	case UserDegraded:
		return "sbx_dg_" + id
	case UserReconnect:
		return "sbx_rc_" + id
	case UserUnrecoverable:
		return "sbx_ur_" + id
	case UserNewAccounts:
		return "sbx_na_" + id
	}
	return "sbx_" + id
}

// SubmitCredentials implements banklink.InteractiveLogin.
func (p *Provider) SubmitCredentials(ctx context.Context, req banklink.LoginRequest) (*banklink.LoginStep, error) {
	if p.isDown(req.Institution) {
		return nil, downError()
	}
	if err := p.checkUser(req); err != nil {
		return nil, err
	}
	user := strings.TrimSpace(req.Credentials["username"])
	pass := req.Credentials["password"]
	if user == "" || pass != PasswordGood {
		return nil, &banklink.ProviderError{Reason: banklink.LoginInvalidCredentials, Retryable: true,
			DisplayMessage: "The username or password is incorrect. Check them and try again."}
	}
	id := loginID(req.Institution.ID, user)
	if p.Type() == ProviderTypeB && strings.HasPrefix(user, "user_mfa_") {
		// sandbox-b trusts the device: no challenge.
		return p.success(req, id), nil
	}
	switch user {
	case UserLocked:
		return nil, &banklink.ProviderError{Reason: banklink.LoginLocked,
			DisplayMessage: "This account is locked at the institution. Visit the institution's website to unlock it, then try again."}
	case UserMFACode:
		return codeChallenge(req, id), nil
	case UserMFAQuestion:
		return &banklink.LoginStep{State: "question|" + id, MFA: &banklink.MFAChallenge{Kind: banklink.MFAQuestion, Prompt: say(req.Language, "mfa.question")}}, nil
	case UserMFAChoice:
		return &banklink.LoginStep{State: "choice|" + id, MFA: &banklink.MFAChallenge{Kind: banklink.MFAChoice,
			Prompt: say(req.Language, "mfa.choice"), Choices: []string{say(req.Language, "choice.text"), say(req.Language, "choice.email")}}}, nil
	}
	return p.success(req, id), nil
}

func codeChallenge(req banklink.LoginRequest, id string) *banklink.LoginStep {
	return &banklink.LoginStep{State: "code|" + id, MFA: &banklink.MFAChallenge{Kind: banklink.MFACode, Prompt: say(req.Language, "mfa.code")}}
}

// AnswerMFA implements banklink.InteractiveLogin.
func (p *Provider) AnswerMFA(ctx context.Context, req banklink.LoginRequest, state, answer string) (*banklink.LoginStep, error) {
	kind, id, ok := strings.Cut(state, "|")
	if !ok || !strings.HasPrefix(id, "sbx_") {
		return nil, &banklink.ProviderError{Reason: banklink.LoginInvalidMFA, DisplayMessage: "This login session is no longer valid. Please start again."}
	}
	answer = strings.TrimSpace(answer)
	wrong := &banklink.ProviderError{Reason: banklink.LoginInvalidMFA, Retryable: true, DisplayMessage: "That answer is not correct. Please try again."}
	switch kind {
	case "code":
		if answer != MFACodeAnswer {
			return nil, wrong
		}
	case "question":
		if !strings.EqualFold(answer, MFAQuestionReply) {
			return nil, wrong
		}
	case "choice":
		if answer != "0" && answer != "1" {
			return nil, wrong
		}
		// Picking where the code goes leads to the code itself.
		return codeChallenge(req, id), nil
	default:
		return nil, wrong
	}
	return p.success(req, id), nil
}

// CompleteRedirect implements banklink.InteractiveLogin.
func (p *Provider) CompleteRedirect(ctx context.Context, req banklink.LoginRequest, query map[string]string) (*banklink.LoginStep, error) {
	if query["code"] != OAuthApproveCode {
		return nil, &banklink.ProviderError{Reason: banklink.LoginOAuthDenied, Retryable: true,
			DisplayMessage: "Access was not granted at the institution. You can try again."}
	}
	return p.success(req, loginID(req.Institution.ID, "oauth-user")), nil
}

func (p *Provider) success(req banklink.LoginRequest, id string) *banklink.LoginStep {
	return &banklink.LoginStep{LoginID: id, Accounts: accounts(req.Institution, id, p.Type())}
}

// Accounts lists the accounts a sandbox login holds at an institution:
// deterministic for the login, shaped by what the institution supports.
func Accounts(in *banklink.Institution, loginID string) []banklink.ProviderAccount {
	return accounts(in, loginID, ProviderType)
}

func accounts(in *banklink.Institution, loginID, providerType string) []banklink.ProviderAccount {
	sum := sha256.Sum256([]byte(loginID))
	mask := func(i int) string {
		return fmt.Sprintf("%04d", binary.BigEndian.Uint16(sum[2*i:])%10000)
	}
	products := banklink.NewProductSet(in.Providers[providerType].Products...)
	var out []banklink.ProviderAccount
	add := func(name, typ, sub string) {
		i := len(out)
		out = append(out, banklink.ProviderAccount{ID: fmt.Sprintf("%s_acc%d", loginID, i), Name: name, Type: typ, Subtype: sub, Mask: mask(i)})
	}
	if products.Has(banklink.Balances) || products.Has(banklink.Transactions) || products.Has(banklink.Identifiers) {
		add("Everyday Checking", "DEPOSITORY", "CHECKING")
		add("High-Yield Savings", "DEPOSITORY", "SAVINGS")
		if in.Type != banklink.InstitutionBrokerage {
			add("Rewards Credit Card", "CREDIT", "CREDIT_CARD")
			add("Auto Loan", "LOAN", "AUTO")
		}
	}
	if products.Has(banklink.InvestmentHoldings) || products.Has(banklink.InvestmentTransactions) {
		add("Individual Brokerage", "INVESTMENT", "BROKERAGE")
		add("Roth IRA", "INVESTMENT", "ROTH")
	}
	return out
}
