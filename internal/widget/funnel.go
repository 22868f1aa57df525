package widget

import (
	"context"
	"log/slog"

	"banklink"
)

// track records that the session reached a step of the linking funnel
// (the dashboard's conversion chart). Each step counts once per
// connection. It never fails the widget request: a recording error is
// logged and the customer carries on.
func (w *Widget) track(ctx context.Context, s *banklink.ConnectSession, step string) {
	steps := []string{step}
	if step == banklink.FunnelOpened && s.InstitutionID != "" {
		// connect/start named the institution: it was chosen for the
		// customer, who never sees the picker.
		steps = append(steps, banklink.FunnelChosen)
	}
	for _, st := range steps {
		err := w.Store.RecordFunnelStep(ctx, banklink.FunnelStep{ConnectionID: s.ConnectionID, Step: st,
			InstitutionID: s.InstitutionID, Provider: s.ProviderType, At: w.Now()})
		if err != nil {
			w.Log.Warn("record funnel step", slog.String("connection_id", s.ConnectionID), slog.String("step", st), slog.Any("err", err))
		}
	}
}
