package fakemx

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

type widgetRec struct {
	token, userGUID, institution, redirectURL string
	memberGUID                                string
	webview                                   bool
	numbers, owners, transactions             bool
	created                                   time.Time
	used                                      bool
}

type sessionRec struct {
	id     string
	widget *widgetRec
	done   bool
}

func randomToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// widgetURL is POST /users/{user_guid}/widget_urls. The fake serves only
// the Connect Widget and only for a given institution (it has no
// institution search page): widget_type must be connect_widget and
// current_institution_code is required. As MX documents,
// disable_institution_search needs current_institution_code (or a guid),
// mode is aggregation (default) or verification, and include_transactions
// defaults to true in aggregation mode and false in verification mode.
func (s *Server) widgetURL(w http.ResponseWriter, r *http.Request) {
	var body struct {
		WidgetURL *struct {
			WidgetType               string `json:"widget_type"`
			CurrentInstitutionCode   string `json:"current_institution_code"`
			CurrentInstitutionGUID   string `json:"current_institution_guid"`
			CurrentMemberGUID        string `json:"current_member_guid"`
			DisableInstitutionSearch bool   `json:"disable_institution_search"`
			ClientRedirectURL        string `json:"client_redirect_url"`
			IsMobileWebview          bool   `json:"is_mobile_webview"`
			IncludeTransactions      *bool  `json:"include_transactions"`
			IncludeIdentity          bool   `json:"include_identity"`
			Mode                     string `json:"mode"`
			UIMessageVersion         int    `json:"ui_message_version"`
		} `json:"widget_url"`
	}
	if err := decode(r, &body); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	req := body.WidgetURL
	switch {
	case req == nil || req.WidgetType == "":
		writeError(w, http.StatusBadRequest, "widget_type is required.")
		return
	case req.WidgetType != "connect_widget":
		writeError(w, http.StatusBadRequest, "fakemx serves only the connect_widget.")
		return
	case req.DisableInstitutionSearch && req.CurrentInstitutionCode == "" && req.CurrentInstitutionGUID == "" && req.CurrentMemberGUID == "":
		writeError(w, http.StatusBadRequest, "disable_institution_search requires current_institution_code, current_institution_guid or current_member_guid.")
		return
	case req.CurrentInstitutionCode == "":
		writeError(w, http.StatusBadRequest, "fakemx needs current_institution_code.")
		return
	case req.Mode != "" && req.Mode != "aggregation" && req.Mode != "verification":
		writeError(w, http.StatusBadRequest, "mode must be aggregation or verification.")
		return
	}
	if req.ClientRedirectURL != "" {
		if u, err := url.Parse(req.ClientRedirectURL); err != nil || u.Scheme == "" || u.Host == "" {
			writeError(w, http.StatusBadRequest, "client_redirect_url must be an absolute URL.")
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[r.PathValue("user_guid")]
	if !ok {
		writeError(w, http.StatusNotFound, "User not found.")
		return
	}
	if _, ok := s.institution(req.CurrentInstitutionCode); !ok {
		writeError(w, http.StatusBadRequest, "No institution has the code "+req.CurrentInstitutionCode+".")
		return
	}
	if g := req.CurrentMemberGUID; g != "" {
		// The widget opens on that member (to update its credentials);
		// MX answers 404 for a member that is not the user's.
		if m, ok := s.members[g]; !ok || m.userGUID != u.guid {
			writeError(w, http.StatusNotFound, "Member not found.")
			return
		} else if m.institution != req.CurrentInstitutionCode {
			writeError(w, http.StatusBadRequest, "current_member_guid is not at current_institution_code.")
			return
		}
	}
	verification := req.Mode == "verification"
	tx := !verification
	if req.IncludeTransactions != nil {
		tx = *req.IncludeTransactions
	}
	rec := &widgetRec{token: randomToken(), userGUID: u.guid, institution: req.CurrentInstitutionCode, redirectURL: req.ClientRedirectURL,
		memberGUID: req.CurrentMemberGUID, webview: req.IsMobileWebview, numbers: verification, owners: req.IncludeIdentity, transactions: tx, created: s.now()}
	s.widgets[rec.token] = rec
	type response struct {
		Type   string  `json:"type"`
		URL    string  `json:"url"`
		UserID *string `json:"user_id"`
	}
	resp := response{Type: "connect_widget", URL: s.URL + "/connect/" + rec.token}
	if u.id != "" {
		resp.UserID = ptr(u.id)
	}
	writeJSON(w, http.StatusOK, map[string]response{"widget_url": resp})
}

var connectTemplate = template.Must(template.New("connect").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>MX Connect (fake)</title></head>
<body>
<h1>Connect to {{.Institution}}</h1>
{{if .Message}}<p role="alert">{{.Message}}</p>{{end}}
{{if .Action}}<form method="post" action="{{.Action}}">
<label>Username <input name="username" autocomplete="off"></label>
<label>Password <input name="password" type="password"></label>
<button name="action" value="connect" type="submit">Continue</button>
<button name="action" value="cancel" type="submit">Cancel</button>
</form>{{end}}
</body></html>`))

func renderPage(w http.ResponseWriter, status int, institution, message, action string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	connectTemplate.Execute(w, map[string]string{"Institution": institution, "Message": message, "Action": action})
}

// PostMessage is a message MX Connect posts to the page embedding it
// (ui_message_version 4).
type PostMessage struct {
	MX       bool              `json:"mx"`
	Type     string            `json:"type"`
	Metadata map[string]string `json:"metadata"`
}

var connectedTemplate = template.Must(template.New("connected").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>MX Connect (fake)</title></head>
<body>
<h1>Connected to {{.Institution}}</h1>
<p id="connected">Your accounts are connected.</p>
<script type="application/json" id="mx-message">{{.Message}}</script>
<script>window.parent.postMessage(JSON.parse(document.getElementById("mx-message").textContent), "*");</script>
</body></html>`))

// MessagePattern finds the message a fake Connect page posts, for tests
// that play the embedding page without a browser.
var MessagePattern = regexp.MustCompile(`<script type="application/json" id="mx-message">([^<]*)</script>`)

// connectPage is the fake Connect Widget: a widget URL works once and for
// ten minutes; it shows a login form for the institution.
func (s *Server) connectPage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.widgets[r.PathValue("token")]
	if !ok {
		renderPage(w, http.StatusNotFound, "MX", "This link is not valid.", "")
		return
	}
	if rec.used || s.now().Sub(rec.created) > WidgetURLLifetime {
		renderPage(w, http.StatusGone, "MX", "This link has expired.", "")
		return
	}
	rec.used = true
	sess := &sessionRec{id: randomToken(), widget: rec}
	s.sessions[sess.id] = sess
	in, _ := s.institution(rec.institution)
	renderPage(w, http.StatusOK, in.Name, "", "/connect/session/"+sess.id)
}

// connectSubmit logs in and, when the widget was given a
// client_redirect_url, sends the customer there with the outcome, the
// way MX ends an OAuth login: status=success&member_guid=… on success,
// status=error&error_reason=…(&member_guid=…) otherwise. (Real MX
// redirects only at the end of OAuth; after a login with credentials it
// sends a widget event instead. The fake redirects after both, so the
// callback can be exercised.) Without a redirect URL it shows the
// outcome.
func (s *Server) connectSubmit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		renderPage(w, http.StatusBadRequest, "MX", "The form could not be read.", "")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[r.PathValue("session")]
	if !ok || sess.done {
		renderPage(w, http.StatusGone, "MX", "This session has ended.", "")
		return
	}
	rec := sess.widget
	in, _ := s.institution(rec.institution)
	q := url.Values{}
	if r.PostForm.Get("action") == "cancel" {
		sess.done = true
		q.Set("status", "error")
		q.Set("error_reason", "CANCELLED")
	} else {
		if strings.TrimSpace(r.PostForm.Get("username")) == "" {
			renderPage(w, http.StatusOK, in.Name, "Enter your username.", "/connect/session/"+sess.id)
			return
		}
		sess.done = true
		guid, err := s.connect(Login{UserGUID: rec.userGUID, Institution: rec.institution, MemberGUID: rec.memberGUID, Username: r.PostForm.Get("username"),
			Password: r.PostForm.Get("password"), Numbers: rec.numbers, Owners: rec.owners, Transactions: rec.transactions})
		if err != nil {
			renderPage(w, http.StatusBadRequest, in.Name, err.Error(), "")
			return
		}
		q.Set("member_guid", guid)
		switch st := s.members[guid].status; st {
		case "CONNECTED":
			q.Set("status", "success")
		case "CHALLENGED":
			q.Set("status", "error")
			q.Set("error_reason", "CANCELLED")
		case "IMPEDED", "LOCKED":
			q.Set("status", "error")
			q.Set("error_reason", "IMPEDED")
		case "DEGRADED":
			q.Set("status", "error")
			q.Set("error_reason", "PROVIDER_ERROR")
		case "EXPIRED":
			q.Set("status", "error")
			q.Set("error_reason", "SESSION_EXPIRED")
		default:
			q.Set("status", "error")
			q.Set("error_reason", "DENIED")
		}
	}
	if !rec.webview || rec.redirectURL == "" {
		// Embedded: MX Connect tells the embedding page by postMessage
		// that a member connected; a failed login stays in MX Connect,
		// which shows why and lets the customer try again.
		if q.Get("status") != "success" {
			sess.done = false
			msg := "The login did not work (" + q.Get("error_reason") + "). Try again."
			if r.PostForm.Get("action") == "cancel" {
				msg = "Cancelled. Choose another institution in the app, or log in."
			}
			renderPage(w, http.StatusOK, in.Name, msg, "/connect/session/"+sess.id)
			return
		}
		b, _ := json.Marshal(PostMessage{MX: true, Type: "mx/connect/memberConnected",
			Metadata: map[string]string{"user_guid": rec.userGUID, "member_guid": q.Get("member_guid"), "session_guid": sess.id}})
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		connectedTemplate.Execute(w, map[string]any{"Institution": in.Name, "Message": template.JS(b)})
		return
	}
	sep := "?"
	if strings.Contains(rec.redirectURL, "?") {
		sep = "&"
	}
	http.Redirect(w, r, rec.redirectURL+sep+q.Encode(), http.StatusSeeOther)
}
