package widget

import (
	"fmt"
	"net/http"
	"time"

	"banklink"
	"banklink/internal/httpx"
	"banklink/internal/ratelimit"
)

// The demo's API answers each client (ratelimit.ClientKey) DemoRateBurst
// requests at once and one every 2 s on average: a person clicking
// through needs about four a run; a script starting connections in a
// loop is stopped.
const (
	DemoRateLimit = 0.5
	DemoRateBurst = 10
)

func (w *Widget) demoLimit(r *http.Request) error {
	if ok, wait := w.demo.Allow(ratelimit.ClientKey(r.RemoteAddr), w.Now()); !ok {
		return &banklink.Error{Code: banklink.ERATELIMITED, Reason: "RATE_LIMITED", Retryable: true,
			Message: fmt.Sprintf("Too many demo requests; try again in %d seconds.", ratelimit.RetryAfter(wait))}
	}
	return nil
}

// The demo page is what a newcomer clicks first: a pretend app whose
// "backend" (the DemoBackend) calls connect/start, embeds the widget in an
// iframe and shows the events and the resulting connection.
func (w *Widget) demoPage(rw http.ResponseWriter, r *http.Request) error {
	securityHeaders(rw, "'none'", "frame-src 'self'")
	return w.pages.ExecuteTemplate(rw, "demo.html", map[string]any{"Base": w.basePath})
}

func (w *Widget) demoStart(rw http.ResponseWriter, r *http.Request) error {
	if err := w.demoLimit(r); err != nil {
		return err
	}
	var body struct {
		ExternalCustomerID string `json:"externalCustomerId"`
	}
	if err := readJSON(r, &body); err != nil {
		return err
	}
	if body.ExternalCustomerID == "" {
		body.ExternalCustomerID = "demo-customer"
	}
	id, url, err := w.Config.Demo.StartDemo(r.Context(), body.ExternalCustomerID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(rw, http.StatusCreated, map[string]string{"connectionId": id, "widgetUrl": url})
	return nil
}

func (w *Widget) demoConnection(rw http.ResponseWriter, r *http.Request) error {
	if err := w.demoLimit(r); err != nil {
		return err
	}
	c, err := w.Config.Demo.DemoConnection(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	out := map[string]any{
		"id": c.ID, "customerId": c.CustomerID, "externalCustomerId": c.ExternalCustomerID,
		"institutionId": c.InstitutionID, "institutionName": c.InstitutionName, "status": c.Status,
		"products": c.Products, "serviceProvider": banklink.ProviderWireName(c.ProviderType), "createdAt": c.CreatedAt.Format(time.RFC3339),
	}
	if c.CompletedAt != nil {
		out["completedAt"] = c.CompletedAt.Format(time.RFC3339)
	}
	httpx.WriteJSON(rw, http.StatusOK, out)
	return nil
}
