// Command bench is banklink's loopback load harness. It starts the real
// API (SQLite file, and PostgreSQL with -postgres: one replica, and two
// replicas sharing the database) and the storage-free baseline in this
// process on 127.0.0.1, drives each in turn with the same closed-loop load,
// and prints throughput and latency with each target's ratio to the
// baseline measured in the same run.
//
//	go run ./bench -duration 10s -concurrency 16
//
// With -mix it instead drives a complete banklink (widget, aggregation,
// webhooks) with a realistic mix of requests, and with -mix -soak 5m it
// soaks the SQLite target and checks for errors and leaks (see mix.go):
//
//	go run ./bench -mix -duration 20s -rounds 1 [-postgres DSN]
//	go run ./bench -mix -soak 5m
//
// It only ever sends traffic to the loopback servers it started, and every
// run is bounded by -duration.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"banklink"
	"banklink/internal/baseline"
	"banklink/internal/connecttoken"
	"banklink/internal/httpapi"
	"banklink/internal/sandbox"
	bsearch "banklink/internal/search"
	"banklink/internal/sqlstore"
)

type target struct {
	name string
	// urls are the target's replicas; client w uses urls[w%len(urls)].
	urls    []string
	key     string
	cleanup func()
	// req builds request i of a client; nil means connect/start.
	req func(w, i int) *http.Request
	// want is the success status.
	want int
}

// url is the replica client w talks to.
func (t target) url(w int) string { return t.urls[w%len(t.urls)] }

type result struct {
	requests int
	errors   int
	elapsed  time.Duration
	lat      []time.Duration
}

// add appends another phase's requests.
func (r *result) add(p result) {
	r.requests += p.requests
	r.errors += p.errors
	r.elapsed += p.elapsed
	r.lat = append(r.lat, p.lat...)
}

func (r result) rps() float64 { return float64(r.requests) / r.elapsed.Seconds() }

func (r result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[min(len(r.lat)-1, int(float64(len(r.lat))*p))]
}

const body = `{"externalCustomerId":"%s","products":["BALANCES","OWNERS","IDENTIFIERS","TRANSACTIONS","INVESTMENT_HOLDINGS","INVESTMENT_TRANSACTIONS"],"regions":["US","CA"],"institutionSearchString":"Fidelity"}`

func main() {
	duration := flag.Duration("duration", 10*time.Second, "measured time per target per round")
	concurrency := flag.Int("concurrency", 16, "concurrent clients")
	rounds := flag.Int("rounds", 2, "rounds; targets alternate within each round to cancel drift")
	search := flag.Bool("search", true, "also measure GET /institutions (search over the 20,000-institution directory)")
	pg := flag.String("postgres", "", "also measure PostgreSQL at this DSN, with one and with two replicas (use a throwaway database: the run writes rows into it)")
	mix := flag.Bool("mix", false, "run the mixed load (search, connect/start, whole widget flows, data reads) against a complete in-process banklink with the widget, aggregation and webhooks, on SQLite and -postgres, next to the connect/start baseline")
	rate := flag.Float64("rate", 0, "with -mix (and -soak): send the measured load as an open loop of this many operations per second (Poisson arrivals, each timed from when it was due; a widget flow is one operation) instead of -concurrency closed-loop clients, and also measure the baseline at this rate")
	soakFor := flag.Duration("soak", 0, "with -mix: soak the SQLite target for this long, sampling goroutines and heap every 10s; exits 1 on any error or growth")
	analyze := flag.Bool("analyze", false, "with -mix: run ANALYZE on each target database after warm-up (a diagnostic: banklink does not)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of each measured load to this path plus .<target>.r<round> (with -mix and -soak: .soak)")
	flag.IntVar(&aggregationWorkers, "aggregation-workers", 0, "with -mix and -scale: aggregations each banklink runs at once (0: banklink's default)")
	scale := flag.Bool("scale", false, "fill a database (SQLite, and -postgres) and compare each list, get, search, connect/start and aggregation request's p99 with an empty one (see scale.go)")
	scaleCustomers := flag.Int("scale-customers", 10_000, "with -scale: customers, two connections each")
	scaleTx := flag.Int("scale-tx", 50, "with -scale: transactions per account, two accounts per connection")
	scaleSamples := flag.Int("scale-samples", 200, "with -scale: samples per request and database")
	scaleKeep := flag.Bool("scale-keep", false, "with -scale: keep the databases and print their names (for EXPLAIN)")
	only := flag.String("targets", "", "without -mix: measure only the targets whose names contain one of these comma-separated words (the baseline always runs), e.g. -targets postgres")
	flag.Parse()
	if *scale {
		os.Exit(runScale(scaleOptions{customers: *scaleCustomers, txPerAcct: *scaleTx, samples: *scaleSamples, postgres: *pg, keep: *scaleKeep}, *concurrency))
	}
	if *duration > 2*time.Minute {
		log.Fatal("-duration is capped at 2m per target per round")
	}
	if *soakFor > 2*time.Hour || (*soakFor > 0 && !*mix) {
		log.Fatal("-soak needs -mix and is capped at 2h")
	}
	if *mix {
		os.Exit(runMix(mixOptions{duration: *duration, concurrency: *concurrency, rounds: *rounds, postgres: *pg, soak: *soakFor, analyze: *analyze, cpuprofile: *cpuprofile, rate: *rate}))
	}
	ctx := context.Background()
	dir := sandbox.Directory(sandbox.DefaultSeed, sandbox.DefaultDirectorySize)

	tmp, err := os.MkdirTemp("", "banklink-bench")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)

	sqliteDB, err := sqlstore.Open(ctx, filepath.Join(tmp, "bench.db"), sqlstore.Options{Migrate: true})
	if err != nil {
		log.Fatal(err)
	}
	defer sqliteDB.Close()
	real, base := start(ctx, sqliteDB, dir, "sqlite")
	targets := []target{base, real}
	if *search {
		targets = append(targets, searchTarget(real))
	}
	if *pg != "" {
		pdb, err := sqlstore.Open(ctx, *pg, sqlstore.Options{Migrate: true})
		if err != nil {
			log.Fatal(err)
		}
		defer pdb.Close()
		p, _ := start(ctx, pdb, dir, "postgres")
		// A second replica as a separate deployment would run it: its own
		// handle (connection pool), server and port on the same database,
		// with the same signing secret and API key. Open migrates under
		// goose's advisory lock, so it finds nothing to do.
		pdb2, err := sqlstore.Open(ctx, *pg, sqlstore.Options{Migrate: true})
		if err != nil {
			log.Fatal(err)
		}
		defer pdb2.Close()
		p2 := serve("postgres-2-replicas", handler(ctx, pdb2, pdb2), p.key)
		p2.urls = append(slices.Clone(p.urls), p2.urls...)
		targets = append(targets, p, p2)
	}

	if *only != "" {
		targets = slices.DeleteFunc(targets, func(t target) bool {
			if t.name == "baseline" {
				return false
			}
			for w := range strings.SplitSeq(*only, ",") {
				if w != "" && strings.Contains(t.name, w) {
					return false
				}
			}
			return true
		})
	}
	prof := mixOptions{cpuprofile: *cpuprofile}
	results := map[string]*result{}
	for round := 0; round < *rounds; round++ {
		for _, t := range targets {
			stop := prof.profile(fmt.Sprintf("%s.r%d", strings.ReplaceAll(t.name, " ", "_"), round))
			r := run(t, *concurrency, *duration)
			stop()
			agg := results[t.name]
			if agg == nil {
				agg = &result{}
				results[t.name] = agg
			}
			agg.requests += r.requests
			agg.errors += r.errors
			agg.elapsed += r.elapsed
			agg.lat = append(agg.lat, r.lat...)
		}
	}
	fmt.Printf("loopback: %d clients, %d round(s) of %s per target, GOMAXPROCS=%d, %s\n\n",
		*concurrency, *rounds, *duration, runtime.GOMAXPROCS(0), time.Now().UTC().Format(time.DateOnly))
	fmt.Println("| target | requests | errors | req/s | p50 | p99 | throughput vs baseline | p99 vs baseline (baseline p99 / p99) |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	b := results["baseline"]
	slices.Sort(b.lat)
	for _, t := range targets {
		r := results[t.name]
		slices.Sort(r.lat)
		vs, p99vs := "n/a", "n/a"
		if t.req == nil { // only connect/start targets compare with the connect/start baseline
			vs, p99vs = fmt.Sprintf("%.2f", r.rps()/b.rps()), fmt.Sprintf("%.2f", float64(b.pct(0.99))/float64(r.pct(0.99)))
		}
		fmt.Printf("| %s | %d | %d | %.0f | %s | %s | %s | %s |\n", t.name, r.requests, r.errors, r.rps(),
			r.pct(0.50).Round(time.Microsecond), r.pct(0.99).Round(time.Microsecond), vs, p99vs)
	}
}

// start loads the directory and an account into db and serves the real API
// on it and the baseline over the same directory and key.
func start(ctx context.Context, db *sqlstore.DB, dir []*banklink.Institution, name string) (real, base target) {
	if err := db.UpsertInstitutions(ctx, dir); err != nil {
		log.Fatal(err)
	}
	acct := &banklink.Account{ID: banklink.NewID(), Name: "bench"}
	if err := db.CreateAccount(ctx, acct); err != nil {
		log.Fatal(err)
	}
	k, plain := banklink.NewAPIKey(acct.ID, banklink.Sandbox, "bench", httpapi.LatestVersion, time.Now())
	if err := db.CreateAPIKey(ctx, k); err != nil {
		log.Fatal(err)
	}
	real = serve(name, handler(ctx, db, db), plain)
	base = serve("baseline", handler(ctx, db, &baseline.Store{Store: db, Key: k}), plain)
	return real, base
}

// handler is the API on store, over a search index loaded from db, with the
// bench's signing secret and configuration (the same for every server).
func handler(ctx context.Context, db *sqlstore.DB, store banklink.Store) http.Handler {
	live := bsearch.NewLive(db)
	if err := live.Refresh(ctx); err != nil {
		log.Fatal(err)
	}
	tokens, err := connecttoken.NewSigner("banklink", connecttoken.DefaultTTL, []byte(strings.Repeat("b", 32)))
	if err != nil {
		log.Fatal(err)
	}
	cfg := httpapi.Config{WidgetURL: "http://127.0.0.1/connect", MinEligibleInstitutions: 25,
		Providers: map[banklink.Environment][]string{banklink.Sandbox: {sandbox.ProviderType}}}
	return httpapi.New(store, tokens, live, nil, cfg).Handler()
}

func serve(name string, h http.Handler, key string) target {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	return target{name: name, urls: []string{"http://" + ln.Addr().String()}, key: key, cleanup: func() { srv.Close() }}
}

func run(t target, concurrency int, d time.Duration) result {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: concurrency}, Timeout: 10 * time.Second}
	// Warm up every replica: connections, caches, the JIT-free but cold
	// database pages.
	warm := time.Now().Add(time.Second)
	for i := 0; time.Now().Before(warm); i++ {
		once(client, t, i%len(t.urls), i)
	}
	var mu sync.Mutex
	res := result{}
	deadline := time.Now().Add(d)
	begin := time.Now()
	var wg sync.WaitGroup
	for w := range concurrency {
		wg.Go(func() {
			lat := make([]time.Duration, 0, 4096)
			errs := 0
			for i := 0; time.Now().Before(deadline); i++ {
				// A pool of 500 customers per client: most starts reuse a
				// customer, some create one, as in a real app.
				t0 := time.Now()
				if !once(client, t, w, i) {
					errs++
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			res.errors += errs
			mu.Unlock()
		})
	}
	wg.Wait()
	res.elapsed = time.Since(begin)
	res.requests = len(res.lat)
	return res
}

func once(c *http.Client, t target, w, i int) bool {
	var req *http.Request
	if t.req != nil {
		req = t.req(w, i)
	} else {
		// A pool of 500 customers per client and target (targets may
		// share a database): most starts reuse a customer, some create
		// one, as in a real app.
		req, _ = http.NewRequest(http.MethodPost, t.url(w)+"/bank-linking/connect/start", bytes.NewBufferString(fmt.Sprintf(body, fmt.Sprintf("bench-%s-%d-%d", t.name, w, i%500))))
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "BASIC "+t.key)
	req.Header.Set("Meld-Version", "2022-11-10")
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	want := t.want
	if want == 0 {
		want = http.StatusCreated
	}
	return resp.StatusCode == want
}

// searchQueries are typical picker searches: common prefixes, a rare
// name, filters.
var searchQueries = []string{
	"name=first&limit=10",
	"name=sandbox%20bank&limit=10",
	"name=fed%20cred&limit=10&regions=US-NY",
	"name=bank&products=TRANSACTIONS,IDENTIFIERS&limit=10",
	"limit=10",
	"name=caisse&regions=CA-QC&limit=10",
}

// searchTarget turns a target into GET /institutions over searchQueries.
func searchTarget(t target) target {
	t.name += " GET /institutions"
	t.want = http.StatusOK
	t.req = func(w, i int) *http.Request {
		r, _ := http.NewRequest(http.MethodGet, t.url(w)+"/institutions?"+searchQueries[(w+i)%len(searchQueries)], nil)
		return r
	}
	return t
}
