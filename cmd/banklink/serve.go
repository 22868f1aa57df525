package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"banklink"
	"banklink/internal/aggregation"
	"banklink/internal/config"
	"banklink/internal/connecttoken"
	"banklink/internal/httpapi"
	"banklink/internal/metrics"
	"banklink/internal/providers"
	"banklink/internal/search"
	"banklink/internal/webhooks"
	"banklink/internal/webhookurl"
	"banklink/internal/wiring"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	cfg := config.Default()
	fs := newFlagSet("serve", stderr)
	cfg.Register(fs, true)
	if err := fs.Parse(args); err != nil {
		return err
	}
	// Listen before deriving URLs so "-addr 127.0.0.1:0" (tests, several
	// local replicas) reports the port it really got.
	if err := cfg.Load(fs, getenv); err != nil {
		return err
	}
	log, err := newLogger(&cfg, stderr)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	if strings.HasSuffix(cfg.Addr, ":0") {
		cfg.Addr = ln.Addr().String()
		if strings.HasSuffix(cfg.PublicURL, ":0") {
			cfg.PublicURL = "http://" + cfg.Addr
			cfg.WidgetURL = cfg.PublicURL + "/connect"
		}
	}

	db, err := openStore(ctx, &cfg, log, true)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := seedDirectory(ctx, &cfg, db, log); err != nil {
		return fmt.Errorf("load sandbox directory: %w", err)
	}
	secrets, err := signingSecrets(ctx, &cfg, db)
	if err != nil {
		return fmt.Errorf("connect token secret: %w", err)
	}
	tokens, err := connecttoken.NewSigner(cfg.TokenIssuer, cfg.TokenTTL, secrets...)
	if err != nil {
		return err
	}
	dir := search.NewLive(db)
	if err := dir.Refresh(ctx); err != nil {
		return fmt.Errorf("build institution index: %w", err)
	}
	bgCtx, stopBackground := context.WithCancel(ctx)
	defer stopBackground()
	go dir.Run(bgCtx, cfg.DirectoryRefresh)

	private, err := webhookurl.ParsePrivateTargets(cfg.WebhookPrivateTargets)
	if err != nil {
		return err
	}
	reg, err := providers.FromConfig(&cfg, providers.Deps{Secrets: db, Sealer: db.Sealer()})
	if err != nil {
		return err
	}
	svc, err := wiring.New(wiring.Parts{Store: db, Tokens: tokens, Directory: dir, Providers: reg, Log: log}, wiring.Options{
		PublicURL:               cfg.PublicURL,
		WidgetURL:               cfg.WidgetURL,
		Providers:               cfg.Providers(),
		MinEligibleInstitutions: cfg.MinEligibleInstitutions,
		RefreshInterval:         cfg.RefreshInterval,
		RateLimit:               cfg.RateLimit,
		RateBurst:               cfg.RateBurst,
		WidgetRateLimit:         cfg.WidgetRateLimit,
		WidgetRateBurst:         cfg.WidgetRateBurst,
		WebhookPrivate:          private,
		AggregationLease:        cfg.AggregationLease,
		AggregationWorkers:      cfg.AggregationWorkers,
		Metrics:                 cfg.Metrics,
		Demo:                    cfg.DemoOn,
	})
	if err != nil {
		return err
	}
	runner := svc.Runner
	defer runner.Wait()
	// One after the other: two merges at once could each write the
	// directory the other had not seen yet.
	// The index is rebuilt after each merge rather than at the next
	// -directory-refresh tick, so new institutions are searchable at once.
	go func() {
		for _, t := range reg.Directories() {
			syncDirectory(bgCtx, db, reg.Lister(t), t, log)
			if err := dir.Refresh(bgCtx); err != nil && bgCtx.Err() == nil {
				log.Warn("rebuild institution index", slog.Any("err", err))
			}
		}
	}()
	// Accepted aggregation work is durable: Run renews this process's
	// leases and resumes work whose lease is free, including what a
	// crashed process (this one before a restart, or another replica)
	// was doing.
	go runner.Run(bgCtx)
	if svc.Metrics != nil {
		go observeAggregations(bgCtx, runner, db, svc.Metrics)
	}
	// Activity older than -activity-retention is pruned hourly (by every
	// replica: deleting what another already deleted costs a query).
	go svc.Linking.PruneActivityEvery(bgCtx, time.Hour, cfg.ActivityRetention)
	if cfg.AutoRefresh > 0 {
		go runner.RefreshEvery(bgCtx, min(time.Minute, cfg.AutoRefresh), cfg.AutoRefresh, cfg.AutoRefreshWorkers)
	}
	// Webhook delivery runs until the HTTP server and the aggregations
	// that emit events have stopped, then finishes its in-flight attempts
	// and gives back its leases.
	deliverCtx, stopDelivery := context.WithCancel(context.WithoutCancel(ctx))
	defer stopDelivery()
	delivered := make(chan struct{})
	if cfg.WebhookWorkers > 0 {
		deliverer := webhooks.New(db, webhooks.Config{Workers: cfg.WebhookWorkers, Timeout: cfg.WebhookTimeout, Private: private}, log)
		deliverer.Kicks = db.Kicks()
		deliverer.Observe = svc.Metrics.ObserveWebhook
		go func() { defer close(delivered); deliverer.Run(deliverCtx) }()
		if svc.Metrics != nil {
			go sampleEvery(deliverCtx, func(ctx context.Context) {
				if n, err := db.PendingDeliveries(ctx); err == nil {
					svc.Metrics.SetWebhookPending(n)
				}
			})
		}
	} else {
		close(delivered)
	}
	firstKey, err := bootstrapKey(ctx, db)
	if err != nil {
		return err
	}
	if cfg.DemoOn {
		// After bootstrapKey: on an empty database the app's account is
		// created first, and defaultAccount never picks the demo's.
		if err := wiring.EnsureDemoAccount(ctx, db); err != nil {
			return fmt.Errorf("demo account: %w", err)
		}
	}
	srv := &http.Server{
		Handler: svc.Handler(),
		// Slow clients must not hold connections forever.
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		// Request line and headers: a connect token (at most
		// connecttoken.MaxLength) in a URL or header fits many times
		// over; Go's default (1 MB) let every request hold a megabyte.
		MaxHeaderBytes: MaxHeaderBytes,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// The banner goes out in one write: whoever reads it (a person, a
	// supervisor, a test waiting for the URL) sees all of it or none.
	var banner bytes.Buffer
	printBanner(&banner, &cfg, firstKey)
	printDashboardBanner(ctx, &banner, &cfg, db)
	if _, err := stdout.Write(banner.Bytes()); err != nil {
		return err
	}
	log.Info("listening", slog.String("addr", cfg.Addr), slog.String("database", redactDSN(cfg.Database)))

	errc := make(chan error, 1)
	// net/http's own 400s (a NUL in a header…) in the error format too.
	go func() { errc <- srv.Serve(svc.API.WrapListener(ln)) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Graceful shutdown: stop accepting, let in-flight requests finish.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	log.Info("shutting down")
	err = srv.Shutdown(shutdownCtx)
	stopBackground()
	runner.Wait()
	stopDelivery()
	<-delivered
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// MaxHeaderBytes bounds a request's line and headers.
const MaxHeaderBytes = 64 << 10

// bootstrapKey creates the first sandbox key on an empty database and
// returns its plaintext, so `banklink serve` alone is enough to try the API.
func bootstrapKey(ctx context.Context, db banklink.Store) (string, error) {
	n, err := db.CountAPIKeys(ctx)
	if err != nil || n > 0 {
		return "", err
	}
	acct, err := defaultAccount(ctx, db, "")
	if err != nil {
		return "", err
	}
	k, plain := banklink.NewAPIKey(acct.ID, banklink.Sandbox, "first sandbox key", httpapi.LatestVersion, time.Now())
	if err := db.CreateAPIKey(ctx, k); err != nil {
		return "", err
	}
	return plain, nil
}

func printBanner(w io.Writer, cfg *config.Config, firstKey string) {
	fmt.Fprintf(w, "banklink is listening on %s\n", cfg.PublicURL)
	if cfg.DemoOn {
		fmt.Fprintf(w, "  Demo (click through the whole flow): %s/\n", cfg.PublicURL)
	}
	fmt.Fprintf(w, "  API reference:                       %s/openapi.yaml\n", cfg.PublicURL)
	if firstKey == "" {
		fmt.Fprintf(w, "  Create an API key with: banklink apikey create --env sandbox --name mykey\n")
		return
	}
	fmt.Fprintf(w, "\nA sandbox API key was created. It is shown only once:\n\n  %s\n\n", firstKey)
	fmt.Fprintf(w, "Try it:\n\n")
	fmt.Fprintf(w, `curl --location '%s/bank-linking/connect/start' \
--header 'Meld-Version: 2022-11-10' \
--header 'Content-Type: application/json' \
--header 'Authorization: BASIC %s' \
--data '{
  "externalCustomerId": "testCustomer",
  "products": ["BALANCES", "OWNERS", "IDENTIFIERS", "TRANSACTIONS", "INVESTMENT_HOLDINGS", "INVESTMENT_TRANSACTIONS"],
  "regions": ["US", "CA"],
  "institutionSearchString": "Fidelity"
}'
`, cfg.PublicURL, firstKey)
	fmt.Fprintln(w)
}

// sampleEvery runs sample at once and then every 5 s until ctx ends: it
// keeps the gauges that take a query to read fresh.
func sampleEvery(ctx context.Context, sample func(context.Context)) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		sample(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// observeAggregations sets the aggregation gauges every 5 s until ctx
// ends: this process's running and queued jobs, and the backlog every
// replica shares.
func observeAggregations(ctx context.Context, runner *aggregation.Runner, db banklink.AggregationWorkStore, m *metrics.Metrics) {
	sampleEvery(ctx, func(ctx context.Context) {
		if n, err := db.PendingAggregations(ctx); err == nil {
			load := runner.Load()
			m.SetAggregations(load.Running, load.Queued, n)
		}
	})
}
