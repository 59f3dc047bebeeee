package ui

import (
	"fmt"
	"html/template"
	"strings"
)

// sparkline draws values as an SVG polyline w by h pixels, scaled to
// their maximum (at least 1), with its title saying what it shows.
func sparkline(values []float64, w, h int, title string) template.HTML {
	max := 1.0
	for _, v := range values {
		if v > max {
			max = v
		}
	}
	var pts strings.Builder
	n := len(values)
	for i, v := range values {
		x := float64(w)
		if n > 1 {
			x = float64(i) * float64(w) / float64(n-1)
		}
		y := float64(h-1) - v/max*float64(h-2)
		fmt.Fprintf(&pts, "%.1f,%.1f ", x, y)
	}
	return template.HTML(fmt.Sprintf(
		`<svg class="spark" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s"><title>%s</title><polyline fill="none" stroke="currentColor" stroke-width="1.5" points="%s"/></svg>`,
		w, h, w, h, template.HTMLEscapeString(title), template.HTMLEscapeString(title), strings.TrimSpace(pts.String())))
}
