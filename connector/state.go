package connector

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// ParseState reads a --state file in any shape the platform writes: a JSON
// array of state messages (STREAM, GLOBAL or LEGACY), one such message, or
// the legacy object mapping stream names to their state. Empty input,
// null and [] mean no state. It returns each stream's state blob.
func ParseState(data []byte) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || bytes.Equal(data, []byte("null")) {
		return out, nil
	}
	if !json.Valid(data) {
		return nil, jsonSyntaxError(data)
	}
	switch data[0] {
	case '[':
		var msgs []json.RawMessage
		if err := json.Unmarshal(data, &msgs); err != nil {
			return nil, err
		}
		for i, m := range msgs {
			if err := addStateMessage(out, m); err != nil {
				return nil, fmt.Errorf("state message %d: %w", i, err)
			}
		}
		return out, nil
	case '{':
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(data, &probe); err != nil {
			return nil, err
		}
		add := addLegacy
		for _, k := range []string{"type", "stream", "global"} {
			if _, ok := probe[k]; ok {
				add = addStateMessage
			}
		}
		if err := add(out, data); err != nil {
			return nil, err
		}
		return out, nil
	}
	return nil, fmt.Errorf("state must be a JSON array or object, not %s", kindOf(data))
}

func addStateMessage(out map[string]json.RawMessage, raw json.RawMessage) error {
	var m struct {
		Type   string `json:"type"`
		Stream *struct {
			Descriptor *struct {
				Name      string  `json:"name"`
				Namespace *string `json:"namespace"`
			} `json:"stream_descriptor"`
			State json.RawMessage `json:"stream_state"`
		} `json:"stream"`
		Global *struct {
			StreamStates []struct {
				Descriptor *struct {
					Name string `json:"name"`
				} `json:"stream_descriptor"`
				State json.RawMessage `json:"stream_state"`
			} `json:"stream_states"`
		} `json:"global"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("not a state message: %w", err)
	}
	switch {
	case m.Type == "STREAM" || (m.Type == "" && m.Stream != nil):
		if m.Stream == nil || m.Stream.Descriptor == nil || m.Stream.Descriptor.Name == "" {
			return fmt.Errorf("STREAM state without stream.stream_descriptor.name")
		}
		out[m.Stream.Descriptor.Name] = m.Stream.State
	case m.Type == "GLOBAL" || (m.Type == "" && m.Global != nil):
		if m.Global == nil {
			return fmt.Errorf("GLOBAL state without global")
		}
		for i, s := range m.Global.StreamStates {
			if s.Descriptor == nil || s.Descriptor.Name == "" {
				return fmt.Errorf("global.stream_states[%d] without stream_descriptor.name", i)
			}
			out[s.Descriptor.Name] = s.State
		}
	case m.Type == "LEGACY" || (m.Type == "" && m.Data != nil):
		return addLegacy(out, m.Data)
	default:
		return fmt.Errorf("unknown state type %q (want STREAM, GLOBAL or LEGACY)", m.Type)
	}
	return nil
}

func addLegacy(out map[string]json.RawMessage, data json.RawMessage) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("legacy state must be an object of stream names: %w", err)
	}
	for k, v := range m {
		out[k] = v
	}
	return nil
}

// cursorState is the state of one incremental stream:
//
//	{"<cursor field>": "2026-11-30T10:00:00Z", "partitions": {"<key>": "2026-11-29T09:00:00Z"}}
//
// The cursor is the high-water mark of the last complete sync. Partitions
// lists the partitions a sync in progress has finished, with the highest
// cursor each held; a resumed sync skips them. A complete sync folds them
// into the cursor.
type cursorState struct {
	Cursor     time.Time
	Partitions map[string]time.Time
}

func parseCursorState(stream, field string, raw json.RawMessage) (cursorState, error) {
	cs := cursorState{Partitions: map[string]time.Time{}}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return cs, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return cs, Configf("state of stream %q: must be an object like {%q: \"2026-01-02T15:04:05Z\"}: %v", stream, field, err)
	}
	for k, v := range m {
		switch k {
		case field:
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return cs, Configf("state of stream %q: %q must be an RFC 3339 string, got %s", stream, field, truncate(string(v), 60))
			}
			t, err := parseTime(s)
			if err != nil {
				return cs, Configf("state of stream %q: %q: %v", stream, field, err)
			}
			cs.Cursor = t
		case "partitions":
			var ps map[string]string
			if err := json.Unmarshal(v, &ps); err != nil {
				return cs, Configf("state of stream %q: \"partitions\" must map partition keys to RFC 3339 strings: %v", stream, err)
			}
			for pk, pv := range ps {
				t, err := parseTime(pv)
				if err != nil {
					return cs, Configf("state of stream %q: partition %q: %v", stream, pk, err)
				}
				cs.Partitions[pk] = t
			}
		default:
			return cs, Configf("state of stream %q has unknown key %q (this stream's state holds %q and \"partitions\"); is it the state of another stream or connector?", stream, k, field)
		}
	}
	return cs, nil
}

func (cs cursorState) marshal(field string) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	if !cs.Cursor.IsZero() {
		fmt.Fprintf(&b, "%q:%q", field, cs.Cursor.UTC().Format(time.RFC3339))
	}
	if len(cs.Partitions) > 0 {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		keys := make([]string, 0, len(cs.Partitions))
		for k := range cs.Partitions {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString(`"partitions":{`)
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			b.Write(kb)
			fmt.Fprintf(&b, ":%q", cs.Partitions[k].UTC().Format(time.RFC3339))
		}
		b.WriteByte('}')
	}
	b.WriteByte('}')
	return b.Bytes()
}

// parseTime accepts RFC 3339 date-times and plain dates (midnight UTC).
func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 date or date-time", truncate(s, 60))
}

// ParseTime is parseTime for sources: RFC 3339 date-time or date.
func ParseTime(s string) (time.Time, error) { return parseTime(s) }

func kindOf(data []byte) string {
	switch data[0] {
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// jsonSyntaxError locates a JSON syntax error as line:column.
func jsonSyntaxError(data []byte) error {
	var v any
	err := json.Unmarshal(data, &v)
	var se *json.SyntaxError
	if ok := asSyntax(err, &se); ok {
		// Offset counts the bytes read including the offending one; at the
		// end of the input it is the length of the input.
		off := min(int(se.Offset), len(data))
		if off > 0 && int(se.Offset) <= len(data) && !strings.HasPrefix(se.Error(), "unexpected end") {
			off--
		}
		line, col := 1, 1
		for _, c := range string(data[:off]) {
			if c == '\n' {
				line, col = line+1, 1
			} else {
				col++
			}
		}
		return fmt.Errorf("invalid JSON at line %d, column %d: %v", line, col, se)
	}
	if err == nil {
		return nil
	}
	return fmt.Errorf("invalid JSON: %v", err)
}

func asSyntax(err error, target **json.SyntaxError) bool {
	se, ok := err.(*json.SyntaxError)
	if ok {
		*target = se
	}
	return ok
}
