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
		h := slog.NewJSONHandler(g.stderr, &slog.HandlerOptions{Level: slog.LevelInfo})
		return slog.New(&eventHandler{h: h.WithAttrs([]slog.Attr{slog.Int("schema", EventSchema)})})
	}
	return slog.New(&humanHandler{g: g})
}

// EventSchema is the version of the --json event stream: the "schema"
// field of every event. It changes when an event loses a field or a
// field changes meaning (added events and fields keep it); the events and
// their fields are listed in events.go and docs/reproducibility.md.
const EventSchema = 1

// eventHandler gives every record an "event" field: the informational
// lines of the stages, which have none, are events "log".
type eventHandler struct {
	h        slog.Handler
	hasEvent bool // an attribute added with WithAttrs is "event"
}

func (h *eventHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.h.Enabled(ctx, l) }

func (h *eventHandler) Handle(ctx context.Context, r slog.Record) error {
	if !h.hasEvent {
		has := false
		r.Attrs(func(a slog.Attr) bool {
			has = a.Key == "event"
			return !has
		})
		if !has {
			r = r.Clone()
			r.AddAttrs(slog.String("event", "log"))
		}
	}
	return h.h.Handle(ctx, r)
}

func (h *eventHandler) WithAttrs(as []slog.Attr) slog.Handler {
	has := h.hasEvent
	for _, a := range as {
		has = has || a.Key == "event"
	}
	return &eventHandler{h: h.h.WithAttrs(as), hasEvent: has}
}

func (h *eventHandler) WithGroup(name string) slog.Handler {
	return &eventHandler{h: h.h.WithGroup(name), hasEvent: h.hasEvent}
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
