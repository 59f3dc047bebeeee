package ui

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gobusdev/gobus/internal/errorstream"
	"github.com/gobusdev/gobus/internal/topology"
)

//go:embed assets
var assets embed.FS

// Decoder turns a message body into JSON by its type's proto full name;
// the schema registry is one.
type Decoder interface {
	ToJSON(ctx context.Context, fullName, contentType string, body []byte) ([]byte, error)
}

// Config configures a [Server].
type Config struct {
	// JS is the JetStream of the gobus environment.
	JS jetstream.JetStream
	// Prefix is the environment's subject and stream prefix.
	Prefix string
	// Schemas decodes bodies for the message detail; nil shows them in hex.
	Schemas Decoder
	// Auth is how requests authenticate; see [CheckExposure].
	Auth Auth
	// Loopback says the server listens on loopback only. Without Auth it
	// then answers only requests addressed to a loopback host name.
	Loopback bool
	// Interval is how often the endpoints are sampled (default 2s), and
	// Window how much of their history the sparklines show (default 10m).
	Interval, Window time.Duration
	// Server is the NATS server's address as the page shows it, with no
	// credentials in it.
	Server string
	// Logger logs failed collections; nil discards them.
	Logger *slog.Logger
}

// Server is the operations page. It is an [http.Handler]; [Server.Run]
// samples the endpoints for it.
type Server struct {
	cfg     Config
	names   topology.Names
	history *history
	timings *timings
	pages   map[string]*template.Template
	handler http.Handler
}

// New returns the page for cfg, checking it.
func New(cfg Config) (*Server, error) {
	if cfg.JS == nil {
		return nil, errors.New("gobus ui: no JetStream")
	}
	if err := topology.CheckPrefix(cfg.Prefix); err != nil {
		return nil, err
	}
	if !cfg.Loopback {
		if err := CheckExposure("0.0.0.0:0", cfg.Auth); err != nil {
			return nil, err
		}
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 2 * time.Second
	}
	if cfg.Window <= 0 {
		cfg.Window = 10 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, names: topology.Names{Prefix: cfg.Prefix}, history: newHistory(cfg.Window), timings: newTimings(time.Minute), pages: pages}
	s.handler = s.routes()
	return s, nil
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "assets/static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/endpoints", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /endpoints", s.endpointsPage)
	mux.HandleFunc("GET /failed", s.failedPage)
	mux.HandleFunc("GET /failed/group/{group}", s.groupPage)
	mux.HandleFunc("GET /failed/{id}", s.messagePage)
	mux.HandleFunc("POST /failed/retry", s.operate("retried", (*errorstream.Stream).Retry))
	mux.HandleFunc("POST /failed/delete", s.operate("deleted", (*errorstream.Stream).Delete))
	mux.HandleFunc("GET /conversation", s.conversationPage)
	var h http.Handler = csrfProtect(securityHeaders(mux))
	if s.cfg.Auth.enabled() {
		h = s.cfg.Auth.authenticate(h)
	} else if s.cfg.Loopback {
		h = loopbackHostOnly(h)
	}
	return h
}

// ServeHTTP serves the page.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Run samples the endpoints every Interval until ctx ends, and follows
// the audit stream for processing and critical times.
func (s *Server) Run(ctx context.Context) {
	go s.followAudit(ctx)
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		s.Sample(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sample collects the endpoints' numbers once.
func (s *Server) Sample(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Interval+5*time.Second)
	defer cancel()
	rows, err := collect(ctx, s.cfg.JS, s.names)
	if err != nil {
		if ctx.Err() == nil {
			s.cfg.Logger.Warn("gobus ui: reading the endpoints", "error", err)
		}
		s.history.fail(err)
		return
	}
	s.history.add(time.Now(), rows)
}

// securityHeaders keeps the page from being framed, sniffed or from
// loading anything but its own assets.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// errorStream opens the error stream; nil without error when there is
// none yet.
func (s *Server) errorStream(ctx context.Context) (*errorstream.Stream, error) {
	st, err := s.cfg.JS.Stream(ctx, s.names.ErrorsStream())
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("opening the error stream %s: %w", s.names.ErrorsStream(), err)
	}
	return errorstream.New(s.cfg.JS, s.names, st), nil
}

// flash is a one-time message shown on the next page, such as what a
// retry did.
const flashCookie = "gobus_ui_flash"

func setFlash(w http.ResponseWriter, msg string) {
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: url.QueryEscape(msg), Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

func takeFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: "/", MaxAge: -1})
	msg, _ := url.QueryUnescape(c.Value)
	return msg
}
