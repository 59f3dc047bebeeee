package ui

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/gobusdev/gobus/internal/audit"
)

// step is one handling of a message in a conversation, as the
// conversation page lists it.
type step struct {
	N                    int
	Type, ShortType, ID  string
	From, To             string
	Sent                 time.Time
	Processing, Critical string
}

func (s *Server) conversationPage(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimSpace(r.URL.Query().Get("id"))
	d := map[string]any{"ID": id}
	p := page{Title: "Conversation", Nav: "conversation", Data: d}
	if id != "" {
		records, err := audit.Conversation(r.Context(), s.cfg.JS, s.cfg.Prefix, id)
		switch {
		case errors.Is(err, audit.ErrNoStream):
			d["Why"] = "there is no audit stream: start the endpoints with gobus.WithAudit"
		case err != nil:
			p.Error = err.Error()
		default:
			steps := steps(records)
			d["Steps"], d["Diagram"] = steps, diagram(steps)
		}
	}
	s.render(w, r, "conversation", p)
}

// steps turns audit records, in causal order, into the page's rows.
func steps(records []audit.Record) []step {
	out := make([]step, 0, len(records))
	for i, rec := range records {
		st := step{
			N: i + 1, Type: rec.Type, ShortType: shortType(rec.Type), ID: rec.ID,
			From: rec.Source, To: rec.Endpoint, Sent: rec.Time,
			Processing: roundDuration(rec.Ended.Sub(rec.Started)),
		}
		if st.From == "" {
			st.From = "(unknown sender)"
		}
		if !rec.Time.IsZero() {
			st.Critical = roundDuration(rec.Ended.Sub(rec.Time))
		}
		out = append(out, st)
	}
	return out
}

// shortType is a proto full name without its package.
func shortType(full string) string {
	if i := strings.LastIndexByte(full, '.'); i >= 0 {
		return full[i+1:]
	}
	return full
}

// Diagram geometry, in pixels.
const (
	laneWidth = 170
	margin    = 20
	headTop   = 28
	firstRow  = 64
	rowHeight = 38
)

// diagram draws steps as an SVG sequence diagram: one lane per endpoint
// or sender, in the order they first appear, and one arrow per step, top
// to bottom, from the sender's lane to the handling endpoint's.
func diagram(steps []step) template.HTML {
	var lanes []string
	lane := map[string]int{}
	for _, st := range steps {
		for _, name := range []string{st.From, st.To} {
			if _, ok := lane[name]; !ok {
				lane[name] = len(lanes)
				lanes = append(lanes, name)
			}
		}
	}
	x := func(name string) int { return margin + laneWidth/2 + lane[name]*laneWidth }
	width := 2*margin + len(lanes)*laneWidth
	height := firstRow + len(steps)*rowHeight + 10
	var b strings.Builder
	esc := template.HTMLEscapeString
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="sequence diagram of the conversation" id="sequence">`, width, height, width, height)
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#2456c7"/></marker></defs>`)
	for i, name := range lanes {
		cx := margin + laneWidth/2 + i*laneWidth
		fmt.Fprintf(&b, `<rect x="%d" y="6" width="%d" height="30" rx="4" fill="#f6f7f9" stroke="#c9ced8"/>`, cx-laneWidth/2+8, laneWidth-16)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" font-weight="600" class="lane">%s</text>`, cx, headTop-2, esc(name))
		fmt.Fprintf(&b, `<line x1="%d" y1="36" x2="%d" y2="%d" stroke="#c9ced8" stroke-dasharray="4 4"/>`, cx, cx, height-4)
	}
	for i, st := range steps {
		y := firstRow + i*rowHeight
		x1, x2 := x(st.From), x(st.To)
		title := fmt.Sprintf("%d. %s, id %s, from %s to %s; processing %s", st.N, st.Type, st.ID, st.From, st.To, st.Processing)
		fmt.Fprintf(&b, `<g class="arrow"><title>%s</title>`, esc(title))
		if x1 == x2 {
			fmt.Fprintf(&b, `<path d="M%d,%d h36 v14 h-36" fill="none" stroke="#2456c7" stroke-width="1.5" marker-end="url(#arrow)"/>`, x1, y)
			fmt.Fprintf(&b, `<text x="%d" y="%d" class="label">%d. %s</text>`, x1+42, y+11, st.N, esc(st.ShortType))
		} else {
			fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#2456c7" stroke-width="1.5" marker-end="url(#arrow)"/>`, x1, y+8, x2, y+8)
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle" class="label">%d. %s</text>`, (x1+x2)/2, y+2, st.N, esc(st.ShortType))
		}
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
