package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
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

// connectionSearch is the connections page's filters, as the query
// string carries them.
type connectionSearch struct {
	ID, Customer, External, Status, Institution, Provider, From, To string
}

func (q connectionSearch) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"id": q.ID, "customer": q.Customer, "external": q.External, "status": q.Status,
		"institution": q.Institution, "provider": q.Provider, "from": q.From, "to": q.To} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

func (q connectionSearch) Any() bool { return len(q.values()) > 0 }

// filter turns the search into a store filter; an institution may be
// named by id or by its exact name.
func (d *Dashboard) connectionFilter(q connectionSearch) (banklink.ConnectionFilter, error) {
	f := banklink.ConnectionFilter{CustomerID: q.Customer, ExternalCustomerID: q.External}
	if q.Status != "" {
		st := banklink.ConnectionStatus(q.Status)
		if !slices.Contains(banklink.ConnectionStatuses, st) {
			return f, banklink.Errorf(banklink.EBADREQUEST, "Unknown status %q.", truncate(q.Status, 40))
		}
		f.Statuses = []banklink.ConnectionStatus{st}
	}
	if q.Provider != "" {
		f.ServiceProviders = []string{providerType(q.Provider)}
	}
	if q.Institution != "" {
		f.InstitutionID = d.institutionID(q.Institution)
	}
	for _, x := range []struct {
		raw  string
		dst  *time.Time
		days int
	}{{q.From, &f.CreatedFrom, 0}, {q.To, &f.CreatedBefore, 1}} {
		if x.raw == "" {
			continue
		}
		t, err := time.Parse(time.DateOnly, x.raw)
		if err != nil {
			return f, banklink.Errorf(banklink.EBADREQUEST, "Dates must be yyyy-mm-dd.")
		}
		*x.dst = t.AddDate(0, 0, x.days)
	}
	return f, nil
}

// institutionID resolves an institution typed by id or exact name
// (case-insensitive).
func (d *Dashboard) institutionID(s string) string {
	if d.deps.Linking.Directory == nil {
		return s
	}
	ix := d.deps.Linking.Directory.Current()
	if ix == nil {
		return s
	}
	if _, ok := ix.ByID(s); ok {
		return s
	}
	res, err := ix.Search(search.Query{Name: s, Limit: 20, Eligibility: banklink.Eligibility{AllowRedirect: true}})
	if err == nil {
		for _, in := range res.Institutions {
			if strings.EqualFold(in.Name, s) {
				return in.ID
			}
		}
	}
	return s
}

func (d *Dashboard) handleConnections(w http.ResponseWriter, r *http.Request, rq *request) error {
	v := r.URL.Query()
	q := connectionSearch{ID: strings.TrimSpace(v.Get("id")), Customer: strings.TrimSpace(v.Get("customer")), External: strings.TrimSpace(v.Get("external")),
		Status: v.Get("status"), Institution: strings.TrimSpace(v.Get("institution")), Provider: v.Get("provider"), From: v.Get("from"), To: v.Get("to")}
	before := v.Get("before")
	now := d.Now()
	data := struct {
		Rows          []connectionRow
		Older         string
		ShowingLatest bool
		Search        connectionSearch
		Statuses      []banklink.ConnectionStatus
		Providers     []string
		Query         string
		Error         string
	}{Rows: []connectionRow{}, ShowingLatest: before == "", Search: q, Statuses: banklink.ConnectionStatuses, Query: q.values().Encode()}
	for _, p := range d.deps.Linking.Config.Providers[rq.env] {
		data.Providers = append(data.Providers, banklink.ProviderWireName(p))
	}
	render := func(status int) error {
		return d.render(w, status, "connections", rq, view{Title: "Connections", Nav: "connections", Page: "connections", Error: data.Error, Data: data})
	}
	if q.ID != "" {
		// An id names one connection: the other filters do not apply.
		c, err := d.store.FindConnectionByID(r.Context(), rq.scope, q.ID)
		if err != nil && banklink.ErrorCode(err) != banklink.ENOTFOUND {
			return err
		}
		if c != nil {
			data.Rows = append(data.Rows, d.connectionRow(c, now))
		}
		return render(http.StatusOK)
	}
	f, err := d.connectionFilter(q)
	if err != nil {
		data.Error = banklink.ErrorMessage(err)
		return render(http.StatusBadRequest)
	}
	f.Before, f.Limit, f.Now = before, connectionsPerPage, now
	if f.Before == "" {
		f.Before = banklink.LatestCursor
	}
	list, remaining, err := d.store.FindConnections(r.Context(), rq.scope, f)
	if banklink.ErrorCode(err) == banklink.EBADREQUEST {
		data.Error = banklink.ErrorMessage(err)
		return render(http.StatusBadRequest)
	}
	if err != nil {
		return err
	}
	for i := len(list) - 1; i >= 0; i-- { // newest first
		data.Rows = append(data.Rows, d.connectionRow(list[i], now))
	}
	if remaining > 0 && len(list) > 0 {
		data.Older = list[0].Key
	}
	return render(http.StatusOK)
}

type statusChange struct {
	At                   time.Time
	Old, OldReason       string
	New, NewReason       string
	ActiveDuplicate      string
	EventID, RequestID   string
	ServiceProviderLogin string
}

type accountView struct {
	ID, Name, Type, Subtype, Mask, Status string
	Balance                               string
}

type activityView struct {
	At                                  time.Time
	Action, Label, EventType            string
	Institution, Provider, Step, Reason string
	Message, Search                     string
	Failure, Repair                     bool
}

// activityLabels name the actions on the timeline.
var activityLabels = map[string]string{
	banklink.ActivityWidgetOpened:        "Widget opened",
	banklink.ActivityInstitutionSearched: "Searched",
	banklink.ActivityInstitutionSelected: "Institution chosen",
	banklink.ActivityWentBack:            "Went back",
	banklink.ActivityMFARequired:         "MFA asked",
	banklink.ActivityLoginSucceeded:      "Logged in",
	banklink.ActivityWidgetError:         "Failed",
	banklink.ActivityConsentGiven:        "Consent given",
	banklink.ActivityCompleted:           "Completed",
	banklink.ActivityWidgetExited:        "Closed the widget",
}

func (d *Dashboard) activityView(e *banklink.ActivityEvent) activityView {
	v := activityView{At: e.At, Action: e.Action, Label: activityLabels[e.Action], EventType: e.EventType, Step: e.Step, Reason: e.Reason,
		Message: e.Message, Search: e.Detail, Failure: e.Action == banklink.ActivityWidgetError, Repair: e.Repair}
	if e.InstitutionID != "" {
		v.Institution = d.institutionName(e.InstitutionID)
	}
	if e.Provider != "" {
		v.Provider = banklink.ProviderWireName(e.Provider)
	}
	return v
}

// connectionActivity is how much of a connection's activity its page
// shows.
const connectionActivity = 200

// connectionEvents is how many of a connection's webhook events its page
// shows.
const connectionEvents = 50

func (d *Dashboard) handleConnection(w http.ResponseWriter, r *http.Request, rq *request) error {
	return d.connectionPage(w, r, rq, http.StatusOK, "")
}

// connectionPage shows a connection; repairURL is a repair link just
// made, to send the customer.
func (d *Dashboard) connectionPage(w http.ResponseWriter, r *http.Request, rq *request, status int, repairURL string) error {
	ctx := r.Context()
	c, err := d.store.FindConnectionByID(ctx, rq.scope, r.PathValue("id"))
	if err != nil {
		return err
	}
	events, _, err := d.store.FindEvents(ctx, rq.scope, banklink.EventFilter{ConnectionID: c.ID,
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
	accounts, _, err := d.store.FindFinancialAccounts(ctx, rq.scope, banklink.FinancialAccountFilter{ConnectionID: c.ID, Limit: 100})
	if err != nil {
		return err
	}
	acctViews := []accountView{}
	for _, a := range accounts {
		av := accountView{ID: a.ID, Name: a.Name, Type: a.Type, Subtype: a.Subtype, Mask: a.Mask, Status: a.Status}
		if b := a.Balances; b != nil {
			av.Balance = strconv.FormatFloat(b.CurrentAmount, 'f', 2, 64) + " " + b.Currency
		}
		acctViews = append(acctViews, av)
	}
	activity, _, err := d.store.FindActivity(ctx, rq.scope, banklink.ActivityFilter{ConnectionID: c.ID, Before: banklink.LatestCursor, Limit: connectionActivity})
	if err != nil {
		return err
	}
	timeline := []activityView{}
	var lastFailure *activityView
	for _, e := range activity {
		v := d.activityView(e)
		timeline = append(timeline, v)
		switch {
		case v.Failure:
			lastFailure = &timeline[len(timeline)-1]
		case e.Action == banklink.ActivityCompleted:
			lastFailure = nil // a later completion answered it
		}
	}
	var failure *activityView
	if lastFailure != nil {
		f := *lastFailure
		failure = &f
	}
	allEvents, _, err := d.store.FindEvents(ctx, rq.scope, banklink.EventFilter{ConnectionID: c.ID, Before: banklink.LatestCursor, Limit: connectionEvents})
	if err != nil {
		return err
	}
	deliveries, err := d.eventViews(ctx, rq.scope, allEvents, "")
	if err != nil {
		return err
	}
	now := d.Now()
	row := d.connectionRow(c, now)
	effective := c.EffectiveStatus(now)
	data := struct {
		C                                    connectionRow
		Products, Optional, Regions          []string
		RequestedProvider, LoginID, Redirect string
		ExpiresAt                            time.Time
		AggregatedAt                         *time.Time
		Duplicates                           []string
		History                              []statusChange
		Accounts                             []accountView
		Timeline                             []activityView
		LastFailure                          *activityView
		Events                               []eventView
		CanRefresh, CanRepair, CanDelete     bool
		RepairURL                            string
	}{C: row, Products: products, Optional: optional, Regions: regions, LoginID: c.ProviderLoginID,
		Redirect: c.RedirectURL, ExpiresAt: c.ExpiresAt, AggregatedAt: c.AggregatedAt, Duplicates: c.DuplicateConnectionIDs, History: history,
		Accounts: acctViews, Timeline: timeline, LastFailure: failure, Events: deliveries,
		CanRefresh: effective.Refreshable(), CanRepair: c.Repairable(), CanDelete: effective != banklink.StatusDeleted, RepairURL: repairURL}
	if c.RequestedProvider != "" {
		data.RequestedProvider = banklink.ProviderWireName(c.RequestedProvider)
	}
	return d.render(w, status, "connection", rq, view{Title: "Connection " + c.ID, Nav: "connections", Page: "connections", Data: data})
}

// handleRefreshConnection refreshes a connection as the API's
// POST …/refresh does.
func (d *Dashboard) handleRefreshConnection(w http.ResponseWriter, r *http.Request, rq *request) error {
	id := r.PathValue("id")
	if err := d.deps.Linking.RefreshConnection(r.Context(), rq.scope, id, nil); err != nil {
		return err
	}
	d.log.Info("dashboard refreshed connection", "operator_id", rq.sess.OperatorID, "account_id", rq.sess.AccountID, "connection_id", id)
	return redirect(w, r, rq.page("connections/"+id), "refreshed")
}

// handleRepairConnection makes a repair link (POST /connect/repair) and
// shows it once, to send the customer.
func (d *Dashboard) handleRepairConnection(w http.ResponseWriter, r *http.Request, rq *request) error {
	id := r.PathValue("id")
	resp, err := d.deps.Linking.RepairConnection(r.Context(), rq.scope, id)
	if err != nil {
		return err
	}
	d.log.Info("dashboard made repair link", "operator_id", rq.sess.OperatorID, "account_id", rq.sess.AccountID, "connection_id", id)
	rq.msg = "A repair link was made. Send it to the customer: it opens the widget at their institution's login, and works for " +
		"as long as a connect token does."
	return d.connectionPage(w, r, rq, http.StatusCreated, resp.WidgetURL)
}

// handleDeleteConnection deletes a connection as the API's DELETE does,
// once the operator ticked the confirmation.
func (d *Dashboard) handleDeleteConnection(w http.ResponseWriter, r *http.Request, rq *request) error {
	id := r.PathValue("id")
	if r.PostForm.Get("confirm") != "yes" {
		return banklink.Errorf(banklink.EBADREQUEST, "Tick the confirmation to delete the connection.")
	}
	if _, err := d.deps.Linking.DeleteConnection(r.Context(), rq.scope, id); err != nil {
		return err
	}
	d.log.Info("dashboard deleted connection", "operator_id", rq.sess.OperatorID, "account_id", rq.sess.AccountID, "connection_id", id)
	return redirect(w, r, rq.page("connections/"+id), "deleted")
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

type attemptView struct {
	Attempt    int
	At         time.Time
	StatusCode int
	Reason     string
	Latency    string
	Response   string
}

type deliveryView struct {
	ID, ProfileURL, State, Reason string
	// Shown is the state as an operator reads it: DELIVERED, RETRYING
	// (pending after a failed attempt, NextAt says when again), PENDING
	// (not tried yet) or FAILED (given up).
	Shown               string
	Attempts, Status    int
	DeliveredAt, NextAt *time.Time
	AttemptLog          []attemptView
}

type eventView struct {
	ID, Type, ConnectionID string
	At                     time.Time
	Payload                string
	Deliveries             []deliveryView
	// Failing: a delivery gave up or is retrying after a failure.
	Failing bool
}

// Delivery states as the webhooks page filters them.
const (
	shownDelivered = "DELIVERED"
	shownRetrying  = "RETRYING"
	shownPending   = "PENDING"
	shownFailed    = "FAILED"
)

var deliveryStates = []string{shownFailed, shownRetrying, shownPending, shownDelivered}

func shownState(dl *banklink.Delivery) string {
	switch {
	case dl.State == banklink.DeliveryDelivered:
		return shownDelivered
	case dl.State == banklink.DeliveryFailed:
		return shownFailed
	case dl.Attempts > 0:
		return shownRetrying
	}
	return shownPending
}

// eventViews reads the deliveries of events (given oldest first) and
// returns them newest first; state keeps only events with a delivery in
// that shown state ("" keeps all).
func (d *Dashboard) eventViews(ctx context.Context, scope banklink.Scope, events []*banklink.Event, state string) ([]eventView, error) {
	profiles, err := d.store.FindWebhookProfiles(ctx, scope)
	if err != nil {
		return nil, err
	}
	urls := map[string]string{}
	for _, p := range profiles {
		urls[p.ID] = p.URL
	}
	out := []eventView{}
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		payload, _ := json.MarshalIndent(e.Payload, "", "  ")
		ev := eventView{ID: e.ID, Type: string(e.Type), ConnectionID: e.ConnectionID, At: e.CreatedAt, Payload: string(payload)}
		deliveries, err := d.store.FindDeliveries(ctx, scope, e.ID)
		if err != nil {
			return nil, err
		}
		keep := state == ""
		for _, dl := range deliveries {
			u := urls[dl.ProfileID]
			if u == "" {
				u = "(deleted profile)"
			}
			dv := deliveryView{ID: dl.ID, ProfileURL: u, State: string(dl.State), Shown: shownState(dl), Reason: dl.LastReason, Attempts: dl.Attempts,
				Status: dl.LastStatusCode, DeliveredAt: dl.DeliveredAt, NextAt: dl.NextAttemptAt}
			if dv.Shown != shownRetrying && dv.Shown != shownPending {
				dv.NextAt = nil
			}
			for _, at := range dl.AttemptLog {
				dv.AttemptLog = append(dv.AttemptLog, attemptView{Attempt: at.Attempt, At: at.At, StatusCode: at.StatusCode, Reason: at.Reason,
					Latency: at.Latency.Round(time.Millisecond).String(), Response: at.Response})
			}
			if dv.Shown == shownFailed || dv.Shown == shownRetrying {
				ev.Failing = true
			}
			if dv.Shown == state {
				keep = true
			}
			ev.Deliveries = append(ev.Deliveries, dv)
		}
		if keep {
			out = append(out, ev)
		}
	}
	return out, nil
}

type webhooksData struct {
	Profiles   []*banklink.WebhookProfile
	Events     []eventView
	Versions   []string
	EventTypes []string
	// Filters of the event list.
	Filter struct {
		State, Type, Connection string
	}
	States []string
	Older  string
	// NewSecret is the signing secret of a profile just created: shown
	// once.
	NewSecret, NewURL string
	Form              struct {
		URL, Version string
		Types        []string
	}
	// FailingProfiles are the profiles whose latest delivery shown
	// failed, by id: their badge says so.
	FailingProfiles map[string]bool
}

const recentEvents = 20

func (d *Dashboard) webhooksPage(w http.ResponseWriter, r *http.Request, rq *request, status int, data webhooksData, errMsg string) error {
	ctx := r.Context()
	var err error
	if data.Profiles, err = d.store.FindWebhookProfiles(ctx, rq.scope); err != nil {
		return err
	}
	q := r.URL.Query()
	data.Filter.State, data.Filter.Type, data.Filter.Connection = q.Get("state"), q.Get("type"), strings.TrimSpace(q.Get("connection"))
	if data.Filter.State != "" && !slices.Contains(deliveryStates, data.Filter.State) {
		data.Filter.State = ""
	}
	data.States = deliveryStates
	f := banklink.EventFilter{ConnectionID: data.Filter.Connection, Before: banklink.LatestCursor, Limit: recentEvents}
	if b := q.Get("before"); b != "" {
		f.Before = b
	}
	if t := webhook.EventType(data.Filter.Type); data.Filter.Type != "" && t.Valid() {
		f.Types = []webhook.EventType{t}
	}
	if data.Filter.State != "" {
		f.Limit = 200 // the state is filtered here, not in the store: read more
	}
	events, remaining, err := d.store.FindEvents(ctx, rq.scope, f)
	if banklink.ErrorCode(err) == banklink.EBADREQUEST {
		events, remaining, errMsg = nil, 0, banklink.ErrorMessage(err)
	} else if err != nil {
		return err
	}
	if remaining > 0 && len(events) > 0 {
		data.Older = events[0].Key
	}
	if data.Events, err = d.eventViews(ctx, rq.scope, events, data.Filter.State); err != nil {
		return err
	}
	data.FailingProfiles = map[string]bool{}
	latest := map[string]bool{}
	for _, ev := range data.Events { // newest first
		for _, dv := range ev.Deliveries {
			if latest[dv.ProfileURL] {
				continue
			}
			latest[dv.ProfileURL] = true
			if dv.Shown == shownFailed || dv.Shown == shownRetrying {
				for _, p := range data.Profiles {
					if p.URL == dv.ProfileURL {
						data.FailingProfiles[p.ID] = true
					}
				}
			}
		}
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

// handleRedeliver queues an event again to every profile that wants it.
func (d *Dashboard) handleRedeliver(w http.ResponseWriter, r *http.Request, rq *request) error {
	id := r.PathValue("id")
	ds, err := d.store.Redeliver(r.Context(), rq.scope, id, "", d.Now())
	if err != nil {
		return err
	}
	d.log.Info("dashboard redelivered event", "operator_id", rq.sess.OperatorID, "account_id", rq.sess.AccountID, "event_id", id, "deliveries", len(ds))
	return redirect(w, r, rq.page("webhooks"), "redelivered")
}

// handleTestEvent sends a WEBHOOK_TEST event to one profile.
func (d *Dashboard) handleTestEvent(w http.ResponseWriter, r *http.Request, rq *request) error {
	id := r.PathValue("id")
	if _, err := d.deps.Linking.SendTestWebhook(r.Context(), rq.scope, id); err != nil {
		return err
	}
	d.log.Info("dashboard sent test event", "operator_id", rq.sess.OperatorID, "account_id", rq.sess.AccountID, "profile_id", id)
	return redirect(w, r, rq.page("webhooks"), "test-sent")
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

// ---- app profile ----

type appData struct {
	Profile *banklink.AppProfile
	// Field is the API name of the field an error is about, to mark it.
	Field string
}

func (d *Dashboard) appPage(w http.ResponseWriter, r *http.Request, rq *request, status int, shown *banklink.AppProfile, errMsg, field string) error {
	if shown == nil {
		p, err := d.store.FindAppProfile(r.Context(), rq.scope)
		if err != nil {
			return err
		}
		shown = p
	}
	return d.render(w, status, "app", rq, view{Title: "App profile", Nav: "app", Page: "app", Error: errMsg,
		Data: appData{Profile: shown, Field: field}})
}

func (d *Dashboard) handleApp(w http.ResponseWriter, r *http.Request, rq *request) error {
	return d.appPage(w, r, rq, http.StatusOK, nil, "", "")
}

// handleSaveApp saves the whole form with the API's rules (the same use
// case as PATCH /bank-linking/app-profile); a bad field is shown again
// with the operator's input and the API's message.
func (d *Dashboard) handleSaveApp(w http.ResponseWriter, r *http.Request, rq *request) error {
	f := func(name string) *string { v := r.PostForm.Get(name); return &v }
	in := linking.AppProfileInput{DisplayName: f("displayName"), LogoURL: f("logoUrl"), PrivacyPolicyURL: f("privacyPolicyUrl"), BrandColor: f("brandColor")}
	p, err := d.deps.Linking.UpdateAppProfile(r.Context(), rq.scope, in)
	if e, ok := errors.AsType[*banklink.Error](err); ok && e.Code == banklink.EBADREQUEST {
		shown := &banklink.AppProfile{DisplayName: *in.DisplayName, LogoURL: *in.LogoURL, PrivacyPolicyURL: *in.PrivacyPolicyURL, BrandColor: *in.BrandColor}
		return d.appPage(w, r, rq, http.StatusBadRequest, shown, e.Message, e.Field)
	}
	if err != nil {
		return err
	}
	d.log.Info("dashboard saved app profile", "operator_id", rq.sess.OperatorID, "account_id", rq.sess.AccountID, "environment", string(rq.env),
		"display_name", p.DisplayName)
	return redirect(w, r, rq.page("app"), "app-saved")
}
