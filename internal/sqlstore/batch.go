package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"

	"banklink"
)

// batcher is group commit for SQLite. SQLite has one writer and every
// commit appends frames to the WAL with a write(2) per page, so the commit
// dominates a small transaction. The batcher runs the write transactions
// that arrive while a commit is under way in one transaction, each inside
// its own SAVEPOINT so that one failing job rolls back alone, and commits
// them together. A lone writer pays nothing extra; many concurrent
// writers share commits.
//
// Writes come in two lanes. Background writes (banklink.Background: an
// aggregation's) never share a transaction with interactive ones, and run
// one per transaction; when both lanes wait, they alternate, one
// background transaction after each interactive batch. So a request
// someone waits for is held behind at most one background transaction,
// which the aggregation keeps short (chunked.go), and background work
// still gets at least every other turn of the writer.
//
// A best-effort write (banklink.BestEffort: the activity log, the funnel)
// joins the interactive lane but its caller does not wait for the commit
// (later); a read of what such writes store calls flush first, which waits
// only while some are queued. A widget step used to make three or four
// writes in a row, each of which could wait for a background transaction;
// now it waits for the one that matters.
type batcher struct {
	db *sql.DB
	// Savepoint statements, prepared once: parsing them per job would cost
	// more than the savepoints themselves.
	savepoint, release, rollbackTo *sql.Stmt
	jobs, bg                       chan *job
	done                           chan struct{}
	wg                             sync.WaitGroup

	mu     sync.RWMutex
	closed bool

	// unanswered counts the best-effort jobs queued and not yet committed
	// or rolled back.
	unanswered atomic.Int64
}

type job struct {
	ctx context.Context
	fn  func(*sql.Tx) error
	// answer receives the job's outcome once its transaction is over.
	answer func(error)
}

// maxBatch bounds the jobs in one commit so that one slow batch does not
// hold the others' answers for long.
const maxBatch = 64

func newBatcher(db *sql.DB) (*batcher, error) {
	b := &batcher{db: db, jobs: make(chan *job, 1024), bg: make(chan *job, 1024), done: make(chan struct{})}
	var err error
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{{&b.savepoint, "SAVEPOINT job"}, {&b.release, "RELEASE job"}, {&b.rollbackTo, "ROLLBACK TO job"}} {
		if *p.dst, err = db.Prepare(p.sql); err != nil {
			return nil, err
		}
	}
	b.wg.Go(b.run)
	return b, nil
}

func (b *batcher) do(ctx context.Context, fn func(*sql.Tx) error) error {
	errc := make(chan error, 1)
	j := &job{ctx: ctx, fn: fn, answer: func(err error) { errc <- err }}
	lane := b.jobs
	if banklink.IsBackground(ctx) {
		lane = b.bg
	}
	if err := b.enqueue(ctx, lane, j); err != nil {
		return err
	}
	// The job is committed or rolled back by the batcher whatever ctx does
	// now; waiting for its answer keeps "returned nil" meaning "durable".
	return <-errc
}

// later queues fn in the interactive lane and returns without waiting for
// it; report gets its outcome. Jobs of one lane commit in the order they
// were queued, so a write queued after fn (do or later) commits after it.
func (b *batcher) later(ctx context.Context, fn func(*sql.Tx) error, report func(error)) {
	b.unanswered.Add(1)
	j := &job{ctx: ctx, fn: fn, answer: func(err error) {
		b.unanswered.Add(-1)
		report(err)
	}}
	if err := b.enqueue(ctx, b.jobs, j); err != nil {
		j.answer(err)
	}
}

// flush waits until every best-effort job queued before it is answered.
// With none queued (a quiet store, or a read that comes after them) it
// costs nothing; otherwise it queues an empty job behind them.
func (b *batcher) flush(ctx context.Context) error {
	if b.unanswered.Load() == 0 {
		return nil
	}
	return b.do(ctx, func(*sql.Tx) error { return nil })
}

// enqueue puts j in lane under the read lock: close takes the write lock
// before it drains, so no job can slip in after the drain and wait
// forever.
func (b *batcher) enqueue(ctx context.Context, lane chan *job, j *job) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return sql.ErrConnDone
	}
	select {
	case lane <- j:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *batcher) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	close(b.done)
	b.wg.Wait()
	// Answer whatever was queued when the loop stopped.
	for {
		select {
		case j := <-b.jobs:
			j.answer(sql.ErrConnDone)
			continue
		case j := <-b.bg:
			j.answer(sql.ErrConnDone)
			continue
		default:
		}
		break
	}
	for _, st := range []*sql.Stmt{b.savepoint, b.release, b.rollbackTo} {
		st.Close()
	}
}

func (b *batcher) run() {
	// bgTurn: the background lane goes next if it has a job waiting.
	bgTurn := false
	for {
		var first *job
		if bgTurn {
			select {
			case j := <-b.bg:
				b.commit([]*job{j})
				bgTurn = false
				continue
			default:
			}
		}
		select {
		case first = <-b.jobs:
		default:
			// Nothing interactive waiting: take whichever comes first.
			select {
			case first = <-b.jobs:
			case j := <-b.bg:
				b.commit([]*job{j})
				continue
			case <-b.done:
				return
			}
		}
		batch := []*job{first}
	drain:
		for len(batch) < maxBatch {
			select {
			case j := <-b.jobs:
				batch = append(batch, j)
			default:
				break drain
			}
		}
		b.commit(batch)
		bgTurn = true
	}
}

func (b *batcher) commit(batch []*job) {
	tx, err := b.db.BeginTx(context.Background(), nil)
	if err != nil {
		for _, j := range batch {
			j.answer(err)
		}
		return
	}
	results := make([]error, len(batch))
	if len(batch) == 1 {
		// A lone job needs no savepoint: its failure rolls back the whole
		// transaction, which is only its own.
		j := batch[0]
		if err := j.ctx.Err(); err != nil {
			tx.Rollback()
			j.answer(err)
			return
		}
		if err := j.fn(tx); err != nil {
			tx.Rollback()
			j.answer(err)
			return
		}
		j.answer(tx.Commit())
		return
	}
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if _, err := tx.Stmt(b.savepoint).Exec(); err != nil {
			results[i] = err
			continue
		}
		if err := j.fn(tx); err != nil {
			results[i] = err
			if _, rerr := tx.Stmt(b.rollbackTo).Exec(); rerr != nil {
				// The transaction is unusable: nothing in it commits.
				tx.Rollback()
				for k, j := range batch {
					if k == i {
						j.answer(results[i])
					} else {
						j.answer(fmt.Errorf("batched transaction aborted: %w", rerr))
					}
				}
				return
			}
		}
		if _, err := tx.Stmt(b.release).Exec(); err != nil && results[i] == nil {
			results[i] = err
		}
	}
	if err := tx.Commit(); err != nil {
		for i := range results {
			if results[i] == nil {
				results[i] = err
			}
		}
	}
	for i, j := range batch {
		j.answer(results[i])
	}
}
