package webhooks_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"banklink"
	"banklink/internal/webhooks"
	"banklink/internal/webhookurl"
	"banklink/webhook"
)

// BenchmarkOutbox measures events delivered per second through the
// outbox (emit, claim, sign, POST to a loopback receiver, record) against
// the baseline of signing and POSTing the same bodies straight from
// memory with the same concurrency.
func BenchmarkOutbox(b *testing.B) {
	var hits atomic.Int64
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		hits.Add(1)
	}))
	defer rcv.Close()
	const workers = 16

	b.Run("baseline-direct", func(b *testing.B) {
		ev := banklink.NewEvent(context.Background(), webhook.AccountsUpdated, webhook.Payload{ConnectionID: "c"})
		body, _ := ev.Envelope("p", "2022-11-10")
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
		b.ResetTimer()
		var wg sync.WaitGroup
		var next atomic.Int64
		for range workers {
			wg.Go(func() {
				for next.Add(1) <= int64(b.N) {
					ts := time.Now().UTC().Format(webhook.TimestampFormat)
					req, _ := http.NewRequest("POST", rcv.URL, bytes.NewReader(body))
					req.Header.Set(webhook.SignatureHeader, webhook.Sign("secret", ts, rcv.URL, body))
					req.Header.Set(webhook.TimestampHeader, ts)
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
		wg.Wait()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run("outbox-"+dialect, func(b *testing.B) {
			f := newFixtureOn(b, dialect, rcv.URL, local)
			f.store.Now = time.Now
			// Events of 64 connections: per-connection ordering holds back
			// at most one delivery per connection.
			for i := range b.N {
				e := banklink.NewEvent(context.Background(), webhook.AccountsUpdated, webhook.Payload{ConnectionID: string(rune('A' + i%64))})
				if err := f.store.EmitEvents(context.Background(), f.scope, e); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			ctx, cancel := context.WithCancel(context.Background())
			d := webhooks.New(f.store, webhooks.Config{Workers: workers, Poll: 5 * time.Millisecond, Private: webhookurl.PrivateSandbox}, nil)
			d.Kicks = f.store.Kicks()
			done := make(chan struct{})
			go func() { d.Run(ctx); close(done) }()
			for {
				n, err := f.store.PendingDeliveries(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				if n == 0 {
					break
				}
				time.Sleep(2 * time.Millisecond)
			}
			b.StopTimer()
			cancel()
			<-done
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
