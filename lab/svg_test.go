package lab

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

func TestSVGs(t *testing.T) {
	r := &Report{Scenario: "burst-resets", Profile: "high-concurrency"}
	r.Before.Attempts, r.Before.OK = 4, 2
	r.Before.okSamples = []float64{1.5, 40}
	r.After.Attempts, r.After.OK = 4, 4
	r.After.okSamples = []float64{1, 2, 3, 4}
	r.Before.Queue = []QueuePoint{{0, 0, 128}, {25, 129, 128}, {50, 3, 128}}
	r.After.Queue = []QueuePoint{{0, 0, 65535}, {25, 300, 65535}}
	for name, draw := range map[string]func(io.Writer) error{"latency": r.WriteLatencySVG, "queue": r.WriteQueueSVG} {
		var b bytes.Buffer
		if err := draw(&b); err != nil {
			t.Fatal(err)
		}
		dec := xml.NewDecoder(&b)
		lines := 0
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: not well-formed SVG: %v", name, err)
			}
			if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
				lines++
				for _, a := range se.Attr {
					if a.Name.Local == "points" && strings.Contains(a.Value, "NaN") {
						t.Errorf("%s: NaN in %q", name, a.Value)
					}
				}
			}
		}
		want := 2
		if name == "queue" {
			want = 3 // two queues and the before limit; 65535 is off the scale
		}
		if lines != want {
			t.Errorf("%s: %d polylines, want %d", name, lines, want)
		}
	}
}

func TestDownsampleKeepsPeaks(t *testing.T) {
	var ps []QueuePoint
	for i := range 1000 {
		ps = append(ps, QueuePoint{Ms: int64(i), Queue: 1})
	}
	ps[537].Queue = 99
	got := downsample(ps, 100)
	peak := false
	for _, p := range got {
		peak = peak || p.Queue == 99
	}
	if len(got) != 100 || !peak {
		t.Errorf("%d points, peak kept: %v", len(got), peak)
	}
}
