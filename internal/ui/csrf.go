package ui

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
)

const csrfCookie = "gobus_ui_csrf"

// csrfToken returns the request's CSRF token, from its cookie, or a new
// one set as the cookie. Every form carries it as the field "csrf".
func csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	tok := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: tok, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	return tok
}

// csrfProtect refuses state-changing requests that come from another
// origin (by the browser's Sec-Fetch-Site or Origin headers) or whose
// form field "csrf" does not match their CSRF cookie.
func csrfProtect(next http.Handler) http.Handler {
	origin := http.NewCrossOriginProtection()
	origin.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "gobus ui: refused a cross-origin request", http.StatusForbidden)
	}))
	return origin.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		c, err := r.Cookie(csrfCookie)
		if err != nil || c.Value == "" || !equal(c.Value, r.PostFormValue("csrf")) {
			http.Error(w, "gobus ui: the form's CSRF token is missing or stale: reload the page and try again", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	}))
}
