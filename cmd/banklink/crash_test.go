package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"banklink/internal/testenv"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds cmd/banklink once per test run: crash tests need a real
// process to SIGKILL.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "banklink-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "banklink")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// process is a "banklink serve" child process.
type process struct {
	cmd      *exec.Cmd
	url, key string
	out      *syncBuffer
	// exited is closed when the process has ended, however it ended.
	exited chan struct{}
}

// startProcess runs the binary with args and environment env and waits
// until it listens.
func startProcess(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	p := &process{out: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(binary(t), append([]string{"serve", "-addr", "127.0.0.1:0", "-directory-size", "300", "-log-level", "warn"}, args...)...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() { p.kill() })
	if !testenv.Poll(60*time.Second, func() bool {
		// The banner ends with the first key, or with how to create one
		// when the database already had keys.
		out := p.out.String()
		k := keyRE.FindStringSubmatch(out)
		if m := urlRE.FindStringSubmatch(out); m != nil && (k != nil || strings.Contains(out, "Create an API key with")) {
			p.url = m[1]
			if k != nil {
				p.key = k[1]
			}
			return true
		}
		return false
	}) {
		t.Fatalf("banklink did not start:\n%s", p.out)
	}
	return p
}

func (p *process) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// waitKilled waits until the process ends and checks that SIGKILL ended
// it (a crash point fired), not an error or a clean exit.
func (p *process) waitKilled(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(within):
		t.Fatalf("the process did not crash within %s:\n%s", within, p.out)
	}
	ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the process ended with %v, want SIGKILL:\n%s", p.cmd.ProcessState, p.out)
	}
}

// api sends a JSON request with key and decodes the answer into out.
func api(t *testing.T, base, key, method, path, body string, out any) int {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	req.Header.Set("Authorization", "BASIC "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := validating(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode
}

// stallingReceiver answers the first ok requests at once and holds every
// later one open until released, so a process can be killed while
// deliveries are in flight.
type stallingReceiver struct {
	*httptest.Server
	ok       int64
	answered atomic.Int64
	stalled  atomic.Int64
	release  chan struct{}
	mu       sync.Mutex
	seen     map[string]int
}

func newStallingReceiver(t *testing.T, ok int64) *stallingReceiver {
	r := &stallingReceiver{ok: ok, release: make(chan struct{}), seen: map[string]int{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var env struct{ EventID string }
		json.Unmarshal(body, &env)
		if r.answered.Add(1) > r.ok {
			r.stalled.Add(1)
			select {
			case <-r.release:
			case <-req.Context().Done():
				return // the sender died: this attempt never completed
			}
		}
		r.mu.Lock()
		r.seen[env.EventID]++
		r.mu.Unlock()
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *stallingReceiver) received(ids []string) (missing int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		if r.seen[id] == 0 {
			missing++
		}
	}
	return missing
}

// TestCrashLosesNoEvent SIGKILLs banklink while webhook deliveries are in
// flight, restarts it on the same database, and checks that every event
// emitted before the crash reaches the receiver at least once.
func TestCrashLosesNoEvent(t *testing.T) {
	dir := t.TempDir()
	env := []string{"BANKLINK_WEBHOOK_TIMEOUT=1s", "BANKLINK_WEBHOOK_WORKERS=4", "BANKLINK_WEBHOOK_PRIVATE_TARGETS=sandbox"} // loopback receivers
	p := startProcess(t, env, "-data-dir", dir)
	rcv := newStallingReceiver(t, 5)
	if status := api(t, p.url, p.key, "POST", "/webhooks/profiles", fmt.Sprintf(`{"url":%q}`, rcv.URL+"/hooks"), nil); status != 201 {
		t.Fatalf("create profile: %d", status)
	}
	const n = 40
	var ids []string
	for range n {
		var ev struct{ EventID string }
		if status := api(t, p.url, p.key, "POST", "/webhooks/test", "", &ev); status != 201 {
			t.Fatalf("test event: %d", status)
		}
		ids = append(ids, ev.EventID)
	}
	// Wait until deliveries are stuck in flight, then kill -9.
	testenv.Eventually(t, 20*time.Second, "a delivery in flight", func() bool { return rcv.stalled.Load() > 0 })
	p.kill()
	before := n - rcv.received(ids)
	t.Logf("killed with %d of %d events received and %d attempts in flight", before, n, rcv.stalled.Load())
	if before == n {
		t.Fatal("every event was delivered before the crash; the test proves nothing")
	}
	close(rcv.release)

	again := startProcess(t, env, "-data-dir", dir)
	waitReceived(t, rcv, ids, 40*time.Second)
	// The event log agrees: every delivery is DELIVERED.
	var page struct {
		Events []struct{ EventID string }
	}
	api(t, again.url, p.key, "GET", "/webhooks/events?limit=100", "", &page)
	if len(page.Events) != n {
		t.Fatalf("event log has %d events, want %d", len(page.Events), n)
	}
	for _, e := range page.Events {
		testenv.Eventually(t, 10*time.Second, "event "+e.EventID+" DELIVERED once", func() bool {
			var detail struct{ Deliveries []struct{ Status string } }
			api(t, again.url, p.key, "GET", "/webhooks/events/"+e.EventID, "", &detail)
			return len(detail.Deliveries) == 1 && detail.Deliveries[0].Status == "DELIVERED"
		})
	}
}
