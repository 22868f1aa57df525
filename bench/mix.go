// The mixed load (-mix) and the soak (-mix -soak 5m).
//
// Each target is a complete banklink in this process, wired as
// cmd/banklink's serve wires it: the API, the Connect Widget, both sandbox
// providers, the aggregation runner, the webhook deliverer (8 workers) with
// one webhook profile pointing at a loopback receiver that verifies every
// signature, the institution index refresher, the periodic aggregation
// resume and Prometheus metrics. The API key and widget rate limits are
// off (0), so the load measures the service, not its limiter.
//
// Closed-loop clients pick each operation at random with these weights:
//
//	40 % GET /institutions?name=<random prefix>&limit=20
//	20 % POST /bank-linking/connect/start (the body of the connect/start baseline)
//	10 % a whole widget flow: connect/start, select Sandbox Bank, log in
//	     as user_good, complete with every account (4 requests; a new
//	     customer each time; completing starts an aggregation of 24 months
//	     of data in the background and emits 6 webhook events)
//	15 % GET /bank-linking/transactions?connectionId=…&limit=100
//	15 % GET /bank-linking/accounts?connectionId=…
//
// The data reads use connections linked (and aggregated) during warm-up.
// Latencies go into fixed-size histograms (buckets 1 % wide), so a long
// soak does not grow the bench's own heap; p50 and p99 are therefore
// accurate to about 1 %.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"log"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"banklink"
	"banklink/internal/aggregation"
	"banklink/internal/baseline"
	"banklink/internal/connecttoken"
	"banklink/internal/httpapi"
	"banklink/internal/providers"
	"banklink/internal/sandbox"
	bsearch "banklink/internal/search"
	"banklink/internal/sqlstore"
	"banklink/internal/webhooks"
	"banklink/internal/webhookurl"
	"banklink/internal/wiring"
	"banklink/webhook"
)

// Operation kinds. The flow steps are the four requests of opFlow.
const (
	opSearch = iota
	opStart
	opFlow
	opTransactions
	opAccounts
	opFlowStart
	opFlowSelect
	opFlowLogin
	opFlowComplete
	numOps
)

var opNames = [numOps]string{
	"GET /institutions?name=<prefix>&limit=20",
	"POST /bank-linking/connect/start",
	"widget flow, whole (4 requests)",
	"GET /bank-linking/transactions (100)",
	"GET /bank-linking/accounts",
	"flow: connect/start",
	"flow: POST /connect/api/select",
	"flow: POST /connect/api/login",
	"flow: POST /connect/api/complete",
}

// pickOp draws the next operation with the mix's weights.
func pickOp(r *rand.Rand) int {
	switch n := r.IntN(100); {
	case n < 40:
		return opSearch
	case n < 60:
		return opStart
	case n < 70:
		return opFlow
	case n < 85:
		return opTransactions
	default:
		return opAccounts
	}
}

// flowBody is the connect/start of a widget flow: a new customer who links
// a bank for its balances, transactions, owners and account numbers.
const flowBody = `{"externalCustomerId":"%s","products":["BALANCES","TRANSACTIONS","OWNERS","IDENTIFIERS"],"regions":["US"]}`

// hist is a latency histogram with buckets 1 % wide from 1 µs to about
// 7 minutes, safe for concurrent use and of fixed size.
type hist struct {
	b [histBuckets]atomic.Int64
	n atomic.Int64
}

const histBuckets = 2000

var histStep = math.Log(1.01)

func (h *hist) add(d time.Duration) {
	i := 0
	if us := float64(d) / float64(time.Microsecond); us > 1 {
		i = min(histBuckets-1, int(math.Log(us)/histStep)+1)
	}
	h.b[i].Add(1)
	h.n.Add(1)
}

// pct returns the p-quantile (the middle of its bucket), with the rank
// convention of result.pct in main.go.
func (h *hist) pct(p float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := min(n-1, int64(float64(n)*p))
	var c int64
	for i := range h.b {
		if c += h.b[i].Load(); c > rank {
			if i == 0 {
				return time.Microsecond
			}
			return time.Duration(math.Exp((float64(i)-0.5)*histStep) * float64(time.Microsecond))
		}
	}
	return 0
}

// mixStats collects one load phase.
type mixStats struct {
	ops  [numOps]hist
	errs [numOps]atomic.Int64
	// requests counts HTTP requests (a flow is 4), errors failed ones.
	requests, errors atomic.Int64
	elapsed          time.Duration

	mu      sync.Mutex
	sampled [numOps]int
	samples []string
}

// req records one HTTP request of kind op that started at t0.
func (st *mixStats) req(op int, t0 time.Time, err error) {
	st.ops[op].add(time.Since(t0))
	st.requests.Add(1)
	if err != nil {
		st.errs[op].Add(1)
		st.errors.Add(1)
		st.sample(op, err)
	}
}

// op records a composite operation (a whole flow); its requests are
// recorded one by one.
func (st *mixStats) op(op int, t0 time.Time, err error) {
	st.ops[op].add(time.Since(t0))
	if err != nil {
		st.errs[op].Add(1)
	}
}

// sample keeps the first three errors of each kind.
func (st *mixStats) sample(op int, err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.sampled[op] < 3 {
		st.sampled[op]++
		st.samples = append(st.samples, err.Error())
	}
}

func (st *mixStats) rps() float64 { return float64(st.requests.Load()) / st.elapsed.Seconds() }

// logCounter is the stacks' slog handler: it drops everything below Warn
// and counts (and keeps the first two of each message and route of) the rest, which are errors of
// background work (a failed aggregation, a failed webhook attempt, a
// failed claim) or 5xx answers.
type logCounter struct {
	warns atomic.Int64
	mu    sync.Mutex
	kinds map[string]int // records kept per message and route
	first []string
}

func (l *logCounter) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelWarn }

func (l *logCounter) Handle(_ context.Context, r slog.Record) error {
	l.warns.Add(1)
	kind := r.Message
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "route" {
			kind += " " + a.Value.String()
		}
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.kinds == nil {
		l.kinds = map[string]int{}
	}
	if l.kinds[kind] < 2 && len(l.first) < 20 {
		l.kinds[kind]++
		msg := r.Level.String() + " " + r.Message
		r.Attrs(func(a slog.Attr) bool { msg += " " + a.String(); return true })
		l.first = append(l.first, msg)
	}
	return nil
}

func (l *logCounter) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logCounter) WithGroup(string) slog.Handler      { return l }

// receiver is the app's webhook endpoint: it verifies each signature and
// keeps counts and an order-independent checksum of the event ids, in
// constant memory.
type receiver struct {
	url    string
	secret atomic.Pointer[string]
	srv    *http.Server
	// posts counts every POST, bad those with a wrong signature or body.
	posts, bad atomic.Int64
	// sum adds FNV-1a of each event id received (mod 2^64).
	sum atomic.Uint64
	// lag is the time from each event's timestamp (its emission) to its
	// arrival.
	lag hist
}

func idHash(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return h.Sum64()
}

func startReceiver(errLog *log.Logger) *receiver {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	rc := &receiver{url: "http://" + ln.Addr().String() + "/hooks"}
	rc.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 120 * time.Second, ErrorLog: errLog,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rc.posts.Add(1)
			secret := rc.secret.Load()
			if secret == nil {
				rc.bad.Add(1)
				http.Error(w, "no secret yet", http.StatusServiceUnavailable)
				return
			}
			body, err := webhook.VerifyRequest(r, []string{*secret}, rc.url, webhook.Options{})
			var env webhook.Envelope
			if err == nil {
				err = json.Unmarshal(body, &env)
			}
			if err != nil || env.EventID == "" {
				rc.bad.Add(1)
				http.Error(w, "bad signature", http.StatusUnauthorized)
				return
			}
			rc.sum.Add(idHash(env.EventID))
			if at, err := time.Parse(time.RFC3339Nano, env.Timestamp); err == nil {
				rc.lag.add(time.Since(at))
			}
			w.WriteHeader(http.StatusOK)
		})}
	go rc.srv.Serve(ln)
	return rc
}

// mixStack is one complete banklink on one database.
type mixStack struct {
	name, dsn string
	db        *sqlstore.DB
	key       *banklink.APIKey
	auth      string // "BASIC <key>"
	url       string
	api       *httpapi.Server
	runner    *aggregation.Runner
	recv      *receiver
	logs      *logCounter
	// completed counts the aggregations accepted (links completed by the
	// widget, refreshes).
	completed atomic.Int64
	// linked are connections linked during warm-up, for the data reads.
	linked    []string
	prefixes  []string
	transport *http.Transport
	client    *http.Client
	shutdown  func()
}

// aggregationWorkers is -aggregation-workers: every stack's
// wiring.Options.AggregationWorkers.
var aggregationWorkers int

func newMixStack(ctx context.Context, name, dsn string, dir []*banklink.Institution, concurrency int) *mixStack {
	db, err := sqlstore.Open(ctx, dsn, sqlstore.Options{Migrate: true})
	if err != nil {
		log.Fatal(err)
	}
	if err := db.UpsertInstitutions(ctx, dir); err != nil {
		log.Fatal(err)
	}
	acct := &banklink.Account{ID: banklink.NewID(), Name: "bench-mix"}
	if err := db.CreateAccount(ctx, acct); err != nil {
		log.Fatal(err)
	}
	k, plain := banklink.NewAPIKey(acct.ID, banklink.Sandbox, "bench-mix", httpapi.LatestVersion, time.Now())
	if err := db.CreateAPIKey(ctx, k); err != nil {
		log.Fatal(err)
	}
	logs := &logCounter{}
	lg := slog.New(logs)
	live := bsearch.NewLive(db)
	live.Log = lg
	if err := live.Refresh(ctx); err != nil {
		log.Fatal(err)
	}
	tokens, err := connecttoken.NewSigner("banklink", connecttoken.DefaultTTL, []byte(strings.Repeat("b", 32)))
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	s := &mixStack{name: name, dsn: dsn, db: db, key: k, auth: "BASIC " + plain, url: base, logs: logs, prefixes: searchPrefixes(dir)}
	reg := providers.New(&sandbox.Provider{AuthorizeURL: base + "/connect/sandbox/authorize"}, sandbox.NewB())
	svc, err := wiring.New(wiring.Parts{Store: db, Tokens: tokens, Directory: live, Providers: reg, Log: lg}, wiring.Options{
		PublicURL:               base,
		Providers:               map[banklink.Environment][]string{banklink.Sandbox: {sandbox.ProviderType, sandbox.ProviderTypeB}},
		MinEligibleInstitutions: 25,
		RefreshInterval:         time.Minute,
		// Rate limits off: measure the service, not the limiter.
		// The receiver is on loopback: sandbox deliveries may reach it,
		// as with -webhook-private-targets sandbox.
		WebhookPrivate:        webhookurl.PrivateSandbox,
		Metrics:               true,
		AggregationWorkers:    aggregationWorkers,
		AfterAggregationStart: func(banklink.Scope, string) { s.completed.Add(1) },
	})
	if err != nil {
		log.Fatal(err)
	}
	api, runner := svc.API, svc.Runner
	s.api, s.runner = api, runner

	bg, stopBG := context.WithCancel(ctx)
	go live.Run(bg, 10*time.Second)
	go runner.Run(bg)
	deliverCtx, stopDelivery := context.WithCancel(context.WithoutCancel(ctx))
	deliverer := webhooks.New(db, webhooks.Config{Workers: 8, Timeout: 10 * time.Second, Private: webhookurl.PrivateSandbox}, lg)
	deliverer.Kicks = db.Kicks()
	deliverer.Observe = api.Metrics.ObserveWebhook
	delivered := make(chan struct{})
	go func() { defer close(delivered); deliverer.Run(deliverCtx) }()
	go func() { // the pending gauge, as serve does
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			if n, err := db.PendingDeliveries(deliverCtx); err == nil {
				api.Metrics.SetWebhookPending(n)
			}
			select {
			case <-deliverCtx.Done():
				return
			case <-t.C:
			}
		}
	}()
	errLog := slog.NewLogLogger(logs, slog.LevelWarn)
	srv := &http.Server{Handler: api.Handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, ErrorLog: errLog}
	go srv.Serve(ln)
	s.recv = startReceiver(errLog)
	// concurrency 0 (an open loop) leaves connections unbounded: a
	// client-side queue would hide the service's.
	s.transport = &http.Transport{MaxIdleConnsPerHost: max(concurrency, 256), MaxConnsPerHost: concurrency}
	s.client = &http.Client{Transport: s.transport, Timeout: 10 * time.Second}
	s.shutdown = func() {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		stopBG()
		runner.Wait()
		stopDelivery()
		<-delivered
		s.recv.srv.Shutdown(sctx)
		s.transport.CloseIdleConnections()
		db.Close()
	}

	var prof struct {
		Secret string `json:"secret"`
	}
	if err := s.call(http.MethodPost, "/webhooks/profiles", s.auth, fmt.Sprintf(`{"url":%q}`, s.recv.url), http.StatusCreated, &prof); err != nil {
		log.Fatal(err)
	}
	s.recv.secret.Store(&prof.Secret)
	return s
}

// searchPrefixes are what people type into the picker: the first 3 to 8
// characters of institutions' names.
func searchPrefixes(dir []*banklink.Institution) []string {
	r := rand.New(rand.NewPCG(9, 24))
	out := make([]string, 0, 1000)
	for len(out) < cap(out) {
		name := []rune(strings.ToLower(dir[r.IntN(len(dir))].Name))
		p := strings.TrimSpace(string(name[:min(len(name), 3+r.IntN(6))]))
		if p != "" {
			out = append(out, url.QueryEscape(p))
		}
	}
	return out
}

// call sends one request and checks its status; out, when set, receives
// the decoded answer.
func (s *mixStack) call(method, path, auth, body string, want int, out any) error {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		return err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", auth)
	if strings.HasPrefix(auth, "BASIC ") {
		req.Header.Set("Meld-Version", "2022-11-10")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, strings.SplitN(path, "?", 2)[0], err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return fmt.Errorf("%s %s: %d %s", method, strings.SplitN(path, "?", 2)[0], resp.StatusCode, b)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// flow links a new customer's Sandbox Bank login through the widget API
// and returns the connection id.
func (s *mixStack) flow(st *mixStats, customer string) (string, error) {
	return s.flowAt(st, customer, time.Now())
}

// flowAt is flow, with the first request due at t0 (an open loop's
// arrival); each later step is timed from when the previous one answered,
// as a person clicks on.
func (s *mixStack) flowAt(st *mixStats, customer string, t0 time.Time) (string, error) {
	var start struct {
		ID           string `json:"id"`
		ConnectToken string `json:"connectToken"`
	}
	err := s.call(http.MethodPost, "/bank-linking/connect/start", s.auth, fmt.Sprintf(flowBody, customer), http.StatusCreated, &start)
	st.req(opFlowStart, t0, err)
	if err != nil {
		return "", err
	}
	bearer := "Bearer " + start.ConnectToken
	t0 = time.Now()
	err = s.call(http.MethodPost, "/connect/api/select", bearer, `{"institutionId":"`+sandbox.TestBankID+`"}`, http.StatusOK, nil)
	st.req(opFlowSelect, t0, err)
	if err != nil {
		return "", err
	}
	var sess struct {
		Step     string `json:"step"`
		Accounts []struct {
			ID string `json:"id"`
		} `json:"accounts"`
	}
	t0 = time.Now()
	err = s.call(http.MethodPost, "/connect/api/login", bearer, `{"credentials":{"username":"user_good","password":"pass_good"}}`, http.StatusOK, &sess)
	if err == nil && len(sess.Accounts) == 0 {
		err = fmt.Errorf("login: step %s without accounts", sess.Step)
	}
	st.req(opFlowLogin, t0, err)
	if err != nil {
		return "", err
	}
	ids := make([]string, len(sess.Accounts))
	for i, a := range sess.Accounts {
		ids[i] = strconv.Quote(a.ID)
	}
	t0 = time.Now()
	err = s.call(http.MethodPost, "/connect/api/complete", bearer, `{"consent":true,"accountIds":[`+strings.Join(ids, ",")+`]}`, http.StatusOK, nil)
	st.req(opFlowComplete, t0, err)
	return start.ID, err
}

// link links n connections with the widget flow (concurrency at a time)
// and waits for their aggregations: the data reads' connections.
func (s *mixStack) link(n, concurrency int) {
	st := &mixStats{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for w := range concurrency {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				id, err := s.flow(st, fmt.Sprintf("mix-linked-%d-%d", w, i))
				if err != nil {
					log.Fatalf("%s: link a warm-up connection: %v", s.name, err)
				}
				mu.Lock()
				s.linked = append(s.linked, id)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if _, err := s.drain(time.Minute, 10*time.Minute); err != nil {
		log.Fatal(err)
	}
}

// load runs the mix with concurrency closed-loop clients for d: each
// sends its next request when the previous one is answered. tag keeps
// customers of different phases apart.
func (s *mixStack) load(st *mixStats, concurrency int, d time.Duration, tag string) {
	deadline := time.Now().Add(d)
	begin := time.Now()
	var wg sync.WaitGroup
	for w := range concurrency {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w)+1, uint64(len(tag))+uint64(begin.UnixNano())))
			for i := 0; time.Now().Before(deadline); i++ {
				s.one(st, pickOp(r), time.Now(), tag, w, i, r.IntN(1<<30))
			}
		})
	}
	wg.Wait()
	st.elapsed = time.Since(begin)
}

// one sends operation op, due at t0, as client w's i-th; n picks the
// search prefix or the connection read.
func (s *mixStack) one(st *mixStats, op int, t0 time.Time, tag string, w, i, n int) {
	switch op {
	case opSearch:
		err := s.call(http.MethodGet, "/institutions?name="+s.prefixes[n%len(s.prefixes)]+"&limit=20", s.auth, "", http.StatusOK, nil)
		st.req(op, t0, err)
	case opStart:
		// The baseline's body and its pool of 500 customers per
		// client: most starts reuse a customer.
		err := s.call(http.MethodPost, "/bank-linking/connect/start", s.auth, fmt.Sprintf(body, fmt.Sprintf("mix-%s-%d-%d", tag, w, i%500)), http.StatusCreated, nil)
		st.req(op, t0, err)
	case opFlow:
		_, err := s.flowAt(st, fmt.Sprintf("mixw-%s-%d-%d", tag, w, i), t0)
		st.op(op, t0, err)
	case opTransactions:
		err := s.call(http.MethodGet, "/bank-linking/transactions?limit=100&connectionId="+s.linked[n%len(s.linked)], s.auth, "", http.StatusOK, nil)
		st.req(op, t0, err)
	case opAccounts:
		err := s.call(http.MethodGet, "/bank-linking/accounts?connectionId="+s.linked[n%len(s.linked)], s.auth, "", http.StatusOK, nil)
		st.req(op, t0, err)
	}
}

// scrape reads counters from the stack's Prometheus metrics, in process
// (no connection).
func (s *mixStack) scrape() (aggOK, aggErr, aggSeconds float64) {
	rec := httptest.NewRecorder()
	s.api.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for line := range strings.Lines(rec.Body.String()) {
		name, val, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		v, _ := strconv.ParseFloat(val, 64)
		switch name {
		case `banklink_aggregation_jobs_total{outcome="ok"}`:
			aggOK = v
		case `banklink_aggregation_jobs_total{outcome="error"}`:
			aggErr = v
		case `banklink_aggregation_duration_seconds_sum`:
			aggSeconds = v
		}
	}
	return
}

// inFlight is how many aggregations started and have not finished.
func (s *mixStack) inFlight() int64 {
	ok, bad, _ := s.scrape()
	return s.completed.Load() - int64(ok+bad)
}

// drain waits until background work is done: every aggregation finished
// and no webhook delivery pending. It gives up once the aggregations
// waiting have not gone down for stall, or after limit in all. Waiting
// aggregations are counted, not waited for with the runner's Wait: under
// a backlog the work waits in the store between two claims, when the
// runner has nothing running.
func (s *mixStack) drain(stall, limit time.Duration) (time.Duration, error) {
	begin := time.Now()
	least, since := s.inFlight(), begin
	for n := least; n > 0; n = s.inFlight() {
		if n < least {
			least, since = n, time.Now()
		}
		if time.Since(since) > stall || time.Since(begin) > limit {
			return time.Since(begin), fmt.Errorf("%s: %d aggregations still waiting %s after the load, %d at the last progress %s ago",
				s.name, n, time.Since(begin).Round(time.Second), least, time.Since(since).Round(time.Second))
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.runner.Wait()
	for {
		n, err := s.db.PendingDeliveries(context.Background())
		if err != nil {
			return time.Since(begin), err
		}
		if n == 0 {
			return time.Since(begin), nil
		}
		if time.Since(begin) > limit {
			return time.Since(begin), fmt.Errorf("%s: %d webhook deliveries still pending after %s", s.name, n, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// closeIdle closes idle keep-alive connections on both loopback paths:
// the clients' to the API and the deliverer's to the receiver (by
// turning the receiver's keep-alives off for a moment, which closes its
// idle connections). Each idle connection holds goroutines on both ends.
func (s *mixStack) closeIdle() {
	s.transport.CloseIdleConnections()
	s.recv.srv.SetKeepAlivesEnabled(false)
	s.recv.srv.SetKeepAlivesEnabled(true)
}

// webhookCheck compares what was emitted, what the outbox says and what
// the receiver got.
type webhookCheck struct {
	events, delivered, pending, failed, attempts int64
	posts, bad                                   int64
	sumOK                                        bool
	lag50, lag99                                 time.Duration
}

func (c webhookCheck) ok() bool {
	return c.pending == 0 && c.failed == 0 && c.bad == 0 && c.delivered == c.events &&
		c.posts == c.delivered && c.attempts == c.delivered && c.sumOK
}

func (c webhookCheck) String() string {
	return fmt.Sprintf("%d events, %d deliveries DELIVERED, %d PENDING, %d FAILED, %d attempts; receiver: %d POSTs, %d bad, event-id checksum %s; emission to arrival p50 %s, p99 %s",
		c.events, c.delivered, c.pending, c.failed, c.attempts, c.posts, c.bad, map[bool]string{true: "matches", false: "DIFFERS"}[c.sumOK],
		c.lag50.Round(time.Millisecond), c.lag99.Round(time.Millisecond))
}

// rawDB opens the stack's database beside banklink's own handle.
func (s *mixStack) rawDB() (*sql.DB, error) {
	driver, dsn := "pgx", s.dsn
	if sqlstore.DialectOf(s.dsn) == sqlstore.SQLite {
		driver, dsn = "sqlite", "file:"+s.dsn+"?_pragma=busy_timeout(10000)"
	}
	return sql.Open(driver, dsn)
}

// analyze runs ANALYZE on the stack's database (the -analyze diagnostic:
// banklink itself never does, see docs/benchmarks.md).
func (s *mixStack) analyze(ctx context.Context) {
	db, err := s.rawDB()
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
		log.Fatalf("%s: ANALYZE: %v", s.name, err)
	}
}

// checkWebhooks reads the event log and the outbox straight from the
// database (one profile: one delivery per event).
func (s *mixStack) checkWebhooks(ctx context.Context) (webhookCheck, error) {
	db, err := s.rawDB()
	if err != nil {
		return webhookCheck{}, err
	}
	defer db.Close()
	c := webhookCheck{posts: s.recv.posts.Load(), bad: s.recv.bad.Load(), lag50: s.recv.lag.pct(0.50), lag99: s.recv.lag.pct(0.99)}
	rows, err := db.QueryContext(ctx, `SELECT state, COUNT(*), COALESCE(SUM(attempts), 0) FROM webhook_deliveries GROUP BY state`)
	if err != nil {
		return c, err
	}
	for rows.Next() {
		var state string
		var n, a int64
		if err := rows.Scan(&state, &n, &a); err != nil {
			rows.Close()
			return c, err
		}
		c.attempts += a
		switch state {
		case "DELIVERED":
			c.delivered = n
		case "PENDING":
			c.pending = n
		default:
			c.failed += n
		}
	}
	rows.Close()
	rows, err = db.QueryContext(ctx, `SELECT id FROM webhook_events`)
	if err != nil {
		return c, err
	}
	defer rows.Close()
	var sum uint64
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return c, err
		}
		sum += idHash(id)
		c.events++
	}
	c.sumOK = sum == s.recv.sum.Load()
	return c, rows.Err()
}

// mixOptions are the flags of -mix.
type mixOptions struct {
	duration    time.Duration
	concurrency int
	rounds      int
	postgres    string
	soak        time.Duration
	// analyze runs ANALYZE after warm-up (a diagnostic).
	analyze bool
	// cpuprofile, when set, profiles each measured load to
	// <cpuprofile>.<target>.r<round> (the soak: <cpuprofile>.soak).
	cpuprofile string
	// rate, when above 0, runs the measured loads as open loops of this
	// many operations per second (openloop.go) instead of concurrency
	// closed-loop clients; warm-up stays closed.
	rate float64
}

// conns is the stacks' bound on client connections: none in an open loop.
func (o mixOptions) conns() int {
	if o.rate > 0 {
		return 0
	}
	return o.concurrency
}

// profile starts a CPU profile of one load phase; the result stops it.
func (o mixOptions) profile(name string) func() {
	if o.cpuprofile == "" {
		return func() {}
	}
	f, err := os.Create(o.cpuprofile + "." + name)
	if err != nil {
		log.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Fatal(err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// mixRow is one target's totals over every round.
type mixRow struct {
	name  string
	stack *mixStack
	stats []*mixStats
	drain time.Duration
	err   error
	// aggsUnderLoad counts aggregations finished during the measured
	// load (interactive.go).
	aggsUnderLoad float64
	// open sums the open loops' arrivals (with -rate).
	open openRun
}

// merged merges the rounds' histograms.
func (r *mixRow) merged() *mixStats {
	m := &mixStats{}
	for _, st := range r.stats {
		for op := range numOps {
			for i := range histBuckets {
				if v := st.ops[op].b[i].Load(); v > 0 {
					m.ops[op].b[i].Add(v)
					m.ops[op].n.Add(v)
				}
			}
			m.errs[op].Add(st.errs[op].Load())
		}
		m.requests.Add(st.requests.Load())
		m.errors.Add(st.errors.Load())
		m.elapsed += st.elapsed
		m.samples = append(m.samples, st.samples...)
	}
	return m
}

// runMix runs -mix (and -soak) and returns the exit code.
func runMix(o mixOptions) int {
	ctx := context.Background()
	dir := sandbox.Directory(sandbox.DefaultSeed, sandbox.DefaultDirectorySize)
	tmp, err := os.MkdirTemp("", "banklink-bench-mix")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(os.Stderr, "building the sqlite stack…\n")
	sq := newMixStack(ctx, "sqlite", filepath.Join(tmp, "mix.db"), dir, o.conns())
	defer sq.shutdown()
	if o.soak > 0 {
		return soak(ctx, sq, o)
	}

	// The connect/start baseline of this run, over the same directory and
	// API key, with storage answered from memory.
	base := serve("baseline", handler(ctx, sq.db, &baseline.Store{Store: sq.db, Key: sq.key}), strings.TrimPrefix(sq.auth, "BASIC "))
	defer base.cleanup()
	rows := []*mixRow{{name: "sqlite", stack: sq}}
	if o.postgres != "" {
		fmt.Fprintf(os.Stderr, "building the postgres stack…\n")
		pg := newMixStack(ctx, "postgres", o.postgres, dir, o.conns())
		defer pg.shutdown()
		rows = append(rows, &mixRow{name: "postgres", stack: pg})
	}
	linked := max(32, 2*o.concurrency)
	for _, r := range rows {
		fmt.Fprintf(os.Stderr, "%s: linking %d connections and warming up…\n", r.name, linked)
		r.stack.link(linked, o.concurrency)
		if o.analyze {
			r.stack.analyze(ctx)
		}
		r.stack.load(&mixStats{}, o.concurrency, 3*time.Second, "warm")
		if _, err := r.stack.drain(time.Minute, 3*time.Minute); err != nil {
			log.Fatal(err)
		}
	}
	var b, bOpen result
	var bOpenRun openRun
	for round := range o.rounds {
		fmt.Fprintf(os.Stderr, "round %d: baseline…\n", round+1)
		b.add(run(base, o.concurrency, o.duration))
		if o.rate > 0 {
			fmt.Fprintf(os.Stderr, "round %d: baseline, open loop…\n", round+1)
			rb, or := runOpen(base, o.rate, o.duration)
			bOpen.add(rb)
			bOpenRun.add(or)
		}
		for _, r := range rows {
			fmt.Fprintf(os.Stderr, "round %d: %s mix…\n", round+1, r.name)
			st := &mixStats{}
			stop := o.profile(fmt.Sprintf("%s.r%d", r.name, round+1))
			ok0, _, _ := r.stack.scrape()
			if o.rate > 0 {
				r.open.add(r.stack.loadOpen(st, o.rate, o.duration, fmt.Sprintf("r%d", round)))
			} else {
				r.stack.load(st, o.concurrency, o.duration, fmt.Sprintf("r%d", round))
			}
			ok1, _, _ := r.stack.scrape()
			r.aggsUnderLoad += ok1 - ok0
			stop()
			r.stats = append(r.stats, st)
			// Background work of this target must not run during the
			// next one.
			d, err := r.stack.drain(time.Minute, 3*time.Minute)
			r.drain += d
			if err != nil && r.err == nil {
				r.err = err
			}
		}
	}

	loop := fmt.Sprintf("%d closed-loop clients", o.concurrency)
	if o.rate > 0 {
		loop = fmt.Sprintf("an open loop of %.0f operations/s (the baseline: %d closed-loop clients, and an open loop of %.0f connect/starts/s)", o.rate, o.concurrency, o.rate)
	}
	fmt.Printf("mixed load on loopback: %s, %d round(s) of %s per target, GOMAXPROCS=%d, %s%s\n\n",
		loop, o.rounds, o.duration, runtime.GOMAXPROCS(0), time.Now().UTC().Format(time.DateOnly), analyzed(o.analyze))
	fmt.Println("Totals. The baseline is connect/start only, on the storage-free store; the mix targets are the whole service.")
	fmt.Println()
	fmt.Println("| target | HTTP requests | errors | req/s | req/s vs baseline | connect/start p50 | connect/start p99 | p50 ratio (baseline p50 / p50) | p99 ratio (baseline p99 / p99) |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	slices.Sort(b.lat)
	fmt.Printf("| baseline (connect/start only) | %d | %d | %.0f | 1.00 | %s | %s | 1.00 | 1.00 |\n", b.requests, b.errors, b.rps(),
		b.pct(0.50).Round(time.Microsecond), b.pct(0.99).Round(time.Microsecond))
	slices.Sort(bOpen.lat)
	if o.rate > 0 {
		fmt.Printf("| baseline, open loop | %d | %d | %.0f | %.2f | %s | %s | %.2f | %.2f |\n", bOpen.requests, bOpen.errors, bOpen.rps(), bOpen.rps()/b.rps(),
			bOpen.pct(0.50).Round(time.Microsecond), bOpen.pct(0.99).Round(time.Microsecond),
			float64(b.pct(0.50))/float64(bOpen.pct(0.50)), float64(b.pct(0.99))/float64(bOpen.pct(0.99)))
	}
	code := 0
	if b.errors > 0 || bOpen.errors > 0 {
		code = 1
	}
	merged := map[*mixRow]*mixStats{}
	for _, r := range rows {
		m := r.merged()
		merged[r] = m
		cs := &m.ops[opStart]
		fmt.Printf("| %s mix | %d | %d | %.0f | %.2f | %s | %s | %.2f | %.2f |\n", r.name, m.requests.Load(), m.errors.Load(), m.rps(), m.rps()/b.rps(),
			cs.pct(0.50).Round(time.Microsecond), cs.pct(0.99).Round(time.Microsecond),
			float64(b.pct(0.50))/float64(cs.pct(0.50)), float64(b.pct(0.99))/float64(cs.pct(0.99)))
		if m.errors.Load() > 0 {
			code = 1
		}
	}
	fmt.Println()
	fmt.Println("Per operation (a widget flow's four requests are also listed one by one; its whole-flow row is not counted again in the totals).")
	fmt.Println()
	fmt.Println("| target | operation | count | per s | errors | p50 | p99 |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, r := range rows {
		m := merged[r]
		for op := range numOps {
			h := &m.ops[op]
			fmt.Printf("| %s | %s | %d | %.0f | %d | %s | %s |\n", r.name, opNames[op], h.n.Load(), float64(h.n.Load())/m.elapsed.Seconds(),
				m.errs[op].Load(), h.pct(0.50).Round(time.Microsecond), h.pct(0.99).Round(time.Microsecond))
		}
	}
	if o.rate > 0 {
		fmt.Println()
		fmt.Println("Open loops: arrivals as sent.")
		fmt.Println()
		fmt.Printf("- baseline: %s\n", bOpenRun)
		for _, r := range rows {
			fmt.Printf("- %s mix: %s\n", r.name, r.open)
		}
	}
	printInteractiveRatios(rows, merged, b.pct(0.99), bOpen.pct(0.99))
	fmt.Println()
	fmt.Println("Background work (whole run, warm-up included): aggregations of completed connections and webhook deliveries to the loopback receiver.")
	fmt.Println()
	fmt.Println("| target | connections completed | aggregations ok / failed | mean aggregation time | drain after load | warnings logged | webhooks |")
	fmt.Println("|---|---|---|---|---|---|---|")
	for _, r := range rows {
		s := r.stack
		ok, bad, secs := s.scrape()
		wc, err := s.checkWebhooks(ctx)
		whs := wc.String()
		if err != nil {
			whs = "check failed: " + err.Error()
		}
		if err != nil || !wc.ok() || r.err != nil || bad > 0 || s.logs.warns.Load() > 0 {
			code = 1
		}
		mean := time.Duration(0)
		if ok+bad > 0 {
			mean = time.Duration(secs / (ok + bad) * float64(time.Second))
		}
		fmt.Printf("| %s | %d | %.0f / %.0f | %s | %s | %d | %s |\n", r.name, s.completed.Load(), ok, bad, mean.Round(time.Millisecond),
			r.drain.Round(time.Millisecond), s.logs.warns.Load(), whs)
	}
	for _, r := range rows {
		report(r.name, merged[r].samples, r.stack.logs, r.err)
	}
	return code
}

// report prints what went wrong, if anything.
func report(name string, samples []string, logs *logCounter, err error) {
	if err != nil {
		fmt.Printf("\n%s: %v\n", name, err)
	}
	for _, s := range samples {
		fmt.Printf("\n%s request error: %s", name, s)
	}
	logs.mu.Lock()
	defer logs.mu.Unlock()
	for _, s := range logs.first {
		fmt.Printf("\n%s logged: %s", name, s)
	}
	if len(samples)+len(logs.first) > 0 {
		fmt.Println()
	}
}

// soakSample is one row of the soak table.
type soakSample struct {
	label       string
	at          time.Duration
	goroutines  int
	heapInuse   uint64
	heapObjects uint64
	// rss is the process's resident memory: it includes what the Go heap
	// does not, such as SQLite's page caches (modernc allocates them
	// outside the Go heap).
	rss      uint64
	dbSize   int64
	links    int64
	requests int64
	errors   int64
	rps      float64
	inFlight int64
	pending  int
}

func (s *mixStack) sample(label string, at time.Duration) soakSample {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	n, _ := s.db.PendingDeliveries(context.Background())
	return soakSample{label: label, at: at, goroutines: runtime.NumGoroutine(), heapInuse: ms.HeapInuse, heapObjects: ms.HeapObjects,
		rss: rss(), dbSize: s.dbSize(), links: s.completed.Load(), inFlight: s.inFlight(), pending: n}
}

// dbSize is the size of an SQLite database with its WAL (0 for
// PostgreSQL).
func (s *mixStack) dbSize() int64 {
	var n int64
	for _, suffix := range []string{"", "-wal"} {
		if fi, err := os.Stat(s.dsn + suffix); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// rss reads the resident set size from /proc (0 elsewhere).
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// quiet takes the comparable sample: background work done, idle
// connections closed, two collections, a few seconds to settle.
func (s *mixStack) quiet(label string, at time.Duration) (soakSample, time.Duration, error) {
	d, err := s.drain(2*time.Minute, 30*time.Minute)
	s.closeIdle()
	runtime.GC()
	runtime.GC()
	time.Sleep(5 * time.Second)
	return s.sample(label, at), d, err
}

func soak(ctx context.Context, s *mixStack, o mixOptions) int {
	linked := max(32, 2*o.concurrency)
	fmt.Fprintf(os.Stderr, "soak: linking %d connections, warming up for 10s…\n", linked)
	s.link(linked, o.concurrency)
	if o.analyze {
		s.analyze(ctx)
	}
	warm := &mixStats{}
	s.load(warm, o.concurrency, 10*time.Second, "warm")
	st := &mixStats{} // allocated before the reference sample
	ref, _, err := s.quiet("after warm-up (reference)", 0)
	if err != nil {
		log.Fatal(err)
	}
	samples := []soakSample{ref}
	fmt.Fprintf(os.Stderr, "soak: %s of load, a sample every 10s…\n", o.soak)
	stop := make(chan struct{})
	sampled := make(chan struct{})
	begin := time.Now()
	go func() {
		defer close(sampled)
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		var lastReq int64
		last := begin
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				smp := s.sample("load", now.Sub(begin))
				smp.requests, smp.errors = st.requests.Load(), st.errors.Load()
				smp.rps = float64(smp.requests-lastReq) / now.Sub(last).Seconds()
				lastReq, last = smp.requests, now
				samples = append(samples, smp)
				fmt.Fprintf(os.Stderr, "  %4.0fs  goroutines %5d  heap in use %6.1f MiB  rss %6.0f MiB  %6.0f req/s  errors %d  links %d  aggregations in flight %d  pending deliveries %d\n",
					smp.at.Seconds(), smp.goroutines, mib(smp.heapInuse), mib(smp.rss), smp.rps, smp.errors, smp.links, smp.inFlight, smp.pending)
			}
		}
	}()
	stopProfile := o.profile("soak")
	var open openRun
	if o.rate > 0 {
		open = s.loadOpen(st, o.rate, o.soak, "soak")
	} else {
		s.load(st, o.concurrency, o.soak, "soak")
	}
	stopProfile()
	close(stop)
	<-sampled
	end := s.sample("load stopped", time.Since(begin))
	end.requests, end.errors = st.requests.Load(), st.errors.Load()
	samples = append(samples, end)
	fmt.Fprintf(os.Stderr, "soak: load stopped; draining background work…\n")
	after, drained, derr := s.quiet("after (drained, idle, GC)", time.Since(begin))
	after.requests, after.errors = st.requests.Load(), st.errors.Load()
	samples = append(samples, after)
	wc, werr := s.checkWebhooks(ctx)
	ok, bad, secs := s.scrape()

	loop := fmt.Sprintf("%d closed-loop clients", o.concurrency)
	if o.rate > 0 {
		loop = fmt.Sprintf("an open loop of %.0f operations/s (%s)", o.rate, open)
	}
	fmt.Printf("soak on loopback: sqlite, %s, %s of the mix after a 10 s warm-up, GOMAXPROCS=%d, %s%s\n\n",
		loop, o.soak, runtime.GOMAXPROCS(0), time.Now().UTC().Format(time.DateOnly), analyzed(o.analyze))
	fmt.Println("| t | phase | goroutines | HeapInuse (MiB) | HeapObjects | RSS (MiB) | database + WAL (MiB) | req/s (last 10 s) | requests so far | errors | connections linked | aggregations in flight | pending deliveries |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, x := range samples {
		rps := "–"
		if x.rps > 0 {
			rps = fmt.Sprintf("%.0f", x.rps)
		}
		fmt.Printf("| %s | %s | %d | %.1f | %d | %.0f | %.0f | %s | %d | %d | %d | %d | %d |\n", x.at.Round(time.Second), x.label, x.goroutines, mib(x.heapInuse),
			x.heapObjects, mib(x.rss), mib(uint64(x.dbSize)), rps, x.requests, x.errors, x.links, x.inFlight, x.pending)
	}
	fmt.Println()
	fmt.Println("| operation | count | errors | p50 | p99 |")
	fmt.Println("|---|---|---|---|---|")
	for op := range numOps {
		h := &st.ops[op]
		fmt.Printf("| %s | %d | %d | %s | %s |\n", opNames[op], h.n.Load(), st.errs[op].Load(), h.pct(0.50).Round(time.Microsecond), h.pct(0.99).Round(time.Microsecond))
	}
	mean := time.Duration(0)
	if ok+bad > 0 {
		mean = time.Duration(secs / (ok + bad) * float64(time.Second))
	}
	fmt.Printf("\nload: %d requests in %s (%.0f req/s), %d errors; warm-up: %d requests, %d errors\n", st.requests.Load(), st.elapsed.Round(time.Millisecond),
		st.rps(), st.errors.Load(), warm.requests.Load(), warm.errors.Load())
	fmt.Printf("background: %d connections completed, aggregations %.0f ok / %.0f failed (mean %s), drained %s after the load\n",
		s.completed.Load(), ok, bad, mean.Round(time.Millisecond), drained.Round(time.Millisecond))
	whs := wc.String()
	if werr != nil {
		whs = "check failed: " + werr.Error()
	}
	fmt.Printf("webhooks: %s\n", whs)

	var fails []string
	if n := st.errors.Load() + warm.errors.Load(); n > 0 {
		fails = append(fails, fmt.Sprintf("%d request errors", n))
	}
	if derr != nil {
		fails = append(fails, derr.Error())
	}
	if bad > 0 {
		fails = append(fails, fmt.Sprintf("%.0f aggregations failed", bad))
	}
	if n := s.logs.warns.Load(); n > 0 {
		fails = append(fails, fmt.Sprintf("%d warnings logged", n))
	}
	if werr != nil || !wc.ok() {
		fails = append(fails, "webhooks: "+whs)
	}
	if after.goroutines > ref.goroutines+5 {
		fails = append(fails, fmt.Sprintf("goroutines grew from %d to %d (allowed: +5)", ref.goroutines, after.goroutines))
	}
	if float64(after.heapInuse) > 1.5*float64(ref.heapInuse) {
		fails = append(fails, fmt.Sprintf("HeapInuse grew from %.1f to %.1f MiB (allowed: ×1.5)", mib(ref.heapInuse), mib(after.heapInuse)))
	}
	fmt.Printf("\nafter vs reference: goroutines %d → %d (%+d, allowed +5); HeapInuse %.1f → %.1f MiB (×%.2f, allowed ×1.5); HeapObjects %d → %d\n",
		ref.goroutines, after.goroutines, after.goroutines-ref.goroutines, mib(ref.heapInuse), mib(after.heapInuse),
		float64(after.heapInuse)/float64(ref.heapInuse), ref.heapObjects, after.heapObjects)
	report("sqlite", st.samples, s.logs, nil)
	if len(fails) > 0 {
		fmt.Printf("\nverdict: FAIL: %s\n", strings.Join(fails, "; "))
		return 1
	}
	fmt.Println("\nverdict: PASS: no request errored, no background failure, every webhook event delivered exactly once, no goroutine or heap growth")
	return 0
}

func analyzed(on bool) string {
	if on {
		return ", ANALYZE run by the bench after warm-up (-analyze)"
	}
	return ""
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
