// Package testenv finds the real services tests need (PostgreSQL,
// Chromium, the providers' official API specs) and decides whether a test runs or skips: on CI (CI=true) a
// missing service fails the test; on a laptop it skips with a message that
// says how to enable it.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultPostgres is tried when BANKLINK_TEST_POSTGRES is unset.
const DefaultPostgres = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// OnCI reports whether the tests run under CI, where nothing may skip.
func OnCI() bool { return os.Getenv("CI") == "true" }

func unavailable(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if OnCI() {
		tb.Fatalf("CI=true but "+format, args...)
		return
	}
	tb.Skipf(format, args...)
}

// PostgresDSN creates a throwaway database on the PostgreSQL server named
// by BANKLINK_TEST_POSTGRES (default DefaultPostgres), drops it when the
// test ends, and returns its DSN.
func PostgresDSN(tb testing.TB) string {
	tb.Helper()
	admin := os.Getenv("BANKLINK_TEST_POSTGRES")
	explicit := admin != ""
	if !explicit {
		admin = DefaultPostgres
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		if explicit {
			tb.Fatalf("BANKLINK_TEST_POSTGRES=%s: %v", admin, err)
		}
		unavailable(tb, "PostgreSQL tests skipped: no server at %s (%v); start PostgreSQL or set BANKLINK_TEST_POSTGRES=postgres://user@host:port/db to enable them", admin, err)
		return ""
	}
	defer conn.Close(ctx)
	var b [6]byte
	rand.Read(b[:])
	name := "banklink_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create test database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			tb.Logf("drop test database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Logf("drop test database %s: %v", name, err)
		}
	})
	cfg, err := pgx.ParseConfig(admin)
	if err != nil {
		tb.Fatalf("parse %s: %v", admin, err)
	}
	return replaceDatabase(admin, cfg.Database, name)
}

// replaceDatabase swaps the database name in a postgres:// URL.
func replaceDatabase(dsn, old, name string) string {
	head, query, _ := strings.Cut(dsn, "?")
	if i := strings.LastIndex(head, "/"); i > len("postgres://") && head[i+1:] == old {
		head = head[:i+1] + name
	} else {
		head = strings.TrimSuffix(head, "/") + "/" + name
	}
	if query != "" {
		return head + "?" + query
	}
	return head
}

// Chromium returns the path of a Chromium binary for browser tests.
func Chromium(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("BANKLINK_TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	unavailable(tb, "browser tests skipped: no chromium on PATH; install it (Debian: apt-get install chromium) or set BANKLINK_TEST_CHROMIUM to enable them")
	return ""
}

// Firefox returns the path of a Firefox binary for browser tests driven
// over WebDriver BiDi (package bidi).
func Firefox(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("BANKLINK_TEST_FIREFOX"); p != "" {
		return p
	}
	for _, name := range []string{"firefox-esr", "firefox"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	unavailable(tb, "Firefox browser tests skipped: no firefox on PATH; install it (Debian: apt-get install firefox-esr) or set BANKLINK_TEST_FIREFOX to enable them")
	return ""
}

// CuttablePostgres creates a throwaway database like PostgresDSN and
// returns a DSN that reaches it through a local TCP forwarder, and cut,
// which stops the forwarder: its port refuses new connections and every
// open one is closed. Tests use it to take a real PostgreSQL away from a
// running store, as an outage or a failover would.
func CuttablePostgres(tb testing.TB) (dsn string, cut func()) {
	tb.Helper()
	direct := PostgresDSN(tb)
	u, err := url.Parse(direct)
	if err != nil || u.Scheme == "" || u.Host == "" {
		tb.Fatalf("cannot put a forwarder before %s: not a postgres:// URL with a host", direct)
	}
	upstream := u.Host
	if u.Port() == "" {
		upstream = net.JoinHostPort(u.Hostname(), "5432")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		done  bool
	)
	track := func(cs ...net.Conn) bool {
		mu.Lock()
		defer mu.Unlock()
		if done {
			return false
		}
		conns = append(conns, cs...)
		return true
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", upstream)
			if err != nil {
				c.Close()
				continue
			}
			if !track(c, up) {
				c.Close()
				up.Close()
				continue
			}
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
	cut = func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		done = true
		for _, c := range conns {
			c.Close()
		}
	}
	tb.Cleanup(cut)
	u.Host = ln.Addr().String()
	return u.String(), cut
}

// SpecsDir is where the providers' official API specs live, relative to
// the directory holding go.mod: beside the repository, as CI's clone and
// the development machines have them (see that folder's README).
const SpecsDir = "../shared/specs"

// SpecFile returns the path of the provider spec name (for example
// "plaid-2020-09-14.yml") in SpecsDir. The tests run in their package's
// directory, so the module root is found by walking up to go.mod.
func SpecFile(tb testing.TB, name string) string {
	tb.Helper()
	root, err := moduleRoot()
	if err != nil {
		tb.Fatalf("provider specs: %v", err)
	}
	path := filepath.Join(root, SpecsDir, name)
	if _, err := os.Stat(path); err != nil {
		unavailable(tb, "provider contract tests skipped: %s not found (%v); put the providers' specs in %s beside the repository to enable them", name, err, filepath.Clean(filepath.Join(root, SpecsDir)))
		return ""
	}
	return path
}

// moduleRoot is the nearest directory at or above the working directory
// that holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Eventually polls cond until it reports true, and fails tb with what if
// it has not within the given time. It starts polling every 10 ms and
// backs off to 250 ms, so a quick condition costs little and a slow one
// does not spin. Every test that waits for something asynchronous (a
// process starting, an aggregation, a delivery) waits through it instead
// of a loop of its own or a fixed sleep.
func Eventually(tb testing.TB, within time.Duration, what string, cond func() bool) {
	tb.Helper()
	if !Poll(within, cond) {
		tb.Fatalf("%s: not within %s", what, within)
	}
}

// Poll is Eventually for callers that explain a failure themselves (a
// browser test shows what the page says): it reports whether cond became
// true within the given time, polling the same way.
func Poll(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	wait := 10 * time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(wait)
		wait = min(wait*2, 250*time.Millisecond)
	}
	return true
}
