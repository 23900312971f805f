package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// newLogger returns the logger for the run: JSON events on stderr with
// --json; otherwise a short human line per stage on a terminal and warnings
// always.
func newLogger(g *globals) *slog.Logger {
	if g.json {
		return slog.New(slog.NewJSONHandler(g.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(&humanHandler{g: g})
}

// humanHandler prints warnings and, on a terminal, stage progress.
type humanHandler struct {
	g     *globals
	attrs []slog.Attr
}

func (h *humanHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (h *humanHandler) Handle(_ context.Context, r slog.Record) error {
	attrs := map[string]string{}
	var extra []string
	add := func(a slog.Attr) {
		attrs[a.Key] = a.Value.String()
		switch a.Key {
		case "event", "dataset", "stage", "run_id", "wall_ms":
		default:
			extra = append(extra, a.Key+"="+a.Value.String())
		}
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(func(a slog.Attr) bool { add(a); return true })
	switch {
	case r.Level >= slog.LevelWarn:
		fmt.Fprintf(h.g.stderr, "warning: %s %s %s\n", attrs["stage"], r.Message, strings.Join(extra, " "))
	case h.g.quiet || !h.g.tty:
	case attrs["event"] == "stage_start":
		fmt.Fprintf(h.g.stderr, "%-11s %s ...\n", attrs["stage"], attrs["dataset"])
	}
	return nil
}

func (h *humanHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &humanHandler{g: h.g, attrs: append(append([]slog.Attr{}, h.attrs...), as...)}
}

func (h *humanHandler) WithGroup(string) slog.Handler { return h }
