package dashboard

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"banklink"
	"banklink/internal/httpx"
	"banklink/internal/linking"
	"banklink/internal/search"
	"banklink/webhook"
)

// ---- connections ----

type connectionRow struct {
	ID, Key, ExternalCustomerID, CustomerID string
	Institution, InstitutionID              string
	Status, StatusReason                    string
	Provider                                string
	Decision                                *decisionView
	CreatedAt                               time.Time
	CompletedAt                             *time.Time
}

type decisionView struct {
	Provider, Reason, Profile string
	Skipped                   []string
	At                        time.Time
}

func decisionOf(d *banklink.RoutingDecision) *decisionView {
	if d == nil {
		return nil
	}
	v := &decisionView{Provider: banklink.ProviderWireName(d.Provider), Reason: d.Reason, Profile: d.Profile, At: d.At}
	for _, s := range d.Skipped {
		v.Skipped = append(v.Skipped, banklink.ProviderWireName(s.Provider)+": "+s.Reason)
	}
	return v
}

func (d *Dashboard) connectionRow(c *banklink.Connection, now time.Time) connectionRow {
	row := connectionRow{ID: c.ID, Key: c.Key, ExternalCustomerID: c.ExternalCustomerID, CustomerID: c.CustomerID,
		Institution: c.InstitutionName, InstitutionID: c.InstitutionID, Status: string(c.EffectiveStatus(now)), StatusReason: c.StatusReason,
		Decision: decisionOf(c.RoutingDecision), CreatedAt: c.CreatedAt, CompletedAt: c.CompletedAt}
	if c.ProviderType != "" {
		row.Provider = banklink.ProviderWireName(c.ProviderType)
	}
	if row.Institution == "" && c.InstitutionID != "" {
		row.Institution = d.institutionName(c.InstitutionID)
	}
	return row
}

const connectionsPerPage = 25

func (d *Dashboard) handleConnections(w http.ResponseWriter, r *http.Request, rq *request) error {
	before := r.URL.Query().Get("before")
	cursor := before
	if cursor == "" {
		cursor = banklink.LatestCursor
	}
	now := d.Now()
	list, remaining, err := d.store.FindConnections(r.Context(), rq.scope, banklink.ConnectionFilter{Before: cursor, Limit: connectionsPerPage, Now: now})
	if err != nil {
		return err
	}
	rows := []connectionRow{}
	for i := len(list) - 1; i >= 0; i-- { // newest first
		rows = append(rows, d.connectionRow(list[i], now))
	}
	data := struct {
		Rows          []connectionRow
		Older         string
		ShowingLatest bool
	}{Rows: rows, ShowingLatest: before == ""}
	if remaining > 0 && len(list) > 0 {
		data.Older = list[0].Key
	}
	return d.render(w, http.StatusOK, "connections", rq, view{Title: "Connections", Nav: "connections", Page: "connections", Data: data})
}

type statusChange struct {
	At                   time.Time
	Old, OldReason       string
	New, NewReason       string
	ActiveDuplicate      string
	EventID, RequestID   string
	ServiceProviderLogin string
}

func (d *Dashboard) handleConnection(w http.ResponseWriter, r *http.Request, rq *request) error {
	c, err := d.store.FindConnectionByID(r.Context(), rq.scope, r.PathValue("id"))
	if err != nil {
		return err
	}
	events, _, err := d.store.FindEvents(r.Context(), rq.scope, banklink.EventFilter{ConnectionID: c.ID,
		Types: []webhook.EventType{webhook.ConnectionStatusChange}, Limit: 200})
	if err != nil {
		return err
	}
	history := []statusChange{}
	for _, e := range events {
		p := e.Payload
		history = append(history, statusChange{At: e.CreatedAt, Old: p.OldStatus, OldReason: p.OldStatusReason, New: p.NewStatus,
			NewReason: p.NewStatusReason, ActiveDuplicate: p.ActiveDuplicateConnectionID, EventID: e.ID, RequestID: p.RequestID})
	}
	products := []string{}
	for _, p := range c.Products {
		products = append(products, string(p))
	}
	optional := []string{}
	for _, p := range c.OptionalProducts {
		optional = append(optional, string(p))
	}
	regions := []string{}
	for _, rg := range c.Regions {
		regions = append(regions, string(rg))
	}
	data := struct {
		C                                    connectionRow
		Products, Optional, Regions          []string
		RequestedProvider, LoginID, Redirect string
		ExpiresAt                            time.Time
		AggregatedAt                         *time.Time
		Duplicates                           []string
		History                              []statusChange
	}{C: d.connectionRow(c, d.Now()), Products: products, Optional: optional, Regions: regions, LoginID: c.ProviderLoginID,
		Redirect: c.RedirectURL, ExpiresAt: c.ExpiresAt, AggregatedAt: c.AggregatedAt, Duplicates: c.DuplicateConnectionIDs, History: history}
	if c.RequestedProvider != "" {
		data.RequestedProvider = banklink.ProviderWireName(c.RequestedProvider)
	}
	return d.render(w, http.StatusOK, "connection", rq, view{Title: "Connection " + c.ID, Nav: "connections", Page: "connections", Data: data})
}

// ---- API keys ----

type keysData struct {
	Keys []*banklink.APIKey
	// NewKey is the plaintext of a key just created: shown once.
	NewKey     string
	NewKeyName string
	Name       string
}

func (d *Dashboard) keysPage(w http.ResponseWriter, r *http.Request, rq *request, status int, data keysData, errMsg string) error {
	all, err := d.store.FindAPIKeys(r.Context(), rq.sess.AccountID)
	if err != nil {
		return err
	}
	for i := len(all) - 1; i >= 0; i-- { // newest first
		if all[i].Environment == rq.env {
			data.Keys = append(data.Keys, all[i])
		}
	}
	return d.render(w, status, "keys", rq, view{Title: "API keys", Nav: "keys", Page: "keys", Error: errMsg, Data: data})
}

func (d *Dashboard) handleKeys(w http.ResponseWriter, r *http.Request, rq *request) error {
	return d.keysPage(w, r, rq, http.StatusOK, keysData{}, "")
}

// MaxKeyName bounds an API key's name.
const MaxKeyName = 64

func (d *Dashboard) handleCreateKey(w http.ResponseWriter, r *http.Request, rq *request) error {
	name := strings.TrimSpace(r.PostForm.Get("name"))
	if name == "" || len([]rune(name)) > MaxKeyName {
		return d.keysPage(w, r, rq, http.StatusBadRequest, keysData{Name: name}, "Give the key a name of 1 to 64 characters, such as “backend”.")
	}
	k, plain := banklink.NewAPIKey(rq.sess.AccountID, rq.env, name, d.deps.APIVersion, d.Now())
	if err := d.store.CreateAPIKey(r.Context(), k); err != nil {
		return err
	}
	d.log.Info("dashboard created API key", "operator_id", rq.sess.OperatorID, "account_id", k.AccountID, "api_key_id", k.ID, "environment", string(k.Environment))
	// The answer to the post itself shows the key (never stored in
	// plaintext, so it cannot be shown again after a redirect).
	return d.keysPage(w, r, rq, http.StatusCreated, keysData{NewKey: plain, NewKeyName: name}, "")
}

func (d *Dashboard) handleRevokeKey(w http.ResponseWriter, r *http.Request, rq *request) error {
	id := r.PathValue("id")
	if err := d.store.RevokeAPIKey(r.Context(), rq.sess.AccountID, id, d.Now()); err != nil {
		return err
	}
	d.deps.ForgetAPIKey(id)
	d.log.Info("dashboard revoked API key", "operator_id", rq.sess.OperatorID, "account_id", rq.sess.AccountID, "api_key_id", id)
	return redirect(w, r, rq.page("keys"), "revoked")
}

// ---- webhooks ----

type deliveryView struct {
	ProfileURL, State, Reason string
	Attempts, Status          int
	DeliveredAt, NextAt       *time.Time
}

type eventView struct {
	ID, Type, ConnectionID string
	At                     time.Time
	Deliveries             []deliveryView
}

type webhooksData struct {
	Profiles   []*banklink.WebhookProfile
	Events     []eventView
	Versions   []string
	EventTypes []string
	// NewSecret is the signing secret of a profile just created: shown
	// once.
	NewSecret, NewURL string
	Form              struct {
		URL, Version string
		Types        []string
	}
}

const recentEvents = 20

func (d *Dashboard) webhooksPage(w http.ResponseWriter, r *http.Request, rq *request, status int, data webhooksData, errMsg string) error {
	ctx := r.Context()
	var err error
	if data.Profiles, err = d.store.FindWebhookProfiles(ctx, rq.scope); err != nil {
		return err
	}
	urls := map[string]string{}
	for _, p := range data.Profiles {
		urls[p.ID] = p.URL
	}
	events, _, err := d.store.FindEvents(ctx, rq.scope, banklink.EventFilter{Before: banklink.LatestCursor, Limit: recentEvents})
	if err != nil {
		return err
	}
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		ev := eventView{ID: e.ID, Type: string(e.Type), ConnectionID: e.ConnectionID, At: e.CreatedAt}
		deliveries, err := d.store.FindDeliveries(ctx, rq.scope, e.ID)
		if err != nil {
			return err
		}
		for _, dl := range deliveries {
			u := urls[dl.ProfileID]
			if u == "" {
				u = "(deleted profile)"
			}
			ev.Deliveries = append(ev.Deliveries, deliveryView{ProfileURL: u, State: string(dl.State), Reason: dl.LastReason, Attempts: dl.Attempts,
				Status: dl.LastStatusCode, DeliveredAt: dl.DeliveredAt, NextAt: dl.NextAttemptAt})
		}
		data.Events = append(data.Events, ev)
	}
	data.Versions = banklink.WebhookVersions
	for _, t := range webhook.EventTypes {
		if t != webhook.Test {
			data.EventTypes = append(data.EventTypes, string(t))
		}
	}
	return d.render(w, status, "webhooks", rq, view{Title: "Webhooks", Nav: "webhooks", Page: "webhooks", Error: errMsg, Data: data})
}

func (d *Dashboard) handleWebhooks(w http.ResponseWriter, r *http.Request, rq *request) error {
	return d.webhooksPage(w, r, rq, http.StatusOK, webhooksData{}, "")
}

func (d *Dashboard) handleCreateProfile(w http.ResponseWriter, r *http.Request, rq *request) error {
	u, version := strings.TrimSpace(r.PostForm.Get("url")), r.PostForm.Get("version")
	types := r.PostForm["eventTypes"]
	in := linking.WebhookProfileInput{URL: &u, Version: &version, EventTypes: &types}
	p, err := d.deps.Linking.CreateWebhookProfile(r.Context(), rq.scope, in)
	if err != nil {
		if code := banklink.ErrorCode(err); code == banklink.EBADREQUEST || code == banklink.ECONFLICT {
			var data webhooksData
			data.Form.URL, data.Form.Version, data.Form.Types = u, version, types
			return d.webhooksPage(w, r, rq, httpx.StatusOf(err), data, banklink.ErrorMessage(err))
		}
		return err
	}
	d.log.Info("dashboard created webhook profile", "operator_id", rq.sess.OperatorID, "account_id", p.AccountID, "profile_id", p.ID)
	return d.webhooksPage(w, r, rq, http.StatusCreated, webhooksData{NewSecret: p.Secret, NewURL: p.URL}, "")
}

// ---- service providers and routing ----

// credentialFields are the credential fields the form offers for a
// provider: those it declares (banklink.CredentialKeyer), else a client
// id and a secret.
func (d *Dashboard) credentialFields(provider string) []string {
	if keys, ok := d.deps.Linking.CredentialKeys(provider); ok {
		return slices.Clone(keys)
	}
	return []string{"clientId", "secret"}
}

type providerView struct {
	Type, Wire   string
	Configured   bool
	Enabled      bool
	DisplayOrder int
	Generation   int
	// CredentialsSet names the stored credential fields; their values
	// never leave the store.
	CredentialsSet []string
	Fields         []fieldView
	UpdatedAt      time.Time
}

type fieldView struct {
	Name string
	Set  bool
}

type ruleView struct {
	InstitutionID, Institution, Provider, Action string
}

type instView struct{ ID, Name string }

type providersData struct {
	Providers  []providerView
	Defaults   []string // the deployment's providers, used while nothing is configured
	Configured bool
	Rules      []ruleView
	Wires      []string
	Query      string
	Found      []instView
}

func (d *Dashboard) providersPage(w http.ResponseWriter, r *http.Request, rq *request, status int, errMsg string) error {
	ctx := r.Context()
	configs, err := d.store.FindProviderConfigs(ctx, rq.scope)
	if err != nil {
		return err
	}
	data := providersData{Configured: len(configs) > 0}
	available := d.deps.Linking.Config.Providers[rq.env]
	byType := map[string]*banklink.ProviderConfig{}
	for _, c := range configs {
		byType[c.ProviderType] = c
	}
	seen := map[string]bool{}
	add := func(t string) {
		if seen[t] {
			return
		}
		seen[t] = true
		v := providerView{Type: t, Wire: banklink.ProviderWireName(t)}
		set := map[string]bool{}
		if c := byType[t]; c != nil {
			v.Configured, v.Enabled, v.DisplayOrder, v.Generation, v.UpdatedAt = true, c.Enabled, c.DisplayOrder, c.Generation, c.UpdatedAt
			for k := range c.Credentials {
				v.CredentialsSet = append(v.CredentialsSet, k)
				set[k] = true
			}
			slices.Sort(v.CredentialsSet)
		} else {
			v.DisplayOrder = len(configs) + 1
		}
		names := d.credentialFields(t)
		for _, k := range v.CredentialsSet {
			if !slices.Contains(names, k) {
				names = append(names, k)
			}
		}
		for _, k := range names {
			v.Fields = append(v.Fields, fieldView{Name: k, Set: set[k]})
		}
		data.Providers = append(data.Providers, v)
	}
	for _, c := range configs { // waterfall order first
		if slices.Contains(available, c.ProviderType) {
			add(c.ProviderType)
		}
	}
	for _, t := range available {
		add(t)
		data.Defaults = append(data.Defaults, banklink.ProviderWireName(t))
		data.Wires = append(data.Wires, banklink.ProviderWireName(t))
	}
	rules, err := d.store.FindRoutingRules(ctx, rq.scope)
	if err != nil {
		return err
	}
	for _, ru := range rules {
		data.Rules = append(data.Rules, ruleView{InstitutionID: ru.InstitutionID, Institution: d.institutionName(ru.InstitutionID),
			Provider: banklink.ProviderWireName(ru.ProviderType), Action: ru.Action})
	}
	if q := strings.TrimSpace(r.URL.Query().Get("q")); q != "" && len(q) <= 100 && d.deps.Linking.Directory != nil && d.deps.Linking.Directory.Current() != nil {
		data.Query = q
		res, err := d.deps.Linking.Directory.Current().Search(search.Query{Name: q, Limit: 8, Eligibility: banklink.Eligibility{AllowRedirect: true}})
		if err == nil {
			for _, in := range res.Institutions {
				data.Found = append(data.Found, instView{ID: in.ID, Name: in.Name})
			}
		}
	}
	return d.render(w, status, "providers", rq, view{Title: "Service providers", Nav: "providers", Page: "providers", Error: errMsg, Data: data})
}

func (d *Dashboard) handleProviders(w http.ResponseWriter, r *http.Request, rq *request) error {
	return d.providersPage(w, r, rq, http.StatusOK, "")
}

// userError reports whether err is the caller's mistake, shown on the
// form, rather than a failure.
func userError(err error) bool {
	switch banklink.ErrorCode(err) {
	case banklink.EBADREQUEST, banklink.ECONFLICT, banklink.ENOTFOUND:
		return true
	}
	return false
}

// providerType turns a wire name (SANDBOX_B) into a type (sandbox-b).
func providerType(s string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), "_", "-"))
}

func (d *Dashboard) handleSaveProvider(w http.ResponseWriter, r *http.Request, rq *request) error {
	provider := providerType(r.PathValue("provider"))
	enabled := r.PostForm.Get("enabled") == "on"
	in := linking.ServiceProviderInput{Enabled: &enabled}
	if s := strings.TrimSpace(r.PostForm.Get("displayOrder")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return d.providersPage(w, r, rq, http.StatusBadRequest, "The display order must be a whole number from 0 to 1000.")
		}
		in.DisplayOrder = &n
	}
	// Credentials are write-only: an empty field keeps the stored value,
	// a filled one replaces it.
	fresh := map[string]string{}
	for k, vals := range r.PostForm {
		name, ok := strings.CutPrefix(k, "cred_")
		if ok && len(vals) > 0 && vals[0] != "" {
			fresh[name] = vals[0]
		}
	}
	if len(fresh) > 0 {
		configs, err := d.store.FindProviderConfigs(r.Context(), rq.scope)
		if err != nil {
			return err
		}
		merged := map[string]string{}
		for _, c := range configs {
			if c.ProviderType == provider {
				for k, v := range c.Credentials {
					merged[k] = v
				}
			}
		}
		for k, v := range fresh {
			merged[k] = v
		}
		in.Credentials = merged
	}
	c, _, err := d.deps.Linking.PutServiceProvider(r.Context(), rq.scope, provider, in)
	if userError(err) {
		return d.providersPage(w, r, rq, httpx.StatusOf(err), banklink.ErrorMessage(err))
	}
	if err != nil {
		return err
	}
	d.log.Info("dashboard saved service provider", "operator_id", rq.sess.OperatorID, "account_id", c.AccountID,
		"environment", string(c.Environment), "provider", c.ProviderType, "enabled", c.Enabled, "generation", c.Generation)
	return redirect(w, r, rq.page("providers"), "provider-saved")
}

func (d *Dashboard) handleDeleteProvider(w http.ResponseWriter, r *http.Request, rq *request) error {
	provider := providerType(r.PathValue("provider"))
	if err := d.store.DeleteProviderConfig(r.Context(), rq.scope, provider); err != nil {
		if userError(err) {
			return d.providersPage(w, r, rq, httpx.StatusOf(err), banklink.ErrorMessage(err))
		}
		return err
	}
	d.log.Info("dashboard removed service provider", "operator_id", rq.sess.OperatorID, "account_id", rq.sess.AccountID, "provider", provider)
	return redirect(w, r, rq.page("providers"), "provider-deleted")
}

// handleRouting adds or removes one routing rule; the whole list goes
// through the API's validation.
func (d *Dashboard) handleRouting(w http.ResponseWriter, r *http.Request, rq *request) error {
	rules, err := d.store.FindRoutingRules(r.Context(), rq.scope)
	if err != nil {
		return err
	}
	var in []linking.RoutingRuleInput
	f := r.PostForm
	target := linking.RoutingRuleInput{InstitutionID: strings.TrimSpace(f.Get("institutionId")), ServiceProvider: f.Get("serviceProvider"), Action: f.Get("action")}
	for _, ru := range rules {
		cur := linking.RoutingRuleInput{InstitutionID: ru.InstitutionID, ServiceProvider: banklink.ProviderWireName(ru.ProviderType), Action: ru.Action}
		if f.Get("op") == "remove" && cur.InstitutionID == target.InstitutionID && strings.EqualFold(cur.ServiceProvider, target.ServiceProvider) {
			continue
		}
		in = append(in, cur)
	}
	if f.Get("op") == "add" {
		in = append(in, target)
	}
	if _, err := d.deps.Linking.PutRoutingRules(r.Context(), rq.scope, in); err != nil {
		if userError(err) {
			return d.providersPage(w, r, rq, httpx.StatusOf(err), banklink.ErrorMessage(err))
		}
		return err
	}
	d.log.Info("dashboard saved routing rules", "operator_id", rq.sess.OperatorID, "account_id", rq.sess.AccountID, "rules", len(in))
	return redirect(w, r, rq.page("providers"), "rules-saved")
}

func (d *Dashboard) institutionName(id string) string {
	if d.deps.Linking.Directory != nil {
		if ix := d.deps.Linking.Directory.Current(); ix != nil {
			if in, ok := ix.ByID(id); ok {
				return in.Name
			}
		}
	}
	return id
}

// ---- widget origins ----

type originsData struct {
	Origins []string
	Text    string
}

func (d *Dashboard) originsPage(w http.ResponseWriter, r *http.Request, rq *request, status int, text, errMsg string) error {
	origins, err := d.store.FindWidgetOrigins(r.Context(), rq.scope)
	if err != nil {
		return err
	}
	if errMsg == "" {
		text = strings.Join(origins, "\n")
	}
	return d.render(w, status, "origins", rq, view{Title: "Widget origins", Nav: "origins", Page: "origins", Error: errMsg,
		Data: originsData{Origins: origins, Text: text}})
}

func (d *Dashboard) handleOrigins(w http.ResponseWriter, r *http.Request, rq *request) error {
	return d.originsPage(w, r, rq, http.StatusOK, "", "")
}

// MaxOrigins bounds the allowed widget origins of one environment.
const MaxOrigins = 50

func (d *Dashboard) handleSetOrigins(w http.ResponseWriter, r *http.Request, rq *request) error {
	text := r.PostForm.Get("origins")
	out := []string{}
	for _, line := range strings.FieldsFunc(text, func(c rune) bool { return c == '\n' || c == ',' || c == '\r' }) {
		if strings.TrimSpace(line) == "" {
			continue
		}
		o, err := banklink.ParseOrigin(line)
		if err != nil {
			return d.originsPage(w, r, rq, http.StatusBadRequest, text, truncate(strings.TrimSpace(line), 100)+" is not an origin such as https://app.example.com (scheme, host and port only).")
		}
		if err := banklink.CheckWidgetOrigin(o, rq.env); err != nil {
			return d.originsPage(w, r, rq, http.StatusBadRequest, text, truncate(err.Error(), 300))
		}
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	if len(out) > MaxOrigins {
		return d.originsPage(w, r, rq, http.StatusBadRequest, text, "At most 50 origins are allowed.")
	}
	if err := d.store.SetWidgetOrigins(r.Context(), rq.scope, out); err != nil {
		return err
	}
	d.log.Info("dashboard set widget origins", "operator_id", rq.sess.OperatorID, "account_id", rq.sess.AccountID, "environment", string(rq.env), "origins", len(out))
	return redirect(w, r, rq.page("origins"), "origins-saved")
}
