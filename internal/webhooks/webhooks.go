// Package webhooks delivers the event outbox: workers lease due
// deliveries from the store, sign and POST them, and record each attempt,
// retrying on Meld's schedule. Any number of workers in any number of
// replicas may run at once; the store's leases keep them apart.
package webhooks

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"banklink"
	"banklink/internal/webhookurl"
	"banklink/webhook"
)

// ResponseLimit is how much of a receiver's answer is read; the rest is
// dropped so a hostile receiver cannot stream forever.
const ResponseLimit = 64 << 10

// responseExcerpt is how much of it the attempt log keeps.
const responseExcerpt = 512

// Config tunes a Deliverer.
type Config struct {
	// Workers is how many deliveries run at once (default 8).
	Workers int
	// Timeout bounds one attempt (default DeliverLimit, Meld's 10 s).
	Timeout time.Duration
	// Poll is how often idle workers look for due deliveries (default
	// 500 ms); emits in this process wake them at once.
	Poll time.Duration
	// Private decides who may deliver to internal addresses (default
	// none).
	Private webhookurl.PrivateTargets
	// TLS configures HTTPS to receivers (nil: system roots).
	TLS *tls.Config
}

// Deliverer runs the delivery workers of one process.
type Deliverer struct {
	Store banklink.DeliveryStore
	Log   *slog.Logger
	// Now is the clock; tests replace it to walk the retry schedule.
	Now func() time.Time
	// Kicks, when set, wakes idle workers (sqlstore.DB.Kicks).
	Kicks <-chan struct{}
	// Observe, when set, is told each attempt's outcome ("delivered",
	// "retry", "failed") and latency (metrics).
	Observe func(outcome string, d time.Duration)

	cfg             Config
	owner           string
	guarded, direct *http.Client
}

// New returns a Deliverer whose leases carry a fresh owner id.
func New(store banklink.DeliveryStore, cfg Config, log *slog.Logger) *Deliverer {
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DeliverLimit
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 500 * time.Millisecond
	}
	if cfg.Private == "" {
		cfg.Private = webhookurl.PrivateNone
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Deliverer{Store: store, Log: log, Now: time.Now, cfg: cfg, owner: "w_" + banklink.NewID(),
		guarded: newClient(cfg, true), direct: newClient(cfg, false)}
}

// Owner is the id this process's leases carry.
func (d *Deliverer) Owner() string { return d.owner }

// Lease is how long a claimed delivery stays reserved: longer than an
// attempt can take, so a live worker never loses its lease, and short
// enough that a crashed worker's deliveries are soon taken over.
func (d *Deliverer) Lease() time.Duration { return 2*d.cfg.Timeout + time.Second }

func newClient(cfg Config, guard bool) *http.Client {
	dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}
	if guard {
		dialer.Control = webhookurl.GuardControl
	}
	tr := &http.Transport{
		// Never through a proxy: the guard must see the real target.
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       cfg.TLS,
		TLSHandshakeTimeout:   cfg.Timeout,
		ResponseHeaderTimeout: cfg.Timeout,
		MaxIdleConnsPerHost:   cfg.Workers,
		IdleConnTimeout:       90 * time.Second,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   cfg.Timeout,
		// A redirect is a failed delivery: following it would send a
		// signed event somewhere the app never configured.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// finished is an attempt waiting to be recorded.
type finished struct {
	id string
	o  banklink.DeliveryOutcome
}

// record writes finished attempts in batches until results is closed.
func (d *Deliverer) record(results <-chan finished) {
	for f := range results {
		batch := map[string]banklink.DeliveryOutcome{f.id: f.o}
	drain:
		for len(batch) < 128 {
			select {
			case f, ok := <-results:
				if !ok {
					break drain
				}
				batch[f.id] = f.o
			default:
				break drain
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		lost, err := d.Store.FinishDeliveries(ctx, d.owner, batch)
		cancel()
		if err != nil {
			// The database is unreachable: the deliveries stay leased
			// and pending and are tried again after the lease, which
			// at-least-once allows.
			d.Log.Warn("record webhook attempts", slog.Int("attempts", len(batch)), slog.Any("err", err))
		}
		for _, id := range lost {
			d.Log.Warn("webhook lease lost before its attempt was recorded", slog.String("delivery_id", id))
		}
	}
}

// Run delivers until ctx ends, then lets in-flight attempts finish, records
// them and gives back its leases (including those claimed but not yet
// started).
//
// Claims prefetch: a claim is a commit, so the dispatcher claims a batch
// whenever half the queue is free instead of one delivery per free
// worker. A queued delivery waits at most one attempt (Timeout) before a
// worker takes it, well inside its lease (2 × Timeout + 1 s).
func (d *Deliverer) Run(ctx context.Context) {
	results := make(chan finished, 2*d.cfg.Workers)
	recorded := make(chan struct{})
	go func() { defer close(recorded); d.record(results) }()
	jobs := make(chan *banklink.Delivery, d.cfg.Workers)
	done := make(chan struct{}, 1)
	var wg sync.WaitGroup
	for range d.cfg.Workers {
		wg.Go(func() {
			for del := range jobs {
				if ctx.Err() != nil {
					continue // shutting down: released below, unsent
				}
				id, o := d.deliver(context.WithoutCancel(ctx), del)
				results <- finished{id, o}
				select {
				case done <- struct{}{}:
				default:
				}
			}
		})
	}
	tick := time.NewTicker(d.cfg.Poll)
	defer tick.Stop()
	for ctx.Err() == nil {
		room := cap(jobs) - len(jobs)
		if room >= max(1, d.cfg.Workers/2) {
			list, err := d.Store.ClaimDeliveries(ctx, d.owner, d.Now(), d.Now().Add(d.Lease()), room)
			if err != nil && ctx.Err() == nil {
				d.Log.Warn("claim webhook deliveries", slog.Any("err", err))
			}
			for _, del := range list {
				jobs <- del // only this loop sends, and there is room
			}
			if len(list) == room {
				// More are probably due: claim again once workers have
				// made room.
				select {
				case <-ctx.Done():
				case <-done:
				}
				continue
			}
		}
		select {
		case <-ctx.Done():
		case <-d.Kicks:
		case <-tick.C:
		case <-done:
		}
	}
	close(jobs)
	wg.Wait()
	close(results)
	<-recorded
	rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.Store.ReleaseDeliveries(rctx, d.owner); err != nil {
		d.Log.Warn("release webhook leases", slog.Any("err", err))
	}
}

// DeliverDue claims what is due at Now and delivers it before returning
// (tests walking a schedule with an injected clock; the CLI's one-shot
// flush). It returns how many attempts it made.
func (d *Deliverer) DeliverDue(ctx context.Context) (int, error) {
	total := 0
	for {
		list, err := d.Store.ClaimDeliveries(ctx, d.owner, d.Now(), d.Now().Add(d.Lease()), d.cfg.Workers)
		if err != nil || len(list) == 0 {
			return total, err
		}
		var wg sync.WaitGroup
		for _, del := range list {
			wg.Go(func() {
				id, o := d.deliver(ctx, del)
				if err := d.Store.FinishDelivery(ctx, d.owner, id, o); err != nil {
					d.Log.Warn("record webhook attempt", slog.String("delivery_id", id), slog.Any("err", err))
				}
			})
		}
		wg.Wait()
		total += len(list)
	}
}

// deliver makes one attempt and returns the outcome to record.
func (d *Deliverer) deliver(ctx context.Context, del *banklink.Delivery) (string, banklink.DeliveryOutcome) {
	a := d.attempt(ctx, del)
	o := banklink.DeliveryOutcome{Attempt: a, Delivered: a.Reason == ""}
	outcome := "delivered"
	if !o.Delivered {
		first := a.At
		if del.FirstAttemptAt != nil {
			first = *del.FirstAttemptAt
		}
		o.NextAttemptAt = NextAttempt(first, a.At, a.Attempt)
		outcome = "retry"
		if o.NextAttemptAt == nil {
			outcome = "failed"
		}
	}
	if d.Observe != nil {
		d.Observe(outcome, a.Latency)
	}
	level := slog.LevelInfo
	if !o.Delivered {
		level = slog.LevelWarn
	}
	d.Log.Log(ctx, level, "webhook attempt", slog.String("event_id", del.EventID), slog.String("event_type", string(del.Event.Type)),
		slog.String("profile_id", del.ProfileID), slog.Int("attempt", a.Attempt), slog.Int("status", a.StatusCode),
		slog.String("reason", a.Reason), slog.String("outcome", outcome), slog.Float64("latency_ms", float64(a.Latency.Microseconds())/1000))
	return del.ID, o
}

// attempt sends the delivery once.
func (d *Deliverer) attempt(ctx context.Context, del *banklink.Delivery) banklink.DeliveryAttempt {
	p := del.Profile
	now := d.Now().UTC()
	a := banklink.DeliveryAttempt{Attempt: del.Attempts + 1, At: now, URL: p.URL}
	body, err := del.Event.Envelope(p.ID, p.Version)
	if err != nil {
		a.Reason = "Internal error"
		a.Response = err.Error()
		return a
	}
	ts := now.Format(webhook.TimestampFormat)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.URL, bytes.NewReader(body))
	if err != nil {
		a.Reason, a.Response = "Could not connect", err.Error()
		return a
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "banklink-webhooks/1")
	req.Header.Set(webhook.SignatureHeader, webhook.SignatureHeaderValue(p.Secrets(now), ts, p.URL, body))
	req.Header.Set(webhook.TimestampHeader, ts)
	if del.Attempts > 0 {
		req.Header.Set(webhook.RetryCountHeader, strconv.Itoa(del.Attempts))
		req.Header.Set(webhook.RetryReason, del.LastReason)
	}
	client, private := d.guarded, d.cfg.Private.Allows(p.Environment)
	var remote net.Addr
	if private {
		// Deliveries that may reach internal addresses must not make
		// banklink a scanner of its own network: the log keeps no body
		// from an internal address and one reason for every connection
		// failure (refused, unroutable, timeout, unknown name alike).
		client = d.direct
		req = req.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			GotConn: func(ci httptrace.GotConnInfo) { remote = ci.Conn.RemoteAddr() },
		}))
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		a.Latency = time.Since(start)
		if private {
			d.Log.Info("webhook attempt could not connect", slog.String("profile_id", p.ID), slog.String("err", err.Error()))
			a.Reason = "Could not connect"
			return a
		}
		a.Reason, a.Response = failureReason(err), truncate(err.Error(), responseExcerpt)
		if b, ok := errors.AsType[*webhookurl.ErrBlocked](err); ok {
			// Without the URL and dialled address the error carries:
			// what an internal name resolves to is not the caller's to
			// learn.
			a.Response = b.Error()
		}
		return a
	}
	excerpt := make([]byte, responseExcerpt)
	n, _ := io.ReadFull(resp.Body, excerpt)
	io.Copy(io.Discard, io.LimitReader(resp.Body, ResponseLimit))
	resp.Body.Close()
	a.Latency = time.Since(start)
	a.StatusCode, a.Response = resp.StatusCode, string(bytes.ToValidUTF8(excerpt[:n], []byte("?")))
	if private && (remote == nil || internalAddr(remote)) {
		a.Response = InternalResponse
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		a.Reason = fmt.Sprintf("HTTP error: %d", resp.StatusCode)
	}
	return a
}

// InternalResponse is what the attempt log shows instead of the body of
// a receiver at an internal address.
const InternalResponse = "(not kept: the receiver is at an internal address)"

// internalAddr reports whether a connection's remote address is internal.
func internalAddr(a net.Addr) bool {
	ap, err := netip.ParseAddrPort(a.String())
	return err != nil || webhookurl.Internal(ap.Addr())
}

// failureReason names a transport error the way Meld's Meld-Retry-Reason
// does.
func failureReason(err error) string {
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return "Timeout"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "Timeout"
	}
	return "Could not connect"
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
