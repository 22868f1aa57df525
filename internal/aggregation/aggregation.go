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
	"sync/atomic"
	"time"

	"banklink"
	"banklink/internal/crashpoint"
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

// Store is what a Runner needs of banklink.Store: the connection and what
// it was linked with, the data it saves, its failures and the providers'
// health, the events it emits, and durable aggregation work.
type Store interface {
	FindConnectionByID(ctx context.Context, scope banklink.Scope, id string) (*banklink.Connection, error)
	FindConnectSession(ctx context.Context, connectionID string) (*banklink.ConnectSession, error)
	FindInstitutionByID(ctx context.Context, id string) (*banklink.Institution, error)
	FindProviderConfigs(ctx context.Context, scope banklink.Scope) ([]*banklink.ProviderConfig, error)
	FindFinancialAccounts(ctx context.Context, scope banklink.Scope, f banklink.FinancialAccountFilter) ([]*banklink.FinancialAccount, int, error)
	SaveAggregationFrom(ctx context.Context, scope banklink.Scope, connectionID string, agg banklink.Aggregation, historical bool, at time.Time) (banklink.AggregationStats, error)
	RecordAggregationFailure(ctx context.Context, scope banklink.Scope, connectionID string, status banklink.ConnectionStatus, reason string, at time.Time) (int, error)
	RecordProviderAttempt(ctx context.Context, provider, institutionID string, ok bool, reason string, at time.Time) error
	EmitEvents(ctx context.Context, scope banklink.Scope, events ...*banklink.Event) error
	ClaimDueRefreshes(ctx context.Context, dueBefore, at time.Time, lease banklink.Lease, limit int) ([]banklink.AggregationWork, error)
	banklink.AggregationWorkStore
}

// Runner aggregates connections. The work it is asked to do is durable
// (banklink.AggregationWorkStore): Start records the request before it
// returns, a run holds a lease that Run renews, and work whose lease
// expired (its replica died) is claimed by Run on any replica.
type Runner struct {
	Store     Store
	Providers map[string]banklink.Aggregator
	Log       *slog.Logger
	Now       func() time.Time
	// Metrics, when set, counts jobs and provider calls.
	Metrics *metrics.Metrics
	// Owner names this process in leases; New sets a random one.
	Owner string
	// Lease is how long work stays claimed by this process without a
	// renewal: after a crash, other replicas (or this one restarted)
	// resume its work within about Lease.
	Lease time.Duration
	// MaxRunning bounds the aggregations this process runs at once
	// (DefaultMaxRunning when 0); the others wait their turn, holding
	// their lease (Run renews it). Unbounded, a burst of completed links
	// ran hundreds at once under the mixed load: each held its provider
	// data in memory while its writes queued for the one SQLite writer,
	// the collector worked on all of it, and every one of them finished
	// late (a mean of 51 s) instead of most of them early.
	MaxRunning int

	wg sync.WaitGroup
	mu sync.Mutex
	// inFlight holds the connections this process is aggregating or has
	// queued, each with the latest work a Start asked for meanwhile (nil
	// when none): the job then runs once more when it ends.
	inFlight map[string]*banklink.AggregationWork
	// workers counts the goroutines running jobs, at most MaxRunning;
	// queue holds the jobs waiting for one, in arrival order. Waiting
	// jobs are values, not goroutines: under a backlog the goroutines
	// stay at MaxRunning.
	workers int
	queue   []job
	// claiming is set while Run claims work from the store. Then, once
	// queue is QueueLimit long, Start leaves new work in the store for
	// Run, on this replica or any other, to claim when a worker frees up;
	// freed tells Run that one has.
	claiming atomic.Bool
	freed    chan struct{}
	// deferring is set once Start leaves work in the store, and cleared
	// when Run finds no more there to claim: until then Start leaves all
	// new work there too, so it runs in the order it was asked for.
	deferring atomic.Bool
}

// job is one piece of work for a worker: done, when set, is called when
// the job ends.
type job struct {
	reqID string
	work  banklink.AggregationWork
	done  func()
}

// DefaultLease is Runner.Lease unless set.
const DefaultLease = 30 * time.Second

// DefaultMaxRunning is Runner.MaxRunning unless set: a few, so that while
// one aggregation waits on its provider or the database another computes.
const DefaultMaxRunning = 4

// QueueLimit is how many jobs Start queues in memory, beyond the running
// ones, before it leaves further work in the store (while Run claims).
// Queued jobs hold their lease, so a replica with a long queue would keep
// work from idle replicas; left in the store, the work goes to whichever
// replica frees a worker first, oldest request first.
const QueueLimit = 2 * DefaultMaxRunning

func (r *Runner) maxRunning() int {
	if r.MaxRunning <= 0 {
		return DefaultMaxRunning
	}
	return r.MaxRunning
}

// New returns a Runner.
func New(store Store, providers map[string]banklink.Aggregator, log *slog.Logger) *Runner {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runner{Store: store, Providers: providers, Log: log, Now: time.Now, Owner: "runner-" + banklink.NewID(),
		Lease: DefaultLease, inFlight: map[string]*banklink.AggregationWork{}, freed: make(chan struct{}, 1)}
}

func (r *Runner) lease(now time.Time) banklink.Lease {
	return banklink.Lease{Owner: r.Owner, Until: now.Add(r.Lease)}
}

// Start records a request to aggregate a connection and aggregates it in
// the background. When it returns nil the request is durable: a crash
// before the aggregation finishes leaves it for Run to resume. A
// connection is never aggregated twice at once: when this process or
// another replica is already aggregating it, that job runs once more
// after its current run.
//
// The request that caused it (ctx) names the events the aggregation
// emits; its cancellation does not stop the aggregation.
func (r *Runner) Start(ctx context.Context, scope banklink.Scope, connectionID string) error {
	now := r.Now()
	lease := r.lease(now)
	queued := r.backlogged(connectionID)
	if queued {
		// Counted but not taken: the store queues it at now.
		lease = banklink.Lease{Until: now}
	}
	work, mine, err := r.Store.RequestAggregation(ctx, scope, connectionID, now, lease)
	if err != nil {
		return err
	}
	switch {
	case mine && !queued:
		r.launch(banklink.RequestIDFrom(ctx), work, nil)
	case mine && r.idleWorker():
		// Left in the store just as the backlog ran out: tell Run now
		// rather than at its next tick.
		r.wake()
	}
	return nil
}

// idleWorker reports whether a worker is free.
func (r *Runner) idleWorker() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.workers < r.maxRunning()
}

// wake tells Run, if it waits, that it may claim work now.
func (r *Runner) wake() {
	select {
	case r.freed <- struct{}{}:
	default:
	}
}

// backlogged reports whether work for connectionID should stay in the
// store: Run is claiming, the queue is full or older work already waits
// there, and this process is not already aggregating the connection
// (whose lease it must keep).
func (r *Runner) backlogged(connectionID string) bool {
	if !r.claiming.Load() {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, mine := r.inFlight[connectionID]; mine {
		return false
	}
	if r.deferring.Load() || len(r.queue) >= QueueLimit {
		r.deferring.Store(true)
		return true
	}
	return false
}

// launch runs work in the background unless this process already
// aggregates the connection, in which case that job takes work as its
// next run. done, when set, is called when the job ends.
func (r *Runner) launch(reqID string, work banklink.AggregationWork, done func()) bool {
	if !r.begin(work) {
		return false
	}
	j := job{reqID: reqID, work: work, done: done}
	r.mu.Lock()
	if r.workers >= r.maxRunning() {
		r.queue = append(r.queue, j)
		r.mu.Unlock()
		return true
	}
	r.workers++
	r.mu.Unlock()
	r.wg.Go(func() { r.worker(j) })
	return true
}

// worker runs j, then the queued jobs one after another, and ends when
// the queue is empty.
func (r *Runner) worker(j job) {
	for {
		r.loop(j.reqID, j.work)
		if j.done != nil {
			j.done()
		}
		r.wake() // Run may claim work left in the store now
		r.mu.Lock()
		if len(r.queue) == 0 {
			r.workers--
			r.mu.Unlock()
			return
		}
		j = r.queue[0]
		r.queue[0] = job{}
		r.queue = r.queue[1:]
		r.mu.Unlock()
	}
}

// begin marks the connection as being aggregated by this process; when it
// already is, it hands work to the running job instead and reports false.
func (r *Runner) begin(work banklink.AggregationWork) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if next, running := r.inFlight[work.ConnectionID]; running {
		if next == nil || next.Ticket < work.Ticket {
			r.inFlight[work.ConnectionID] = &work
		}
		return false
	}
	r.inFlight[work.ConnectionID] = nil
	return true
}

// loop aggregates a connection begun with begin, then records the work
// done, and runs again as long as more was requested meanwhile, here or
// on another replica.
func (r *Runner) loop(reqID string, work banklink.AggregationWork) {
	for {
		crashpoint.Hit(crashpoint.RunStarted)
		r.run(reqID, work)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		next, more, err := r.Store.FinishAggregation(ctx, work, r.Owner)
		cancel()
		if err != nil {
			// The work stays pending; its lease expires and Run (here or
			// on another replica) claims it again.
			r.Log.Warn("finish aggregation", slog.String("connection_id", work.ConnectionID), slog.Any("err", err))
			more = false
		}
		r.mu.Lock()
		asked := r.inFlight[work.ConnectionID]
		if asked != nil && asked.Ticket > work.Ticket && (!more || asked.Ticket > next.Ticket) {
			next, more = *asked, true
		}
		if more {
			r.inFlight[work.ConnectionID] = nil
		} else {
			delete(r.inFlight, work.ConnectionID)
		}
		r.mu.Unlock()
		if !more {
			return
		}
		work = next
	}
}

func (r *Runner) run(reqID string, work banklink.AggregationWork) {
	// Nobody waits for an aggregation: its writes let those of requests
	// go first (banklink.Background).
	ctx, cancel := context.WithTimeout(banklink.Background(banklink.WithRequestID(context.Background(), reqID)), JobTimeout)
	defer cancel()
	start := time.Now()
	err := r.Aggregate(ctx, work.Scope, work.ConnectionID)
	r.Metrics.ObserveAggregation(err, time.Since(start))
	if err != nil {
		r.Log.Warn("aggregation failed", slog.String("connection_id", work.ConnectionID), slog.Any("err", err))
	}
}

// Load is what a Runner is doing: jobs running, and jobs waiting in this
// process for a worker (work left in the store is not counted here).
type Load struct{ Running, Queued int }

// Load reports the jobs running and queued in this process.
func (r *Runner) Load() Load {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Load{Running: r.workers, Queued: len(r.queue)}
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
	if !conn.Status.Linked() {
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
		if !p.historical && len(passes) > 1 {
			crashpoint.Hit(crashpoint.BetweenPasses)
		}
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

// ResumeWorkers bounds the resumed aggregations one process runs at once.
const ResumeWorkers = 8

// JobTimeout bounds one background aggregation.
const JobTimeout = 2 * time.Minute

// Resume claims pending work whose lease is free (its replica died, or it
// was accepted and never started) and aggregates it in the background, as
// many as sem has room for (see RefreshDue). Aggregating is idempotent, so
// work resumed after a crash that had already saved some of its data is
// stored once.
func (r *Runner) Resume(ctx context.Context, sem chan struct{}) (started int, err error) {
	room := cap(sem) - len(sem)
	if room <= 0 {
		return 0, nil
	}
	now := r.Now()
	list, err := r.Store.ClaimAggregations(ctx, now, r.lease(now), room)
	if err != nil {
		return 0, err
	}
	if len(list) < room {
		r.deferring.Store(false) // nothing left behind in the store
	}
	for _, w := range list {
		r.Log.Info("resuming aggregation", slog.String("connection_id", w.ConnectionID))
		if r.startIn(sem, "resumed-"+banklink.NewID(), w) {
			started++
		}
	}
	return started, nil
}

// startIn launches work holding a slot of sem until it ends.
func (r *Runner) startIn(sem chan struct{}, reqID string, w banklink.AggregationWork) bool {
	sem <- struct{}{}
	if !r.launch(reqID, w, func() { <-sem }) {
		<-sem
		return false
	}
	return true
}

// Run keeps this process's work durable until ctx ends: every Lease/3 it
// renews the leases of the connections it is aggregating and resumes
// pending work whose lease is free, at most ResumeWorkers at once. It
// resumes once at once, so a restarted process picks up at start what it
// (or another replica) was doing when it died, as soon as the lease ends.
//
// While it runs, Start leaves work beyond a short queue in the store, and
// Run claims it each time a worker frees up.
func (r *Runner) Run(ctx context.Context) {
	sem := make(chan struct{}, ResumeWorkers)
	t := time.NewTicker(max(r.Lease/3, 10*time.Millisecond))
	defer t.Stop()
	r.claiming.Store(true)
	defer r.claiming.Store(false)
	renew := true
	for {
		if renew {
			r.renew(ctx)
		}
		if _, err := r.Resume(ctx, sem); err != nil && ctx.Err() == nil {
			r.Log.Warn("resume aggregations", slog.Any("err", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			renew = true
		case <-r.freed:
			renew = false
		}
	}
}

// renew extends the leases of the connections this process aggregates.
func (r *Runner) renew(ctx context.Context) {
	r.mu.Lock()
	ids := make([]string, 0, len(r.inFlight))
	for id := range r.inFlight {
		ids = append(ids, id)
	}
	r.mu.Unlock()
	if err := r.Store.RenewAggregationLeases(ctx, r.Owner, ids, r.Now().Add(r.Lease)); err != nil && ctx.Err() == nil {
		r.Log.Warn("renew aggregation leases", slog.Any("err", err))
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
// banklink.ConnectionStore.ClaimDueRefreshes) and aggregates
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
	due, err := r.Store.ClaimDueRefreshes(ctx, now.Add(-maxAge), now, r.lease(now), room)
	if err != nil {
		return 0, room, err
	}
	reqID := "scheduled-" + banklink.NewID()
	for _, d := range due {
		// Already being aggregated here: that job runs once more.
		if r.startIn(sem, reqID, d) {
			started++
		}
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
