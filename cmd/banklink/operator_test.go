package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestOperatorCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "op.db")
	run := func(in string, env map[string]string, args ...string) (string, error) {
		t.Helper()
		saved := stdin
		stdin = strings.NewReader(in)
		defer func() { stdin = saved }()
		var out, errOut bytes.Buffer
		err := Run(context.Background(), append(args, "-database", db), &out, &errOut, func(k string) string { return env[k] })
		return out.String() + errOut.String(), err
	}
	const pw1, pw2 = "first operator password", "second one, from stdin"
	out, err := run("", map[string]string{"BANKLINK_OPERATOR_PASSWORD": pw1}, "operator", "create", "-email", " Ops@Example.com ")
	if err != nil || !strings.Contains(out, "created operator ops@example.com") {
		t.Fatalf("create from the environment: %v %s", err, out)
	}
	out, err = run(pw2+"\n", nil, "operator", "create", "--email", "second@example.com")
	if err != nil {
		t.Fatalf("create from stdin: %v %s", err, out)
	}
	for _, tc := range []struct {
		name, in string
		env      map[string]string
		args     []string
		want     string
	}{
		{"no email", pw1 + "\n", nil, []string{"operator", "create"}, "-email is required"},
		{"bad email", pw1 + "\n", nil, []string{"operator", "create", "-email", "not-an-email"}, "not an email"},
		{"short password", "short\n", nil, []string{"operator", "create", "-email", "x@example.com"}, "at least 12"},
		{"no password", "", nil, []string{"operator", "create", "-email", "x@example.com"}, "BANKLINK_OPERATOR_PASSWORD"},
		{"taken email", "", map[string]string{"BANKLINK_OPERATOR_PASSWORD": pw1}, []string{"operator", "create", "-email", "OPS@example.com"}, "already exists"},
		{"unknown subcommand", "", nil, []string{"operator", "delete"}, "want create or list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := run(tc.in, tc.env, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v (%s), want an error with %q", err, out, tc.want)
			}
		})
	}
	out, err = run("", nil, "operator", "list")
	if err != nil || !strings.Contains(out, "ops@example.com") || !strings.Contains(out, "second@example.com") {
		t.Fatalf("list: %v %s", err, out)
	}
	if strings.Contains(out, pw1) || strings.Contains(out, pw2) {
		t.Error("a password was printed")
	}
	if _, err := run("", nil, "operator", "create", "-email", "y@example.com", "-password", pw1); err == nil {
		t.Error("a -password flag was accepted")
	}
}

var loginTokenRE = regexp.MustCompile(`name="login_csrf" value="([^"]+)"`)

// TestServeDashboard: serve wires the dashboard; an empty database gets
// no operator, only instructions; an operator made with the CLI signs in.
func TestServeDashboard(t *testing.T) {
	dir := t.TempDir()
	srv := serveForTest(t, "-data-dir", dir)
	if !strings.Contains(srv.stdout.String(), srv.url+"/dashboard") || !strings.Contains(srv.stdout.String(), "banklink operator create --email") {
		t.Errorf("banner does not explain the dashboard:\n%s", srv.stdout)
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	db := filepath.Join(dir, "banklink.db")
	err := Run(context.Background(), []string{"operator", "create", "-email", "ops@example.com", "-database", db}, &out, io.Discard,
		env(map[string]string{"BANKLINK_OPERATOR_PASSWORD": "a long enough password"}))
	if err != nil {
		t.Fatal(err)
	}
	srv = serveForTest(t, "-data-dir", dir)
	if strings.Contains(srv.stdout.String(), "No operator can sign in yet") {
		t.Errorf("banner asks for an operator although one exists:\n%s", srv.stdout)
	}

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(srv.url + "/dashboard/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := loginTokenRE.FindStringSubmatch(string(page))
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("sign-in page: %d", resp.StatusCode)
	}
	form := url.Values{"login_csrf": {m[1]}, "email": {"ops@example.com"}, "password": {"a long enough password"}}
	req, _ := http.NewRequest("POST", srv.url+"/dashboard/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", srv.url)
	for _, c := range resp.Cookies() {
		req.AddCookie(c)
	}
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "banklink_session" {
			session = c
		}
	}
	if resp.StatusCode != http.StatusSeeOther || session == nil {
		t.Fatalf("sign-in: %d, cookie %v", resp.StatusCode, session)
	}
	req, _ = http.NewRequest("GET", srv.url+"/dashboard/sandbox/connections", nil)
	req.AddCookie(session)
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "ops@example.com") {
		t.Errorf("connections page: %d", resp.StatusCode)
	}
}
