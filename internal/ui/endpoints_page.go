package ui

import (
	"html/template"
	"net/http"
	"sort"
	"time"
)

// endpointRow is one row of the endpoints page.
type endpointRow struct {
	EndpointStats
	Rate                 float64
	Audited              bool
	Processing, Critical string
	DepthSpark           template.HTML
	RateSpark            template.HTML
}

func (s *Server) endpointsPage(w http.ResponseWriter, r *http.Request) {
	byName, last, err := s.history.snapshot()
	if last.IsZero() && err == nil {
		s.Sample(r.Context())
		byName, last, err = s.history.snapshot()
	}
	now := time.Now()
	rows := make([]endpointRow, 0, len(byName))
	for name, samples := range byName {
		latest := samples[len(samples)-1]
		row := endpointRow{EndpointStats: latest.Stats, Rate: latest.Rate}
		depth, rate := make([]float64, len(samples)), make([]float64, len(samples))
		for i, x := range samples {
			depth[i], rate[i] = float64(x.Stats.Pending), x.Rate
		}
		row.DepthSpark = sparkline(depth, 120, 18, name+": queue depth over the last minutes")
		row.RateSpark = sparkline(rate, 120, 18, name+": handled per second over the last minutes")
		if p, c, n := s.timings.averages(name, now); n > 0 {
			row.Audited, row.Processing, row.Critical = true, roundDuration(p), roundDuration(c)
		}
		rows = append(rows, row)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Endpoint < rows[j].Endpoint })
	p := page{Title: "Endpoints", Refresh: s.refreshSeconds(), Data: map[string]any{
		"Rows": rows, "Window": s.cfg.Window.String(), "Interval": s.cfg.Interval.String(), "Sampled": last.Local().Format("15:04:05"),
	}}
	if err != nil {
		p.Error = "reading the endpoints: " + err.Error()
	}
	s.render(w, r, "endpoints", p)
}

// roundDuration shows d to a precision that suits its size.
func roundDuration(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return d.Round(time.Second).String()
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}
