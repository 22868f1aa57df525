package client

import (
	"context"
	"net/http"
	"net/url"
)

// Widget drives the Connect Widget's own API with a connect token, as the
// widget page does. Apps show the widget to their customers instead; this
// is for tests and tools that link sandbox banks without a browser.
type Widget struct {
	c     *Client
	token string
}

// Widget returns the widget API for connectToken (from ConnectStart or
// Repair).
func (c *Client) Widget(connectToken string) *Widget { return &Widget{c: c, token: connectToken} }

// WidgetSession is the widget's whole state.
type WidgetSession struct {
	ConnectionID      string    `json:"connectionId"`
	Environment       string    `json:"environment"`
	ExpiresAt         string    `json:"expiresAt"`
	Products          []Product `json:"products"`
	OptionalProducts  []Product `json:"optionalProducts"`
	SearchString      string    `json:"searchString"`
	InstitutionLocked bool      `json:"institutionLocked"`
	// Step is PICK, CREDENTIALS, REDIRECT, MFA, ACCOUNTS or DONE.
	Step          string             `json:"step"`
	Institution   *WidgetInstitution `json:"institution,omitempty"`
	Fields        []WidgetField      `json:"fields,omitempty"`
	LoginURL      string             `json:"loginUrl,omitempty"`
	LoginEmbed    *WidgetLoginEmbed  `json:"loginEmbed,omitempty"`
	MFA           *WidgetMFA         `json:"mfa,omitempty"`
	Accounts      []WidgetAccount    `json:"accounts,omitempty"`
	ParentOrigins []string           `json:"parentOrigins"`
	EligibleCount int                `json:"eligibleCount"`
	// Picker is the picker's first page for SearchString, in the answer
	// to Session at step PICK.
	Picker         *WidgetInstitutions `json:"picker,omitempty"`
	Result         *CompleteResult     `json:"result,omitempty"`
	AppRedirectURL string              `json:"appRedirectUrl,omitempty"`

	// LoginNoFrame: loginUrl refuses to be framed (an OAuth bank's page).
	LoginNoFrame bool `json:"loginNoFrame,omitempty"`
	// Language is the language the widget speaks: en or fr-CA.
	Language string `json:"language"`
	// App is who asks for the data (the app profile).
	App WidgetApp `json:"app"`
	// Consent is the customer's answer on the consent screen, nil until
	// given (Consent).
	Consent *WidgetConsent `json:"consent"`
}

// WidgetApp is the app as the consent screen shows it.
type WidgetApp struct {
	Name             string `json:"name"`
	LogoURL          string `json:"logoUrl,omitempty"`
	PrivacyPolicyURL string `json:"privacyPolicyUrl,omitempty"`
	BrandColor       string `json:"brandColor,omitempty"`
	BrandTextColor   string `json:"brandTextColor,omitempty"`
}

// WidgetConsent is the customer's answer on the consent screen.
type WidgetConsent struct {
	DeclinedProducts []Product `json:"declinedProducts"`
	At               string    `json:"at"`
}

// WidgetInstitution is an institution as the picker shows it.
type WidgetInstitution struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Domain   string `json:"domain,omitempty"`
	Type     string `json:"type,omitempty"`
	OAuth    bool   `json:"oauth"`
	Initials string `json:"initials"`
	Health   string `json:"health"`
	// Logo is the widget's own URL for the logo (GET /connect/logo/{id}),
	// relative to the banklink server; "" when there is none.
	Logo string `json:"logo,omitempty"`
	// Color is the brand colour, #rrggbb, when a provider gives one.
	Color string `json:"color,omitempty"`
}

// WidgetField is a field of the login form.
type WidgetField struct {
	Name   string `json:"name"`
	Label  string `json:"label"`
	Secret bool   `json:"secret"`
}

// WidgetLoginEmbed describes a provider login page shown in the widget.
type WidgetLoginEmbed struct {
	Origin     string   `json:"origin"`
	DoneEvents []string `json:"doneEvents"`
}

// WidgetMFA is a multi-factor challenge.
type WidgetMFA struct {
	Kind    string   `json:"kind"`
	Prompt  string   `json:"prompt"`
	Choices []string `json:"choices,omitempty"`
}

// WidgetAccount is an account offered for linking.
type WidgetAccount struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Type    string `json:"type"`
	Subtype string `json:"subtype"`
	Mask    string `json:"mask"`
	// Preselected: the account starts ticked in the widget.
	Preselected bool `json:"preselected"`
}

// CompleteResult is what a completed widget reports (the connect_complete
// event's metadata, plus the connection id).
type CompleteResult struct {
	InstitutionID   string                  `json:"institutionId"`
	InstitutionName string                  `json:"institutionName"`
	AccountCount    int                     `json:"accountCount"`
	ConnectionID    string                  `json:"connectionId"`
	Accounts        []CompleteResultAccount `json:"accounts"`
}

// CompleteResultAccount is a linked account as the widget reports it.
type CompleteResultAccount struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Subtype string `json:"subtype"`
	Mask    string `json:"mask"`
}

// WidgetInstitutions is a page of the picker.
type WidgetInstitutions struct {
	Institutions []WidgetInstitution `json:"institutions"`
	Count        int                 `json:"count"`
	Remaining    int                 `json:"remaining"`
	Next         string              `json:"next,omitempty"`
	// Routing is how the search read name as a routing number: PREFIX,
	// NUMBER, INVALID (nine digits failing the checksum), or "".
	Routing string `json:"routing,omitempty"`
}

// WidgetCompletion is the answer of Complete.
type WidgetCompletion struct {
	Result         CompleteResult `json:"result"`
	AppRedirectURL string         `json:"appRedirectUrl"`
}

func widgetCall[T any](w *Widget, ctx context.Context, method, p string, q url.Values, body any) (*T, error) {
	return do[T](w.c, ctx, &request{method: method, path: "/connect/api/" + p, query: q, body: body, bearer: w.token}, nil)
}

func (w *Widget) step(ctx context.Context, p string, body any) (*WidgetSession, error) {
	return widgetCall[WidgetSession](w, ctx, http.MethodPost, p, nil, body)
}

// Session returns the widget's current state.
func (w *Widget) Session(ctx context.Context) (*WidgetSession, error) {
	return widgetCall[WidgetSession](w, ctx, http.MethodGet, "session", nil, nil)
}

// Institutions returns a page of the institutions eligible for this
// connection; after is the previous page's Next.
func (w *Widget) Institutions(ctx context.Context, name string, limit int, after string) (*WidgetInstitutions, error) {
	q := encodeQuery(struct {
		Name  string `query:"name"`
		Limit int    `query:"limit"`
		After string `query:"after"`
	}{name, limit, after})
	return widgetCall[WidgetInstitutions](w, ctx, http.MethodGet, "institutions", q, nil)
}

// Consent answers the consent screen: the customer shares the requested
// products except the optional ones in declined, which the connection
// completes without.
func (w *Widget) Consent(ctx context.Context, declined []Product) (*WidgetSession, error) {
	if declined == nil {
		declined = []Product{}
	}
	return w.step(ctx, "consent", map[string]any{"declinedProducts": declined})
}

// Select chooses an institution.
func (w *Widget) Select(ctx context.Context, institutionID string) (*WidgetSession, error) {
	return w.step(ctx, "select", map[string]string{"institutionId": institutionID})
}

// Back steps back to the picker or the start of the login.
func (w *Widget) Back(ctx context.Context) (*WidgetSession, error) { return w.step(ctx, "back", nil) }

// Login submits the login form (the session's Fields).
func (w *Widget) Login(ctx context.Context, credentials map[string]string) (*WidgetSession, error) {
	return w.step(ctx, "login", map[string]any{"credentials": credentials})
}

// MFA answers a multi-factor challenge.
func (w *Widget) MFA(ctx context.Context, answer string) (*WidgetSession, error) {
	return w.step(ctx, "mfa", map[string]string{"answer": answer})
}

// OAuth finishes a redirect login with the query the institution returned.
func (w *Widget) OAuth(ctx context.Context, params map[string]string) (*WidgetSession, error) {
	return w.step(ctx, "oauth", params)
}

// Complete links the chosen accounts (the session's Accounts) with the
// customer's consent, completing the connection.
func (w *Widget) Complete(ctx context.Context, accountIDs []string, consent bool) (*WidgetCompletion, error) {
	body := map[string]any{"accountIds": accountIDs, "consent": consent}
	return widgetCall[WidgetCompletion](w, ctx, http.MethodPost, "complete", nil, body)
}
