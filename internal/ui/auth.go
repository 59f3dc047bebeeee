package ui

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// Auth is how requests prove they may use the page: a token, or a user
// name and password (HTTP basic auth), or both. The zero Auth lets every
// request in, which [CheckExposure] allows on loopback only.
type Auth struct {
	// Token is accepted as "Authorization: Bearer TOKEN", or once as
	// ?token=TOKEN, which sets a cookie and redirects to the page without
	// it, so that a browser can open the page from a link.
	Token string
	// User and Password are accepted as HTTP basic auth.
	User, Password string
}

// enabled reports whether requests must authenticate.
func (a Auth) enabled() bool { return a.Token != "" || a.User != "" }

// Describe says how requests authenticate, without the secrets.
func (a Auth) Describe() string {
	switch {
	case a.Token != "" && a.User != "":
		return "the token or basic auth as " + a.User
	case a.Token != "":
		return "the token"
	case a.User != "":
		return "basic auth as " + a.User
	}
	return "no authentication"
}

// ErrExposed is returned by [CheckExposure] for a non-loopback address
// without authentication.
var ErrExposed = errors.New("gobus ui: an address other than loopback needs a token or basic auth")

// CheckExposure checks the configuration of a server listening at addr
// (host:port): off loopback it must authenticate, and a user needs a
// password.
func CheckExposure(addr string, a Auth) error {
	if a.User != "" && a.Password == "" {
		return errors.New("gobus ui: basic auth needs a password as well as a user name")
	}
	if a.User == "" && a.Password != "" {
		return errors.New("gobus ui: a password needs a user name")
	}
	if !a.enabled() && !IsLoopback(addr) {
		return fmt.Errorf("%w: %s is reachable from other machines (set a token or a user and password, or listen on 127.0.0.1)", ErrExposed, addr)
	}
	return nil
}

// IsLoopback reports whether addr (host:port, or a host) names only the
// loopback interface. An empty host, which listens everywhere, is not.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

const tokenCookie = "gobus_ui_token"

// authenticate wraps next with the authentication a asks for. A request
// that fails it gets 401, with a basic-auth challenge when basic auth is
// on.
func (a Auth) authenticate(next http.Handler) http.Handler {
	if !a.enabled() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.Token != "" && r.URL.Query().Get("token") != "" && equal(r.URL.Query().Get("token"), a.Token) {
			http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: a.Token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
			q := r.URL.Query()
			q.Del("token")
			u := *r.URL
			u.RawQuery = q.Encode()
			http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
			return
		}
		if a.allows(r) {
			next.ServeHTTP(w, r)
			return
		}
		if a.User != "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="gobus ui", charset="UTF-8"`)
		}
		http.Error(w, "gobus ui: authentication required: give the token (Authorization: Bearer, or ?token= once) or the user and password", http.StatusUnauthorized)
	})
}

func (a Auth) allows(r *http.Request) bool {
	if a.Token != "" {
		if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && equal(bearer, a.Token) {
			return true
		}
		if c, err := r.Cookie(tokenCookie); err == nil && equal(c.Value, a.Token) {
			return true
		}
	}
	if a.User != "" {
		if u, p, ok := r.BasicAuth(); ok && equal(u, a.User) && equal(p, a.Password) {
			return true
		}
	}
	return false
}

// equal compares secrets in constant time, whatever their lengths.
func equal(a, b string) bool {
	x, y := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(x[:], y[:]) == 1
}

// loopbackHostOnly refuses requests whose Host is not a loopback name:
// without authentication, a page on another site whose DNS name is
// rebound to 127.0.0.1 would otherwise read and drive this one.
func loopbackHostOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !IsLoopback(r.Host) {
			http.Error(w, "gobus ui: without authentication this page answers only to localhost, 127.0.0.1 and [::1]", http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}
