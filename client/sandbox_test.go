package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"banklink/client"
	"banklink/webhook"
)

// TestMain runs the real banklink binary for the tests and the example of
// this package, as an app would reach it: on a loopback port, in a fresh
// data directory, allowed to deliver sandbox webhooks to 127.0.0.1. Its
// URL and first sandbox key are in BANKLINK_URL and BANKLINK_KEY.
func TestMain(m *testing.M) {
	stop, err := startServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	stop()
	os.Exit(code)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var (
	urlRE = regexp.MustCompile(`banklink is listening on (http://\S+)`)
	keyRE = regexp.MustCompile(`(?m)^\s+(bl_sandbox_\S+)$`)
)

func startServer() (stop func(), err error) {
	dir, err := os.MkdirTemp("", "banklink-client-test")
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(dir, "banklink")
	if out, err := exec.Command("go", "build", "-o", bin, "banklink/cmd/banklink").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build: %v\n%s", err, out)
	}
	out := &syncBuffer{}
	cmd := exec.Command(bin, "serve", "-addr", "127.0.0.1:0", "-data-dir", filepath.Join(dir, "data"),
		"-directory-size", "300", "-log-level", "warn", "-webhook-private-targets", "sandbox",
		// A refresh soon after linking is refused with 429 and
		// Retry-After for this long, which the client waits out.
		"-refresh-interval", "2s")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		os.RemoveAll(dir)
	}
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		u, k := urlRE.FindStringSubmatch(out.String()), keyRE.FindStringSubmatch(out.String())
		if u != nil && k != nil {
			os.Setenv("BANKLINK_URL", u[1])
			os.Setenv("BANKLINK_KEY", k[1])
			return stop, nil
		}
	}
	stop()
	return nil, fmt.Errorf("banklink did not start:\n%s", out)
}

// Example_sandboxFlow links the sandbox bank the way an app's backend
// would, with the widget driven through its API instead of a browser:
// start, link, wait for the signed data webhook, page every transaction,
// hand an account to a payment processor, read the widget session's
// activity log, refresh, delete.
func Example_sandboxFlow() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := client.New(os.Getenv("BANKLINK_URL"), os.Getenv("BANKLINK_KEY"))

	// A receiver for the webhooks, checking each signature.
	events := make(chan webhook.Envelope, 100)
	var secret atomic.Value
	var hookURL string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := secret.Load().(string) // until it is known, refuse: banklink retries
		body, err := webhook.VerifyRequest(r, []string{s}, hookURL, webhook.Options{})
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var ev webhook.Envelope
		json.Unmarshal(body, &ev)
		events <- ev
	}))
	defer hook.Close()
	hookURL = hook.URL + "/webhooks"
	profile, err := c.CreateWebhookProfile(ctx, client.WebhookProfileInput{URL: hookURL})
	if err != nil {
		log.Fatal(err)
	}
	secret.Store(profile.Secret)
	defer c.DeleteWebhookProfile(ctx, profile.ID)

	// 1. The app's backend starts a connection.
	start, err := c.ConnectStart(ctx, client.ConnectStartRequest{
		ExternalCustomerID: "example-customer",
		Products:           []client.Product{client.ProductBalances, client.ProductTransactions},
	})
	if err != nil {
		log.Fatal(err)
	}

	// 2. The customer links Sandbox Bank in the widget.
	w := c.Widget(start.ConnectToken)
	if _, err := w.Select(ctx, "Vc1FabzHnWE7LZuwXhuC6d"); err != nil {
		log.Fatal(err)
	}
	s, err := w.Login(ctx, map[string]string{"username": "user_good", "password": "pass_good"})
	if err != nil {
		log.Fatal(err)
	}
	var ids []string
	for _, a := range s.Accounts {
		ids = append(ids, a.ID)
	}
	done, err := w.Complete(ctx, ids, true)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("linked %s, connection %v\n", done.Result.InstitutionName, done.Result.ConnectionID == start.ID)

	// 3. Data is there when the transactions webhooks say so: recent
	// transactions first, then the history.
	added := waitFor(ctx, events, start.ID, webhook.TransactionsAggregated, webhook.HistoricalTransactionsAggregated)
	fmt.Println("signed webhooks received")

	// 4. Page through every transaction, 25 at a time.
	n := 0
	for _, err := range c.Transactions(ctx, client.TransactionFilter{ConnectionID: start.ID, Page: client.Page{Limit: 25}}) {
		if err != nil {
			log.Fatal(err)
		}
		n++
	}
	fmt.Println("paged every transaction:", n > 25 && n == added)

	// 5. Hand the first account to a payment processor (Dwolla): the
	// token goes to the processor, which reads the account through it.
	for a, err := range c.Accounts(ctx, client.AccountFilter{ConnectionID: start.ID}) {
		if err != nil {
			log.Fatal(err)
		}
		tok, err := c.CreateProcessorToken(ctx, a.ID, "DWOLLA", "")
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("processor token for", tok.Processor, "via", tok.ServiceProvider)
		break
	}

	// 6. What the customer did in the widget, step by step. An app
	// following the log keeps the last key and asks for what came after.
	var last string
	for a, err := range c.Activity(ctx, client.ActivityFilter{ConnectionID: start.ID}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("activity:", a.Action)
		last = a.Key
	}
	newer := 0
	for _, err := range c.Activity(ctx, client.ActivityFilter{ConnectionID: start.ID, Page: client.Page{After: last}}) {
		if err != nil {
			log.Fatal(err)
		}
		newer++
	}
	fmt.Println("activity after the last key:", newer)

	// 7. Refresh, and wait for the data again.
	if _, err := c.RefreshConnection(ctx, start.ID, nil); err != nil {
		log.Fatal(err)
	}
	waitFor(ctx, events, start.ID, webhook.TransactionsAggregated)
	fmt.Println("refreshed")

	// 8. Delete.
	conn, err := c.DeleteConnection(ctx, start.ID)
	if err != nil {
		log.Fatal(err)
	}
	waitFor(ctx, events, start.ID, webhook.ConnectionDeleted)
	fmt.Println("connection", conn.Status)
	_, err = c.DeleteConnection(ctx, start.ID)
	fmt.Println("deleting again is a conflict:", client.IsConflict(err))

	// Output:
	// linked Sandbox Bank, connection true
	// signed webhooks received
	// paged every transaction: true
	// processor token for DWOLLA via SANDBOX
	// activity: INSTITUTION_CONNECTION_INSTITUTION_SELECTED
	// activity: INSTITUTION_CONNECTION_LOGIN_SUCCEEDED
	// activity: INSTITUTION_CONNECTION_CONSENT_GIVEN
	// activity: INSTITUTION_CONNECTION_COMPLETED
	// activity after the last key: 0
	// refreshed
	// connection DELETED
	// deleting again is a conflict: true
}

// waitFor waits until events of each of types about connection id have
// come, and returns how many transactions they say were added.
func waitFor(ctx context.Context, events <-chan webhook.Envelope, id string, types ...webhook.EventType) int {
	n := 0
	for len(types) > 0 {
		select {
		case ev := <-events:
			var p webhook.Payload
			json.Unmarshal(ev.Payload, &p)
			i := slices.Index(types, ev.EventType)
			if i < 0 || p.ConnectionID != id {
				continue
			}
			types = slices.Delete(types, i, i+1)
			for _, a := range p.FinancialAccounts {
				if a.NumTransactionsAdded != nil {
					n += *a.NumTransactionsAdded
				}
			}
		case <-ctx.Done():
			log.Fatalf("no %s webhook: %v", types, ctx.Err())
		}
	}
	return n
}
