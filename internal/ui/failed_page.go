package ui

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/gobusdev/gobus/internal/errorstream"
)

// allFailed reads every failed message, or those of endpoint; none when
// there is no error stream yet.
func (s *Server) allFailed(ctx context.Context, endpoint string) ([]*errorstream.Message, *errorstream.Stream, error) {
	es, err := s.errorStream(ctx)
	if err != nil || es == nil {
		return nil, es, err
	}
	msgs, err := es.Find(ctx, errorstream.Selector{Endpoint: endpoint})
	return msgs, es, err
}

func (s *Server) failedPage(w http.ResponseWriter, r *http.Request) {
	endpoint := r.URL.Query().Get("endpoint")
	msgs, _, err := s.allFailed(r.Context(), endpoint)
	// Reading the groups scans the error stream: refresh less often.
	p := page{Title: "Failed messages", Refresh: max(5, s.refreshSeconds()), Data: map[string]any{
		"Groups": Groups(msgs), "Total": len(msgs), "Endpoint": endpoint,
		"Back": r.URL.RequestURI(), "Read": time.Now().Format("15:04:05"),
	}}
	if err != nil {
		p.Error = "reading the error stream: " + err.Error()
	}
	s.render(w, r, "failed", p)
}

func (s *Server) groupPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("group")
	msgs, _, err := s.allFailed(r.Context(), "")
	var in []*errorstream.Message
	for _, m := range msgs {
		if groupID(m) == id {
			in = append(in, m)
		}
	}
	group := &Group{ID: id}
	if gs := Groups(in); len(gs) == 1 {
		group = gs[0]
	}
	p := page{Title: "Failed group", Nav: "failed", Data: map[string]any{"Group": group, "Messages": in, "Back": r.URL.RequestURI()}}
	if err != nil {
		p.Error = "reading the error stream: " + err.Error()
	}
	s.render(w, r, "group", p)
}

// operate returns the handler that applies op to the messages a form
// chooses: "ids" (messages), "sel" (groups), "group" (one group, the
// button pressed) or "all". It answers with a redirect to the form's
// "back" page, which shows what it did.
func (s *Server) operate(verb string, op func(*errorstream.Stream, context.Context, *errorstream.Message) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		back := safeBack(r.PostFormValue("back"))
		es, err := s.errorStream(ctx)
		if err != nil || es == nil {
			setFlash(w, "nothing "+verb+": there is no error stream")
			http.Redirect(w, r, back, http.StatusSeeOther)
			return
		}
		found, err := s.chosen(ctx, es, r)
		if err != nil {
			http.Error(w, "gobus ui: "+err.Error(), http.StatusBadRequest)
			return
		}
		res := errorstream.Apply(ctx, found, func(ctx context.Context, m *errorstream.Message) error { return op(es, ctx, m) })
		setFlash(w, describe(verb, len(found), res))
		http.Redirect(w, r, back, http.StatusSeeOther)
	}
}

// chosen returns the messages the form of r chooses.
func (s *Server) chosen(ctx context.Context, es *errorstream.Stream, r *http.Request) ([]*errorstream.Message, error) {
	form := r.PostForm
	groups := map[string]bool{}
	if g := form.Get("group"); g != "" {
		groups[g] = true
	} else {
		for _, g := range form["sel"] {
			groups[g] = true
		}
	}
	all := form.Get("all") == "1" && len(groups) == 0
	var ids []uint64
	if len(groups) == 0 && !all {
		var err error
		if ids, err = parseIDs(form["ids"]); err != nil {
			return nil, err
		}
		if len(ids) == 0 {
			return nil, errNothingChosen
		}
		return es.Find(ctx, errorstream.Selector{IDs: ids})
	}
	msgs, err := es.Find(ctx, errorstream.Selector{})
	if err != nil || all {
		return msgs, err
	}
	kept := msgs[:0]
	for _, m := range msgs {
		if groups[groupID(m)] {
			kept = append(kept, m)
		}
	}
	return kept, nil
}

// safeBack is where to send the browser after a form: a path on this
// server, else the failed messages.
func safeBack(back string) string {
	u, err := url.Parse(back)
	if err != nil || back == "" || back[0] != '/' || (len(back) > 1 && (back[1] == '/' || back[1] == '\\')) || u.Host != "" || u.Scheme != "" {
		return "/failed"
	}
	return back
}
