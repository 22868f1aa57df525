package finicity

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"banklink"
)

// Username is the Finicity username banklink enrols for an app's
// customer: a digest of the customer's id, so that the id (often an
// e-mail address) does not leave banklink and always fits Finicity's
// username policy. The same customer always gets the same username.
func Username(externalCustomerID string) string {
	sum := sha256.Sum256([]byte(externalCustomerID))
	return "banklink-" + hex.EncodeToString(sum[:16])
}

// CreateUser implements banklink.UserProvisioner: it enrols the Finicity
// customer of the app's customer, a testing customer with
// Config.Testing (FinBank profiles only) and an active one otherwise.
// Finicity refuses a second customer with the same username with 409;
// that customer is then looked up by username (GET
// /aggregation/v1/customers?username=…), so enrolling is idempotent.
//
// Customers are per partner: an account with its own Finicity
// credentials (a provider configuration) gets its own customers.
func (p *Provider) CreateUser(ctx context.Context, credentials map[string]string, externalCustomerID string) (string, error) {
	k := p.keysFor(credentials)
	if !k.ok() {
		return "", providerErr(banklink.LoginProviderDown, false, "Finicity is not configured for this app; please try again later.")
	}
	id := strings.TrimSpace(externalCustomerID)
	if id == "" {
		return "", &banklink.Error{Code: banklink.EINTERNAL, Message: "A Finicity customer needs the customer's id."}
	}
	username := Username(id)
	cacheKey := k.partnerID + "\x00" + username
	p.mu.Lock()
	cid, ok := p.customers[cacheKey]
	p.mu.Unlock()
	if ok {
		return cid, nil
	}
	path := "/aggregation/v2/customers/active"
	if p.cfg.Testing {
		path = "/aggregation/v2/customers/testing"
	}
	var resp struct {
		ID string `json:"id"`
	}
	_, err := p.call(ctx, k, http.MethodPost, path, nil, map[string]string{"username": username}, &resp)
	if ae, isAE := errors.AsType[*APIError](err); isAE && ae.Status == http.StatusConflict {
		cid, err = p.findCustomer(ctx, k, username)
	} else if err == nil {
		cid = resp.ID
		if cid == "" {
			err = errors.New("finicity: " + path + " answered without a customer id")
		}
	}
	if err != nil {
		return "", mapError(err, phaseLogin, p.cfg.Now())
	}
	p.mu.Lock()
	p.customers[cacheKey] = cid
	p.mu.Unlock()
	return cid, nil
}

// findCustomer returns the id of the customer with the username.
func (p *Provider) findCustomer(ctx context.Context, k keys, username string) (string, error) {
	var resp struct {
		Customers []struct {
			ID       string `json:"id"`
			Username string `json:"username"`
		} `json:"customers"`
	}
	if _, err := p.call(ctx, k, http.MethodGet, "/aggregation/v1/customers", url.Values{"username": {username}}, nil, &resp); err != nil {
		return "", err
	}
	for _, c := range resp.Customers {
		if c.Username == username && c.ID != "" {
			return c.ID, nil
		}
	}
	return "", fmt.Errorf("finicity: enrolling %q answered 409 but no customer has that username", username)
}

// isDown reports whether the directory marks Finicity down at the
// institution.
func isDown(in *banklink.Institution) bool {
	if in == nil {
		return false
	}
	pi, ok := in.Providers[ProviderType]
	return ok && pi.Health == banklink.HealthDown
}

// connectRequest is the body of POST /connect/v2/generate/lite
// (LiteConnectParameters) and /connect/v2/generate/fix
// (FixConnectParameters).
type connectRequest struct {
	PartnerID          string `json:"partnerId"`
	CustomerID         string `json:"customerId"`
	InstitutionID      *int64 `json:"institutionId,omitempty"`
	InstitutionLoginID string `json:"institutionLoginId,omitempty"`
	RedirectURI        string `json:"redirectUri,omitempty"`
	Webhook            string `json:"webhook,omitempty"`
	WebhookContentType string `json:"webhookContentType,omitempty"`
	Experience         string `json:"experience,omitempty"`
	SingleUseURL       bool   `json:"singleUseUrl"`
}

// EventDone is the message Data Connect posts to the page embedding it
// when the customer finished (the Web SDK's "done" event).
const EventDone = "done"

// StartLogin implements banklink.InteractiveLogin: it asks Finicity for a
// single-use Data Connect URL. A new login uses Connect Lite for the
// institution the customer chose in banklink's picker (institutionId: no
// search of Finicity's own); a repair of a connection Finicity linked
// (RepairLoginID) uses Connect Fix on its institution login, which keeps
// the login and its accounts.
//
// By default the customer leaves for Data Connect and comes back to the
// widget's callback (redirectUri): the spec says Connect Lite needs no
// Web SDK, and Finicity documents that redirectUri must not be used
// inside an iframe. With Config.Embed the widget shows Connect in a
// frame instead and waits for its "done" message (what Finicity's Web
// SDK relays); either way CompleteRedirect reads the outcome from
// Finicity's API, not from the page.
func (p *Provider) StartLogin(ctx context.Context, req banklink.LoginRequest) (banklink.LoginStart, error) {
	if isDown(req.Institution) {
		return banklink.LoginStart{}, providerErr(banklink.LoginInstitutionDown, true, msgInstDown)
	}
	if req.ProviderUserID == "" {
		return banklink.LoginStart{}, &banklink.Error{Code: banklink.EINTERNAL, Message: "A Finicity login needs the customer's Finicity customer."}
	}
	k := p.keysFor(req.ProviderCredentials)
	body := connectRequest{PartnerID: k.partnerID, CustomerID: req.ProviderUserID, Experience: p.cfg.Experience, SingleUseURL: true}
	if p.cfg.WebhookURL != "" && k.partnerID == p.cfg.PartnerID {
		// Finicity signs a session's webhooks with its partner's
		// secret; banklink verifies with the deployment's, so sessions
		// under an account's own partner get none.
		body.Webhook, body.WebhookContentType = p.cfg.WebhookURL, "application/json"
	}
	if !p.cfg.Embed {
		body.RedirectURI = req.CallbackURL
	}
	path := "/connect/v2/generate/lite"
	if c, l, err := parseLoginID(req.RepairLoginID); err == nil && c == req.ProviderUserID {
		path, body.InstitutionLoginID = "/connect/v2/generate/fix", l
	} else {
		id, err := strconv.ParseInt(req.ProviderInstitutionID, 10, 64)
		if err != nil {
			return banklink.LoginStart{}, &banklink.Error{Code: banklink.EINTERNAL, Message: "The institution has no Finicity institution id."}
		}
		body.InstitutionID = &id
	}
	var resp struct {
		Link string `json:"link"`
	}
	if _, err := p.call(ctx, k, http.MethodPost, path, nil, body, &resp); err != nil {
		return banklink.LoginStart{}, mapError(err, phaseLogin, p.cfg.Now())
	}
	u, err := url.Parse(resp.Link)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return banklink.LoginStart{}, &banklink.Error{Code: banklink.EPROVIDER, Message: "Finicity returned an unusable Data Connect URL."}
	}
	start := banklink.LoginStart{RedirectURL: resp.Link}
	if p.cfg.Embed {
		origin := u.Scheme + "://" + u.Host
		if !slices.Contains(p.FrameOrigins(), origin) {
			// The widget page's CSP would refuse to frame it.
			return banklink.LoginStart{}, &banklink.Error{Code: banklink.EPROVIDER,
				Message: "Finicity returned a Data Connect URL on " + origin + ", which is not the Connect origin this deployment allows (-finicity-connect-origin)."}
		}
		start.Embed = &banklink.LoginEmbed{Origin: origin, DoneEvents: []string{EventDone}}
	}
	return start, nil
}

// FrameOrigins implements banklink.FrameSource: where Data Connect is
// served from when embedded, Config.ConnectOrigin when set, otherwise
// Finicity's Connect host for Finicity's API and, for any other API host
// (an egress proxy, a local Finicity-compatible server), that host.
func (p *Provider) FrameOrigins() []string {
	if !p.cfg.Embed {
		return nil
	}
	if p.cfg.ConnectOrigin != "" {
		return []string{strings.TrimSuffix(p.cfg.ConnectOrigin, "/")}
	}
	if p.base == BaseURL {
		return []string{ConnectOrigin}
	}
	if u, err := url.Parse(p.base); err == nil && u.Host != "" {
		return []string{u.Scheme + "://" + u.Host}
	}
	return nil
}

// SubmitCredentials implements banklink.InteractiveLogin. Finicity logins
// never use banklink's credential form.
func (p *Provider) SubmitCredentials(ctx context.Context, req banklink.LoginRequest) (*banklink.LoginStep, error) {
	return nil, banklink.Errorf(banklink.ENOTSUPPORTED, "Finicity logins happen in Finicity's Data Connect.")
}

// AnswerMFA implements banklink.InteractiveLogin. Finicity asks its
// security questions inside Data Connect.
func (p *Provider) AnswerMFA(ctx context.Context, req banklink.LoginRequest, state, answer string) (*banklink.LoginStep, error) {
	return nil, banklink.Errorf(banklink.ENOTSUPPORTED, "Finicity logins happen in Finicity's Data Connect.")
}

// CompleteRedirect implements banklink.InteractiveLogin: the customer is
// back from Data Connect (at the callback, or its "done" message). Neither
// carries the outcome, so it is read from Finicity: the customer's
// accounts at the institution (GET …/institutions/{institutionId}/accounts).
//
// A repair reads the institution login it fixed. A new login is the
// customer's institution login there whose accounts were added last
// (createdDate): the one Connect just made, or, when the customer linked
// the same login again, that login (banklink recognises the duplicate by
// its id). None means the customer left Connect before adding accounts.
//
// The accounts' aggregationStatusCode decides: 0 lists them, anything else
// is a login failure (aggregationStatus).
func (p *Provider) CompleteRedirect(ctx context.Context, req banklink.LoginRequest, query map[string]string) (*banklink.LoginStep, error) {
	now := p.cfg.Now()
	if req.ProviderUserID == "" {
		return nil, &banklink.Error{Code: banklink.EINTERNAL, Message: "A Finicity login needs the customer's Finicity customer."}
	}
	k := p.keysFor(req.ProviderCredentials)
	var accts []account
	var err error
	repairing := ""
	if c, l, perr := parseLoginID(req.RepairLoginID); perr == nil && c == req.ProviderUserID {
		repairing = l
		accts, err = p.loginAccounts(ctx, k, c, l)
	} else {
		if req.ProviderInstitutionID == "" {
			return nil, &banklink.Error{Code: banklink.EINTERNAL, Message: "The institution has no Finicity institution id."}
		}
		accts, err = p.listAccounts(ctx, k, customerPath(req.ProviderUserID)+"/institutions/"+url.PathEscape(req.ProviderInstitutionID)+"/accounts")
	}
	if err != nil {
		return nil, mapError(err, phaseLogin, now)
	}
	login := repairing
	if login == "" {
		login = newestLogin(accts)
	}
	var mine []account
	for _, a := range accts {
		if a.loginID() == login {
			mine = append(mine, a)
		}
	}
	if login == "" || len(mine) == 0 {
		return nil, providerErr(banklink.LoginOAuthDenied, true, msgNotFinished)
	}
	step := &banklink.LoginStep{LoginID: loginID(req.ProviderUserID, login)}
	var failed *banklink.ProviderError
	for _, a := range mine {
		if pe := aggregationStatus(deref(a.AggregationStatusCode), phaseLogin); pe != nil {
			failed = pe
			continue
		}
		typ, sub := accountType(a.Type)
		step.Accounts = append(step.Accounts, banklink.ProviderAccount{ID: a.ID, Name: a.Name, Type: typ, Subtype: sub, Mask: a.mask()})
	}
	if len(step.Accounts) == 0 {
		if failed != nil {
			return nil, failed
		}
		return nil, providerErr(banklink.LoginNoAccounts, true, "No accounts were shared at Finicity.")
	}
	return step, nil
}

// newestLogin returns the institution login whose accounts were created
// last, "" when there are none.
func newestLogin(accts []account) string {
	var best string
	var at int64 = -1
	for _, a := range accts {
		if l := a.loginID(); l != "" && deref(a.CreatedDate) > at {
			best, at = l, deref(a.CreatedDate)
		}
	}
	return best
}
