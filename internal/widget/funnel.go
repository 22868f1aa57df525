package widget

import (
	"context"

	"banklink"
)

// track records that the session reached a step of the linking funnel
// (the dashboard's conversion chart). Each step counts once per
// connection. It never fails the widget request: a recording error is
// logged and the customer carries on.
func (w *Widget) track(ctx context.Context, s *banklink.ConnectSession, step string) {
	w.Linking.TrackFunnel(ctx, s, step)
}
