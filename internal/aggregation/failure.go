package aggregation

import (
	"context"

	"banklink"
)

// RecordFailure records a failure a provider reported outside an
// aggregation (a Plaid ITEM ERROR webhook) the way a failed aggregation
// records it (Runner.fail): the same status and reason, RECONNECT_REQUIRED
// / LOGIN_REQUIRED when the login stopped working, the same events and
// the same count of failures in a row. It returns an error only when the
// failure could not be recorded.
func (r *Runner) RecordFailure(ctx context.Context, scope banklink.Scope, connectionID string, cause error) error {
	if cause == nil {
		return nil
	}
	return r.record(ctx, scope, connectionID, cause)
}
