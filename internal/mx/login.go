package mx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"banklink"
)

type user struct {
	GUID string  `json:"guid"`
	ID   *string `json:"id"`
}

// CreateUser implements banklink.UserProvisioner: it creates the MX user
// whose id is the app's customer id. MX refuses a second user with the
// same id with 409 Conflict ("an object with the given attributes already
// exists"); that user is then looked up by id (GET /users?id=…) and
// returned, so creating is idempotent.
//
// MX users are per MX client: customers of two banklink accounts that
// share the deployment's MX credentials and use the same
// externalCustomerId share one MX user. Accounts that must be kept apart
// need their own MX credentials (a provider configuration).
func (p *Provider) CreateUser(ctx context.Context, credentials map[string]string, externalCustomerID string) (string, error) {
	k := p.keysFor(credentials)
	if k.clientID == "" || k.apiKey == "" {
		return "", providerErr(banklink.LoginProviderDown, false, "MX is not configured for this app; please try again later.")
	}
	id := strings.TrimSpace(externalCustomerID)
	if id == "" {
		return "", &banklink.Error{Code: banklink.EINTERNAL, Message: "An MX user needs the customer's id."}
	}
	cacheKey := k.clientID + "\x00" + id
	p.mu.Lock()
	guid, ok := p.users[cacheKey]
	p.mu.Unlock()
	if ok {
		return guid, nil
	}
	var resp struct {
		User user `json:"user"`
	}
	body := map[string]any{"user": map[string]any{"id": id}}
	_, err := p.call(ctx, k, http.MethodPost, "/users", nil, body, &resp)
	if ae, isAE := errors.AsType[*APIError](err); isAE && ae.Status == http.StatusConflict {
		guid, err = p.findUser(ctx, k, id)
	} else if err == nil {
		guid = resp.User.GUID
		if guid == "" {
			err = errors.New("mx: POST /users answered without a user guid")
		}
	}
	if err != nil {
		return "", mapError(err, phaseLogin, p.cfg.Now())
	}
	p.mu.Lock()
	p.users[cacheKey] = guid
	p.mu.Unlock()
	return guid, nil
}

// findUser returns the guid of the user with the given id.
func (p *Provider) findUser(ctx context.Context, k keys, id string) (string, error) {
	users, err := listAll[user](ctx, p, k, "/users", "users", url.Values{"id": {id}})
	if err != nil {
		return "", err
	}
	for _, u := range users {
		if deref(u.ID) == id && u.GUID != "" {
			return u.GUID, nil
		}
	}
	return "", fmt.Errorf("mx: POST /users answered 409 but no user has id %q", id)
}

// isDown reports whether the directory marks MX down at the institution.
func isDown(in *banklink.Institution) bool {
	if in == nil {
		return false
	}
	pi, ok := in.Providers[ProviderType]
	return ok && pi.Health == banklink.HealthDown
}

// widgetRequest is the body of POST /users/{user_guid}/widget_urls.
type widgetRequest struct {
	WidgetType               string `json:"widget_type"`
	CurrentInstitutionCode   string `json:"current_institution_code,omitempty"`
	CurrentMemberGUID        string `json:"current_member_guid,omitempty"`
	DisableInstitutionSearch bool   `json:"disable_institution_search"`
	ClientRedirectURL        string `json:"client_redirect_url,omitempty"`
	IsMobileWebview          bool   `json:"is_mobile_webview"`
	IncludeTransactions      bool   `json:"include_transactions"`
	IncludeIdentity          bool   `json:"include_identity"`
	Mode                     string `json:"mode"`
	DisableBackgroundAgg     *bool  `json:"disable_background_agg,omitempty"`
	UIMessageVersion         int    `json:"ui_message_version"`
}

// widgetOptions picks the Connect Widget's configuration for the products
// a connection requires, and its optional products where MX offers them at
// the institution (Connect gathers only what it is opened for: an optional
// product left out came back empty afterwards):
//
//   - IDENTIFIERS need MX's "verification" mode (Instant Account
//     Verification is what gathers account and routing numbers); that
//     mode skips transactions and disables background aggregation unless
//     told otherwise, so both are set explicitly;
//   - OWNERS need include_identity (account owner identification);
//   - TRANSACTIONS set include_transactions.
//
// Required products were checked against the institution before the
// login; an optional one MX does not offer there (no account
// verification, say) does not change how Connect is opened.
func widgetOptions(req banklink.LoginRequest) widgetRequest {
	ps := banklink.NewProductSet(req.Products...)
	if req.Institution != nil {
		offered := banklink.NewProductSet(req.Institution.Providers[ProviderType].Products...)
		ps |= banklink.NewProductSet(req.OptionalProducts...) & offered
	}
	w := widgetRequest{WidgetType: "connect_widget", Mode: "aggregation", UIMessageVersion: 4,
		IncludeTransactions: ps.Has(banklink.Transactions), IncludeIdentity: ps.Has(banklink.Owners)}
	if ps.Has(banklink.Identifiers) {
		w.Mode = "verification"
		off := false
		w.DisableBackgroundAgg = &off
	}
	return w
}

// EventMemberConnected is the message MX Connect posts to the page
// embedding it (ui_message_version 4) when a member was created or
// updated and connected.
const EventMemberConnected = "mx/connect/memberConnected"

// StartLogin implements banklink.InteractiveLogin: it asks MX for a
// Connect Widget URL for the chosen institution, without MX's own
// institution search. The URL is one-time and lives ten minutes, so every
// call asks for a new one (MX: "obtain a new URL each time the page
// loads").
//
// By default the widget embeds MX Connect in a frame, as MX recommends
// for the web: MX Connect posts mx/connect/memberConnected (with the
// member guid) when the login worked, for credential and OAuth logins
// alike. Outside a WebView MX Connect opens an OAuth institution's page
// itself (its mx/connect/oauthRequested message is for WebView hosts), so
// the widget opens nothing on MX's behalf: a second window would only
// confuse.
//
// With Config.Redirect the customer leaves for MX Connect instead
// (is_mobile_webview, client_redirect_url): MX then redirects back with
// status and member_guid, but only at the end of an OAuth login, so this
// mode suits apps that open the widget in a mobile WebView and relay MX's
// events themselves, or institutions that all use OAuth
// (docs/providers.md).
func (p *Provider) StartLogin(ctx context.Context, req banklink.LoginRequest) (banklink.LoginStart, error) {
	if isDown(req.Institution) {
		return banklink.LoginStart{}, providerErr(banklink.LoginInstitutionDown, true, msgInstDown)
	}
	if req.ProviderUserID == "" {
		return banklink.LoginStart{}, &banklink.Error{Code: banklink.EINTERNAL, Message: "An MX login needs the customer's MX user."}
	}
	if req.ProviderInstitutionID == "" {
		return banklink.LoginStart{}, &banklink.Error{Code: banklink.EINTERNAL, Message: "The institution has no MX institution code."}
	}
	w := widgetOptions(req)
	w.CurrentInstitutionCode = req.ProviderInstitutionID
	w.DisableInstitutionSearch = true
	if u, m, err := parseLoginID(req.RepairLoginID); err == nil && u == req.ProviderUserID {
		// A repair: MX Connect opens on the connection's member to update
		// its credentials or answer its MFA, so the member, its guid and
		// its history stay (a new member would be a second login).
		w.CurrentMemberGUID = m
	}
	if p.cfg.Redirect {
		w.ClientRedirectURL, w.IsMobileWebview = req.CallbackURL, true
		if p.cfg.RedirectURL != "" {
			w.ClientRedirectURL = p.cfg.RedirectURL
		}
	}
	var resp struct {
		WidgetURL struct {
			Type string `json:"type"`
			URL  string `json:"url"`
		} `json:"widget_url"`
	}
	k := p.keysFor(req.ProviderCredentials)
	if _, err := p.call(ctx, k, http.MethodPost, "/users/"+url.PathEscape(req.ProviderUserID)+"/widget_urls", nil,
		map[string]any{"widget_url": w}, &resp); err != nil {
		return banklink.LoginStart{}, mapError(err, phaseLogin, p.cfg.Now())
	}
	if resp.WidgetURL.URL == "" {
		return banklink.LoginStart{}, &banklink.Error{Code: banklink.EPROVIDER, Message: "MX did not return a Connect Widget URL."}
	}
	start := banklink.LoginStart{RedirectURL: resp.WidgetURL.URL}
	if !p.cfg.Redirect {
		u, err := url.Parse(resp.WidgetURL.URL)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return banklink.LoginStart{}, &banklink.Error{Code: banklink.EPROVIDER, Message: "MX returned an unusable Connect Widget URL."}
		}
		origin := u.Scheme + "://" + u.Host
		if !slices.Contains(p.FrameOrigins(), origin) {
			// The widget page's CSP would refuse to frame it: say so
			// rather than show an empty frame.
			return banklink.LoginStart{}, &banklink.Error{Code: banklink.EPROVIDER,
				Message: "MX returned a Connect Widget URL on " + origin + ", which is not among the MX widget origins this deployment allows (-mx-widget-origin)."}
		}
		start.Embed = &banklink.LoginEmbed{Origin: origin, DoneEvents: []string{EventMemberConnected}}
	}
	return start, nil
}

// MX Connect's hosts, by API host.
var widgetOrigins = map[string]string{
	IntegrationURL: "https://int-widgets.moneydesktop.com",
	ProductionURL:  "https://widgets.moneydesktop.com",
}

// FrameOrigins implements banklink.FrameSource: the origins MX Connect is
// served from, Config.WidgetOrigin when set, otherwise MX's widget host
// for the API host and, for any other API host (an egress proxy, a local
// MX-compatible server), that host itself.
func (p *Provider) FrameOrigins() []string {
	if p.cfg.WidgetOrigin != "" {
		return []string{strings.TrimSuffix(p.cfg.WidgetOrigin, "/")}
	}
	if o, ok := widgetOrigins[p.base]; ok {
		return []string{o}
	}
	if u, err := url.Parse(p.base); err == nil && u.Host != "" {
		return []string{u.Scheme + "://" + u.Host}
	}
	return nil
}

// SubmitCredentials implements banklink.InteractiveLogin. MX logins never
// use banklink's credential form: StartLogin always redirects.
func (p *Provider) SubmitCredentials(ctx context.Context, req banklink.LoginRequest) (*banklink.LoginStep, error) {
	return nil, banklink.Errorf(banklink.ENOTSUPPORTED, "MX logins happen in MX Connect.")
}

// AnswerMFA implements banklink.InteractiveLogin. MX asks its security
// questions inside MX Connect.
func (p *Provider) AnswerMFA(ctx context.Context, req banklink.LoginRequest, state, answer string) (*banklink.LoginStep, error) {
	return nil, banklink.Errorf(banklink.ENOTSUPPORTED, "MX logins happen in MX Connect.")
}

// member is MX's member (GET /users/{u}/members/{m}, list members).
type member struct {
	GUID                     string  `json:"guid"`
	InstitutionCode          *string `json:"institution_code"`
	ConnectionStatus         *string `json:"connection_status"`
	IsBeingAggregated        *bool   `json:"is_being_aggregated"`
	AggregatedAt             *string `json:"aggregated_at"`
	SuccessfullyAggregatedAt *string `json:"successfully_aggregated_at"`
	Name                     *string `json:"name"`
}

// memberStatus is GET /users/{u}/members/{m}/status.
type memberStatus struct {
	GUID                     string  `json:"guid"`
	ConnectionStatus         *string `json:"connection_status"`
	IsBeingAggregated        *bool   `json:"is_being_aggregated"`
	HasProcessedAccounts     *bool   `json:"has_processed_accounts"`
	AggregatedAt             *string `json:"aggregated_at"`
	SuccessfullyAggregatedAt *string `json:"successfully_aggregated_at"`
}

func memberPath(userGUID, memberGUID string) string {
	return "/users/" + url.PathEscape(userGUID) + "/members/" + url.PathEscape(memberGUID)
}

// CompleteRedirect implements banklink.InteractiveLogin: the customer is
// back from MX Connect. The query is what reached the widget's callback:
// member_guid (and status, error_reason) as MX appends them to
// client_redirect_url, or member_guid posted by a widget that listened
// for MX's memberConnected event.
//
// Without a member_guid (MX sends none after a login with credentials in
// a browser) the customer's member at the institution is looked up; it
// must be the only one, or banklink cannot tell which login was just
// made.
//
// The member's connection_status decides: CONNECTED lists its accounts;
// a member MX is still connecting is waited for (LoginWait); anything
// else is a login failure (see classify), CHALLENGED included: MX asks
// its security questions in its own widget.
func (p *Provider) CompleteRedirect(ctx context.Context, req banklink.LoginRequest, query map[string]string) (*banklink.LoginStep, error) {
	now := p.cfg.Now()
	memberGUID := strings.TrimSpace(query["member_guid"])
	if query["status"] == "error" && memberGUID == "" {
		return nil, oauthError(query["error_reason"])
	}
	// With a member the member's own status says more than MX's
	// error_reason (DENIED covers a wrong password and a refused OAuth
	// consent alike), so it decides below.
	if req.ProviderUserID == "" {
		return nil, &banklink.Error{Code: banklink.EINTERNAL, Message: "An MX login needs the customer's MX user."}
	}
	k := p.keysFor(req.ProviderCredentials)
	userGUID := req.ProviderUserID
	if u := strings.TrimSpace(query["user_guid"]); u != "" && u != userGUID {
		// MX Connect reported another user's member: not this login.
		return nil, providerErr(banklink.LoginOAuthDenied, true, msgSessionGone)
	}
	var m member
	if memberGUID == "" {
		found, err := p.onlyMemberAt(ctx, k, userGUID, req.ProviderInstitutionID)
		if err != nil {
			return nil, mapError(err, phaseLogin, now)
		}
		m = found
		memberGUID = m.GUID
	} else {
		var resp struct {
			Member member `json:"member"`
		}
		if _, err := p.call(ctx, k, http.MethodGet, memberPath(userGUID, memberGUID), nil, nil, &resp); err != nil {
			return nil, mapError(err, phaseLogin, now)
		}
		m = resp.Member
	}
	if code := deref(m.InstitutionCode); req.ProviderInstitutionID != "" && code != "" && code != req.ProviderInstitutionID {
		// Data from another institution must not land in this
		// connection.
		name := "the institution you chose"
		if req.Institution != nil {
			name = req.Institution.Name
		}
		got := deref(m.Name)
		if got == "" {
			got = "another institution"
		}
		return nil, providerErr(banklink.LoginOAuthDenied, true, fmt.Sprintf(msgWrongInstFmt, got, name, name))
	}
	st, err := p.waitForAccounts(ctx, k, userGUID, memberGUID)
	if err != nil {
		return nil, mapError(err, phaseLogin, now)
	}
	kind, serr := classify(deref(st.ConnectionStatus), phaseLogin)
	switch kind {
	case statusFailed:
		return nil, serr
	case statusWorking:
		if !deref(st.HasProcessedAccounts) {
			return nil, providerErr(banklink.LoginOAuthDenied, true, msgNotFinished)
		}
	}
	accts, err := listAll[account](ctx, p, k, memberPath(userGUID, memberGUID)+"/accounts", "accounts", nil)
	if err != nil {
		return nil, mapError(err, phaseLogin, now)
	}
	step := &banklink.LoginStep{LoginID: loginID(userGUID, memberGUID)}
	for _, a := range accts {
		if deref(a.IsClosed) {
			continue
		}
		typ, sub := accountType(a)
		step.Accounts = append(step.Accounts, banklink.ProviderAccount{ID: a.GUID, Name: a.displayName(), Type: typ, Subtype: sub, Mask: mask(a)})
	}
	return step, nil
}

// onlyMemberAt returns the user's one member at the institution.
func (p *Provider) onlyMemberAt(ctx context.Context, k keys, userGUID, institutionCode string) (member, error) {
	members, err := listAll[member](ctx, p, k, "/users/"+url.PathEscape(userGUID)+"/members", "members", nil)
	if err != nil {
		return member{}, err
	}
	members = slices.DeleteFunc(members, func(m member) bool { return deref(m.InstitutionCode) != institutionCode })
	switch len(members) {
	case 0:
		return member{}, providerErr(banklink.LoginOAuthDenied, true, msgNotFinished)
	case 1:
		return members[0], nil
	}
	return member{}, providerErr(banklink.LoginOAuthDenied, true, msgWhichMember)
}

// waitForAccounts reads the member's status until MX has its accounts or
// stops working on it, at most LoginWait.
func (p *Provider) waitForAccounts(ctx context.Context, k keys, userGUID, memberGUID string) (memberStatus, error) {
	return p.poll(ctx, k, userGUID, memberGUID, p.cfg.LoginWait, func(st memberStatus) bool {
		kind, _ := classify(deref(st.ConnectionStatus), phaseLogin)
		switch kind {
		case statusFailed:
			return true
		case statusOK:
			return !deref(st.IsBeingAggregated) || deref(st.HasProcessedAccounts)
		}
		return deref(st.HasProcessedAccounts)
	})
}

// poll reads the member's status until done says so or wait runs out; it
// returns the last status read. The interval starts at PollInterval and
// doubles up to MaxPollInterval.
func (p *Provider) poll(ctx context.Context, k keys, userGUID, memberGUID string, wait time.Duration, done func(memberStatus) bool) (memberStatus, error) {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	interval := p.cfg.PollInterval
	for {
		st, err := p.status(ctx, k, userGUID, memberGUID)
		if err != nil {
			return memberStatus{}, err
		}
		if done(st) {
			return st, nil
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return st, ctx.Err()
		case <-deadline.C:
			t.Stop()
			return st, nil
		case <-t.C:
		}
		interval = min(2*interval, p.cfg.MaxPollInterval)
	}
}
