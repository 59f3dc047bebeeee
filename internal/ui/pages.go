package ui

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"time"
)

// page is what every page's template gets.
type page struct {
	Title, Nav     string
	CSRF           string
	Flash, Error   string
	Server, Prefix string
	Refresh        int // seconds between refreshes of the live part; 0 for none
	Data           any
}

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return t.Local().Format("2006-01-02 15:04:05")
	},
}

func parsePages() (map[string]*template.Template, error) {
	layout, err := template.New("layout").Funcs(funcs).ParseFS(assets, "assets/pages/layout.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, name := range []string{"endpoints", "failed", "group", "message", "conversation"} {
		t, err := template.Must(layout.Clone()).ParseFS(assets, "assets/pages/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("gobus ui: page %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

// render writes the page name with p, filling in what every page shows.
func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, p page) {
	p.Nav = cmpOr(p.Nav, name)
	p.CSRF = csrfToken(w, r)
	p.Flash = takeFlash(w, r)
	p.Server, p.Prefix = s.cfg.Server, s.cfg.Prefix
	var buf bytes.Buffer
	if err := s.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		http.Error(w, "gobus ui: rendering "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// refreshSeconds is how often a live page refreshes itself.
func (s *Server) refreshSeconds() int {
	if n := int(s.cfg.Interval / time.Second); n > 0 {
		return n
	}
	return 1
}
