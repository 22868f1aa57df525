package widget

import (
	"context"

	"banklink"
	"banklink/internal/linking"
)

// track records that the session reached a step of the linking funnel
// (the dashboard's conversion chart). Each step counts once per
// connection. It never fails the widget request: a recording error is
// logged and the customer carries on.
func (w *Widget) track(ctx context.Context, s *banklink.ConnectSession, step string) {
	w.Linking.TrackFunnel(ctx, s, step)
}

// activity appends a step of the request's session to the activity log
// (best effort, like track).
func (w *Widget) activity(ctx context.Context, wr *widgetRequest, e banklink.ActivityEvent) {
	w.Linking.RecordActivity(ctx, wr.sess, wr.claims.Repair, e)
}

// widgetError records err, the failure of a login step (or, initializing,
// of starting a login), when it is activity (linking.WidgetError).
func (w *Widget) widgetError(ctx context.Context, wr *widgetRequest, err error, loginStep string, initializing bool) {
	if e, ok := linking.WidgetError(err, loginStep, initializing); ok {
		w.activity(ctx, wr, e)
	}
}

// selected records the institution chosen and the routing decision
// behind its provider.
func (w *Widget) selected(ctx context.Context, wr *widgetRequest) {
	e := banklink.ActivityEvent{Action: banklink.ActivityInstitutionSelected}
	if d := wr.sess.Routing; d != nil {
		e.Reason = d.Reason
		e.Message = "Routed to " + banklink.ProviderWireName(d.Provider) + " (" + d.Reason + ")"
		for _, sk := range d.Skipped {
			e.Message += "; skipped " + banklink.ProviderWireName(sk.Provider) + ": " + sk.Reason
		}
		e.Message += "."
	}
	w.activity(ctx, wr, e)
}
