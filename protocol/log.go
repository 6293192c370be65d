package protocol

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
)

// LogHandler is a slog.Handler that prints each record as an Airbyte LOG
// message through a Writer: "message key=value ...", levels mapped to
// DEBUG, INFO, WARN and ERROR.
type LogHandler struct {
	w     *Writer
	level slog.Leveler
	attrs []groupAttr // from WithAttrs, with the group in effect then
	group string
}

// groupAttr is an attribute with the group (dotted) it was added under.
type groupAttr struct {
	group string
	attr  slog.Attr
}

// NewLogHandler returns a handler writing to w at or above level (nil: INFO).
func NewLogHandler(w *Writer, level slog.Leveler) *LogHandler {
	if level == nil {
		level = slog.LevelInfo
	}
	return &LogHandler{w: w, level: level}
}

// Enabled implements slog.Handler.
func (h *LogHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

// Handle implements slog.Handler.
func (h *LogHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	for _, ga := range h.attrs {
		writeAttr(&b, ga.group, ga.attr)
	}
	r.Attrs(func(a slog.Attr) bool { writeAttr(&b, h.group, a); return true })
	return h.w.Send(&Message{Type: TypeLog, Log: &Log{Level: levelName(r.Level), Message: b.String()}})
}

// writeAttr writes " group.key=value"; group attributes are flattened into
// dotted keys, empty attributes and empty groups are dropped (slog rules).
func writeAttr(b *strings.Builder, group string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	key := a.Key
	if group != "" && key != "" {
		key = group + "." + key
	} else if key == "" {
		key = group
	}
	if a.Value.Kind() == slog.KindGroup {
		for _, ga := range a.Value.Group() {
			writeAttr(b, key, ga)
		}
		return
	}
	b.WriteByte(' ')
	b.WriteString(key)
	b.WriteByte('=')
	v := a.Value.String()
	if strings.ContainsAny(v, " \"=") {
		fmt.Fprintf(b, "%q", v)
	} else {
		b.WriteString(v)
	}
}

func levelName(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return LevelError
	case l >= slog.LevelWarn:
		return LevelWarn
	case l >= slog.LevelInfo:
		return LevelInfo
	default:
		return LevelDebug
	}
}

// WithAttrs implements slog.Handler.
func (h *LogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	if len(as) == 0 {
		return h
	}
	h2 := *h
	h2.attrs = slices.Clip(h.attrs)
	for _, a := range as {
		h2.attrs = append(h2.attrs, groupAttr{group: h.group, attr: a})
	}
	return &h2
}

// WithGroup implements slog.Handler.
func (h *LogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	if h2.group != "" {
		name = h2.group + "." + name
	}
	h2.group = name
	return &h2
}
