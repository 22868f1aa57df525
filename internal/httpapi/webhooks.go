package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"banklink"
	"banklink/internal/linking"
	"banklink/webhook"
)

// Webhook profile limits.
const (
	MaxWebhookProfiles = linking.MaxWebhookProfiles
	// DefaultSecretOverlap is how long the old secret keeps signing after
	// a rotation unless the caller says otherwise; MaxSecretOverlap caps it.
	DefaultSecretOverlap = 24 * time.Hour
	MaxSecretOverlap     = 7 * 24 * time.Hour
)

type webhookProfileJSON struct {
	ID                      string              `json:"id"`
	URL                     string              `json:"url"`
	Version                 string              `json:"version"`
	Enabled                 bool                `json:"enabled"`
	EventTypes              []webhook.EventType `json:"eventTypes"`
	Secret                  string              `json:"secret,omitempty"`
	PreviousSecretExpiresAt *Micros             `json:"previousSecretExpiresAt,omitempty"`
	CreatedAt               Micros              `json:"createdAt"`
	UpdatedAt               Micros              `json:"updatedAt"`
}

// profileJSON renders a profile. The secret is shown only when it was
// just made (create, rotate): it is never readable afterwards.
func profileJSON(p *banklink.WebhookProfile, withSecret bool, now time.Time) webhookProfileJSON {
	j := webhookProfileJSON{ID: p.ID, URL: p.URL, Version: p.Version, Enabled: p.Enabled, EventTypes: nonNilSlice(p.EventTypes),
		CreatedAt: Micros(p.CreatedAt), UpdatedAt: Micros(p.UpdatedAt)}
	if withSecret {
		j.Secret = p.Secret
	}
	if p.PreviousSecret != "" && p.PreviousSecretExpiresAt != nil && now.Before(*p.PreviousSecretExpiresAt) {
		j.PreviousSecretExpiresAt = microsPtr(p.PreviousSecretExpiresAt)
	}
	return j
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (s *Server) handleCreateWebhookProfile(w http.ResponseWriter, r *http.Request) error {
	scope := apiKeyFrom(r.Context()).Scope()
	var body linking.WebhookProfileInput
	if _, err := s.decodeBody(w, r, &body); err != nil {
		return err
	}
	p, err := s.Linking.CreateWebhookProfile(r.Context(), scope, body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, profileJSON(p, true, s.now()))
	return nil
}

func (s *Server) handleSearchWebhookProfiles(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Store.FindWebhookProfiles(r.Context(), apiKeyFrom(r.Context()).Scope())
	if err != nil {
		return err
	}
	now := s.now()
	writeList(w, "profiles", list, 0, func(p *banklink.WebhookProfile) webhookProfileJSON { return profileJSON(p, false, now) })
	return nil
}

func (s *Server) handleGetWebhookProfile(w http.ResponseWriter, r *http.Request) error {
	p, err := s.Store.FindWebhookProfileByID(r.Context(), apiKeyFrom(r.Context()).Scope(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, profileJSON(p, false, s.now()))
	return nil
}

func (s *Server) handleUpdateWebhookProfile(w http.ResponseWriter, r *http.Request) error {
	var body linking.WebhookProfileInput
	if _, err := s.decodeBody(w, r, &body); err != nil {
		return err
	}
	p, err := s.Linking.UpdateWebhookProfile(r.Context(), apiKeyFrom(r.Context()).Scope(), r.PathValue("id"), body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, profileJSON(p, false, s.now()))
	return nil
}

func (s *Server) handleDeleteWebhookProfile(w http.ResponseWriter, r *http.Request) error {
	if err := s.Store.DeleteWebhookProfile(r.Context(), apiKeyFrom(r.Context()).Scope(), r.PathValue("id")); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"requestId": requestIDFrom(r.Context())})
	return nil
}

// handleRotateWebhookSecret replaces a profile's secret. The old one keeps
// signing (both signatures are sent) for overlapSeconds, so a receiver can
// deploy the new secret without rejecting anything in between.
func (s *Server) handleRotateWebhookSecret(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		OverlapSeconds *int64 `json:"overlapSeconds"`
	}
	if r.ContentLength != 0 {
		if _, err := s.decodeBody(w, r, &body); err != nil {
			return err
		}
	}
	overlap := DefaultSecretOverlap
	if body.OverlapSeconds != nil {
		if *body.OverlapSeconds < 0 || *body.OverlapSeconds > int64(MaxSecretOverlap/time.Second) {
			return banklink.FieldErrorf("overlapSeconds", "must be from 0 to %d", int64(MaxSecretOverlap/time.Second))
		}
		overlap = time.Duration(*body.OverlapSeconds) * time.Second
	}
	p, err := s.Store.FindWebhookProfileByID(r.Context(), apiKeyFrom(r.Context()).Scope(), r.PathValue("id"))
	if err != nil {
		return err
	}
	now := s.now()
	p.PreviousSecret, p.PreviousSecretExpiresAt = "", nil
	if overlap > 0 {
		exp := now.Add(overlap).UTC()
		p.PreviousSecret, p.PreviousSecretExpiresAt = p.Secret, &exp
	}
	p.Secret = banklink.NewWebhookSecret()
	if err := s.Store.UpdateWebhookProfile(r.Context(), p); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, profileJSON(p, true, now))
	return nil
}

// handleTestWebhook emits a WEBHOOK_TEST event to one profile (or every
// enabled one).
func (s *Server) handleTestWebhook(w http.ResponseWriter, r *http.Request) error {
	scope := apiKeyFrom(r.Context()).Scope()
	var body struct {
		ProfileID string `json:"profileId"`
	}
	if r.ContentLength != 0 {
		if _, err := s.decodeBody(w, r, &body); err != nil {
			return err
		}
	}
	ev, err := s.Linking.SendTestWebhook(r.Context(), scope, body.ProfileID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, eventJSON(ev))
	return nil
}

type eventOut struct {
	Key string `json:"key"`
	webhook.Envelope
}

func eventJSON(e *banklink.Event) eventOut {
	payload, _ := json.Marshal(e.Payload)
	return eventOut{Key: e.Key, Envelope: webhook.Envelope{EventType: e.Type, EventID: e.ID,
		Timestamp: e.CreatedAt.UTC().Format(banklink.EventTimestampFormat), AccountID: e.AccountID,
		Version: banklink.WebhookVersions[0], Payload: payload}}
}

func (s *Server) handleSearchEvents(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	limit, after, before, err := pageParams(v, 25, 100)
	if err != nil {
		return err
	}
	f := banklink.EventFilter{ConnectionID: v.Get("connectionId"), After: after, Before: before, Limit: limit}
	for _, list := range v["eventTypes"] {
		for t := range strings.SplitSeq(list, ",") {
			et := webhook.EventType(strings.TrimSpace(t))
			if !et.Valid() {
				return banklink.FieldErrorf("eventTypes", "contains %q, which is not an event type", truncate(string(et), 64))
			}
			f.Types = append(f.Types, et)
		}
	}
	list, remaining, err := s.Store.FindEvents(r.Context(), apiKeyFrom(r.Context()).Scope(), f)
	if err != nil {
		return err
	}
	writeList(w, "events", list, remaining, eventJSON)
	return nil
}

type attemptJSON struct {
	Attempt    int     `json:"attempt"`
	At         Micros  `json:"at"`
	URL        string  `json:"url"`
	StatusCode int     `json:"statusCode,omitempty"`
	Reason     string  `json:"reason,omitempty"`
	LatencyMs  float64 `json:"latencyMs"`
	Response   string  `json:"response,omitempty"`
}

type deliveryJSON struct {
	ID            string        `json:"id"`
	ProfileID     string        `json:"profileId"`
	Status        string        `json:"status"`
	Attempts      []attemptJSON `json:"attempts"`
	NextAttemptAt *Micros       `json:"nextAttemptAt,omitempty"`
	DeliveredAt   *Micros       `json:"deliveredAt,omitempty"`
	CreatedAt     Micros        `json:"createdAt"`
}

func deliveryOut(d *banklink.Delivery) deliveryJSON {
	j := deliveryJSON{ID: d.ID, ProfileID: d.ProfileID, Status: string(d.State), Attempts: []attemptJSON{},
		DeliveredAt: microsPtr(d.DeliveredAt), CreatedAt: Micros(d.CreatedAt)}
	if d.State == banklink.DeliveryPending {
		j.NextAttemptAt = microsPtr(d.NextAttemptAt)
	}
	for _, a := range d.AttemptLog {
		j.Attempts = append(j.Attempts, attemptJSON{Attempt: a.Attempt, At: Micros(a.At), URL: a.URL, StatusCode: a.StatusCode, Reason: a.Reason,
			LatencyMs: float64(a.Latency.Microseconds()) / 1000, Response: a.Response})
	}
	return j
}

func (s *Server) handleGetEvent(w http.ResponseWriter, r *http.Request) error {
	scope := apiKeyFrom(r.Context()).Scope()
	e, err := s.Store.FindEventByID(r.Context(), scope, r.PathValue("id"))
	if err != nil {
		return err
	}
	ds, err := s.Store.FindDeliveries(r.Context(), scope, e.ID)
	if err != nil {
		return err
	}
	out := struct {
		eventOut
		Deliveries []deliveryJSON `json:"deliveries"`
	}{eventOut: eventJSON(e), Deliveries: []deliveryJSON{}}
	for _, d := range ds {
		out.Deliveries = append(out.Deliveries, deliveryOut(d))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleRedeliverEvent(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		ProfileID string `json:"profileId"`
	}
	if r.ContentLength != 0 {
		if _, err := s.decodeBody(w, r, &body); err != nil {
			return err
		}
	}
	ds, err := s.Store.Redeliver(r.Context(), apiKeyFrom(r.Context()).Scope(), r.PathValue("id"), body.ProfileID, s.now())
	if err != nil {
		return err
	}
	out := []deliveryJSON{}
	for _, d := range ds {
		out = append(out, deliveryOut(d))
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"requestId": requestIDFrom(r.Context()), "deliveries": out})
	return nil
}

// Micros is a time written as Meld writes times: UTC with microseconds
// (TimestampFormat), whether the value came from the clock (nanoseconds)
// or the database (microseconds).
type Micros time.Time

// MarshalJSON writes the time in TimestampFormat.
func (m Micros) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Time(m).UTC().Format(TimestampFormat) + `"`), nil
}

// UnmarshalJSON reads an RFC 3339 time.
func (m *Micros) UnmarshalJSON(b []byte) error {
	var t time.Time
	if err := t.UnmarshalJSON(b); err != nil {
		return err
	}
	*m = Micros(t)
	return nil
}

func microsPtr(t *time.Time) *Micros {
	if t == nil {
		return nil
	}
	m := Micros(*t)
	return &m
}
