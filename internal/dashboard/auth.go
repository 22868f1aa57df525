package dashboard

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"banklink"
	"banklink/internal/ratelimit"

	"golang.org/x/crypto/bcrypt"
)

// Password rules: bcrypt reads at most 72 bytes, so longer passwords are
// refused rather than silently truncated.
const (
	MinPasswordLength = 12
	MaxPasswordBytes  = 72
)

// ValidatePassword checks a new operator password.
func ValidatePassword(pw string) error {
	if len([]rune(pw)) < MinPasswordLength {
		return fmt.Errorf("the password must have at least %d characters", MinPasswordLength)
	}
	if len(pw) > MaxPasswordBytes {
		return fmt.Errorf("the password must have at most %d bytes", MaxPasswordBytes)
	}
	return nil
}

// HashPassword returns the bcrypt hash stored for a new operator.
func HashPassword(pw string) ([]byte, error) {
	if err := ValidatePassword(pw); err != nil {
		return nil, err
	}
	return bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
}

// NewOperator validates email and password and returns the operator to
// store for account (the CLI's `banklink operator create`).
func NewOperator(accountID, email, password string) (*banklink.Operator, error) {
	email = banklink.NormalizeEmail(email)
	if !banklink.ValidEmail(email) {
		return nil, fmt.Errorf("%q is not an email address like ops@example.com", email)
	}
	hash, err := HashPassword(password)
	if err != nil {
		return nil, err
	}
	return &banklink.Operator{ID: banklink.NewID(), AccountID: accountID, Email: email, PasswordHash: hash}, nil
}

var (
	dummyOnce sync.Once
	dummyHash []byte
)

// checkPassword compares pw with hash in bcrypt's constant time. Without
// an operator (hash nil) it compares against a dummy hash of the same
// cost, so an unknown email takes as long as a wrong password.
func checkPassword(hash []byte, pw string) bool {
	if hash == nil {
		dummyOnce.Do(func() {
			dummyHash, _ = bcrypt.GenerateFromPassword([]byte("banklink-dummy-password"), bcrypt.DefaultCost)
		})
		bcrypt.CompareHashAndPassword(dummyHash, []byte(pw))
		return false
	}
	return bcrypt.CompareHashAndPassword(hash, []byte(pw)) == nil
}

func randomToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

type loginView struct {
	Email, Next, Token string
	SignedOut          bool
}

// badLogin is the one message for an unknown email and a wrong password
// alike.
const badLogin = "The email or password is incorrect."

func (d *Dashboard) handleLoginPage(w http.ResponseWriter, r *http.Request) error {
	next := r.URL.Query().Get("next")
	if !safeNext(next) {
		next = ""
	}
	if d.session(r) != nil {
		if next == "" {
			next = d.home()
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	return d.loginForm(w, r, http.StatusOK, loginView{Next: next, SignedOut: r.URL.Query().Get("signed_out") != ""}, "")
}

// loginForm renders the sign-in form with a fresh double-submit token.
func (d *Dashboard) loginForm(w http.ResponseWriter, r *http.Request, status int, v loginView, msg string) error {
	v.Token = randomToken()
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: v.Token, Path: Base, HttpOnly: true, Secure: d.secure,
		SameSite: http.SameSiteStrictMode, MaxAge: int(time.Hour / time.Second)})
	return d.render(w, status, "login", nil, view{Title: "Sign in", Error: msg, Data: v})
}

// clientIP is the address the request came from. banklink does not
// trust X-Forwarded-For: behind a proxy every client shares its address,
// which makes the limit stricter, never looser.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (d *Dashboard) handleLogin(w http.ResponseWriter, r *http.Request) error {
	c, _ := r.Cookie(loginCookie)
	want := ""
	if c != nil {
		want = c.Value
	}
	if err := d.checkPost(w, r, want, "login_csrf"); err != nil {
		d.log.Warn("dashboard sign-in refused", slog.String("request_id", banklink.RequestIDFrom(r.Context())), slog.String("reason", err.Error()))
		return d.loginForm(w, r, http.StatusForbidden, loginView{}, "This sign-in form has expired or did not come from this dashboard. Please try again.")
	}
	email := banklink.NormalizeEmail(r.PostForm.Get("email"))
	pw := r.PostForm.Get("password")
	next := r.PostForm.Get("next")
	if !safeNext(next) {
		next = ""
	}
	v := loginView{Email: email, Next: next}
	now := d.Now()
	// Per email and client: the address as ratelimit.ClientKey names it
	// (an IPv6 client's whole /64, which it could otherwise walk through
	// for fresh attempts). The limiter keeps a hash of the key, whatever
	// the length of the email typed.
	key := email + "\x00" + ratelimit.ClientKey(r.RemoteAddr)
	if blocked, wait := d.failures.Blocked(key, now); blocked {
		d.log.Warn("dashboard sign-in locked out", slog.String("request_id", banklink.RequestIDFrom(r.Context())), slog.String("email", email),
			slog.String("ip", clientIP(r)))
		mins := int((wait + time.Minute - 1) / time.Minute)
		return d.loginForm(w, r, http.StatusTooManyRequests, v,
			fmt.Sprintf("Too many failed sign-in attempts. Try again in %d minute%s.", mins, plural(mins)))
	}
	var hash []byte
	op, err := d.store.FindOperatorByEmail(r.Context(), email)
	switch {
	case err == nil:
		hash = op.PasswordHash
	case banklink.ErrorCode(err) != banklink.ENOTFOUND:
		return d.fail(w, r, nil, err)
	}
	if !checkPassword(hash, pw) || email == "" {
		d.failures.Allow(key, now)
		d.log.Info("dashboard sign-in failed", slog.String("request_id", banklink.RequestIDFrom(r.Context())), slog.String("email", email),
			slog.String("ip", clientIP(r)))
		return d.loginForm(w, r, http.StatusUnauthorized, v, badLogin)
	}
	id := randomToken()
	sess := &banklink.OperatorSession{IDHash: hashID(id), OperatorID: op.ID, CSRFToken: randomToken(), CreatedAt: now, ExpiresAt: now.Add(SessionTTL)}
	if err := d.store.CreateOperatorSession(r.Context(), sess); err != nil {
		return d.fail(w, r, nil, err)
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: id, Path: Base, HttpOnly: true, Secure: d.secure, SameSite: http.SameSiteStrictMode,
		Expires: sess.ExpiresAt, MaxAge: int(SessionTTL / time.Second)})
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Path: Base, HttpOnly: true, Secure: d.secure, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	d.log.Info("dashboard sign-in", slog.String("request_id", banklink.RequestIDFrom(r.Context())), slog.String("operator_id", op.ID),
		slog.String("account_id", op.AccountID))
	if next == "" {
		next = d.home()
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

func (d *Dashboard) handleLogout(w http.ResponseWriter, r *http.Request, rq *request) error {
	if err := d.store.DeleteOperatorSession(r.Context(), rq.sess.IDHash); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Path: Base, HttpOnly: true, Secure: d.secure, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, Base+"/login?signed_out=1", http.StatusSeeOther)
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
