package fakeplaid

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// linkToken is a Link token and its sessions.
type linkToken struct {
	token        string
	hostedID     string
	created      time.Time
	expiration   time.Time
	hostedExpiry time.Time
	req          linkTokenCreateRequest
	sessions     []*linkSession
	// itemID is the Item an update-mode token (created with the Item's
	// access_token) re-authenticates.
	itemID string
}

// LinkTokenRequest is a Link token the fake created, as it was asked for.
type LinkTokenRequest struct {
	LinkToken string
	// ItemID is set for update mode: the Item whose access_token the
	// request carried.
	ItemID   string
	Products []string
	// RequiredIfSupportedProducts and AdditionalConsentedProducts are
	// Plaid's lists of the same names.
	RequiredIfSupportedProducts, AdditionalConsentedProducts []string
	Webhook                                                  string
	// CompletionRedirectURI is Hosted Link's.
	CompletionRedirectURI string
}

// LinkTokenRequests lists the Link tokens created, oldest first.
func (s *Server) LinkTokenRequests() []LinkTokenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []LinkTokenRequest
	for _, lt := range s.linkTokenLog {
		r := LinkTokenRequest{LinkToken: lt.token, ItemID: lt.itemID, Products: lt.req.Products, Webhook: lt.req.Webhook,
			RequiredIfSupportedProducts: lt.req.RequiredIfSupportedProducts, AdditionalConsentedProducts: lt.req.AdditionalConsentedProducts}
		if lt.req.HostedLink != nil {
			r.CompletionRedirectURI = lt.req.HostedLink.CompletionRedirectURI
		}
		out = append(out, r)
	}
	return out
}

type linkSession struct {
	ID         string           `json:"link_session_id"`
	StartedAt  time.Time        `json:"started_at"`
	FinishedAt *time.Time       `json:"finished_at"`
	OnSuccess  *linkOnSuccess   `json:"on_success"`
	Exit       *linkExit        `json:"exit"`
	Events     []map[string]any `json:"events"`
	Results    *linkResults     `json:"results"`
}

type linkOnSuccess struct {
	PublicToken string         `json:"public_token"`
	Metadata    map[string]any `json:"metadata"`
}

type linkExit struct {
	Error    map[string]any `json:"error"`
	Metadata map[string]any `json:"metadata"`
}

// linkResults is a session's LinkSessionResults: every list is there,
// empty when the session produced nothing of its kind.
type linkResults struct {
	ItemAddResults        []itemAddResult `json:"item_add_results"`
	CRAItemAddResults     []any           `json:"cra_item_add_results"`
	CRAUpdateResults      []any           `json:"cra_update_results"`
	BankIncomeResults     []any           `json:"bank_income_results"`
	PayrollIncomeResults  []any           `json:"payroll_income_results"`
	DocumentIncomeResults any             `json:"document_income_results"`
}

// itemAddResult is LinkSessionItemAddResult, which does not name the
// Item: its id comes with the public token's exchange.
type itemAddResult struct {
	PublicToken string           `json:"public_token"`
	Institution map[string]any   `json:"institution"`
	Accounts    []map[string]any `json:"accounts"`
}

type publicToken struct {
	itemID  string
	expires time.Time
	used    bool
}

type linkTokenCreateRequest struct {
	auth
	ClientName   string   `json:"client_name"`
	Language     string   `json:"language"`
	CountryCodes []string `json:"country_codes"`
	User         *struct {
		ClientUserID string `json:"client_user_id"`
	} `json:"user"`
	Products                    []string `json:"products"`
	RequiredIfSupportedProducts []string `json:"required_if_supported_products"`
	OptionalProducts            []string `json:"optional_products"`
	AdditionalConsentedProducts []string `json:"additional_consented_products"`
	Webhook                     string   `json:"webhook"`
	RedirectURI                 string   `json:"redirect_uri"`
	AccessToken                 string   `json:"access_token"`
	AccountFilters              any      `json:"account_filters"`
	Transactions                *struct {
		DaysRequested int `json:"days_requested"`
	} `json:"transactions"`
	HostedLink *struct {
		CompletionRedirectURI string `json:"completion_redirect_uri"`
		URLLifetimeSeconds    int    `json:"url_lifetime_seconds"`
		IsMobileApp           bool   `json:"is_mobile_app"`
		DeliveryMethod        string `json:"delivery_method"`
	} `json:"hosted_link"`
}

// Products Link can be initialised with, and those its other lists take
// (the values Plaid's spec shows for each).
var (
	linkProducts                = []string{"auth", "identity", "transactions", "investments", "assets", "liabilities", "income_verification", "signal", "statements"}
	requiredIfSupportedProducts = []string{"auth", "identity", "investments", "liabilities", "transactions", "signal", "statements"}
	optionalProducts            = []string{"auth", "identity", "investments", "liabilities", "signal", "statements", "transactions"}
	additionalConsentedProducts = []string{"auth", "balance_plus", "identity", "investments", "investments_auth", "liabilities", "transactions", "signal"}
)

func (s *Server) linkTokenCreate(r *http.Request, body []byte) (any, error) {
	var req linkTokenCreateRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	userID := ""
	if req.User != nil {
		userID = req.User.ClientUserID
	}
	if err := required("client_name", req.ClientName, "language", req.Language, "country_codes", req.CountryCodes,
		"user.client_user_id", userID); err != nil {
		return nil, err
	}
	// Update mode: Link is initialised with an existing Item's
	// access_token and no products ("no products should be specified
	// when creating a link_token for update mode"); the Item must exist.
	var update *Item
	if req.AccessToken != "" {
		update = s.byToken[req.AccessToken]
		if update == nil || update.removed {
			return nil, fail("INVALID_ACCESS_TOKEN", "")
		}
	}
	for _, list := range []struct {
		field       string
		names, from []string
	}{
		{"products", req.Products, linkProducts},
		{"required_if_supported_products", req.RequiredIfSupportedProducts, requiredIfSupportedProducts},
		{"optional_products", req.OptionalProducts, optionalProducts},
		{"additional_consented_products", req.AdditionalConsentedProducts, additionalConsentedProducts},
	} {
		for _, p := range list.names {
			if !slices.Contains(list.from, p) {
				// "balance" is in none: the Balance product needs no
				// initialisation, nor consent of its own.
				return nil, fail("INVALID_FIELD", "%s: %q is not a valid product", list.field, p)
			}
		}
	}
	// "There should be no overlap between this array and the products,
	// optional_products, or additional_consented_products arrays" (and
	// likewise for each list).
	for _, pair := range [][2][]string{{req.Products, req.RequiredIfSupportedProducts}, {req.Products, req.OptionalProducts},
		{req.Products, req.AdditionalConsentedProducts}, {req.RequiredIfSupportedProducts, req.OptionalProducts},
		{req.RequiredIfSupportedProducts, req.AdditionalConsentedProducts}} {
		for _, p := range pair[0] {
			if slices.Contains(pair[1], p) {
				return nil, fail("INVALID_FIELD", "%q is in two of products, required_if_supported_products, optional_products and additional_consented_products", p)
			}
		}
	}
	if update == nil && len(req.Products) == 0 {
		return nil, fail("MISSING_FIELDS", "products")
	}
	if req.Transactions != nil && (req.Transactions.DaysRequested < 1 || req.Transactions.DaysRequested > 730) {
		return nil, fail("INVALID_FIELD", "transactions.days_requested must be between 1 and 730")
	}
	now := s.Now()
	lt := &linkToken{token: "link-sandbox-" + s.id("lt"), created: now, expiration: now.Add(4 * time.Hour), req: req}
	if update != nil {
		lt.itemID = update.ID
	}
	out := map[string]any{"link_token": lt.token, "expiration": lt.expiration.UTC().Format(time.RFC3339)}
	if req.HostedLink != nil {
		// A hosted_link object (even empty) enables Hosted Link.
		life := 30 * time.Minute
		if req.HostedLink.URLLifetimeSeconds > 0 {
			life = time.Duration(req.HostedLink.URLLifetimeSeconds) * time.Second
		}
		if life > 21*24*time.Hour {
			return nil, fail("INVALID_FIELD", "hosted_link.url_lifetime_seconds cannot be longer than 21 days")
		}
		lt.hostedID = s.id("hl")
		lt.hostedExpiry = now.Add(life)
		s.hosted[lt.hostedID] = lt
		out["hosted_link_url"] = s.URL + "/hl/" + lt.hostedID
	}
	s.linkTokens[lt.token] = lt
	s.linkTokenLog = append(s.linkTokenLog, lt)
	return out, nil
}

func (s *Server) linkTokenGet(r *http.Request, body []byte) (any, error) {
	var req struct {
		auth
		LinkToken string `json:"link_token"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := required("link_token", req.LinkToken); err != nil {
		return nil, err
	}
	lt := s.linkTokens[req.LinkToken]
	if lt == nil {
		return nil, fail("INVALID_LINK_TOKEN", "")
	}
	return map[string]any{
		"link_token": lt.token, "created_at": lt.created.UTC().Format(time.RFC3339), "expiration": lt.expiration.UTC().Format(time.RFC3339),
		"metadata": map[string]any{"initial_products": nonNil(lt.req.Products), "webhook": nullable(lt.req.Webhook), "country_codes": lt.req.CountryCodes,
			"language": lt.req.Language, "redirect_uri": nullable(lt.req.RedirectURI), "client_name": lt.req.ClientName},
		"link_sessions": nonNil(lt.sessions),
	}, nil
}

// nonNil is list, or an empty list for nil: Plaid's lists are never null.
func nonNil[T any](list []T) []T {
	if list == nil {
		return []T{}
	}
	return list
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// hostedLinkPage is the Hosted Link page. Opening it runs a whole Link
// session at once, as if the customer went through it: by default they
// pick the first institution that supports the Link token's products and
// link it. Query parameters script the customer: institution_id picks the
// institution; outcome=exit leaves without linking, with error_code the
// error Link showed (INVALID_CREDENTIALS, INSTITUTION_DOWN, ...). The
// session ends with a SESSION_FINISHED webhook (when the Link token has a
// webhook) and a redirect to completion_redirect_uri, which carries
// nothing: the outcome is read with /link/token/get.
//
// In update mode (a Link token created with an access_token) Link finds
// the institution itself: the customer logs in again, which clears the
// Item's error (ITEM_LOGIN_REQUIRED and the like), and the session
// succeeds for the same Item, whose access_token does not change.
func (s *Server) hostedLinkPage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	lt := s.hosted[r.PathValue("id")]
	now := s.Now()
	if lt == nil || now.After(lt.hostedExpiry) || now.After(lt.expiration) {
		s.mu.Unlock()
		http.Error(w, "This link has expired.", http.StatusGone)
		return
	}
	q := r.URL.Query()
	sess := &linkSession{ID: s.id("ls"), StartedAt: now, Events: []map[string]any{}}
	finished := now
	sess.FinishedAt = &finished
	status := "SUCCESS"
	var publicTokens []string
	switch q.Get("outcome") {
	case "exit":
		status = "EXITED"
		sess.Exit = &linkExit{Metadata: map[string]any{"status": "requires_credentials", "link_session_id": sess.ID}}
		if code := q.Get("error_code"); code != "" {
			def, ok := catalog[code]
			if !ok {
				s.mu.Unlock()
				http.Error(w, "unknown error_code", http.StatusBadRequest)
				return
			}
			e := map[string]any{"error_type": def.typ, "error_code": code, "error_message": def.message, "display_message": nil}
			if def.display != "" {
				e["display_message"] = def.display
			}
			sess.Exit.Error = e
		}
	default:
		var it *Item
		var inst *Institution
		// withhold names products whose data the customer did not agree
		// to share (declined at an OAuth institution's own screen): the
		// Item is linked without their consent.
		var withheld []string
		if v := q.Get("withhold"); v != "" {
			withheld = strings.Split(v, ",")
		}
		if lt.itemID != "" {
			it = s.items[lt.itemID]
			if it.removed {
				s.mu.Unlock()
				http.Error(w, "the Item of this update-mode Link token was removed", http.StatusBadRequest)
				return
			}
			it.Error = ""
			// Update mode collects consent to additional_consented_products.
			for _, p := range lt.req.AdditionalConsentedProducts {
				if !slices.Contains(withheld, p) && !slices.Contains(it.ConsentedProducts, p) {
					it.ConsentedProducts = append(it.ConsentedProducts, p)
				}
			}
			inst = &Institution{ID: it.InstitutionID, Name: it.InstitutionID}
			for _, in := range s.institutions {
				if in.ID == it.InstitutionID {
					inst = in
				}
			}
		} else {
			inst = s.pickInstitution(q.Get("institution_id"), lt.req)
			if inst == nil {
				s.mu.Unlock()
				http.Error(w, "no institution supports this Link token's products", http.StatusBadRequest)
				return
			}
			it = s.newItem(inst, lt.req, withheld, now)
		}
		pt := "public-sandbox-" + s.id("pt")
		s.publicTokens[pt] = &publicToken{itemID: it.ID, expires: now.Add(30 * time.Minute)}
		publicTokens = append(publicTokens, pt)
		var accts []map[string]any
		for _, a := range it.Accounts {
			accts = append(accts, map[string]any{"id": a.ID, "name": a.Name, "mask": a.Mask, "type": a.Type, "subtype": a.Subtype,
				"verification_status": nil, "class_type": nil})
		}
		instObj := map[string]any{"name": inst.Name, "institution_id": inst.ID}
		sess.Results = &linkResults{ItemAddResults: []itemAddResult{{PublicToken: pt, Institution: instObj, Accounts: accts}},
			CRAItemAddResults: []any{}, CRAUpdateResults: []any{}, BankIncomeResults: []any{}, PayrollIncomeResults: []any{}}
		sess.OnSuccess = &linkOnSuccess{PublicToken: pt, Metadata: map[string]any{"institution": instObj, "accounts": accts, "link_session_id": sess.ID}}
	}
	lt.sessions = append(lt.sessions, sess)
	if lt.req.Webhook != "" {
		s.queueWebhook(lt.req.Webhook, map[string]any{"webhook_type": "LINK", "webhook_code": "SESSION_FINISHED", "status": status,
			"link_session_id": sess.ID, "link_token": lt.token, "public_tokens": publicTokens, "environment": "sandbox"})
	}
	dest := ""
	if lt.req.HostedLink != nil {
		dest = lt.req.HostedLink.CompletionRedirectURI
	}
	s.mu.Unlock()
	s.flushWebhooks()
	if dest == "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte("<!doctype html><title>Plaid</title><p>You may close this window."))
		return
	}
	if u, err := url.Parse(dest); err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		http.Error(w, "invalid completion_redirect_uri", http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, dest, http.StatusFound)
}

// pickInstitution returns the institution id, or the first that supports
// every product of the Link token in one of its countries.
func (s *Server) pickInstitution(id string, req linkTokenCreateRequest) *Institution {
	for _, in := range s.institutions {
		if id != "" {
			if in.ID == id {
				return in
			}
			continue
		}
		ok := true
		for _, p := range req.Products {
			ok = ok && slices.Contains(in.Products, p)
		}
		served := false
		for _, c := range req.CountryCodes {
			served = served || slices.Contains(in.CountryCodes, c)
		}
		if ok && served {
			return in
		}
	}
	return nil
}

func (s *Server) exchange(r *http.Request, body []byte) (any, error) {
	var req struct {
		auth
		PublicToken string `json:"public_token"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := required("public_token", req.PublicToken); err != nil {
		return nil, err
	}
	pt := s.publicTokens[req.PublicToken]
	if pt == nil || pt.used || s.Now().After(pt.expires) {
		return nil, fail("INVALID_PUBLIC_TOKEN", "")
	}
	pt.used = true
	it := s.items[pt.itemID]
	return map[string]any{"access_token": it.AccessToken, "item_id": it.ID}, nil
}
