package fakemx

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

type userRec struct {
	guid, id, email, metadata string
	isDisabled                bool
}

// User is MX's UserResponse.
type User struct {
	GUID       string  `json:"guid"`
	ID         *string `json:"id"`
	Email      *string `json:"email"`
	IsDisabled bool    `json:"is_disabled"`
	Metadata   *string `json:"metadata"`
}

func (u *userRec) view() User {
	v := User{GUID: u.guid, IsDisabled: u.isDisabled}
	if u.id != "" {
		v.ID = ptr(u.id)
	}
	if u.email != "" {
		v.Email = ptr(u.email)
	}
	if u.metadata != "" {
		v.Metadata = ptr(u.metadata)
	}
	return v
}

type memberRec struct {
	guid, userGUID, institution, username string
	status                                string
	aggregating                           bool
	pollsLeft                             int
	outcome                               string // of the running aggregation
	next                                  string // scripted outcome of the next one
	aggregatedAt, successAt               time.Time
	processedAccounts                     bool
	numbers, owners, transactions         bool
	data                                  memberData
}

// Member is MX's MemberResponse.
type Member struct {
	GUID                     string  `json:"guid"`
	ID                       *string `json:"id"`
	UserGUID                 string  `json:"user_guid"`
	InstitutionCode          string  `json:"institution_code"`
	Name                     string  `json:"name"`
	ConnectionStatus         string  `json:"connection_status"`
	IsBeingAggregated        bool    `json:"is_being_aggregated"`
	IsOAuth                  bool    `json:"is_oauth"`
	AggregatedAt             *string `json:"aggregated_at"`
	SuccessfullyAggregatedAt *string `json:"successfully_aggregated_at"`
}

// MemberStatus is MX's MemberStatusResponse.
type MemberStatus struct {
	GUID                     string  `json:"guid"`
	ConnectionStatus         string  `json:"connection_status"`
	IsAuthenticated          bool    `json:"is_authenticated"`
	IsBeingAggregated        bool    `json:"is_being_aggregated"`
	HasProcessedAccounts     bool    `json:"has_processed_accounts"`
	HasProcessedTransactions bool    `json:"has_processed_transactions"`
	AggregatedAt             *string `json:"aggregated_at"`
	SuccessfullyAggregatedAt *string `json:"successfully_aggregated_at"`
}

func (s *Server) institution(code string) (Institution, bool) {
	i := slices.IndexFunc(s.institutions, func(in Institution) bool { return in.Code == code })
	if i < 0 {
		return Institution{}, false
	}
	return s.institutions[i], true
}

func (s *Server) memberView(m *memberRec) Member {
	in, _ := s.institution(m.institution)
	return Member{GUID: m.guid, UserGUID: m.userGUID, InstitutionCode: m.institution, Name: in.Name, ConnectionStatus: m.status,
		IsBeingAggregated: m.aggregating, IsOAuth: in.SupportsOAuth, AggregatedAt: rfc3339(m.aggregatedAt), SuccessfullyAggregatedAt: rfc3339(m.successAt)}
}

func statusView(m *memberRec) MemberStatus {
	return MemberStatus{GUID: m.guid, ConnectionStatus: m.status, IsAuthenticated: m.status == "CONNECTED", IsBeingAggregated: m.aggregating,
		HasProcessedAccounts: m.processedAccounts, HasProcessedTransactions: !m.successAt.IsZero(),
		AggregatedAt: rfc3339(m.aggregatedAt), SuccessfullyAggregatedAt: rfc3339(m.successAt)}
}

// tick advances a running aggregation by one read of the member.
func (s *Server) tick(m *memberRec) {
	if !m.aggregating {
		return
	}
	if m.pollsLeft > 0 {
		m.pollsLeft--
		return
	}
	s.finish(m)
}

func (s *Server) finish(m *memberRec) {
	now := s.now()
	m.aggregating, m.aggregatedAt, m.status = false, now, m.outcome
	if m.outcome == "CONNECTED" {
		m.successAt, m.processedAccounts = now, true
	}
}

// start begins an aggregation; with no polls configured it finishes at
// once.
func (s *Server) start(m *memberRec) {
	outcome := m.next
	m.next = ""
	if outcome == "" {
		switch m.status {
		case "CONNECTED", "CREATED", "RECONNECTED", "UPDATED", "RESUMED":
			outcome = "CONNECTED"
		default:
			// A member that does not work keeps failing the same way.
			outcome = m.status
		}
	}
	m.aggregating, m.pollsLeft, m.outcome = true, s.polls, outcome
	if m.pollsLeft == 0 {
		s.finish(m)
	}
}

// lookup finds the path's user and member (404 when either is unknown or
// the member is another user's).
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) (*memberRec, bool) {
	if _, ok := s.users[r.PathValue("user_guid")]; !ok {
		writeError(w, http.StatusNotFound, "User not found.")
		return nil, false
	}
	m, ok := s.members[r.PathValue("member_guid")]
	if !ok || m.userGUID != r.PathValue("user_guid") {
		writeError(w, http.StatusNotFound, "Member not found.")
		return nil, false
	}
	return m, true
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	var body struct {
		User *struct {
			ID         *string `json:"id"`
			Email      *string `json:"email"`
			IsDisabled *bool   `json:"is_disabled"`
			Metadata   *string `json:"metadata"`
		} `json:"user"`
	}
	if err := decode(r, &body); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	u := body.User
	if u == nil || (u.ID == nil && u.Email == nil && u.IsDisabled == nil && u.Metadata == nil) {
		// "None of these parameters are required, but the user object
		// cannot be empty."
		writeError(w, http.StatusBadRequest, "The user object cannot be empty.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := &userRec{id: strings.TrimSpace(ptrOr(u.ID)), email: ptrOr(u.Email), metadata: ptrOr(u.Metadata), isDisabled: u.IsDisabled != nil && *u.IsDisabled}
	if rec.id != "" {
		for _, other := range s.users {
			if other.id == rec.id {
				// "409 Conflict: an object with the given attributes
				// already exists."
				writeError(w, http.StatusConflict, "A user with this id already exists.")
				return
			}
		}
	}
	s.seq++
	rec.guid = newGUID("USR", s.ClientID, rec.id, fmt.Sprint(s.seq))
	s.users[rec.guid] = rec
	writeJSON(w, http.StatusOK, map[string]User{"user": rec.view()})
}

func ptrOr(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := r.URL.Query()
	var list []User
	for _, u := range s.users {
		if (q.Has("id") && u.id != q.Get("id")) || (q.Has("email") && u.email != q.Get("email")) {
			continue
		}
		list = append(list, u.view())
	}
	slices.SortFunc(list, func(a, b User) int { return strings.Compare(a.GUID, b.GUID) })
	items, pg := page(r, list, MaxPerPage)
	writeJSON(w, http.StatusOK, map[string]any{"users": nonNil(items), "pagination": pg})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[r.PathValue("user_guid")]; !ok {
		writeError(w, http.StatusNotFound, "User not found.")
		return
	}
	var list []Member
	for _, m := range s.members {
		if m.userGUID == r.PathValue("user_guid") {
			list = append(list, s.memberView(m))
		}
	}
	slices.SortFunc(list, func(a, b Member) int { return strings.Compare(a.GUID, b.GUID) })
	items, pg := page(r, list, MaxPerPage)
	writeJSON(w, http.StatusOK, map[string]any{"members": nonNil(items), "pagination": pg})
}

func (s *Server) readMember(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.lookup(w, r)
	if !ok {
		return
	}
	s.tick(m)
	writeJSON(w, http.StatusOK, map[string]Member{"member": s.memberView(m)})
}

func (s *Server) deleteMember(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.lookup(w, r)
	if !ok {
		return
	}
	delete(s.members, m.guid)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) memberStatus(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.lookup(w, r)
	if !ok {
		return
	}
	s.tick(m)
	writeJSON(w, http.StatusOK, map[string]MemberStatus{"member": statusView(m)})
}

// aggregate is POST …/aggregate: 202 Accepted with the member, whether an
// aggregation starts, already runs, or is declined because the last one
// was less than MinAggregationInterval ago (MX's "a standard aggregation
// has been attempted within the default minimum time between standard
// aggs").
func (s *Server) aggregate(w http.ResponseWriter, r *http.Request) {
	for _, name := range []string{"include_holdings", "include_transactions"} {
		if v := r.URL.Query().Get(name); v != "" && v != "true" && v != "false" {
			writeError(w, http.StatusBadRequest, name+" must be true or false.")
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.lookup(w, r)
	if !ok {
		return
	}
	last := m.aggregatedAt
	if m.successAt.After(last) {
		last = m.successAt
	}
	if !m.aggregating && (last.IsZero() || s.now().Sub(last) >= MinAggregationInterval) {
		s.start(m)
	}
	writeJSON(w, http.StatusAccepted, map[string]Member{"member": s.memberView(m)})
}

// data answers one of a member's lists.
func data[T any](s *Server, w http.ResponseWriter, r *http.Request, key string, pick func(m *memberRec) []T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.lookup(w, r)
	if !ok {
		return
	}
	var list []T
	if m.processedAccounts {
		list = pick(m)
	}
	items, pg := page(r, list, MaxPerPage)
	writeJSON(w, http.StatusOK, map[string]any{key: nonNil(items), "pagination": pg})
}

func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request) {
	data(s, w, r, "accounts", func(m *memberRec) []Account { return m.data.accounts })
}

func (s *Server) listAccountNumbers(w http.ResponseWriter, r *http.Request) {
	data(s, w, r, "account_numbers", func(m *memberRec) []AccountNumber { return m.data.numbers })
}

func (s *Server) listAccountOwners(w http.ResponseWriter, r *http.Request) {
	data(s, w, r, "account_owners", func(m *memberRec) []AccountOwner { return m.data.owners })
}

func (s *Server) listHoldings(w http.ResponseWriter, r *http.Request) {
	data(s, w, r, "investment_holdings", func(m *memberRec) []Holding { return m.data.holdings })
}

// listTransactions filters by from_date (default 120 days ago) and
// to_date (default five days ahead), as MX documents; dates are
// YYYY-MM-DD (400 otherwise).
func (s *Server) listTransactions(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	now := s.now()
	s.mu.Unlock()
	from, to := now.AddDate(0, 0, -120).Format(time.DateOnly), now.AddDate(0, 0, 5).Format(time.DateOnly)
	for name, dst := range map[string]*string{"from_date": &from, "to_date": &to} {
		if v := r.URL.Query().Get(name); v != "" {
			if _, err := time.Parse(time.DateOnly, v); err != nil {
				writeError(w, http.StatusBadRequest, name+" must be a date (YYYY-MM-DD).")
				return
			}
			*dst = v
		}
	}
	data(s, w, r, "transactions", func(m *memberRec) []Transaction {
		return slices.DeleteFunc(slices.Clone(m.data.txs), func(t Transaction) bool { return t.Date < from || t.Date > to })
	})
}

func (s *Server) listInstitutions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name := strings.ToLower(q.Get("name"))
	countries := append(q["iso_country_code"], q["iso_country_code[]"]...)
	flag := func(param string, have bool) bool { return q.Get(param) != "true" || have }
	s.mu.Lock()
	var list []Institution
	for _, in := range s.institutions {
		if name != "" && !strings.Contains(strings.ToLower(in.Name), name) {
			continue
		}
		if len(countries) > 0 && !slices.Contains(countries, in.ISOCountryCode) {
			continue
		}
		if !flag("supports_account_identification", in.SupportsAccountIdentification) || !flag("supports_account_statement", in.SupportsAccountStatement) ||
			!flag("supports_account_verification", in.SupportsAccountVerification) || !flag("supports_transaction_history", in.SupportsTransactionHistory) {
			continue
		}
		list = append(list, in)
	}
	s.mu.Unlock()
	// Institutions take records_per_page 10 to 100 (recordsPerPage), the
	// member lists up to 1000 (recordsPerPageMax1000).
	items, pg := page(r, list, InstitutionsPerPage)
	writeJSON(w, http.StatusOK, map[string]any{"institutions": nonNil(items), "pagination": pg})
}

// Login is one login in the fake Connect Widget.
type Login struct {
	UserGUID, Institution string
	Username, Password    string
	// MemberGUID, when set, is the existing member whose credentials are
	// updated (a widget opened with current_member_guid), whatever the
	// username.
	MemberGUID string
	// What the widget was asked for: verification mode gathers account
	// numbers, include_identity owners, include_transactions
	// transactions.
	Numbers, Owners, Transactions bool
}

// Passwords of the fake Connect Widget and the connection_status they
// leave the member in; any other password is DENIED.
var Passwords = map[string]string{
	"correct":   "CONNECTED",
	"challenge": "CHALLENGED", // the customer left before answering MFA
	"locked":    "LOCKED",
	"impeded":   "IMPEDED",
	"expired":   "EXPIRED",
	"degraded":  "DEGRADED",
}

// Connect logs in as the Connect Widget would and returns the member. MX
// allows no duplicate members, so the same username at the same
// institution for the same user updates the existing member.
func (s *Server) Connect(l Login) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connect(l)
}

func (s *Server) connect(l Login) (string, error) {
	if _, ok := s.users[l.UserGUID]; !ok {
		return "", errors.New("fakemx: unknown user " + l.UserGUID)
	}
	in, ok := s.institution(l.Institution)
	if !ok {
		return "", errors.New("fakemx: unknown institution " + l.Institution)
	}
	if strings.TrimSpace(l.Username) == "" {
		return "", errors.New("fakemx: a username is required")
	}
	guid := newGUID("MBR", l.UserGUID, l.Institution, l.Username)
	if l.MemberGUID != "" {
		guid = l.MemberGUID
		if m, ok := s.members[guid]; !ok || m.userGUID != l.UserGUID || m.institution != l.Institution {
			return "", errors.New("fakemx: member " + guid + " is not the user's at " + l.Institution)
		}
	}
	m, ok := s.members[guid]
	if !ok {
		m = &memberRec{guid: guid, userGUID: l.UserGUID, institution: l.Institution, username: l.Username, status: "CREATED"}
		s.members[guid] = m
	}
	m.numbers, m.owners, m.transactions = l.Numbers, l.Owners, l.Transactions
	status, ok := Passwords[l.Password]
	if !ok {
		status = "DENIED"
	}
	now := s.now()
	if status != "CONNECTED" {
		m.status, m.aggregating, m.aggregatedAt = status, false, now
		return guid, nil
	}
	m.data = generate(m, in, now)
	m.status, m.processedAccounts = "CONNECTED", true
	s.start(m)
	return guid, nil
}

// SetMemberStatus sets a member's connection_status (and stops any
// aggregation), as if MX had found it so.
func (s *Server) SetMemberStatus(memberGUID, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.members[memberGUID]
	if !ok {
		return errors.New("fakemx: unknown member " + memberGUID)
	}
	m.status, m.aggregating = status, false
	return nil
}

// SetNextAggregation makes the member's next aggregation end in status
// (e.g. DEGRADED or DENIED).
func (s *Server) SetNextAggregation(memberGUID, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.members[memberGUID]
	if !ok {
		return errors.New("fakemx: unknown member " + memberGUID)
	}
	m.next = status
	return nil
}

// AgeMember moves the member's last aggregation d into the past, as if
// MX had last aggregated it d earlier (a test's way past MX's minimum
// time between aggregations without waiting for it).
func (s *Server) AgeMember(memberGUID string, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.members[memberGUID]
	if !ok {
		return errors.New("fakemx: unknown member " + memberGUID)
	}
	if !m.aggregatedAt.IsZero() {
		m.aggregatedAt = m.aggregatedAt.Add(-d)
	}
	if !m.successAt.IsZero() {
		m.successAt = m.successAt.Add(-d)
	}
	return nil
}

// UserGUID returns the guid of the user with the given id, or "".
func (s *Server) UserGUID(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.id == id {
			return u.guid
		}
	}
	return ""
}

// Member returns a member as MX shows it.
func (s *Server) Member(guid string) (Member, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.members[guid]
	if !ok {
		return Member{}, false
	}
	return s.memberView(m), true
}

// Members returns a user's members.
func (s *Server) Members(userGUID string) []Member {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Member
	for _, m := range s.members {
		if m.userGUID == userGUID {
			out = append(out, s.memberView(m))
		}
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.GUID, b.GUID) })
	return out
}

func snapshot[T any](s *Server, guid string, pick func(d memberData) []T) []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.members[guid]
	if !ok {
		return nil
	}
	return slices.Clone(pick(m.data))
}

// Accounts, AccountNumbers, AccountOwners, Transactions (every one, of
// the whole history) and Holdings return what the fake serves for a
// member.
func (s *Server) Accounts(memberGUID string) []Account {
	return snapshot(s, memberGUID, func(d memberData) []Account { return d.accounts })
}

// AccountNumbers: see Accounts.
func (s *Server) AccountNumbers(memberGUID string) []AccountNumber {
	return snapshot(s, memberGUID, func(d memberData) []AccountNumber { return d.numbers })
}

// AccountOwners: see Accounts.
func (s *Server) AccountOwners(memberGUID string) []AccountOwner {
	return snapshot(s, memberGUID, func(d memberData) []AccountOwner { return d.owners })
}

// Transactions: see Accounts.
func (s *Server) Transactions(memberGUID string) []Transaction {
	return snapshot(s, memberGUID, func(d memberData) []Transaction { return d.txs })
}

// Holdings: see Accounts.
func (s *Server) Holdings(memberGUID string) []Holding {
	return snapshot(s, memberGUID, func(d memberData) []Holding { return d.holdings })
}
