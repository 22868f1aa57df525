// The open loop (-mix -rate R): requests arrive at a fixed mean rate,
// whatever the service's answers, as people and app servers do.
//
// The closed loop (-mix alone) keeps 16 clients busy: each sends its next
// request when the previous one is answered, so the service is always
// saturated and, by Little's law, the mean latency is 16 / throughput
// whatever the code does with background work (about 20 ms at 800 req/s,
// already several times the baseline's p99). An open loop at a rate the
// machine can sustain asks the question issue 21 asks instead: while
// aggregations and webhook deliveries run, does a person waiting for a
// widget step wait for them? Each arrival is timed from when it was due,
// not from when a busy dispatcher got round to it, so a stall shows in
// the latencies rather than as fewer requests.
package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// openRun is what an open-loop phase saw besides the latencies.
type openRun struct {
	arrivals int64
	// peak is the most operations in flight at once; late counts
	// arrivals the dispatcher sent more than a millisecond after they
	// were due (the machine was too busy to start them on time).
	peak, late int64
	elapsed    time.Duration
}

// arrive runs fn for each arrival of a Poisson process of rate per second
// for d, each in its own goroutine, with its index and the time it was
// due, and returns once every call has returned.
func arrive(rate float64, d time.Duration, seed uint64, fn func(r *rand.Rand, i int, due time.Time)) openRun {
	r := rand.New(rand.NewPCG(seed, 0x6f70656e))
	var run openRun
	var inFlight atomic.Int64
	var wg sync.WaitGroup
	begin := time.Now()
	due := begin
	for i := 0; ; i++ {
		due = due.Add(time.Duration(r.ExpFloat64() / rate * float64(time.Second)))
		if due.Sub(begin) >= d {
			break
		}
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		} else if wait < -time.Millisecond {
			run.late++
		}
		run.arrivals++
		if n := inFlight.Add(1); n > run.peak {
			run.peak = n
		}
		// Each call gets its own generator: rand.Rand is not safe for
		// concurrent use.
		cr, at := rand.New(rand.NewPCG(seed, uint64(i))), due
		wg.Go(func() {
			defer inFlight.Add(-1)
			fn(cr, i, at)
		})
	}
	wg.Wait()
	run.elapsed = time.Since(begin)
	return run
}

// loadOpen runs the mix as an open loop of rate operations per second (a
// widget flow is one operation of four requests) for d.
func (s *mixStack) loadOpen(st *mixStats, rate float64, d time.Duration, tag string) openRun {
	run := arrive(rate, d, uint64(time.Now().UnixNano()), func(r *rand.Rand, i int, due time.Time) {
		// The closed loop's customer pools: 16 "clients" of 500.
		s.one(st, pickOp(r), due, tag, i%16, i/16, r.IntN(1<<30))
	})
	st.elapsed = run.elapsed
	return run
}

// runOpen drives target t (connect/start) as an open loop of rate
// requests per second for d.
func runOpen(t target, rate float64, d time.Duration) (result, openRun) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	var mu sync.Mutex
	var res result
	run := arrive(rate, d, uint64(time.Now().UnixNano()), func(_ *rand.Rand, i int, due time.Time) {
		ok := once(client, t, i%16, i/16)
		lat := time.Since(due)
		mu.Lock()
		defer mu.Unlock()
		res.lat = append(res.lat, lat)
		if !ok {
			res.errors++
		}
	})
	res.elapsed = run.elapsed
	res.requests = len(res.lat)
	return res, run
}

// add sums two phases.
func (o *openRun) add(p openRun) {
	o.arrivals += p.arrivals
	o.peak = max(o.peak, p.peak)
	o.late += p.late
	o.elapsed += p.elapsed
}

func (o openRun) String() string {
	return fmt.Sprintf("%d arrivals in %s (%.0f/s), at most %d in flight, %d started more than 1 ms late",
		o.arrivals, o.elapsed.Round(time.Millisecond), float64(o.arrivals)/o.elapsed.Seconds(), o.peak, o.late)
}
