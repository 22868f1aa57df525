package widget

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"banklink"
	"banklink/internal/connecttoken"
	"banklink/internal/httpx"
	"banklink/internal/l10n"
	"banklink/internal/linking"
	"banklink/internal/routing"
	"banklink/internal/search"
)

// institutionView is an institution as the picker shows it.
type institutionView struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Domain   string `json:"domain,omitempty"`
	Type     string `json:"type"`
	OAuth    bool   `json:"oauth"`
	Initials string `json:"initials"`
	Health   string `json:"health"`
	// Logo is the widget's own URL for the institution's logo (see
	// logo.go), absent when there is none; Color its brand colour,
	// #rrggbb, for the monogram shown without a logo.
	Logo  string `json:"logo,omitempty"`
	Color string `json:"color,omitempty"`
}

func initials(name string) string {
	var out []rune
	for _, f := range strings.Fields(name) {
		r := []rune(f)
		if len(r) > 0 && (r[0] >= 'A' && r[0] <= 'Z' || r[0] > 127) {
			out = append(out, r[0])
		}
		if len(out) == 2 {
			break
		}
	}
	if len(out) == 0 && name != "" {
		out = []rune(strings.ToUpper(name[:1]))
	}
	return string(out)
}

func (w *Widget) view(in *banklink.Institution, wr *widgetRequest) institutionView {
	v := institutionView{ID: in.ID, Name: in.Name, Domain: in.Domain, Type: in.Type, Initials: initials(in.Name), Health: banklink.HealthHealthy,
		Logo: w.logoURL(in), Color: in.Images.Color}
	// The badges describe the provider routing would use (without the
	// recent-failure check, which needs the database: the picker lists
	// many institutions).
	d, err := routing.Decide(routing.Request{Institution: in, Products: banklink.NewProductSet(wr.conn.Products...),
		AllowRedirect: wr.conn.AllowRedirect, Enabled: w.enabledList(wr), Explicit: wr.conn.RequestedProvider, Profile: wr.profile()})
	if err == nil {
		p := in.Providers[d.Provider]
		v.OAuth = p.Redirect
		if p.Health != "" {
			v.Health = p.Health
		}
	}
	return v
}

// sessionView is what every widget API call returns: the whole state the
// page renders, so a reload resumes exactly where the customer was.
type sessionView struct {
	ConnectionID      string             `json:"connectionId"`
	Environment       string             `json:"environment"`
	ExpiresAt         string             `json:"expiresAt"`
	Products          []banklink.Product `json:"products"`
	OptionalProducts  []banklink.Product `json:"optionalProducts"`
	SearchString      string             `json:"searchString"`
	InstitutionLocked bool               `json:"institutionLocked"`
	Step              string             `json:"step"`
	Institution       *institutionView   `json:"institution,omitempty"`
	Fields            []fieldView        `json:"fields,omitempty"`
	LoginURL          string             `json:"loginUrl,omitempty"`
	LoginEmbed        *embedView         `json:"loginEmbed,omitempty"`
	MFA               *mfaView           `json:"mfa,omitempty"`
	Accounts          []accountView      `json:"accounts,omitempty"`
	ParentOrigins     []string           `json:"parentOrigins"`
	EligibleCount     int                `json:"eligibleCount"`
	// Picker is the picker's first page for searchString, at step PICK:
	// the page shows the list without asking again.
	Picker         *pickerPage     `json:"picker,omitempty"`
	Result         *completeResult `json:"result,omitempty"`
	AppRedirectURL string          `json:"appRedirectUrl,omitempty"`

	// LoginNoFrame says loginUrl refuses to be framed (an OAuth bank's
	// page): a widget in an iframe opens it in a popup, or failing that
	// in the whole window, never in its own frame.
	LoginNoFrame bool `json:"loginNoFrame,omitempty"`
	// Language is the catalogue the page should speak (l10n.Supported):
	// connect/start's language, else the browser's.
	Language string `json:"language"`
	// App is who asks for the data: the consent screen names it.
	App appView `json:"app"`
	// Consent is the customer's answer on the consent screen, null until
	// they gave it: the page shows that screen first while it is null.
	Consent *consentView `json:"consent"`
}

// appView is the app profile as the widget shows it; Name is never empty
// (the account's name when the profile sets none).
type appView struct {
	Name             string `json:"name"`
	LogoURL          string `json:"logoUrl,omitempty"`
	PrivacyPolicyURL string `json:"privacyPolicyUrl,omitempty"`
	BrandColor       string `json:"brandColor,omitempty"`
	// BrandTextColor is the text on BrandColor: black or white, whichever
	// contrasts more (banklink.TextColorOn).
	BrandTextColor string `json:"brandTextColor,omitempty"`
}

type consentView struct {
	DeclinedProducts []banklink.Product `json:"declinedProducts"`
	At               string             `json:"at"`
}

// embedView tells connect.js to show loginUrl in a frame and which of its
// messages finish the login (banklink.LoginEmbed).
type embedView struct {
	Origin     string   `json:"origin"`
	DoneEvents []string `json:"doneEvents"`
}

type fieldView struct {
	Name   string `json:"name"`
	Label  string `json:"label"`
	Secret bool   `json:"secret"`
}

type mfaView struct {
	Kind    banklink.MFAKind `json:"kind"`
	Prompt  string           `json:"prompt"`
	Choices []string         `json:"choices,omitempty"`
}

type accountView struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Type    string `json:"type"`
	Subtype string `json:"subtype"`
	Mask    string `json:"mask"`
	// Preselected says whether the account starts ticked (preselected).
	Preselected bool `json:"preselected"`
}

// preselected reports whether an account of type typ starts ticked on the
// account choice, given the products the customer agreed to share: only
// the kinds of account those products are about. Balances, transactions,
// account numbers and owners are what an app asks of a bank account or a
// card; investment products are about investment accounts. No product
// is about loans, so a loan (or an account of another type) is offered
// unticked: the customer may still add it. A link that names no product
// ticks every account. docs/widget.md states the rule.
func preselected(products banklink.ProductSet, typ string) bool {
	if products == 0 {
		// No product named: basic account information, about every
		// kind of account alike.
		return true
	}
	switch strings.ToUpper(typ) {
	case "DEPOSITORY", "CREDIT":
		return products&banklink.NewProductSet(banklink.Balances, banklink.Transactions, banklink.Identifiers, banklink.Owners) != 0
	case "INVESTMENT":
		return products&banklink.NewProductSet(banklink.InvestmentHoldings, banklink.InvestmentTransactions) != 0
	}
	return false
}

// shared is what the customer agreed to share: the connection's products
// and the optional ones they did not decline.
func shared(conn *banklink.Connection, s *banklink.ConnectSession) []banklink.Product {
	out := slices.Clone(conn.Products)
	for _, p := range conn.OptionalProducts {
		if s.Consent == nil || !slices.Contains(s.Consent.Declined, p) {
			out = append(out, p)
		}
	}
	return out
}

// app returns the request's app as the widget shows it.
func (w *Widget) app(ctx context.Context, wr *widgetRequest) (appView, error) {
	p, err := w.Store.FindAppProfile(ctx, wr.scope)
	if err != nil {
		return appView{}, err
	}
	v := appView{Name: p.DisplayName, LogoURL: p.LogoURL, PrivacyPolicyURL: p.PrivacyPolicyURL, BrandColor: p.BrandColor}
	if v.BrandColor != "" {
		v.BrandTextColor = banklink.TextColorOn(v.BrandColor)
	}
	if v.Name == "" {
		a, err := w.Store.FindAccountByID(ctx, wr.scope.AccountID)
		if err != nil {
			return appView{}, err
		}
		v.Name = a.Name
	}
	return v, nil
}

func (w *Widget) render(ctx context.Context, r *http.Request, wr *widgetRequest) (*sessionView, error) {
	s, conn := wr.sess, wr.conn
	_, origins := w.frameAncestors(ctx, wr.scope)
	v := &sessionView{
		ConnectionID: conn.ID, Environment: string(wr.scope.Environment), ExpiresAt: wr.claims.ExpiresAt.Time.UTC().Format(time.RFC3339),
		Products: conn.Products, OptionalProducts: conn.OptionalProducts, SearchString: conn.InstitutionSearchString,
		InstitutionLocked: conn.InstitutionID != "", Step: s.Step, ParentOrigins: origins, AppRedirectURL: conn.RedirectURL,
		Language: wr.lang,
	}
	if v.Products == nil {
		v.Products = []banklink.Product{}
	}
	app, err := w.app(ctx, wr)
	if err != nil {
		return nil, err
	}
	v.App = app
	if c := s.Consent; c != nil {
		v.Consent = &consentView{DeclinedProducts: c.Declined, At: c.At.UTC().Format(time.RFC3339)}
		if v.Consent.DeclinedProducts == nil {
			v.Consent.DeclinedProducts = []banklink.Product{}
		}
	}
	if s.Step == banklink.StepPick {
		v.EligibleCount = w.Directory.Current().Count(w.eligibility(wr))
		if r.Method == http.MethodGet {
			// Only on GET session (the page's first call, and a reload):
			// a step back to the picker reloads the list anyway.
			page, _, err := w.pickerPage(wr, conn.InstitutionSearchString, "", 0)
			if err != nil {
				return nil, err
			}
			v.Picker = page
		}
	}
	if s.InstitutionID != "" {
		in, err := w.institution(s.InstitutionID)
		if err != nil {
			return nil, err
		}
		iv := w.view(in, wr)
		v.Institution = &iv
		if s.Step == banklink.StepCredentials || s.Step == banklink.StepRedirect {
			prov, d, err := w.route(ctx, wr, in)
			if err != nil {
				return nil, err
			}
			if prov.Type() != s.ProviderType {
				// Routing moved on (the provider started failing here):
				// the login form is the new provider's. When another
				// request saved the session meanwhile, its save stands:
				// the login is routed again when it is submitted.
				s.ProviderType, s.Routing = prov.Type(), d
				if err := w.save(ctx, s); err != nil && banklink.ErrorCode(err) != banklink.ECONFLICT {
					return nil, err
				}
			}
			req, err := w.loginRequest(r, wr, in, prov.Type())
			if err == nil {
				var start banklink.LoginStart
				if start, err = prov.StartLogin(ctx, req); err == nil {
					for _, f := range start.Fields {
						v.Fields = append(v.Fields, fieldView{Name: f.Name, Label: fieldLabel(wr.lang, f.Name, f.Label), Secret: f.Secret})
					}
					if start.RedirectURL != "" {
						v.Step, v.LoginURL = banklink.StepRedirect, start.RedirectURL
						if e := start.Embed; e != nil {
							v.LoginEmbed = &embedView{Origin: e.Origin, DoneEvents: nonNil(e.DoneEvents)}
						} else {
							v.LoginNoFrame = in.Providers[prov.Type()].NoFrame
						}
					}
				}
			}
			if err != nil {
				w.widgetError(ctx, wr, err, "", true)
				return nil, w.providerError(context.WithValue(ctx, showingFormKey{}, true), s, err)
			}
		}
	}
	if s.MFA != nil && s.Step == banklink.StepMFA {
		v.MFA = &mfaView{Kind: s.MFA.Kind, Prompt: s.MFA.Prompt, Choices: s.MFA.Choices}
	}
	agreed := banklink.NewProductSet(shared(conn, s)...)
	for _, a := range s.Accounts {
		v.Accounts = append(v.Accounts, accountView{ID: a.ID, Name: a.Name, Type: a.Type, Subtype: a.Subtype, Mask: a.Mask,
			Preselected: preselected(agreed, a.Type)})
	}
	return v, nil
}

func (w *Widget) respond(rw http.ResponseWriter, r *http.Request, wr *widgetRequest) error {
	v, err := w.render(r.Context(), r, wr)
	if err != nil {
		return err
	}
	httpx.WriteJSON(rw, http.StatusOK, v)
	return nil
}

func (w *Widget) handleSession(rw http.ResponseWriter, r *http.Request, wr *widgetRequest) error {
	w.track(r.Context(), wr.sess, banklink.FunnelOpened)
	w.activity(r.Context(), wr, banklink.ActivityEvent{Action: banklink.ActivityWidgetOpened, Message: "At step " + wr.sess.Step + "."})
	return w.respond(rw, r, wr)
}

// pickerPage is one page of the picker's list.
type pickerPage struct {
	Institutions []institutionView `json:"institutions"`
	Count        int               `json:"count"`
	Remaining    int               `json:"remaining"`
	Next         string            `json:"next,omitempty"`
	// Routing says how the search read name as a routing number:
	// PREFIX, NUMBER, INVALID (nine digits failing the checksum), or
	// absent (search.Result.Routing).
	Routing string `json:"routing,omitempty"`
}

// pickerLimit is the picker's page size.
const pickerLimit = 20

// pickerPage searches the directory as the picker does.
func (w *Widget) pickerPage(wr *widgetRequest, name, after string, limit int) (*pickerPage, search.Result, error) {
	q := search.Query{Name: strings.TrimSpace(name), Eligibility: w.eligibility(wr), Limit: pickerLimit, After: after}
	if limit > 0 {
		q.Limit = limit
	}
	res, err := w.Directory.Current().Search(q)
	if err != nil {
		return nil, res, err
	}
	out := &pickerPage{Institutions: []institutionView{}, Count: res.Count, Remaining: res.Remaining, Routing: res.Routing}
	for _, in := range res.Institutions {
		out.Institutions = append(out.Institutions, w.view(in, wr))
	}
	if res.Remaining > 0 && len(res.Institutions) > 0 {
		out.Next = res.Institutions[len(res.Institutions)-1].Key
	}
	return out, res, nil
}

func (w *Widget) handleInstitutions(rw http.ResponseWriter, r *http.Request, wr *widgetRequest) error {
	name := strings.TrimSpace(r.URL.Query().Get("name"))
	if len([]rune(name)) > 256 {
		return banklink.FieldErrorf("name", "must be at most 256 characters")
	}
	limit := 0
	if l, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && l > 0 && l <= 50 {
		limit = l
	}
	after := r.URL.Query().Get("after")
	out, res, err := w.pickerPage(wr, name, after, limit)
	if err != nil {
		return err
	}
	if name != "" && after == "" {
		w.activity(r.Context(), wr, banklink.ActivityEvent{Action: banklink.ActivityInstitutionSearched, Detail: name,
			Message: strconv.Itoa(res.Count+res.Remaining) + " institutions found."})
	}
	httpx.WriteJSON(rw, http.StatusOK, out)
	return nil
}

// readJSON decodes a small widget request body.
func readJSON(r *http.Request, dst any) error {
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 16<<10))
	if err != nil {
		return banklink.Errorf(banklink.EBADREQUEST, "Request body is too large.")
	}
	if err := json.Unmarshal(b, dst); err != nil {
		return banklink.Errorf(banklink.EBADREQUEST, "Request body is not valid JSON.")
	}
	// The API's rule: no NUL, bad UTF-8 or lone surrogates in strings.
	return httpx.CheckJSONText(b)
}

func (w *Widget) handleSelect(rw http.ResponseWriter, r *http.Request, wr *widgetRequest) error {
	var body struct {
		InstitutionID string `json:"institutionId"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if wr.conn.InstitutionID != "" && body.InstitutionID != wr.conn.InstitutionID {
		return errText(banklink.EBADREQUEST, "", "error.institutionOnly", "institution", wr.conn.InstitutionName)
	}
	if err := w.choose(r.Context(), wr, wr.sess, body.InstitutionID); err != nil {
		return err
	}
	if err := w.save(r.Context(), wr.sess); err != nil {
		return err
	}
	w.track(r.Context(), wr.sess, banklink.FunnelChosen)
	w.selected(r.Context(), wr)
	return w.respond(rw, r, wr)
}

// handleBack steps back: from the login (or MFA, or account choice) to the
// picker, or to the start of the login when the institution is fixed.
func (w *Widget) handleBack(rw http.ResponseWriter, r *http.Request, wr *widgetRequest) error {
	s := wr.sess
	// The activity names the institution the customer stepped back from.
	left := banklink.ActivityEvent{Action: banklink.ActivityWentBack, InstitutionID: s.InstitutionID, Provider: s.ProviderType}
	if wr.conn.InstitutionID != "" || (s.Step != banklink.StepCredentials && s.Step != banklink.StepRedirect && s.InstitutionID != "") {
		if s.InstitutionID != "" && s.Step != banklink.StepCredentials && s.Step != banklink.StepRedirect {
			*s = banklink.ConnectSession{ConnectionID: s.ConnectionID, Step: banklink.StepCredentials, InstitutionID: s.InstitutionID, ProviderType: s.ProviderType,
				Failures: s.Failures, Version: s.Version, Tab: s.Tab, Consent: s.Consent}
		}
	} else {
		*s = banklink.ConnectSession{ConnectionID: s.ConnectionID, Step: banklink.StepPick, Failures: s.Failures, Version: s.Version, Tab: s.Tab, Consent: s.Consent}
	}
	if err := w.save(r.Context(), s); err != nil {
		return err
	}
	left.Message = "Back to step " + s.Step + "."
	w.activity(r.Context(), wr, left)
	return w.respond(rw, r, wr)
}

// ReasonInstitutionNotFound is the exit reason of a customer who did not
// find their institution in the picker ("My bank isn't listed").
const ReasonInstitutionNotFound = "INSTITUTION_NOT_FOUND"

// handleExit records that the customer closed the widget, and at which
// step: the page calls it (keepalive) as it closes. The body may say why
// (reason INSTITUTION_NOT_FOUND, with the text searched last), so that
// the activity log tells which banks customers looked for in vain.
func (w *Widget) handleExit(rw http.ResponseWriter, r *http.Request, wr *widgetRequest) error {
	var body struct {
		Reason       string `json:"reason"`
		SearchString string `json:"searchString"`
	}
	if r.ContentLength != 0 {
		if err := readJSON(r, &body); err != nil {
			return err
		}
	}
	if len([]rune(body.SearchString)) > 256 {
		return banklink.FieldErrorf("searchString", "must be at most 256 characters")
	}
	e := banklink.ActivityEvent{Action: banklink.ActivityWidgetExited, Message: "Closed at step " + wr.sess.Step + "."}
	if body.Reason == ReasonInstitutionNotFound {
		e.Reason, e.Detail = ReasonInstitutionNotFound, strings.TrimSpace(body.SearchString)
		e.Message = "Closed at step " + wr.sess.Step + ": the customer's institution is not listed."
	}
	w.activity(r.Context(), wr, e)
	rw.WriteHeader(http.StatusNoContent)
	return nil
}

// loginContext returns the provider and request for the session's
// institution.
func (w *Widget) loginContext(r *http.Request, wr *widgetRequest) (banklink.InteractiveLogin, banklink.LoginRequest, error) {
	in, err := w.institution(wr.sess.InstitutionID)
	if err != nil {
		return nil, banklink.LoginRequest{}, err
	}
	s := wr.sess
	if s.Step == banklink.StepCredentials || s.ProviderType == "" {
		// A fresh login is routed again, so a provider that started
		// failing here since the institution was chosen is passed over.
		prov, d, err := w.route(r.Context(), wr, in)
		if err != nil {
			return nil, banklink.LoginRequest{}, err
		}
		s.ProviderType, s.Routing = prov.Type(), d
		req, err := w.loginRequest(r, wr, in, prov.Type())
		return prov, req, err
	}
	// MFA answers and redirects go back to the provider that asked.
	prov, ok := w.Providers[s.ProviderType]
	if !ok {
		return nil, banklink.LoginRequest{}, banklink.Errorf(banklink.EBADREQUEST, "%s can't be linked right now.", in.Name)
	}
	req, err := w.loginRequest(r, wr, in, s.ProviderType)
	return prov, req, err
}

// advance stores a provider's login step in the session.
func (w *Widget) advance(ctx context.Context, wr *widgetRequest, loginStep string, step *banklink.LoginStep) error {
	s := wr.sess
	if step.Done() {
		w.recordAttempt(ctx, s, nil)
		w.track(ctx, s, banklink.FunnelLoggedIn)
		w.activity(ctx, wr, banklink.ActivityEvent{Action: banklink.ActivityLoginSucceeded, Step: loginStep,
			Message: strconv.Itoa(len(step.Accounts)) + " accounts offered."})
		if len(step.Accounts) == 0 {
			return &banklink.Error{Code: banklink.ELOGIN, Reason: banklink.LoginNoAccounts,
				Message: "No eligible accounts were found at this institution."}
		}
		s.Step, s.MFA, s.ProviderState, s.LoginID, s.Accounts = banklink.StepAccounts, nil, "", step.LoginID, step.Accounts
	} else {
		s.Step, s.MFA, s.ProviderState = banklink.StepMFA, step.MFA, step.State
		e := banklink.ActivityEvent{Action: banklink.ActivityMFARequired, Step: loginStep}
		if step.MFA != nil {
			e.Message = string(step.MFA.Kind) + ": " + step.MFA.Prompt
		}
		w.activity(ctx, wr, e)
	}
	return w.save(ctx, s)
}

// attempt sends one login step to the provider (credentials, an MFA
// answer, the return from a redirect login) and moves the session on.
// The attempt is counted as a failure in the store before it is sent, so
// that concurrent attempts, on any replicas, cannot together get more
// than MaxLoginFailures to the provider; it is forgiven afterwards unless
// the customer's password or answer was wrong. The count also checks that
// the session is still at the step the handler checked.
func (w *Widget) attempt(rw http.ResponseWriter, r *http.Request, wr *widgetRequest, loginStep string,
	send func(prov banklink.InteractiveLogin, req banklink.LoginRequest) (*banklink.LoginStep, error)) error {
	ctx := r.Context()
	s := wr.sess
	if _, err := w.Store.CountLoginAttempt(ctx, s, banklink.MaxLoginFailures); err != nil {
		switch banklink.ErrorCode(err) {
		case banklink.ERATELIMITED:
			err = tooManyAttempts()
			w.widgetError(ctx, wr, err, loginStep, false)
			return err
		case banklink.ECONFLICT:
			return outOfDate()
		}
		return err
	}
	initializing := false
	step, err := func() (*banklink.LoginStep, error) {
		prov, req, err := w.loginContext(r, wr)
		if err != nil {
			initializing = true
			return nil, err
		}
		return send(prov, req)
	}()
	if err != nil {
		w.widgetError(ctx, wr, err, loginStep, initializing)
	}
	if pe, ok := errors.AsType[*banklink.ProviderError](err); ok && customerFailure(pe) {
		return w.providerError(ctx, s, err)
	}
	// Best effort: the customer does not wait for the forgiveness to be
	// durable; a crash before it lands costs them one retry.
	if ferr := w.Store.ForgiveLoginAttempt(banklink.BestEffort(ctx), s.ConnectionID); ferr != nil {
		// The attempt stays counted: one retry fewer, never one more.
		w.Log.Warn("forgive login attempt", slog.Any("err", ferr))
	}
	if err != nil {
		return w.providerError(ctx, s, err)
	}
	if err := w.advance(ctx, wr, loginStep, step); err != nil {
		if banklink.ErrorCode(err) == banklink.ELOGIN {
			w.widgetError(ctx, wr, err, loginStep, false)
		}
		return err
	}
	return w.respond(rw, r, wr)
}

func (w *Widget) handleLogin(rw http.ResponseWriter, r *http.Request, wr *widgetRequest) error {
	if wr.sess.Step != banklink.StepCredentials {
		return banklink.Errorf(banklink.ECONFLICT, "The login form is not the current step.")
	}
	var body struct {
		Credentials map[string]string `json:"credentials"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if err := checkFilled(body.Credentials); err != nil {
		return err
	}
	return w.attempt(rw, r, wr, banklink.LoginStepCredentials, func(prov banklink.InteractiveLogin, req banklink.LoginRequest) (*banklink.LoginStep, error) {
		// Credentials go to the provider and nowhere else: not the
		// session, not the logs.
		req.Credentials = body.Credentials
		return prov.SubmitCredentials(r.Context(), req)
	})
}

func (w *Widget) handleMFA(rw http.ResponseWriter, r *http.Request, wr *widgetRequest) error {
	if wr.sess.Step != banklink.StepMFA {
		return banklink.Errorf(banklink.ECONFLICT, "There is no security question to answer.")
	}
	var body struct {
		Answer string `json:"answer"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if strings.TrimSpace(body.Answer) == "" {
		// Not an attempt: nothing reaches the provider, nothing counts
		// towards the lock.
		return banklink.FieldErrorf("answer", "must not be empty")
	}
	return w.attempt(rw, r, wr, banklink.LoginStepMFA, func(prov banklink.InteractiveLogin, req banklink.LoginRequest) (*banklink.LoginStep, error) {
		return prov.AnswerMFA(r.Context(), req, wr.sess.ProviderState, body.Answer)
	})
}

func (w *Widget) handleOAuth(rw http.ResponseWriter, r *http.Request, wr *widgetRequest) error {
	if wr.sess.Step != banklink.StepCredentials && wr.sess.Step != banklink.StepRedirect {
		return banklink.Errorf(banklink.ECONFLICT, "No institution login is waiting for a redirect.")
	}
	var body map[string]string
	if err := readJSON(r, &body); err != nil {
		return err
	}
	return w.attempt(rw, r, wr, banklink.LoginStepRedirect, func(prov banklink.InteractiveLogin, req banklink.LoginRequest) (*banklink.LoginStep, error) {
		return prov.CompleteRedirect(r.Context(), req, body)
	})
}

// completeResult is connect_complete's metadata, as Meld sends it.
type completeResult struct {
	InstitutionID   string            `json:"institutionId"`
	InstitutionName string            `json:"institutionName"`
	AccountCount    int               `json:"accountCount"`
	Accounts        []completeAccount `json:"accounts"`
	ConnectionID    string            `json:"connectionId"`
}

type completeAccount struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Subtype string `json:"subtype"`
	Mask    string `json:"mask"`
}

func resultOf(conn *banklink.Connection, in *banklink.Institution, accounts []banklink.ProviderAccount) *completeResult {
	res := &completeResult{InstitutionID: in.ID, InstitutionName: in.Name, AccountCount: len(accounts), ConnectionID: conn.ID, Accounts: []completeAccount{}}
	for _, a := range accounts {
		res.Accounts = append(res.Accounts, completeAccount{Name: a.Name, Type: a.Type, Subtype: a.Subtype, Mask: a.Mask})
	}
	return res
}

// handleComplete submits the customer's choice of accounts to
// linking.Service.CompleteLink, which completes the connection (or
// answers a repeated submit with what was stored).
func (w *Widget) handleComplete(rw http.ResponseWriter, r *http.Request) (err error) {
	rw.Header().Set("Cache-Control", "no-store")
	lang := languageOf(nil, r)
	defer func() { err = localize(err, lang) }()
	wr, err := w.authorize(r)
	if err != nil {
		return err
	}
	lang = wr.lang
	// Only the tab driving the session completes it (linking then reads
	// the session again, at its version).
	tab, err := tabOf(r)
	if err != nil {
		return err
	}
	if s, err := w.Store.FindConnectSession(r.Context(), wr.conn.ID); err == nil {
		if err := checkTab(s, tab); err != nil {
			return err
		}
	}
	var body struct {
		AccountIDs []string `json:"accountIds"`
		Consent    bool     `json:"consent"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	done, err := w.Linking.CompleteLink(r.Context(), wr.link(), linking.CompleteRequest{AccountIDs: body.AccountIDs, Consent: body.Consent})
	if err != nil {
		return err
	}
	httpx.WriteJSON(rw, http.StatusOK, map[string]any{"result": resultOf(done.Connection, done.Institution, done.Accounts), "appRedirectUrl": done.Connection.RedirectURL})
	return nil
}

// sandboxAuthorize is the sandbox bank's own OAuth consent page, which
// banklink serves to simulate a redirect login. It only returns to the
// widget's own URL, so it cannot be used as an open redirect.
func (w *Widget) sandboxAuthorize(rw http.ResponseWriter, r *http.Request) error {
	ret := r.URL.Query().Get("return")
	if !strings.HasPrefix(ret, w.Config.WidgetURL+"?") {
		return banklink.FieldErrorf("return", "must be this banklink's widget URL")
	}
	sep := "&"
	// The bank's page speaks the widget's language: the one the token
	// in the return address asked for, else the browser's.
	var claims *connecttoken.Claims
	if u, err := url.Parse(ret); err == nil {
		if c, err := w.Tokens.Parse(u.Query().Get("connectToken")); err == nil {
			claims = c
		}
	}
	lang := languageOf(claims, r)
	if r.URL.Query().Get("frames") == "deny" {
		// A bank that refuses to be framed, as real OAuth banks do: both
		// headers, as banks send both (older browsers read only XFO).
		rw.Header().Set("X-Frame-Options", "DENY")
		securityHeaders(rw, "'none'")
	} else {
		securityHeaders(rw, "*")
	}
	rw.Header().Add("Vary", "Accept-Language")
	rw.Header().Set("Content-Language", lang)
	return w.pages.ExecuteTemplate(rw, "authorize.html", pageData{
		Base:        w.basePath,
		Lang:        lang,
		Institution: r.URL.Query().Get("institution"),
		Approve:     ret + sep + url.Values{"code": {"sandbox-approved"}}.Encode(),
		Deny:        ret + sep + url.Values{"error": {"access_denied"}}.Encode(),
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// checkFilled refuses a login with no credentials or a blank one before
// it counts as an attempt: an Enter pressed on an empty form is not a
// wrong password, and five of them must not lock the session.
func checkFilled(creds map[string]string) error {
	if len(creds) == 0 {
		return banklink.FieldErrorf("credentials", "must not be empty")
	}
	for _, k := range slices.Sorted(maps.Keys(creds)) {
		if strings.TrimSpace(creds[k]) == "" {
			return banklink.FieldErrorf("credentials."+k, "must not be empty")
		}
	}
	return nil
}

// handleClaim makes the calling tab the one that drives the session:
// the customer chose "Continue here" in a tab that was told the session
// continues elsewhere. The other tab's next call gets ReasonOtherTab.
func (w *Widget) handleClaim(rw http.ResponseWriter, r *http.Request, wr *widgetRequest) error {
	if wr.tab == "" {
		return banklink.Errorf(banklink.EBADREQUEST, "Taking a session over needs the %s header.", TabHeader)
	}
	if wr.sess.Tab != wr.tab {
		wr.sess.Tab = wr.tab
		if err := w.save(r.Context(), wr.sess); err != nil {
			return err
		}
	}
	return w.respond(rw, r, wr)
}

// fieldLabel names a credential field in lang. A provider's own label is
// kept in English (it may be the institution's word, such as "Client
// card number"); in another language a field the catalogue knows by name
// (field.username, field.password) is translated.
func fieldLabel(lang, name, label string) string {
	if key := "field." + name; lang != l10n.Default && hasText(lang, key) {
		return text(lang, key)
	}
	return label
}

// handleConsent records the customer's answer on the consent screen, the
// widget's first: the optional products they declined. It may be given
// again (Back to it) until the connection completes; the last answer
// counts. Declined products are not asked of the provider at the login,
// and leave the connection as it completes.
func (w *Widget) handleConsent(rw http.ResponseWriter, r *http.Request, wr *widgetRequest) error {
	var body struct {
		DeclinedProducts []string `json:"declinedProducts"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	c, err := linking.NewConsent(wr.conn, body.DeclinedProducts, w.Now())
	if err != nil {
		return err
	}
	if wr.sess.Step == banklink.StepDone {
		return banklink.Errorf(banklink.ECONFLICT, "This connection is complete; its consent can no longer change.")
	}
	wr.sess.Consent = c
	if err := w.save(r.Context(), wr.sess); err != nil {
		return err
	}
	return w.respond(rw, r, wr)
}
