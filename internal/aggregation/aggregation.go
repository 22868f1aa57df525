// Package aggregation fetches a connection's data from its provider and
// stores it: right after the widget completes the connection (an initial
// window, then the historical pass where the institution supports it) and
// again on refresh. It also resumes connections whose first aggregation
// was cut short by a restart.
package aggregation

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"banklink"
	"banklink/internal/metrics"
	"banklink/webhook"
)

// Windows of transaction history.
const (
	InitialWindow    = 90 * 24 * time.Hour
	HistoricalMonths = 24
	// MaxFailures in a row make a connection UNRECOVERABLE.
	MaxFailures = 3
)

// Directory finds institutions.
type Directory interface {
	FindInstitutionByID(ctx context.Context, id string) (*banklink.Institution, error)
}

// Runner aggregates connections.
type Runner struct {
	Store     banklink.Store
	Providers map[string]banklink.Aggregator
	Log       *slog.Logger
	Now       func() time.Time
	// Metrics, when set, counts jobs and provider calls.
	Metrics *metrics.Metrics

	wg sync.WaitGroup
	mu sync.Mutex
	// inFlight holds the connections this process is aggregating; a
	// Start for one of them sets its value, and the running job then
	// runs once more when it ends (news that arrived during a run, such
	// as a provider's webhook, may be newer than what that run read).
	inFlight map[string]bool
}

// New returns a Runner.
func New(store banklink.Store, providers map[string]banklink.Aggregator, log *slog.Logger) *Runner {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runner{Store: store, Providers: providers, Log: log, Now: time.Now, inFlight: map[string]bool{}}
}

// Start aggregates a connection in the background. A connection already
// being aggregated by this process is not aggregated twice at once:
// however many Starts arrive meanwhile, it is aggregated once more after
// the running job.
//
// The request that caused it (ctx) names the events the aggregation
// emits; its cancellation does not stop the aggregation.
func (r *Runner) Start(ctx context.Context, scope banklink.Scope, connectionID string) {
	reqID := banklink.RequestIDFrom(ctx)
	if !r.begin(connectionID) {
		return
	}
	r.wg.Go(func() { r.loop(reqID, scope, connectionID) })
}

// begin marks the connection as being aggregated by this process; when it
// already is, it asks the running job for one more run instead and
// reports false.
func (r *Runner) begin(connectionID string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, running := r.inFlight[connectionID]; running {
		r.inFlight[connectionID] = true
		return false
	}
	r.inFlight[connectionID] = false
	return true
}

// loop aggregates a connection begun with begin, again as long as more
// runs were asked for meanwhile.
func (r *Runner) loop(reqID string, scope banklink.Scope, connectionID string) {
	for {
		r.run(reqID, scope, connectionID)
		r.mu.Lock()
		again := r.inFlight[connectionID]
		if again {
			r.inFlight[connectionID] = false
		} else {
			delete(r.inFlight, connectionID)
		}
		r.mu.Unlock()
		if !again {
			return
		}
	}
}

func (r *Runner) run(reqID string, scope banklink.Scope, connectionID string) {
	ctx, cancel := context.WithTimeout(banklink.WithRequestID(context.Background(), reqID), JobTimeout)
	defer cancel()
	start := time.Now()
	err := r.Aggregate(ctx, scope, connectionID)
	r.Metrics.ObserveAggregation(err, time.Since(start))
	if err != nil {
		r.Log.Warn("aggregation failed", slog.String("connection_id", connectionID), slog.Any("err", err))
	}
}

// Wait blocks until background aggregations finish (tests, shutdown).
func (r *Runner) Wait() { r.wg.Wait() }

// Aggregate runs the initial window and then, where the institution has
// the HISTORICAL_TRANSACTIONS capability, the two-year historical pass.
func (r *Runner) Aggregate(ctx context.Context, scope banklink.Scope, connectionID string) error {
	conn, err := r.Store.FindConnectionByID(ctx, scope, connectionID)
	if err != nil {
		return err
	}
	if conn.Status == banklink.StatusInProgress || conn.Status == banklink.StatusDeleted || conn.Status == banklink.StatusExpired {
		return banklink.Errorf(banklink.ECONFLICT, "Connection is %s.", conn.Status)
	}
	prov := r.Providers[conn.ProviderType]
	if prov == nil {
		return banklink.Errorf(banklink.ENOTSUPPORTED, "Provider %q cannot aggregate.", conn.ProviderType)
	}
	inst, err := r.Store.FindInstitutionByID(ctx, conn.InstitutionID)
	if err != nil {
		return err
	}
	sess, err := r.Store.FindConnectSession(ctx, conn.ID)
	if err != nil {
		return err
	}
	configs, err := r.Store.FindProviderConfigs(ctx, scope)
	if err != nil {
		return err
	}
	creds := banklink.CredentialsFor(configs, conn.ProviderType)
	var chosen []string
	for _, a := range sess.Accounts {
		chosen = append(chosen, a.ID)
	}
	products := append(append([]banklink.Product{}, conn.Products...), conn.OptionalProducts...)
	supported := banklink.NewProductSet(inst.Providers[conn.ProviderType].Products...)
	now := r.Now()
	passes := []struct {
		since      time.Time
		historical bool
	}{{now.Add(-InitialWindow), false}}
	held := r.historyHeld(ctx, scope, conn.ID)
	if supported.Has(banklink.HistoricalTransactions) && supported.Has(banklink.Transactions) && !held {
		passes = append(passes, struct {
			since      time.Time
			historical bool
		}{now.AddDate(0, -HistoricalMonths, 0), true})
	}
	// Apps learn that fresh data is on its way; the events that say it
	// arrived are written with the data.
	if err := r.Store.EmitEvents(ctx, scope, banklink.NewEvent(ctx, webhook.AccountsUpdating, banklink.ConnectionPayload(conn))); err != nil {
		return err
	}
	stateful, _ := prov.(banklink.StatefulAggregator)
	for _, p := range passes {
		start := time.Now()
		req := banklink.AggregationRequest{
			Institution: inst, LoginID: conn.ProviderLoginID, AccountIDs: chosen, Products: products, Since: p.since, Now: now,
			ProviderCredentials: creds,
		}
		// A stateful provider continues from its saved state once the
		// history is held, and starts its state with the pass that reads
		// the whole history: a state saved after the window pass would
		// skip the older transactions for good.
		var agg banklink.Aggregation
		if stateful != nil && (held || p.historical) {
			if held {
				req.ProviderState = conn.ProviderState
			}
			agg, err = stateful.AggregateFrom(ctx, req)
		} else {
			agg.Accounts, err = prov.Aggregate(ctx, req)
		}
		r.Metrics.ObserveProvider(conn.ProviderType, "aggregate", err, time.Since(start))
		r.recordHealth(ctx, conn, err)
		if banklink.ErrorCode(err) == banklink.ERATELIMITED {
			// The provider declined to aggregate yet (MX's minimum
			// time between aggregations, a request quota): the login
			// works and the data held stays as fresh as the provider
			// allows, so the connection's status does not change.
			r.Log.Info("provider declined aggregation", slog.String("connection_id", conn.ID), slog.Any("err", err))
			return err
		}
		if err != nil {
			return r.fail(ctx, scope, conn, err)
		}
		stats, err := r.Store.SaveAggregationFrom(ctx, scope, conn.ID, agg, p.historical, r.Now())
		if err != nil {
			return err
		}
		r.Log.Info("aggregated", slog.String("connection_id", conn.ID), slog.Bool("historical", p.historical), slog.Bool("incremental", agg.Incremental),
			slog.Int("accounts", len(agg.Accounts)), slog.Int("transactions_added", stats.TransactionsAdded), slog.Int("transactions_updated", stats.TransactionsUpdated))
	}
	return nil
}

// historyHeld reports whether every account of the connection already
// holds its two-year history: a refresh then reads the recent window only
// (older transactions do not change; re-reading two years from the
// provider on every refresh would cost each provider call and page for
// nothing, and announce HISTORICAL_TRANSACTIONS_AGGREGATED again). A new
// account, or a store error, means the historical pass runs.
func (r *Runner) historyHeld(ctx context.Context, scope banklink.Scope, connectionID string) bool {
	accts, _, err := r.Store.FindFinancialAccounts(ctx, scope, banklink.FinancialAccountFilter{ConnectionID: connectionID, Limit: 1000})
	if err != nil || len(accts) == 0 {
		return false
	}
	for _, a := range accts {
		if !a.HistoricalAggregationSucceeded {
			return false
		}
	}
	return true
}

// fail records a provider failure: DEGRADED while it may heal,
// RECONNECT_REQUIRED when the login stopped working, UNRECOVERABLE after
// MaxFailures in a row.
func (r *Runner) fail(ctx context.Context, scope banklink.Scope, conn *banklink.Connection, cause error) error {
	return errors.Join(cause, r.record(ctx, scope, conn.ID, cause))
}

// record stores a provider failure's outcome (see fail) and returns only
// what storing it failed with.
func (r *Runner) record(ctx context.Context, scope banklink.Scope, connectionID string, cause error) error {
	status, reason := banklink.StatusDegraded, "SERVICE_PROVIDER_CURRENTLY_UNAVAILABLE"
	if pe, ok := errors.AsType[*banklink.ProviderError](cause); ok {
		switch pe.Reason {
		case banklink.LoginInstitutionDown:
			reason = "INSTITUTION_CURRENTLY_UNAVAILABLE"
		case banklink.LoginInvalidCredentials, banklink.LoginLocked:
			status, reason = banklink.StatusReconnectRequired, "LOGIN_REQUIRED"
		}
	}
	n, err := r.Store.RecordAggregationFailure(ctx, scope, connectionID, status, reason, r.Now())
	if err != nil {
		return err
	}
	if n >= MaxFailures && status != banklink.StatusReconnectRequired {
		_, err = r.Store.RecordAggregationFailure(ctx, scope, connectionID, banklink.StatusUnrecoverable, "CONTINUED_AGGREGATION_FAILURES", r.Now())
	}
	return err
}

// Resume starts the aggregations a restart or a crash cut short:
// connections completed before completedBefore that were never aggregated.
// Aggregating is idempotent, so a connection resumed by two replicas at
// once is stored once.
func (r *Runner) Resume(ctx context.Context, completedBefore time.Time) error {
	list, err := r.Store.FindUnaggregated(ctx, completedBefore, 1000)
	if err != nil {
		return err
	}
	for _, c := range list {
		r.Log.Info("resuming aggregation", slog.String("connection_id", c.ID))
		r.Start(ctx, banklink.Scope{AccountID: c.AccountID, Environment: c.Environment}, c.ID)
	}
	return nil
}

// JobTimeout bounds one background aggregation.
const JobTimeout = 2 * time.Minute

// ResumeEvery runs Resume every interval until ctx ends, for connections
// completed more than JobTimeout ago: their aggregation, wherever it ran,
// has either finished or died with its replica.
func (r *Runner) ResumeEvery(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := r.Resume(ctx, r.Now().Add(-JobTimeout)); err != nil && ctx.Err() == nil {
			r.Log.Warn("resume aggregations", slog.Any("err", err))
		}
	}
}

// recordHealth feeds health-aware routing with an aggregation's outcome:
// only failures on the provider's or institution's side count.
func (r *Runner) recordHealth(ctx context.Context, conn *banklink.Connection, err error) {
	ok, reason := err == nil, ""
	if pe, isPE := errors.AsType[*banklink.ProviderError](err); isPE {
		if pe.Reason != banklink.LoginInstitutionDown && pe.Reason != banklink.LoginProviderDown {
			return
		}
		reason = pe.Reason
	} else if err != nil {
		return
	}
	if rerr := r.Store.RecordProviderAttempt(ctx, conn.ProviderType, conn.InstitutionID, ok, reason, r.Now()); rerr != nil {
		r.Log.Warn("record provider attempt", slog.Any("err", rerr))
	}
}

// DefaultRefreshWorkers bounds the scheduled refreshes one process runs at
// once.
const DefaultRefreshWorkers = 4

// RefreshDue claims connections whose data is older than maxAge (see
// banklink.ConnectionLifecycleStore.ClaimDueRefreshes) and aggregates
// them in the background, as many as sem has room for: a slot is taken
// per aggregation and given back when it ends. It reports how many it
// started, and how many it could have (the free slots), so a caller can
// tell whether more are due.
func (r *Runner) RefreshDue(ctx context.Context, maxAge time.Duration, sem chan struct{}) (started, room int, err error) {
	room = cap(sem) - len(sem)
	if room <= 0 {
		return 0, 0, nil
	}
	now := r.Now()
	due, err := r.Store.ClaimDueRefreshes(ctx, now.Add(-maxAge), now, room)
	if err != nil {
		return 0, room, err
	}
	reqID := "scheduled-" + banklink.NewID()
	for _, d := range due {
		if !r.begin(d.ConnectionID) {
			// Already being aggregated here: that run is fresh enough.
			continue
		}
		sem <- struct{}{}
		started++
		r.wg.Go(func() {
			defer func() { <-sem }()
			r.loop(reqID, d.Scope, d.ConnectionID)
		})
	}
	return started, room, nil
}

// RefreshEvery keeps data fresh: every interval it aggregates the
// connections whose data is older than maxAge, at most workers at once in
// this process, until ctx ends. Replicas share the work: each due
// connection is claimed by one of them. While claims fill every free slot
// it claims again as slots free up, so a backlog (after downtime) drains
// at the workers' pace rather than one batch per interval.
func (r *Runner) RefreshEvery(ctx context.Context, interval, maxAge time.Duration, workers int) {
	if workers <= 0 {
		workers = DefaultRefreshWorkers
	}
	sem := make(chan struct{}, workers)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		started, room, err := r.RefreshDue(ctx, maxAge, sem)
		if err != nil && ctx.Err() == nil {
			r.Log.Warn("scheduled refresh", slog.Any("err", err))
		} else if started > 0 {
			r.Log.Info("scheduled refresh", slog.Int("started", started))
		}
		wait := t.C
		if err == nil && room > 0 && started == room {
			// Maybe more due: claim again once a slot frees up.
			select {
			case <-ctx.Done():
				return
			case sem <- struct{}{}:
				<-sem
				continue
			case <-wait:
				continue
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-wait:
		}
	}
}
