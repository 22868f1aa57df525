package linking

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"banklink"
	"banklink/internal/connecttoken"
	"banklink/internal/l10n"
	"banklink/internal/search"
)

// StartRequest asks to start a connection: the body of POST
// /bank-linking/connect/start, which the demo page's backend also sends.
// Pointers tell "absent" from "empty".
type StartRequest struct {
	// ExternalCustomerID is optional: without it (and without
	// CustomerID) connect/start creates a new customer with no external
	// id.
	ExternalCustomerID *string `json:"externalCustomerId"`
	// CustomerID links the connection to an existing customer of the
	// scope (404 when there is none).
	CustomerID                *string  `json:"customerId"`
	Products                  []string `json:"products"`
	OptionalProducts          []string `json:"optionalProducts"`
	Regions                   []string `json:"regions"`
	InstitutionID             *string  `json:"institutionId"`
	InstitutionSearchString   *string  `json:"institutionSearchString"`
	AccountPreferenceOverride *struct {
		AllowRedirect *bool `json:"allowRedirect"`
	} `json:"accountPreferenceOverride"`
	RedirectURL *string `json:"redirectUrl"`
	// ServiceProvider names the provider to use, bypassing routing
	// (e.g. "SANDBOX_B"); omit it to let routing choose.
	ServiceProvider *string `json:"serviceProvider"`
	// Language is banklink's addition (Meld names none; Plaid's Link
	// calls it language too): a BCP 47 tag such as "fr-CA" for the
	// widget's language. Omitted, the widget follows the browser.
	Language *string `json:"language"`
}

// StartResponse is the started connection (connect/start's 201 body).
// The first five fields are Meld's;
// the rest are banklink's additions (apps that do not know them ignore
// them).
type StartResponse struct {
	ID           string `json:"id"`
	ConnectToken string `json:"connectToken"`
	CustomerID   string `json:"customerId"`
	// ExternalCustomerID echoes the customer's external id, nil (null)
	// for a customer without one.
	ExternalCustomerID *string `json:"externalCustomerId"`
	WidgetURL          string  `json:"widgetUrl"`

	ConnectTokenExpiresAt    string   `json:"connectTokenExpiresAt"`
	EligibleInstitutionCount int      `json:"eligibleInstitutionCount"`
	Warnings                 []string `json:"warnings,omitempty"`
}

// Bounds on free-text fields.
const (
	maxSearchStringLength = 256
	maxRedirectURLLength  = 2048
	maxInstitutionIDLen   = 64
)

// connectStart is a validated request.
type connectStart struct {
	externalID    string
	customerID    string
	products      []banklink.Product
	optional      []banklink.Product
	regions       []banklink.Region
	institutionID string
	search        string
	allowRedirect bool
	redirectURL   string
	provider      string
	language      string
	// languageWarning says the language has no catalogue (English is
	// shown instead).
	languageWarning string
}

func validateConnectStart(req *StartRequest) (*connectStart, error) {
	var out connectStart
	var err error
	if req.ExternalCustomerID != nil {
		if out.externalID, err = banklink.CleanText("externalCustomerId", *req.ExternalCustomerID, banklink.MaxExternalIDLength); err != nil {
			return nil, err
		}
		if out.externalID == "" {
			return nil, banklink.FieldErrorf("externalCustomerId", "must not be empty; omit it to create a customer without one")
		}
	}
	if req.CustomerID != nil {
		if out.customerID = strings.TrimSpace(*req.CustomerID); out.customerID == "" {
			return nil, banklink.FieldErrorf("customerId", "must not be empty; omit it to create or reuse the customer by [externalCustomerId]")
		}
	}
	if out.products, err = banklink.ValidateProducts("products", req.Products); err != nil {
		return nil, err
	}
	if out.optional, err = banklink.ValidateProducts("optionalProducts", req.OptionalProducts); err != nil {
		return nil, err
	}
	var overlap []string
	for _, p := range out.optional {
		if slices.Contains(out.products, p) {
			overlap = append(overlap, string(p))
		}
	}
	if len(overlap) > 0 {
		return nil, banklink.FieldErrorf("optionalProducts", "must not repeat products already in [products]: %s", strings.Join(overlap, ", "))
	}
	if len(out.optional) > 0 && len(out.products) == 0 {
		return nil, banklink.FieldErrorf("products", "must list at least one required product when optionalProducts is given")
	}
	if out.regions, err = banklink.ValidateRegions("regions", req.Regions); err != nil {
		return nil, err
	}
	if req.InstitutionID != nil {
		out.institutionID = strings.TrimSpace(*req.InstitutionID)
		if out.institutionID == "" {
			return nil, banklink.FieldErrorf("institutionId", "must not be empty; omit it to show the institution picker")
		}
	}
	if req.InstitutionSearchString != nil {
		if out.search, err = banklink.CleanText("institutionSearchString", *req.InstitutionSearchString, maxSearchStringLength); err != nil {
			return nil, err
		}
	}
	out.allowRedirect = true
	if o := req.AccountPreferenceOverride; o != nil && o.AllowRedirect != nil {
		out.allowRedirect = *o.AllowRedirect
	}
	if req.RedirectURL != nil {
		if out.redirectURL, err = validateRedirectURL(*req.RedirectURL); err != nil {
			return nil, err
		}
	}
	if req.Language != nil {
		if out.language, out.languageWarning, err = validateLanguage(*req.Language); err != nil {
			return nil, err
		}
	}
	if req.ServiceProvider != nil {
		if out.provider = banklink.ProviderTypeOf(*req.ServiceProvider); out.provider == "" {
			return nil, banklink.FieldErrorf("serviceProvider", "must not be empty; omit it to let routing choose")
		}
	}
	return &out, nil
}

// validateLanguage checks an app's language tag: a malformed one is a
// 400; a well-formed one without a catalogue is accepted with a warning,
// and the widget shows English (a customer is better served in English
// than by a failed link).
func validateLanguage(s string) (tag, warning string, err error) {
	if strings.TrimSpace(s) == "" {
		return "", "", banklink.FieldErrorf("language", "must not be empty; omit it to follow the browser's language")
	}
	tag, ok := l10n.Parse(s)
	if !ok {
		return "", "", banklink.FieldErrorf("language", "must be a BCP 47 language tag such as en, fr or fr-CA, not %q", truncate(s, 40))
	}
	if _, ok := l10n.Match(tag); !ok {
		warning = fmt.Sprintf("The widget has no %s text; it is shown in English. Available: %s.", tag, strings.Join(l10n.Supported, ", "))
	}
	return tag, warning, nil
}

func validateRedirectURL(s string) (string, error) {
	const hint = "must be an absolute https URL (a universal link or Android App Link)"
	if len(s) > maxRedirectURLLength {
		return "", banklink.FieldErrorf("redirectUrl", "must be at most %d characters", maxRedirectURLLength)
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "", banklink.FieldErrorf("redirectUrl", "%s", hint)
	}
	if u.Scheme != "https" {
		return "", banklink.FieldErrorf("redirectUrl", "%s, not a %s: URL", hint, truncate(u.Scheme, 16))
	}
	if u.User != nil {
		return "", banklink.FieldErrorf("redirectUrl", "must not contain credentials")
	}
	return u.String(), nil
}

// StartConnection validates the request, creates or reuses the
// customer, creates the IN_PROGRESS connection and mints its token.
func (s *Service) StartConnection(ctx context.Context, scope banklink.Scope, body *StartRequest) (*StartResponse, error) {
	req, err := validateConnectStart(body)
	if err != nil {
		return nil, err
	}
	providers := s.Config.Providers[scope.Environment]
	if len(providers) == 0 {
		return nil, banklink.Errorf(banklink.ENOTSUPPORTED, "No service provider is enabled for the %s environment; enable one in the configuration (see docs/operations.md).", scope.Environment)
	}
	if req.provider != "" {
		if !slices.Contains(providers, req.provider) {
			var names []string
			for _, p := range providers {
				names = append(names, banklink.ProviderWireName(p))
			}
			return nil, banklink.FieldErrorf("serviceProvider", "%s is not enabled for %s keys; enabled: %s", truncate(banklink.ProviderWireName(req.provider), 40), scope.Environment, strings.Join(names, ", "))
		}
		providers = []string{req.provider}
	}
	elig := banklink.Eligibility{
		Products:      banklink.NewProductSet(req.products...),
		Regions:       req.regions,
		AllowRedirect: req.allowRedirect,
		Providers:     setOf(providers),
	}
	ix := s.Directory.Current()
	if req.institutionID != "" {
		if len(req.institutionID) > maxInstitutionIDLen {
			return nil, &banklink.Error{Code: banklink.ENOTFOUND, Field: "institutionId", Message: "Institution not found; resolve institution ids with GET /institutions."}
		}
		if inst, ok := ix.ByID(req.institutionID); ok {
			if why := inst.CheckEligibility(elig); !why.OK() {
				return nil, &banklink.Error{Code: banklink.EBADREQUEST, Field: "institutionId", Message: ineligibleMessage(inst, why, req)}
			}
		}
		// An id missing from the index is settled by the store, which
		// answers 404 if it really does not exist.
	}
	var warnings []string
	if req.languageWarning != "" {
		warnings = append(warnings, req.languageWarning)
	}
	count := ix.Count(elig)
	if count < s.Config.MinEligibleInstitutions {
		warnings = append(warnings, s.narrowFilterWarning(ix.Explain(elig), req))
	}

	now := s.now().UTC()
	cust := &banklink.Customer{ID: banklink.NewID(), AccountID: scope.AccountID, Environment: scope.Environment, ExternalID: req.externalID}
	if req.customerID != "" {
		found, err := s.Store.FindCustomerByID(ctx, scope, req.customerID)
		if banklink.ErrorCode(err) == banklink.ENOTFOUND {
			return nil, &banklink.Error{Code: banklink.ENOTFOUND, Field: "customerId",
				Message: fmt.Sprintf("Customer %s not found; pass the customerId of a customer of this account, or omit it.", truncate(req.customerID, 64))}
		}
		if err != nil {
			return nil, err
		}
		if req.externalID != "" && req.externalID != found.ExternalID {
			return nil, banklink.FieldErrorf("externalCustomerId", "does not match the external id of customer %s; pass one of the two", truncate(found.ID, 64))
		}
		// The store reuses it: by its external id, or by id when it has
		// none.
		cust.ID, cust.ExternalID = found.ID, found.ExternalID
	}
	conn := &banklink.Connection{
		ID: banklink.NewID(), AccountID: scope.AccountID, Environment: scope.Environment,
		InstitutionID: req.institutionID, InstitutionSearchString: req.search,
		Products: req.products, OptionalProducts: req.optional, Regions: req.regions,
		AllowRedirect: req.allowRedirect, RedirectURL: req.redirectURL, RoutingProfile: DefaultRoutingProfile, RequestedProvider: req.provider,
		Status: banklink.StatusInProgress, CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(banklink.ConnectionCompletionWindow),
	}
	if err := s.Store.StartConnection(ctx, cust, conn); err != nil {
		if banklink.ErrorCode(err) == banklink.ENOTFOUND && req.institutionID != "" {
			return nil, &banklink.Error{Code: banklink.ENOTFOUND, Field: "institutionId",
				Message: fmt.Sprintf("Institution %s not found; resolve institution ids with GET /institutions.", truncate(req.institutionID, 64))}
		}
		return nil, err
	}
	token, exp, err := s.Tokens.Mint(connecttoken.Claims{
		Account: scope.AccountID, Customer: cust.ID, Connection: conn.ID,
		Products: nonNilProducts(req.products), Regions: req.regions, Redirect: req.allowRedirect,
		RoutingProfile: conn.RoutingProfile, Environment: scope.Environment, Language: req.language,
	})
	if err != nil {
		return nil, err
	}
	return &StartResponse{
		ID: conn.ID, ConnectToken: token, CustomerID: cust.ID, ExternalCustomerID: optionalString(cust.ExternalID),
		WidgetURL:                s.widgetURL(token),
		ConnectTokenExpiresAt:    exp.Format(time.RFC3339),
		EligibleInstitutionCount: count,
		Warnings:                 warnings,
	}, nil
}

// DefaultRoutingProfile names the routing profile used until accounts can
// configure their own.
const DefaultRoutingProfile = "default"

func nonNilProducts(p []banklink.Product) []banklink.Product {
	if p == nil {
		return []banklink.Product{}
	}
	return p
}

func (s *Service) widgetURL(token string) string {
	sep := "?"
	if strings.Contains(s.Config.WidgetURL, "?") {
		sep = "&"
	}
	return s.Config.WidgetURL + sep + "connectToken=" + url.QueryEscape(token)
}

func setOf(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, s := range list {
		m[s] = true
	}
	return m
}

func ineligibleMessage(inst *banklink.Institution, why banklink.Ineligibility, req *connectStart) string {
	var reasons []string
	if why.NoProvider {
		reasons = append(reasons, "no enabled service provider supports it")
	}
	if why.MissingProducts != 0 {
		reasons = append(reasons, "it does not support "+joinProducts(why.MissingProducts.Slice()))
	}
	if why.Region {
		reasons = append(reasons, "it does not serve "+joinRegions(req.regions))
	}
	if why.Redirect {
		reasons = append(reasons, "it requires a redirect (OAuth) login and accountPreferenceOverride.allowRedirect is false")
	}
	return fmt.Sprintf("[institutionId] Institution %s (%s) is not eligible for this request: %s.", inst.ID, inst.Name, strings.Join(reasons, "; "))
}

// narrowFilterWarning explains which filter shrank the institution list
// the most, the seed's warning made concrete.
func (s *Service) narrowFilterWarning(ex search.Explanation, req *connectStart) string {
	msg := fmt.Sprintf("Only %d institutions are eligible for these products and regions.", ex.Eligible)
	var worst banklink.Product
	best := ex.Eligible
	for _, p := range req.products {
		if n := ex.WithoutProduct[p]; n > best {
			worst, best = p, n
		}
	}
	if worst != "" {
		msg += fmt.Sprintf(" Moving %s to optionalProducts would make %d eligible.", worst, best)
	}
	if len(req.regions) > 0 && ex.WithoutRegions > ex.Eligible {
		msg += fmt.Sprintf(" Omitting regions (%s) would make %d eligible.", joinRegions(req.regions), ex.WithoutRegions)
	}
	return msg
}

func joinProducts(ps []banklink.Product) string {
	ss := make([]string, len(ps))
	for i, p := range ps {
		ss[i] = string(p)
	}
	return strings.Join(ss, ", ")
}

func joinRegions(rs []banklink.Region) string {
	ss := make([]string, len(rs))
	for i, r := range rs {
		ss[i] = string(r)
	}
	return strings.Join(ss, ", ")
}

// RepairResponse is a repair token: the body of POST
// /bank-linking/connect/repair.
type RepairResponse struct {
	ID                    string   `json:"id"`
	ConnectToken          string   `json:"connectToken"`
	InstitutionID         string   `json:"institutionId"`
	WidgetURL             string   `json:"widgetUrl"`
	ConnectTokenExpiresAt string   `json:"connectTokenExpiresAt"`
	Warnings              []string `json:"warnings,omitempty"`
}

// RepairRequest asks for a repair token: the body of POST
// /bank-linking/connect/repair.
type RepairRequest struct {
	ConnectionID *string `json:"connectionId"`
	// Language is the widget's language, as in StartRequest.
	Language *string `json:"language"`
}

// RepairConnection mints a token that reopens a broken connection's
// login at its institution (the picker is skipped). The connection keeps
// its status until the customer finishes; it never returns to IN_PROGRESS.
func (s *Service) RepairConnection(ctx context.Context, scope banklink.Scope, connectionID string) (*RepairResponse, error) {
	return s.Repair(ctx, scope, &RepairRequest{ConnectionID: &connectionID})
}

// Repair validates a repair request and mints its token
// (RepairConnection).
func (s *Service) Repair(ctx context.Context, scope banklink.Scope, req *RepairRequest) (*RepairResponse, error) {
	if req.ConnectionID == nil || strings.TrimSpace(*req.ConnectionID) == "" {
		return nil, banklink.FieldErrorf("connectionId", "must not be null")
	}
	connectionID := strings.TrimSpace(*req.ConnectionID)
	var lang, warning string
	if req.Language != nil {
		var err error
		if lang, warning, err = validateLanguage(*req.Language); err != nil {
			return nil, err
		}
	}
	c, err := s.Store.FindConnectionByID(ctx, scope, connectionID)
	if err != nil {
		return nil, err
	}
	if !c.Repairable() {
		reason := ""
		if c.StatusReason != "" {
			reason = " (" + c.StatusReason + ")"
		}
		return nil, banklink.Errorf(banklink.ECONFLICT, "A connection in status %s%s does not need a repair.", c.EffectiveStatus(s.now()), reason)
	}
	token, exp, err := s.Tokens.Mint(connecttoken.Claims{
		Account: scope.AccountID, Customer: c.CustomerID, Connection: c.ID, Products: nonNilProducts(c.Products),
		Regions: c.Regions, Redirect: c.AllowRedirect, RoutingProfile: c.RoutingProfile, Environment: scope.Environment, Repair: true,
		RepairOf: c.CompletedMicros(), Language: lang,
	})
	if err != nil {
		return nil, err
	}
	resp := &RepairResponse{ID: c.ID, ConnectToken: token, InstitutionID: c.InstitutionID,
		WidgetURL: s.widgetURL(token), ConnectTokenExpiresAt: exp.Format(time.RFC3339)}
	if warning != "" {
		resp.Warnings = []string{warning}
	}
	return resp, nil
}

// Validate checks the request as StartConnection does before touching
// anything: every error is a BAD_REQUEST naming its field.
func (req *StartRequest) Validate() error {
	_, err := validateConnectStart(req)
	return err
}

// optionalString is s, or nil when it is empty.
func optionalString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
