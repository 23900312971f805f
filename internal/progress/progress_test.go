package progress

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// fakeClock is a Clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// event is a decoded "progress" event.
type event struct {
	Event   string   `json:"event"`
	Dataset string   `json:"dataset"`
	Stage   string   `json:"stage"`
	RunID   string   `json:"run_id"`
	Phase   string   `json:"phase"`
	Unit    string   `json:"unit"`
	Done    int64    `json:"done"`
	Total   *int64   `json:"total"`
	Rate    float64  `json:"rate"`
	ETA     *float64 `json:"eta_s"`
}

func decode(t *testing.T, b *bytes.Buffer) []event {
	t.Helper()
	var out []event
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var e event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("not JSON: %q: %v", line, err)
		}
		out = append(out, e)
	}
	return out
}

// step is one call on a Tracker after advancing the clock.
type step struct {
	after time.Duration
	phase string // begin this phase (unit rows, total 100) instead of adding
	add   int64
}

func TestJSONThrottle(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name  string
		steps []step
		// want are the done counts of the events, in order.
		want []int64
	}{
		{"first count at once, then one per second",
			[]step{{phase: "p"}, {after: 100 * ms, add: 10}, {after: 899 * ms, add: 10}, {after: 1 * ms, add: 10}, {after: 500 * ms, add: 10}, {after: 500 * ms, add: 10}},
			[]int64{0, 30, 50}},
		{"many adds within a second are one event",
			[]step{{phase: "p"}, {after: 10 * ms, add: 1}, {after: 10 * ms, add: 1}, {after: 10 * ms, add: 1}},
			[]int64{0}},
		{"a new phase within the second is not reported at once",
			[]step{{phase: "a"}, {after: 200 * ms, phase: "b"}, {after: 900 * ms, add: 7}},
			[]int64{0, 7}},
		{"adds before any phase count nothing",
			[]step{{add: 5}, {after: 2 * time.Second, add: 5}},
			nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			clk := &fakeClock{t: time.Unix(1000, 0)}
			tr := JSON(slog.New(slog.NewJSONHandler(&buf, nil)), clk.now).Stage("demo", "cluster", "abc")
			for _, s := range tc.steps {
				clk.advance(s.after)
				if s.phase != "" {
					tr.Phase(s.phase, Rows, 100)
				} else {
					tr.Add(s.add)
				}
			}
			tr.End()
			evs := decode(t, &buf)
			var got []int64
			for i, e := range evs {
				got = append(got, e.Done)
				if e.Event != "progress" || e.Dataset != "demo" || e.Stage != "cluster" || e.RunID != "abc" || e.Unit != "rows" {
					t.Errorf("event %d: %+v", i, e)
				}
				if e.Total == nil || *e.Total != 100 {
					t.Errorf("event %d: total %v, want 100", i, e.Total)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("done counts %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("done counts %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestJSONRateAndETA(t *testing.T) {
	tests := []struct {
		name    string
		total   int64
		done    int64
		elapsed time.Duration
		rate    float64
		eta     *float64
	}{
		{"known total", 1000, 250, 2 * time.Second, 125, ptr(6)},
		{"unknown total", -1, 250, 2 * time.Second, 125, nil},
		{"past the total", 100, 150, time.Second, 150, ptr(0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			clk := &fakeClock{t: time.Unix(1000, 0)}
			tr := JSON(slog.New(slog.NewJSONHandler(&buf, nil)), clk.now).Stage("d", "s", "r")
			tr.Phase("", Bytes, tc.total)
			buf.Reset()
			clk.advance(tc.elapsed)
			tr.Add(tc.done)
			evs := decode(t, &buf)
			if len(evs) != 1 {
				t.Fatalf("%d events, want 1", len(evs))
			}
			e := evs[0]
			if e.Rate != tc.rate {
				t.Errorf("rate %v, want %v", e.Rate, tc.rate)
			}
			switch {
			case tc.eta == nil && e.ETA != nil:
				t.Errorf("eta_s %v, want null", *e.ETA)
			case tc.eta != nil && (e.ETA == nil || *e.ETA != *tc.eta):
				t.Errorf("eta_s %v, want %v", e.ETA, *tc.eta)
			}
			if (tc.total < 0) != (e.Total == nil) {
				t.Errorf("total %v for total %d", e.Total, tc.total)
			}
		})
	}
}

func ptr(f float64) *float64 { return &f }

// TestBarDelay: a phase shorter than BarDelay draws nothing; a longer one
// draws its bar with the unit and its count.
func TestBarDelay(t *testing.T) {
	tests := []struct {
		name   string
		unit   Unit
		total  int64
		runFor time.Duration
		want   []string // substrings of the output; nil: no output
	}{
		{"short phase", Rows, 100, BarDelay - time.Millisecond, nil},
		{"long phase with total", Rows, 100, BarDelay + time.Second, []string{"fingerprint", "rows"}},
		{"long phase in bytes", Bytes, 4 << 20, BarDelay + time.Second, []string{"fingerprint", "MB"}},
		{"long phase without total", Rows, -1, BarDelay + time.Second, []string{"fingerprint", "rows"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			clk := &fakeClock{t: time.Unix(1000, 0)}
			tr := Bar(&buf, clk.now).Stage("demo", "fingerprint", "abc")
			tr.Phase("", tc.unit, tc.total)
			for range 10 {
				clk.advance(tc.runFor / 10)
				time.Sleep(25 * time.Millisecond) // past the bar's own render throttle
				tr.Add(tc.total / 20)
			}
			clk.advance(tc.runFor - tc.runFor/10*10)
			time.Sleep(250 * time.Millisecond)
			tr.Add(1)
			out := buf.String()
			tr.End()
			if tc.want == nil {
				if buf.Len() != 0 {
					t.Fatalf("short phase wrote %q", buf.String())
				}
				return
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("bar %q lacks %q", out, w)
				}
			}
		})
	}
}

func TestReader(t *testing.T) {
	var buf bytes.Buffer
	clk := &fakeClock{t: time.Unix(1000, 0)}
	tr := JSON(slog.New(slog.NewJSONHandler(&buf, nil)), clk.now).Stage("d", "normalize", "r")
	tr.Phase("", Bytes, 5000)
	clk.advance(time.Second)
	n, err := io.Copy(io.Discard, Reader(strings.NewReader(strings.Repeat("x", 5000)), tr))
	if err != nil || n != 5000 {
		t.Fatal(n, err)
	}
	evs := decode(t, &buf)
	if len(evs) != 2 || evs[1].Done != 5000 {
		t.Fatalf("events %+v: want the phase's start and the 5000 bytes read", evs)
	}
	if r := Reader(strings.NewReader("x"), nil); r == nil {
		t.Fatal("Reader(nil meter) is nil")
	}
	Or(nil).Phase("x", Rows, 1) // a nil Meter is usable through Or
	Or(nil).Add(1)
}
