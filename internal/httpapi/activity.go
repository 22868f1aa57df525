package httpapi

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"banklink"
)

// ActivityJSON is one entry of GET /activity-log. Meld documents the
// route, its filters, the INSTITUTION_CONNECTION_WIDGET_ERROR action and
// its event types; the other actions and the fields after eventType are
// banklink's (docs/api.md).
type ActivityJSON struct {
	ID              string  `json:"id"`
	Key             string  `json:"key"`
	AccountID       string  `json:"accountId"`
	CustomerID      string  `json:"customerId"`
	ConnectionID    string  `json:"connectionId"`
	Action          string  `json:"action"`
	EventType       *string `json:"eventType"`
	Timestamp       string  `json:"timestamp"`
	InstitutionID   *string `json:"institutionId"`
	InstitutionName *string `json:"institutionName"`
	ServiceProvider *string `json:"serviceProvider"`
	Step            *string `json:"step"`
	Reason          *string `json:"reason"`
	Message         *string `json:"message"`
	SearchString    *string `json:"searchString"`
	Repair          bool    `json:"repair"`
}

func (s *Server) activityJSON(e *banklink.ActivityEvent) ActivityJSON {
	j := ActivityJSON{ID: e.ID, Key: e.Key, AccountID: e.AccountID, CustomerID: e.CustomerID, ConnectionID: e.ConnectionID, Action: e.Action,
		EventType: strPtr(e.EventType), Timestamp: e.At.UTC().Format(banklink.EventTimestampFormat), InstitutionID: strPtr(e.InstitutionID),
		Step: strPtr(e.Step), Reason: strPtr(e.Reason), Message: strPtr(e.Message), SearchString: strPtr(e.Detail), Repair: e.Repair}
	if e.Provider != "" {
		j.ServiceProvider = strPtr(banklink.ProviderWireName(e.Provider))
	}
	if e.InstitutionID != "" && s.Directory != nil {
		if ix := s.Directory.Current(); ix != nil {
			if in, ok := ix.ByID(e.InstitutionID); ok {
				j.InstitutionName = strPtr(in.Name)
			}
		}
	}
	return j
}

// MaxActivityLimit bounds limit on GET /activity-log.
const MaxActivityLimit = 100

// parseActivityTime reads start or end: an RFC 3339 time, or a date
// (yyyy-mm-dd, UTC), which as end includes the whole day.
func parseActivityTime(v url.Values, name string) (time.Time, error) {
	raw := v.Get(name)
	if raw == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, raw); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, raw); err == nil {
		if name == "end" {
			t = t.AddDate(0, 0, 1)
		}
		return t, nil
	}
	return time.Time{}, banklink.FieldErrorf(name, "must be a time (2026-03-02T15:04:05Z) or a date (2026-03-02)")
}

func (s *Server) handleSearchActivity(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	limit, after, before, err := pageParams(v, 25, MaxActivityLimit)
	if err != nil {
		return err
	}
	f := banklink.ActivityFilter{ConnectionID: v.Get("connectionId"), After: after, Before: before, Limit: limit}
	if f.Start, err = parseActivityTime(v, "start"); err != nil {
		return err
	}
	if f.End, err = parseActivityTime(v, "end"); err != nil {
		return err
	}
	if !f.Start.IsZero() && !f.End.IsZero() && !f.Start.Before(f.End) {
		return banklink.FieldErrorf("end", "must be after [start]")
	}
	for _, a := range csv(v, "actions") {
		a = strings.ToUpper(a)
		if !slices.Contains(banklink.ActivityActions, a) {
			return banklink.FieldErrorf("actions", "contains %q, which is not an activity action", truncate(a, 64))
		}
		f.Actions = append(f.Actions, a)
	}
	for _, t := range csv(v, "eventTypes") {
		t = strings.ToUpper(t)
		if !slices.Contains(banklink.ActivityEventTypes, t) {
			return banklink.FieldErrorf("eventTypes", "contains %q, which is not an activity event type", truncate(t, 64))
		}
		f.EventTypes = append(f.EventTypes, t)
	}
	list, remaining, err := s.Store.FindActivity(r.Context(), apiKeyFrom(r.Context()).Scope(), f)
	if err != nil {
		return err
	}
	writeList(w, "activities", list, remaining, s.activityJSON)
	return nil
}
