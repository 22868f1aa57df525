package fakefinicity

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Login is an institution login: the accounts a customer added at an
// institution in Data Connect.
type Login struct {
	ID            string
	CustomerID    string
	InstitutionID int64
	Accounts      []*Account
	Deleted       bool
	Refreshes     int
}

// Account is one account of a login.
type Account struct {
	ID, Name, Type, Number, Currency string
	Balance                          float64
	Available                        *float64
	// StatusCode is the aggregationStatusCode.
	StatusCode                       int
	Created, AggAttempt, AggSuccess  time.Time
	Routing                          string
	OwnerName, OwnerCity, OwnerEmail string
	Positions                        []Position
	Transactions                     []*Transaction
}

// Position is a holding of an investment account.
type Position struct {
	ID                   int64
	Symbol, SecurityName string
	Units, Price, Value  float64
	CUSIP                string
}

// Transaction is a transaction of an account, in Finicity's sign
// (negative: money out).
type Transaction struct {
	ID                  int64
	Amount              float64
	Status              string // active, pending, shadow
	Description         string
	Category            string
	Date, Posted, Added time.Time
}

type connectRec struct {
	token, customerID, loginID, redirectURI, webhook string
	institutionID                                    int64
	created                                          time.Time
	used, done                                       bool
	session                                          string
}

// generate is POST /connect/v2/generate/lite (fix=false) and
// /connect/v2/generate/fix: a single-use Connect link for the customer at
// the institution (lite) or on the institution login (fix).
func (s *Server) generate(fix bool) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			PartnerID          string `json:"partnerId"`
			CustomerID         string `json:"customerId"`
			InstitutionID      int64  `json:"institutionId"`
			InstitutionLoginID string `json:"institutionLoginId"`
			RedirectURI        string `json:"redirectUri"`
			Webhook            string `json:"webhook"`
		}
		if err := decode(r, &body); err != nil {
			writeError(w, http.StatusBadRequest, "10005", err.Error())
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if body.PartnerID != s.PartnerID {
			writeError(w, http.StatusBadRequest, "10010", "partnerId does not match the Finicity-App-Key.")
			return
		}
		if _, ok := s.customers[body.CustomerID]; !ok {
			writeError(w, http.StatusBadRequest, "14001", "Customer not found.")
			return
		}
		for _, u := range []string{body.RedirectURI, body.Webhook} {
			if u == "" {
				continue
			}
			if p, err := url.Parse(u); err != nil || p.Scheme == "" || p.Host == "" {
				writeError(w, http.StatusBadRequest, "10005", "redirectUri and webhook must be absolute URLs.")
				return
			}
		}
		rec := &connectRec{token: randomToken(), customerID: body.CustomerID, redirectURI: body.RedirectURI, webhook: body.Webhook, created: s.now()}
		if fix {
			l, ok := s.logins[body.InstitutionLoginID]
			if !ok || l.Deleted || l.CustomerID != body.CustomerID {
				writeError(w, http.StatusNotFound, "38007", "Customer does not have any accounts associated with institutionLoginId.")
				return
			}
			rec.loginID, rec.institutionID = l.ID, l.InstitutionID
		} else {
			if _, ok := s.institution(body.InstitutionID); !ok {
				writeError(w, http.StatusBadRequest, "10005", "Institution not found.")
				return
			}
			rec.institutionID = body.InstitutionID
		}
		s.connects[rec.token] = rec
		typ := "lite"
		if fix {
			typ = "fix"
		}
		link := s.URL + "/fake-connect?" + url.Values{"customerId": {body.CustomerID}, "partnerId": {body.PartnerID}, "type": {typ},
			"signature": {rec.token}, "timestamp": {strconv.FormatInt(rec.created.UnixMilli(), 10)},
			"ttl": {strconv.FormatInt(rec.created.Add(ConnectLifetime).UnixMilli(), 10)}}.Encode()
		writeJSON(w, http.StatusOK, map[string]string{"link": link})
	}
}

var connectTemplate = template.Must(template.New("connect").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Data Connect (fake)</title></head>
<body>
<h1>Sign in to {{.Institution}}</h1>
{{if .Message}}<p role="alert">{{.Message}}</p>{{end}}
{{if .Action}}<form method="post" action="{{.Action}}">
<label>Banking userID <input name="username" autocomplete="off"></label>
<label>Banking password <input name="password" type="password"></label>
<button name="action" value="submit" type="submit">Submit</button>
<button name="action" value="cancel" type="submit">Exit</button>
</form>{{end}}
</body></html>`))

func renderPage(w http.ResponseWriter, status int, institution, message, action string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	connectTemplate.Execute(w, map[string]string{"Institution": institution, "Message": message, "Action": action})
}

// Message is what Data Connect posts to the page embedding it (the
// Web SDK's events: {"type": "done", "data": {...}}).
type Message struct {
	Type string         `json:"type"`
	Data map[string]any `json:"data"`
}

var doneTemplate = template.Must(template.New("done").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Data Connect (fake)</title></head>
<body>
<h1>Your accounts at {{.Institution}} are connected</h1>
<script type="application/json" id="connect-message">{{.Message}}</script>
<script>window.parent.postMessage(JSON.parse(document.getElementById("connect-message").textContent), "*");</script>
</body></html>`))

// MessagePattern finds the message the fake Connect page posts, for
// tests that play the embedding page without a browser.
var MessagePattern = regexp.MustCompile(`<script type="application/json" id="connect-message">([^<]*)</script>`)

// connectPage is the fake Data Connect: a link works once and for
// ConnectLifetime; it shows a sign-in form for the institution.
func (s *Server) connectPage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.connects[r.URL.Query().Get("signature")]
	if !ok {
		renderPage(w, http.StatusNotFound, "Finicity", "This link is not valid.", "")
		return
	}
	if rec.used || s.now().Sub(rec.created) > ConnectLifetime {
		renderPage(w, http.StatusGone, "Finicity", "This link has expired.", "")
		return
	}
	rec.used = true
	rec.session = randomToken()
	s.sessions[rec.session] = rec
	in, _ := s.institution(rec.institutionID)
	renderPage(w, http.StatusOK, in.Name, "", "/fake-connect/"+rec.session)
}

// connectSubmit signs in. A wrong password (PasswordBad) stays in
// Connect, which shows why (code 103) and lets the customer try again;
// otherwise the login's accounts are added (or, in a fix session, the
// login is fixed), the "added" webhook is recorded, and Connect ends: it
// redirects to redirectUri when given, else posts "done" to the page
// embedding it. Exit ends it without accounts.
func (s *Server) connectSubmit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		renderPage(w, http.StatusBadRequest, "Finicity", "The form could not be read.", "")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.sessions[r.PathValue("session")]
	if !ok || rec.done {
		renderPage(w, http.StatusGone, "Finicity", "This session has ended.", "")
		return
	}
	in, _ := s.institution(rec.institutionID)
	action := "/fake-connect/" + rec.session
	if r.PostForm.Get("action") == "cancel" {
		rec.done = true
		s.record(rec, "cancel", map[string]any{})
		s.finish(w, r, rec, in.Name, Message{Type: "cancel", Data: map[string]any{"code": 100, "reason": "exit"}})
		return
	}
	if strings.TrimSpace(r.PostForm.Get("username")) == "" {
		renderPage(w, http.StatusOK, in.Name, "Enter your banking userID.", action)
		return
	}
	code := 0
	switch r.PostForm.Get("password") {
	case PasswordGood:
	case PasswordUserAction:
		code = 108
	default:
		s.record(rec, "invalidCredentials", map[string]any{"institutionId": strconv.FormatInt(rec.institutionID, 10)})
		renderPage(w, http.StatusOK, in.Name, "The login credentials you entered are not valid for this account (103). Try again.", action)
		return
	}
	rec.done = true
	now := s.now()
	var l *Login
	if rec.loginID != "" {
		l = s.logins[rec.loginID]
		for _, a := range l.Accounts {
			a.StatusCode, a.AggAttempt = code, now
			if code == 0 {
				a.AggSuccess = now
			}
		}
		s.record(rec, "credentialsUpdated", map[string]any{"institutionLoginId": l.ID})
	} else {
		l = s.newLogin(rec.customerID, rec.institutionID, code, now)
		var accts []map[string]any
		for _, a := range l.Accounts {
			accts = append(accts, s.accountJSON(l, a))
		}
		s.record(rec, "added", map[string]any{"accounts": accts, "institutionId": strconv.FormatInt(rec.institutionID, 10)})
	}
	s.finish(w, r, rec, in.Name, Message{Type: "done", Data: map[string]any{"code": 200, "reason": "complete"}})
}

// finish ends a Connect session: back to redirectUri, or the message to
// the embedding page.
func (s *Server) finish(w http.ResponseWriter, r *http.Request, rec *connectRec, institution string, msg Message) {
	if rec.redirectURI != "" {
		http.Redirect(w, r, rec.redirectURI, http.StatusSeeOther)
		return
	}
	b, _ := json.Marshal(msg)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	doneTemplate.Execute(w, map[string]any{"Institution": institution, "Message": template.JS(b)})
}

// Webhook is a Connect webhook the fake would have sent: its URL, body
// and X-Finicity-Signature.
type Webhook struct {
	URL, Signature string
	Body           []byte
	EventType      string
}

// record keeps a Connect event for the session's webhook URL, signed
// with the partner secret.
func (s *Server) record(rec *connectRec, eventType string, payload map[string]any) {
	if rec.webhook == "" {
		return
	}
	body, _ := json.Marshal(map[string]any{"customerId": rec.customerID, "eventType": eventType,
		"eventId": fmt.Sprintf("%d-%s", s.now().UnixMilli(), randomToken()[:24]), "payload": payload})
	s.webhooks = append(s.webhooks, Webhook{URL: rec.webhook, Body: body, Signature: Sign(s.PartnerSecret, body), EventType: eventType})
}

// Sign is the X-Finicity-Signature of body: hex HMAC-SHA256 keyed with
// the partner secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Webhooks returns the Connect webhooks recorded so far.
func (s *Server) Webhooks() []Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.webhooks)
}

// WebhookFor builds a signed Connect event for a customer, as Finicity
// would send it now.
func (s *Server) WebhookFor(customerID, eventType string, payload map[string]any) Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := &connectRec{customerID: customerID, webhook: "test"}
	s.record(rec, eventType, payload)
	w := s.webhooks[len(s.webhooks)-1]
	s.webhooks = s.webhooks[:len(s.webhooks)-1]
	return w
}

// HistoryDays is how far back a new login's transactions go (inside
// banklink's 90-day initial window).
const HistoryDays = 85

// CheckingTransactions is how many transactions a new login's checking
// account has: more than one page of 1000.
const CheckingTransactions = 1100

// newLogin creates a login with FinBank's accounts: checking (more than
// a page of transactions, two pending and one shadow), savings, a credit
// card, and a Roth IRA with two positions and no transactions.
func (s *Server) newLogin(customerID string, institutionID int64, code int, now time.Time) *Login {
	l := &Login{ID: strconv.FormatInt(s.nextID(), 10), CustomerID: customerID, InstitutionID: institutionID}
	acct := func(name, typ string, balance float64, avail *float64) *Account {
		id := s.nextID()
		a := &Account{ID: strconv.FormatInt(id, 10), Name: name, Type: typ, Number: fmt.Sprintf("10000%05d", id%100000), Currency: "USD",
			Balance: balance, Available: avail, StatusCode: code, Created: now, AggAttempt: now}
		if code == 0 {
			a.AggSuccess = now
		}
		if typ == "checking" || typ == "savings" {
			a.Routing = "021000021"
		}
		a.OwnerName, a.OwnerCity, a.OwnerEmail = "PATRICK PURCHASER", "PARLIN", "patrick@example.com"
		return a
	}
	avail := 1200.10
	checking := acct("Checking", "checking", 1234.56, &avail)
	day := func(back int) time.Time {
		return time.Date(now.Year(), now.Month(), now.Day(), 12, 0, 0, 0, time.UTC).AddDate(0, 0, -back)
	}
	descs := []struct{ d, c string }{{"COFFEE SHOP", "Coffee Shops"}, {"GROCERY MART", "Groceries"}, {"PAYROLL ACME", "Paycheck"},
		{"GAS STATION", "Gas & Fuel"}, {"ONLINE TRANSFER", "Transfer"}, {"ELECTRIC CO", "Utilities"}, {"BOOKSTORE", ""}}
	for i := range CheckingTransactions {
		d := descs[i%len(descs)]
		amount := -float64(1+i%97) - float64(i%100)/100
		if d.c == "Paycheck" {
			amount = 1500 + float64(i%10)
		}
		date := day(1 + i*HistoryDays/CheckingTransactions)
		checking.Transactions = append(checking.Transactions, &Transaction{ID: s.nextID(), Amount: amount, Status: "active",
			Description: d.d, Category: d.c, Date: date, Posted: date.AddDate(0, 0, 1).Add(-time.Hour), Added: now})
	}
	for i, d := range []string{"PENDING COFFEE", "PENDING HOTEL"} {
		checking.Transactions = append(checking.Transactions, &Transaction{ID: s.nextID(), Amount: -4.5 - float64(i*100), Status: "pending",
			Description: d, Category: "Coffee Shops", Date: day(0), Added: now})
	}
	checking.Transactions = append(checking.Transactions, &Transaction{ID: s.nextID(), Amount: -19.99, Status: "shadow",
		Description: "STREAMING SERVICE", Category: "Entertainment", Date: day(2), Added: now})
	savingsAvail := 5000.0
	savings := acct("Savings", "savings", 5000, &savingsAvail)
	savings.Transactions = []*Transaction{{ID: s.nextID(), Amount: 2.15, Status: "active", Description: "INTEREST", Category: "Interest Income", Date: day(10), Posted: day(10), Added: now}}
	credit := 4749.25
	card := acct("Credit Card", "creditCard", -250.75, &credit)
	card.Transactions = []*Transaction{{ID: s.nextID(), Amount: -75.5, Status: "active", Description: "RESTAURANT", Category: "Restaurants", Date: day(5), Posted: day(4), Added: now},
		{ID: s.nextID(), Amount: 200, Status: "active", Description: "PAYMENT THANK YOU", Category: "Credit Card Payment", Date: day(8), Posted: day(8), Added: now}}
	roth := acct("ROTH", "roth", 11001, nil)
	roth.Positions = []Position{{ID: s.nextID(), Symbol: "DAL", SecurityName: "DELTA AIR LINES INC", Units: 6.537, Price: 41.585, Value: 271.84, CUSIP: "247361702"},
		{ID: s.nextID(), Symbol: "VTI", SecurityName: "VANGUARD TOTAL STOCK MARKET ETF", Units: 40, Price: 268.2, Value: 10728, CUSIP: "922908769"}}
	l.Accounts = []*Account{checking, savings, card, roth}
	s.logins[l.ID] = l
	return l
}

// LoginOf returns the login (a copy of its accounts and transactions).
func (s *Server) LoginOf(id string) (Login, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.logins[id]
	if !ok {
		return Login{}, false
	}
	out := *l
	out.Accounts = nil
	for _, a := range l.Accounts {
		c := *a
		c.Transactions = nil
		for _, t := range a.Transactions {
			tc := *t
			c.Transactions = append(c.Transactions, &tc)
		}
		out.Accounts = append(out.Accounts, &c)
	}
	return out, true
}

// Mutate changes a login under the server's lock.
func (s *Server) Mutate(id string, f func(l *Login)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.logins[id]; ok {
		f(l)
	}
}

// SetStatusCode sets the aggregationStatusCode of every account of the
// login.
func (s *Server) SetStatusCode(id string, code int) {
	s.Mutate(id, func(l *Login) {
		for _, a := range l.Accounts {
			a.StatusCode = code
		}
	})
}

// Logins returns the ids of the customer's logins.
func (s *Server) Logins(customerID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id, l := range s.logins {
		if l.CustomerID == customerID && !l.Deleted {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}
