package plaid

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"banklink"
)

// Logins run on Plaid's Hosted Link page: StartLogin creates a Link token
// with hosted_link.completion_redirect_uri set to the widget's callback and
// returns the hosted_link_url to send the customer to. Plaid does not hand
// the public token to the redirect (Hosted Link delivers it through the
// SESSION_FINISHED webhook and /link/token/get, "used with Link flows that
// don't provide a public token via frontend callbacks, such as the Hosted
// Link flow"), so CompleteRedirect reads the session's outcome with
// /link/token/get, exchanges the public token and lists the Item's
// accounts. The Link token travels between the two in the SecretStore,
// keyed by the widget login (see sessionKey).
//
// Plaid only accepts institution_id in Link outside the US and Canada, so
// the customer picks the institution again on Plaid's page;
// CompleteRedirect refuses (and removes) an Item at another institution
// than the one chosen in the widget.
//
// A repair (LoginRequest.RepairLoginID, the connection's Item) runs Link
// in update mode: the Link token carries the Item's access_token and no
// products, the customer fixes that Item's login on the same Hosted Link
// page, and CompleteRedirect lists its accounts with the access token
// banklink already holds (update mode does not change it). The Item, its
// id and the connection's login stay the same. When the Item cannot be
// updated (no stored token, or Plaid no longer knows it) the repair links
// a new Item as before.

// linkTokenCreateRequest is /link/token/create's request.
type linkTokenCreateRequest struct {
	ClientName                  string               `json:"client_name"`
	Language                    string               `json:"language"`
	CountryCodes                []string             `json:"country_codes"`
	User                        linkUser             `json:"user"`
	Products                    []string             `json:"products,omitempty"`
	RequiredIfSupportedProducts []string             `json:"required_if_supported_products,omitempty"`
	AdditionalConsentedProducts []string             `json:"additional_consented_products,omitempty"`
	AccessToken                 string               `json:"access_token,omitempty"`
	Webhook                     string               `json:"webhook,omitempty"`
	RedirectURI                 string               `json:"redirect_uri,omitempty"`
	Transactions                *linkTransactions    `json:"transactions,omitempty"`
	HostedLink                  linkHostedLinkConfig `json:"hosted_link"`
}

type linkUser struct {
	ClientUserID string `json:"client_user_id"`
}

type linkTransactions struct {
	DaysRequested int `json:"days_requested"`
}

type linkHostedLinkConfig struct {
	CompletionRedirectURI string `json:"completion_redirect_uri,omitempty"`
	URLLifetimeSeconds    int    `json:"url_lifetime_seconds,omitempty"`
}

type linkTokenCreateResponse struct {
	LinkToken     string    `json:"link_token"`
	Expiration    time.Time `json:"expiration"`
	HostedLinkURL string    `json:"hosted_link_url"`
	RequestID     string    `json:"request_id"`
}

// linkTokenGetResponse is /link/token/get's answer, as far as banklink
// reads it.
type linkTokenGetResponse struct {
	LinkToken    string            `json:"link_token"`
	LinkSessions []linkSessionInfo `json:"link_sessions"`
}

type linkSessionInfo struct {
	LinkSessionID string     `json:"link_session_id"`
	StartedAt     *time.Time `json:"started_at"`
	FinishedAt    *time.Time `json:"finished_at"`
	// OnSuccess is deprecated in favour of Results but still sent.
	OnSuccess *struct {
		PublicToken string `json:"public_token"`
		Metadata    *struct {
			Institution *linkInstitution `json:"institution"`
		} `json:"metadata"`
	} `json:"on_success"`
	Exit *struct {
		Error *APIError `json:"error"`
	} `json:"exit"`
	Results *struct {
		ItemAddResults []itemAddResult `json:"item_add_results"`
	} `json:"results"`
}

// itemAddResult is a LinkSessionItemAddResult. It does not name the
// Item: the exchange of its public token does.
type itemAddResult struct {
	PublicToken string           `json:"public_token"`
	Institution *linkInstitution `json:"institution"`
}

type linkInstitution struct {
	Name          string `json:"name"`
	InstitutionID string `json:"institution_id"`
}

// plaidProducts maps banklink products to the Plaid products that serve
// them, in a fixed order. BALANCES has none of its own: balances come
// with every Item.
func plaidProducts(set banklink.ProductSet) []string {
	var out []string
	if set.Has(banklink.Identifiers) {
		out = append(out, "auth")
	}
	if set.Has(banklink.Owners) {
		out = append(out, "identity")
	}
	if set.Has(banklink.Transactions) {
		out = append(out, "transactions")
	}
	if set.Has(banklink.InvestmentHoldings) || set.Has(banklink.InvestmentTransactions) {
		out = append(out, "investments")
	}
	return out
}

// productsForLink maps a connection's products to the products a new
// Item's Link token asks for:
//
//   - products: those of the required products. Plaid offers only
//     institutions supporting every one, as banklink's eligibility did. A
//     request for balances alone uses cfg.BalanceProduct (Link needs a
//     product and Balance cannot be one).
//   - required_if_supported_products: those of the optional products.
//     Plaid collects the customer's consent for them and fetches them
//     where the institution and the chosen accounts support them, without
//     hiding institutions that do not. Left out of this list they were
//     never consented to, and Plaid refused them (ACCESS_NOT_GRANTED)
//     when banklink aggregated them.
//
// The lists do not overlap, as Plaid requires.
func (p *Provider) productsForLink(required, optional []banklink.Product) (products, ifSupported []string) {
	products = plaidProducts(banklink.NewProductSet(required...))
	if len(products) == 0 {
		products = []string{p.cfg.BalanceProduct}
	}
	for _, name := range plaidProducts(banklink.NewProductSet(optional...)) {
		if !slices.Contains(products, name) {
			ifSupported = append(ifSupported, name)
		}
	}
	return products, ifSupported
}

// countries returns the ISO countries of in's regions, or the configured
// ones when it names none.
func (p *Provider) countries(in *banklink.Institution) []string {
	var out []string
	if in != nil {
		for _, r := range in.Regions {
			c, _, _ := strings.Cut(string(r), "-")
			if c != "" && !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	if len(out) == 0 {
		return p.cfg.CountryCodes
	}
	return out
}

// clientUserID is Link's user.client_user_id: the provider-side user when
// banklink has one, else a stable pseudonym of the widget login (Plaid
// asks for an id without personal data).
func clientUserID(req banklink.LoginRequest) string {
	if req.ProviderUserID != "" {
		return req.ProviderUserID
	}
	sum := sha256.Sum256([]byte("plaid-client-user\x00" + req.CallbackURL))
	return "banklink-" + hex.EncodeToString(sum[:12])
}

func isDown(in *banklink.Institution) bool {
	if in == nil {
		return false
	}
	pi, ok := in.Providers[ProviderType]
	return ok && pi.Health == banklink.HealthDown
}

// StartLogin implements banklink.InteractiveLogin: it returns Plaid's
// Hosted Link URL for this widget login, creating the Link token the first
// time.
func (p *Provider) StartLogin(ctx context.Context, req banklink.LoginRequest) (banklink.LoginStart, error) {
	if isDown(req.Institution) {
		return banklink.LoginStart{}, &banklink.ProviderError{Reason: banklink.LoginInstitutionDown, Retryable: true, DisplayMessage: msgInstDown}
	}
	if req.CallbackURL == "" {
		return banklink.LoginStart{}, &banklink.Error{Code: banklink.EINTERNAL, Message: "A Plaid login needs a callback URL."}
	}
	// With the account's own Plaid keys, when it has them (withKeys).
	ctx = withKeys(ctx, req.ProviderCredentials)
	key := sessionKey(req.CallbackURL)
	now := p.cfg.Now()
	if s, ok := p.cachedSession(key, now); ok {
		return banklink.LoginStart{RedirectURL: s.HostedLinkURL}, nil
	}
	body := linkTokenCreateRequest{
		ClientName: p.cfg.ClientName, Language: p.cfg.Language, CountryCodes: p.countries(req.Institution),
		User: linkUser{ClientUserID: clientUserID(req)}, Webhook: p.cfg.WebhookURL, RedirectURI: p.cfg.RedirectURI,
		HostedLink: linkHostedLinkConfig{CompletionRedirectURI: req.CallbackURL, URLLifetimeSeconds: int(p.cfg.LinkLifetime / time.Second)},
	}
	body.Products, body.RequiredIfSupportedProducts = p.productsForLink(req.Products, req.OptionalProducts)
	if slices.Contains(body.Products, "transactions") || slices.Contains(body.RequiredIfSupportedProducts, "transactions") {
		// Two years, the most Plaid keeps, for the historical pass.
		body.Transactions = &linkTransactions{DaysRequested: 730}
	}
	var resp linkTokenCreateResponse
	itemID := ""
	if req.RepairLoginID != "" {
		var ok bool
		var err error
		consent := plaidProducts(banklink.NewProductSet(append(slices.Clone(req.Products), req.OptionalProducts...)...))
		if resp, ok, err = p.updateModeToken(ctx, req.RepairLoginID, body, consent); err != nil {
			return banklink.LoginStart{}, err
		}
		if ok {
			itemID = req.RepairLoginID
		}
	}
	if itemID == "" {
		if err := p.call(ctx, "/link/token/create", body, &resp, maxResponse); err != nil {
			return banklink.LoginStart{}, mapError(err, phaseLogin)
		}
	}
	if resp.LinkToken == "" || resp.HostedLinkURL == "" {
		return banklink.LoginStart{}, &banklink.Error{Code: banklink.EPROVIDER,
			Message: "Plaid did not return a Hosted Link URL; Hosted Link must be enabled for this Plaid account."}
	}
	// The session lasts as long as both the Link token and its Hosted
	// Link URL.
	exp := now.Add(p.cfg.LinkLifetime)
	if !resp.Expiration.IsZero() && resp.Expiration.Before(exp) {
		exp = resp.Expiration
	}
	s, ok, err := p.storeSession(ctx, key, linkSession{LinkToken: resp.LinkToken, HostedLinkURL: resp.HostedLinkURL, Expiration: exp.Unix(), ItemID: itemID})
	if err != nil {
		return banklink.LoginStart{}, err
	}
	if !ok || now.Unix() >= s.Expiration {
		// A forged read took the slot, or the session recorded long ago
		// has expired: this widget login cannot go on.
		return banklink.LoginStart{}, &banklink.ProviderError{Reason: banklink.LoginOAuthDenied, DisplayMessage: msgSessionGone}
	}
	p.cacheSession(key, s, now)
	return banklink.LoginStart{RedirectURL: s.HostedLinkURL}, nil
}

// updateModeToken creates the Link token of a repair in Plaid's update
// mode: with the Item's access_token and no products, so that the
// customer fixes that Item's login (ITEM_LOGIN_REQUIRED, consent expiring)
// and it keeps its id, its access token and its transaction history. The
// connection's products (consent) go in additional_consented_products:
// the customer grants again what the connection needs, those an earlier
// login did not cover included. It reports false when the Item cannot be
// updated, because banklink holds no access token for it or Plaid no
// longer knows it (removed, or access revoked): the repair then links a
// new Item.
func (p *Provider) updateModeToken(ctx context.Context, itemID string, body linkTokenCreateRequest, consent []string) (linkTokenCreateResponse, bool, error) {
	token, err := p.accessToken(ctx, itemID)
	if _, gone := errors.AsType[*banklink.ProviderError](err); gone {
		return linkTokenCreateResponse{}, false, nil
	}
	if err != nil {
		return linkTokenCreateResponse{}, false, err
	}
	// "No products should be specified when creating a link_token for
	// update mode" (Plaid's update mode guide).
	body.AccessToken, body.Products, body.RequiredIfSupportedProducts, body.Transactions = token, nil, nil, nil
	body.AdditionalConsentedProducts = consent
	var resp linkTokenCreateResponse
	err = p.call(ctx, "/link/token/create", body, &resp, maxResponse)
	switch codeOf(err) {
	case "INVALID_ACCESS_TOKEN", "ITEM_NOT_FOUND":
		return linkTokenCreateResponse{}, false, nil
	}
	if err != nil {
		return linkTokenCreateResponse{}, false, mapError(err, phaseLogin)
	}
	return resp, true, nil
}

func (p *Provider) cachedSession(key string, now time.Time) (linkSession, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.links[key]
	if ok && now.Unix() >= s.Expiration {
		delete(p.links, key)
		return linkSession{}, false
	}
	return s, ok
}

func (p *Provider) cacheSession(key string, s linkSession, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, v := range p.links {
		if now.Unix() >= v.Expiration {
			delete(p.links, k)
		}
	}
	p.links[key] = s
}

// SubmitCredentials implements banklink.InteractiveLogin. Plaid logins
// never use banklink's credential form: StartLogin always redirects.
func (p *Provider) SubmitCredentials(ctx context.Context, req banklink.LoginRequest) (*banklink.LoginStep, error) {
	return nil, banklink.Errorf(banklink.ENOTSUPPORTED, "Plaid logins happen on Plaid's page.")
}

// AnswerMFA implements banklink.InteractiveLogin. Plaid asks its own
// security questions on its page.
func (p *Provider) AnswerMFA(ctx context.Context, req banklink.LoginRequest, state, answer string) (*banklink.LoginStep, error) {
	return nil, banklink.Errorf(banklink.ENOTSUPPORTED, "Plaid logins happen on Plaid's page.")
}

// CompleteRedirect implements banklink.InteractiveLogin: the customer is
// back from Hosted Link. The query carries nothing from Plaid; the
// outcome is read from the Link session.
func (p *Provider) CompleteRedirect(ctx context.Context, req banklink.LoginRequest, query map[string]string) (*banklink.LoginStep, error) {
	ctx = withKeys(ctx, req.ProviderCredentials)
	key := sessionKey(req.CallbackURL)
	s, ok := p.cachedSession(key, p.cfg.Now())
	if !ok {
		var err error
		s, ok, err = p.loadSession(ctx, key)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, &banklink.ProviderError{Reason: banklink.LoginOAuthDenied, DisplayMessage: msgSessionGone}
		}
	}
	var got linkTokenGetResponse
	if err := p.call(ctx, "/link/token/get", struct {
		LinkToken string `json:"link_token"`
	}{s.LinkToken}, &got, maxResponse); err != nil {
		return nil, mapError(err, phaseLogin)
	}
	if s.ItemID != "" {
		return p.completeUpdate(ctx, s.ItemID, got.LinkSessions)
	}
	res, exit, err := outcome(got.LinkSessions, req.ProviderInstitutionID)
	if err != nil {
		return nil, err
	}
	if res == nil {
		return nil, exitError(exit)
	}
	var ex struct {
		AccessToken string `json:"access_token"`
		ItemID      string `json:"item_id"`
	}
	if err := p.call(ctx, "/item/public_token/exchange", struct {
		PublicToken string `json:"public_token"`
	}{res.PublicToken}, &ex, maxResponse); err != nil {
		return nil, mapError(err, phaseLogin)
	}
	if ex.AccessToken == "" || ex.ItemID == "" {
		return nil, &banklink.Error{Code: banklink.EPROVIDER, Message: "Plaid's token exchange returned no Item."}
	}
	if want := req.ProviderInstitutionID; want != "" && res.Institution != nil && res.Institution.InstitutionID != "" && res.Institution.InstitutionID != want {
		// Data from another bank must not land in this connection. The
		// Item is of no use: remove it rather than pay for it.
		p.removeWithToken(ctx, ex.AccessToken)
		name := "the institution you chose"
		if req.Institution != nil {
			name = req.Institution.Name
		}
		return nil, &banklink.ProviderError{Reason: banklink.LoginOAuthDenied, Retryable: true,
			DisplayMessage: fmt.Sprintf(msgWrongInstFmt, res.Institution.Name, name, name)}
	}
	if err := p.saveAccessToken(ctx, ex.ItemID, ex.AccessToken); err != nil {
		// Without a stored token nobody can use or remove the Item later.
		p.removeWithToken(ctx, ex.AccessToken)
		return nil, err
	}
	return p.loginStep(ctx, ex.ItemID, ex.AccessToken)
}

// loginStep is a finished login of the Item: its accounts, for the
// customer to choose from.
func (p *Provider) loginStep(ctx context.Context, itemID, token string) (*banklink.LoginStep, error) {
	accts, err := p.getAccounts(ctx, token, nil, false)
	if err != nil {
		return nil, mapError(err, phaseLogin)
	}
	step := &banklink.LoginStep{LoginID: itemID}
	for _, a := range accts {
		step.Accounts = append(step.Accounts, banklink.ProviderAccount{ID: a.AccountID, Name: a.displayName(),
			Type: accountType(a.Type), Subtype: subtype(a.Subtype), Mask: deref(a.Mask)})
	}
	return step, nil
}

// completeUpdate finishes a repair in update mode. The Item's access
// token does not change, so there is no public token to exchange: once a
// session succeeded the Item's accounts are listed with the token banklink
// holds, which also proves the login works again.
func (p *Provider) completeUpdate(ctx context.Context, itemID string, sessions []linkSessionInfo) (*banklink.LoginStep, error) {
	ok, exit, err := updateOutcome(sessions)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, exitError(exit)
	}
	token, err := p.accessToken(ctx, itemID)
	if err != nil {
		return nil, err
	}
	return p.loginStep(ctx, itemID, token)
}

// updateOutcome reads an update-mode Link token's sessions: any that
// finished successfully (Link may hand out a public token, which update
// mode does not need) means the Item was updated; otherwise the latest
// finished session's exit error (nil when the customer simply left).
func updateOutcome(sessions []linkSessionInfo) (bool, *APIError, error) {
	var last *linkSessionInfo
	for i := range sessions {
		s := &sessions[i]
		if s.FinishedAt == nil {
			continue
		}
		if s.Exit == nil && (s.OnSuccess != nil || s.Results != nil) {
			return true, nil, nil
		}
		if last == nil || !s.FinishedAt.Before(*last.FinishedAt) {
			last = s
		}
	}
	if last == nil {
		return false, nil, &banklink.ProviderError{Reason: banklink.LoginOAuthDenied, Retryable: true, DisplayMessage: msgNotFinished}
	}
	if last.Exit == nil {
		return false, nil, nil
	}
	return false, last.Exit.Error, nil
}

// outcome picks the Item the latest Link session added; if none did, it
// returns the error the latest finished session exited with (nil when
// the customer simply left). A Link token may serve several sessions (the
// customer may leave and come back), and one session may add several
// Items (Plaid's example of /link/token/get has two institutions in one
// session's item_add_results): an Item at the institution the customer
// chose in the widget (want, when known) is preferred over a later one
// elsewhere, which CompleteRedirect would refuse.
func outcome(sessions []linkSessionInfo, want string) (*itemAddResult, *APIError, error) {
	var best *itemAddResult
	var bestAt, exitAt time.Time
	var exit *APIError
	finished := false
	for _, s := range sessions {
		at := time.Time{}
		if s.FinishedAt != nil {
			at = *s.FinishedAt
			finished = true
		} else if s.StartedAt != nil {
			at = *s.StartedAt
		}
		var results []itemAddResult
		if s.Results != nil {
			results = s.Results.ItemAddResults
		}
		if len(results) == 0 && s.OnSuccess != nil && s.OnSuccess.PublicToken != "" {
			r := itemAddResult{PublicToken: s.OnSuccess.PublicToken}
			if s.OnSuccess.Metadata != nil {
				r.Institution = s.OnSuccess.Metadata.Institution
			}
			results = []itemAddResult{r}
		}
		for i := range results {
			r := &results[i]
			if r.PublicToken == "" {
				continue
			}
			if best == nil || (atWanted(r, want) == atWanted(best, want) && !at.Before(bestAt)) || (atWanted(r, want) && !atWanted(best, want)) {
				best, bestAt = r, at
			}
		}
		if s.FinishedAt != nil && !at.Before(exitAt) {
			exitAt = at
			exit = nil
			if s.Exit != nil {
				exit = s.Exit.Error
			}
		}
	}
	if best != nil {
		return best, nil, nil
	}
	if !finished {
		return nil, nil, &banklink.ProviderError{Reason: banklink.LoginOAuthDenied, Retryable: true, DisplayMessage: msgNotFinished}
	}
	return nil, exit, nil
}

// atWanted reports whether r's Item is at the institution want ("" for
// any).
func atWanted(r *itemAddResult, want string) bool {
	return want == "" || r.Institution == nil || r.Institution.InstitutionID == want
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
