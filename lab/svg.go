package lab

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
)

// SVG pictures of a Report: the latency distribution before/after (the
// share of successful requests answered within x ms, log scale) and the
// lab listener's accept queue over the first run. Plain SVG 1.1, no
// scripts, readable on GitHub.

const (
	svgW, svgH              = 640, 300
	padL, padR, padT, padB  = 56, 16, 34, 44
	colorBefore, colorAfter = "#d62728", "#2ca02c"
	svgFont                 = `font-family="sans-serif" font-size="12"`
	plotW, plotH            = svgW - padL - padR, svgH - padT - padB
	maxPointsPerLine        = 600
)

type series struct {
	name  string
	color string
	xs    []float64
	ys    []float64
	dash  bool
}

type chart struct {
	title, xLabel, yLabel string
	xMin, xMax            float64
	yMin, yMax            float64
	logX                  bool
	lines                 []series
	note                  string
}

func (c *chart) x(v float64) float64 {
	if c.logX {
		v, lo, hi := math.Log10(math.Max(v, c.xMin)), math.Log10(c.xMin), math.Log10(c.xMax)
		return padL + (v-lo)/(hi-lo)*plotW
	}
	return padL + (v-c.xMin)/(c.xMax-c.xMin)*plotW
}

func (c *chart) y(v float64) float64 {
	return padT + plotH - (v-c.yMin)/(c.yMax-c.yMin)*plotH
}

func (c *chart) write(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">`+"\n", svgW, svgH, svgW, svgH)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="20" %s font-weight="bold">%s</text>`+"\n", padL, svgFont, esc(c.title))
	// axes and grid
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>`+"\n", padL, padT, plotW, plotH)
	for _, t := range c.xTicks() {
		x := c.x(t)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/>`, x, padT, x, padT+plotH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" %s text-anchor="middle">%s</text>`+"\n", x, padT+plotH+16, svgFont, num(t))
	}
	for i := 0; i <= 4; i++ {
		v := c.yMin + float64(i)*(c.yMax-c.yMin)/4
		y := c.y(v)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/>`, padL, y, padL+plotW, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" %s text-anchor="end">%s</text>`+"\n", padL-6, y+4, svgFont, num(v))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" %s text-anchor="middle">%s</text>`+"\n", padL+plotW/2, svgH-8, svgFont, esc(c.xLabel))
	fmt.Fprintf(&b, `<text x="14" y="%d" %s text-anchor="middle" transform="rotate(-90 14 %d)">%s</text>`+"\n", padT+plotH/2, svgFont, padT+plotH/2, esc(c.yLabel))
	// lines
	for _, s := range c.lines {
		if len(s.xs) == 0 {
			continue
		}
		var pts []string
		step := max(1, len(s.xs)/maxPointsPerLine)
		for i := 0; i < len(s.xs); i += step {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", c.x(s.xs[i]), c.y(s.ys[i])))
		}
		last := len(s.xs) - 1
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", c.x(s.xs[last]), c.y(s.ys[last])))
		dash := ""
		if s.dash {
			dash = ` stroke-dasharray="5,4"`
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>`+"\n", s.color, dash, strings.Join(pts, " "))
	}
	// legend
	ly := padT + 14
	for _, s := range c.lines {
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>`, padL+10, ly-4, padL+30, ly-4, s.color)
		fmt.Fprintf(&b, `<text x="%d" y="%d" %s>%s</text>`+"\n", padL+36, ly, svgFont, esc(s.name))
		ly += 16
	}
	if c.note != "" {
		fmt.Fprintf(&b, `<text x="%d" y="%d" %s fill="#555" text-anchor="end">%s</text>`+"\n", padL+plotW-6, padT+plotH-8, svgFont, esc(c.note))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func (c *chart) xTicks() []float64 {
	var out []float64
	if c.logX {
		for v := math.Pow(10, math.Floor(math.Log10(c.xMin))); v <= c.xMax*1.0001; v *= 10 {
			if v >= c.xMin*0.9999 {
				out = append(out, v)
			}
		}
		return out
	}
	for i := 0; i <= 5; i++ {
		out = append(out, c.xMin+float64(i)*(c.xMax-c.xMin)/5)
	}
	return out
}

func num(v float64) string {
	switch {
	case v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.0f", v)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
}

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// cdf returns the sorted samples and the share of samples <= each.
func cdf(samples []float64) (xs, ys []float64) {
	xs = append([]float64(nil), samples...)
	sort.Float64s(xs)
	for i := range xs {
		ys = append(ys, float64(i+1)/float64(len(xs)))
	}
	return xs, ys
}

// WriteLatencySVG draws the share of all attempts answered successfully
// within x ms, before and after: failed attempts never reach 1, so the gap
// under 1 is the share that failed.
func (r *Report) WriteLatencySVG(w io.Writer) error {
	c := &chart{title: r.Scenario + ": requests answered within x ms (share of all attempts)",
		xLabel: "latency, ms (log scale)", yLabel: "share of attempts", yMin: 0, yMax: 1, logX: true, xMin: math.Inf(1)}
	for _, p := range []struct {
		name  string
		ph    *Phase
		color string
	}{{"before", &r.Before, colorBefore}, {"after (" + r.Profile + ")", &r.After, colorAfter}} {
		xs, ys := cdf(p.ph.okSamples)
		if n := p.ph.Attempts; n > 0 {
			for i := range ys {
				ys[i] = ys[i] * float64(len(xs)) / float64(n)
			}
		}
		if len(xs) > 0 {
			c.xMin, c.xMax = math.Min(c.xMin, xs[0]), math.Max(c.xMax, xs[len(xs)-1])
		}
		c.lines = append(c.lines, series{name: fmt.Sprintf("%s: %d of %d ok", p.name, p.ph.OK, p.ph.Attempts), color: p.color, xs: xs, ys: ys})
	}
	if math.IsInf(c.xMin, 1) {
		c.xMin, c.xMax = 0.1, 1000
	}
	c.xMin = math.Pow(10, math.Floor(math.Log10(math.Max(c.xMin, 0.01))))
	c.xMax = math.Pow(10, math.Ceil(math.Log10(math.Max(c.xMax, c.xMin*10))))
	return c.write(w)
}

// WriteQueueSVG draws the lab listener's accept queue (and its limit) over
// the first run's before and after phases.
func (r *Report) WriteQueueSVG(w io.Writer) error {
	c := &chart{title: r.Scenario + ": listener accept queue over the run (127.0.0.1:8001)",
		xLabel: "time since the phase started, ms", yLabel: "connections waiting for accept()", yMin: 0, yMax: 1, xMin: 0, xMax: 1}
	for _, p := range []struct {
		name  string
		ph    *Phase
		color string
	}{{"before", &r.Before, colorBefore}, {"after (" + r.Profile + ")", &r.After, colorAfter}} {
		var xs, ys, ms []float64
		limit := 0.0
		for _, q := range p.ph.Queue {
			xs = append(xs, float64(q.Ms))
			ys = append(ys, float64(q.Queue))
			c.xMax = math.Max(c.xMax, float64(q.Ms))
			c.yMax = math.Max(c.yMax, float64(q.Queue))
			limit = float64(q.Max)
		}
		c.lines = append(c.lines, series{name: p.name + " queue", color: p.color, xs: xs, ys: ys})
		if len(xs) > 0 && limit > 0 {
			// The limit is drawn only where it fits the scale of the queue.
			if limit <= c.yMax*4 || p.name == "before" {
				c.yMax = math.Max(c.yMax, limit)
				ms = []float64{limit, limit}
				c.lines = append(c.lines, series{name: fmt.Sprintf("%s limit %d", p.name, int(limit)), color: p.color,
					xs: []float64{0, xs[len(xs)-1]}, ys: ms, dash: true})
			} else {
				c.note = fmt.Sprintf("after: limit %d (off the scale)", int(limit))
			}
		}
	}
	c.yMax = math.Ceil(c.yMax*1.1 + 1)
	return c.write(w)
}
