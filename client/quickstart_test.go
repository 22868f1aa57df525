package client_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"banklink/client"
)

// Example_quickstart is the Go quick start of docs/clients.md, line for
// line (TestQuickstartDoc keeps the two equal). It waits for a person to
// link a bank, so go test only compiles it; TestQuickstartRuns runs it,
// playing that person.
func Example_quickstart() {
	ctx := context.Background()
	c := client.New(os.Getenv("BANKLINK_URL"), os.Getenv("BANKLINK_KEY"))
	req := client.ConnectStartRequest{ExternalCustomerID: "cust-42", Products: []client.Product{client.ProductTransactions}}
	start, err := c.ConnectStart(ctx, req)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("Open", start.WidgetURL, "log in with user_good / pass_good, then press Enter")
	fmt.Scanln()
	for tx, err := range c.Transactions(ctx, client.TransactionFilter{ConnectionID: start.ID}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(tx.TransactionDate, tx.Amount, tx.Currency, tx.Description)
	}
}

// linkRoutes is the backend of the embed script's quick start in
// docs/clients.md, whose body the doc shows: the two routes its page
// calls.
// TestEmbedQuickstart serves them with the doc's page to Chromium.
func linkRoutes(mux *http.ServeMux, c *client.Client) {
	mux.HandleFunc("POST /api/start-link", func(w http.ResponseWriter, r *http.Request) {
		start, err := c.ConnectStart(r.Context(), client.ConnectStartRequest{ExternalCustomerID: "cust-42"}) // your user's id
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"widgetUrl": start.WidgetURL})
	})
	mux.HandleFunc("POST /api/linked", func(w http.ResponseWriter, r *http.Request) {
		id, _ := io.ReadAll(r.Body) // the connection id, from onSuccess
		for a, err := range c.Accounts(r.Context(), client.AccountFilter{ConnectionID: string(id)}) {
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			fmt.Fprintln(w, a.InstitutionName, a.Name, a.Type, a.TruncatedAccountNumber)
		}
	})
}

// docBlock returns the n-th (from 0) code block in lang of the section
// of docs/clients.md under heading.
func docBlock(t *testing.T, heading, lang string, n int) string {
	t.Helper()
	doc, err := os.ReadFile("../docs/clients.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n## "+heading+"\n")
	if !ok {
		t.Fatalf("docs/clients.md has no section %q", heading)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	blocks := regexp.MustCompile("(?s)```"+lang+"\n(.*?)\n```").FindAllStringSubmatch(section, -1)
	if len(blocks) <= n {
		t.Fatalf("docs/clients.md, %q: no %s block #%d", heading, lang, n+1)
	}
	return blocks[n][1]
}

// funcSource returns the source of function name in quickstart_test.go:
// the whole declaration, and the body between "{\n" and "\n}".
func funcSource(t *testing.T, name string) (decl, body string) {
	t.Helper()
	src, err := os.ReadFile("quickstart_test.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "quickstart_test.go", src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == name {
			off := func(p token.Pos) int { return fset.Position(p).Offset }
			return string(src[off(fn.Pos()):off(fn.End())]), string(src[off(fn.Body.Lbrace)+2 : off(fn.Body.Rbrace)-1])
		}
	}
	t.Fatalf("no func %s in quickstart_test.go", name)
	return "", ""
}

// TestQuickstartDoc checks that the Go code docs/clients.md shows is the
// code of this file, which compiles and which the tests run, and that
// each quick start keeps under 20 lines.
func TestQuickstartDoc(t *testing.T) {
	for _, tc := range []struct {
		name, heading, lang string
		n                   int
		want                func(t *testing.T) string
		example             bool // not a quick start: no line limit
	}{
		{"Go program", "Quick start: Go", "go", 0, func(t *testing.T) string {
			_, body := funcSource(t, "Example_quickstart")
			return "func main() {\n" + body + "\n}"
		}, false},
		{"embed backend", "Quick start: the embed script", "go", 0, func(t *testing.T) string {
			_, body := funcSource(t, "linkRoutes")
			return strings.ReplaceAll("\n"+body, "\n\t", "\n")[1:] // one tab less
		}, false},
		// The pages are served to Chromium straight from the doc.
		{"embed page", "Quick start: the embed script", "html", 0, nil, false},
		{"React page", "Quick start: the embed script", "html", 1, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := docBlock(t, tc.heading, tc.lang, tc.n)
			if tc.want != nil {
				if want := tc.want(t); got != want {
					t.Errorf("docs/clients.md shows\n%s\n--- but quickstart_test.go has\n%s", got, want)
				}
			}
			if n := strings.Count(got, "\n") + 1; n >= 20 && !tc.example {
				t.Errorf("%d lines; the doc promises fewer than 20", n)
			}
		})
	}
}

// TestQuickstartRuns runs Example_quickstart against the real server,
// linking Sandbox Bank through the widget URL it prints, as the reader
// would in a browser, then pressing Enter, and checks that it prints
// the transactions.
func TestQuickstartRuns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, stdout := os.Stdin, os.Stdout
	os.Stdin, os.Stdout = inR, outW
	defer func() { os.Stdin, os.Stdout = stdin, stdout }()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer outW.Close()
		Example_quickstart()
	}()
	defer func() {
		inW.Close() // lets a Scanln still waiting return
		<-done
	}()
	lines := bufio.NewScanner(outR)
	if !lines.Scan() {
		t.Fatal("the quick start printed nothing")
	}
	first := strings.Fields(lines.Text())
	if len(first) < 2 || first[0] != "Open" {
		t.Fatalf("first line %q, want Open <widget URL>", lines.Text())
	}
	u, err := url.Parse(first[1])
	if err != nil {
		t.Fatal(err)
	}

	// The reader, in the widget.
	c := client.New(os.Getenv("BANKLINK_URL"), os.Getenv("BANKLINK_KEY"))
	w := c.Widget(u.Query().Get("connectToken"))
	if _, err := w.Select(ctx, sandboxBank); err != nil {
		t.Fatal(err)
	}
	s, err := w.Login(ctx, map[string]string{"username": "user_good", "password": "pass_good"})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range s.Accounts {
		ids = append(ids, a.ID)
	}
	if _, err := w.Complete(ctx, ids, true); err != nil {
		t.Fatal(err)
	}
	for {
		conn, err := c.Connection(ctx, s.ConnectionID)
		if err != nil {
			t.Fatal(err)
		}
		if conn.SuccessfullyAggregatedAt != nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the connection never aggregated")
		case <-time.After(50 * time.Millisecond):
		}
	}
	fmt.Fprintln(inW)

	txLine := regexp.MustCompile(`^\d{4}-\d\d-\d\d -?\d+(\.\d+)? [A-Z]{3} \S`)
	n := 0
	for lines.Scan() {
		if !txLine.MatchString(lines.Text()) {
			t.Errorf("line %q is not <date> <amount> <currency> <description>", lines.Text())
		}
		n++
	}
	if n == 0 {
		t.Error("the quick start printed no transactions")
	}
}
