package aggregation

import (
	"context"
	"errors"

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
	conn, err := r.Store.FindConnectionByID(ctx, scope, connectionID)
	if err != nil {
		return err
	}
	// fail returns cause joined with what recording it failed with, if
	// anything.
	if j, ok := r.fail(ctx, scope, conn, cause).(interface{ Unwrap() []error }); ok {
		if errs := j.Unwrap(); len(errs) > 1 {
			return errors.Join(errs[1:]...)
		}
	}
	return nil
}
