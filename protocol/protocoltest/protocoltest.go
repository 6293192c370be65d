// Package protocoltest checks a connector's standard output against the
// official Airbyte protocol schema (shared/airbyte/airbyte_protocol.schema.json)
// and the rules the schema does not express but the platform enforces:
//
//   - the payload is the one the type names (RECORD→record, STATE→state,
//     LOG→log, TRACE→trace, SPEC→spec, CATALOG→catalog,
//     CONNECTION_STATUS→connectionStatus, CONTROL→control), and no other
//     payload key is present;
//   - namespace is omitted, never null;
//   - a RECORD's emitted_at is an integer literal and its data a non-empty
//     object.
//
// The package depends only on the standard library and jsonschema, so any
// test (including tests inside package protocol) can import it. When the
// schema file cannot be found the helpers fail the test: they never skip.
package protocoltest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// SchemaEnv, when set, is the path of the schema file; it overrides the
// search of SchemaPath.
const SchemaEnv = "AIRBYTE_PROTOCOL_SCHEMA"

// schemaRel is where the schema sits under a directory on the way up from
// the working directory (the repository has shared/ beside it).
var schemaRel = filepath.Join("shared", "airbyte", "airbyte_protocol.schema.json")

// SchemaPath finds shared/airbyte/airbyte_protocol.schema.json by walking up
// from the working directory: at each directory it tries
// DIR/shared/airbyte/airbyte_protocol.schema.json. $AIRBYTE_PROTOCOL_SCHEMA,
// when set, is used instead.
func SchemaPath() (string, error) {
	if p := os.Getenv(SchemaEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("protocoltest: $%s: %w", SchemaEnv, err)
		}
		return p, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("protocoltest: working directory: %w", err)
	}
	for dir := wd; ; {
		p := filepath.Join(dir, schemaRel)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			break
		}
		dir = up
	}
	return "", fmt.Errorf("protocoltest: %s not found in %s or any directory above it (set $%s to its path)", schemaRel, wd, SchemaEnv)
}

// Validator checks stdout lines. It is safe for concurrent use.
type Validator struct {
	path     string
	compiler *jsonschema.Compiler
	message  *jsonschema.Schema

	mu   sync.Mutex
	defs map[string]*jsonschema.Schema
}

var (
	once      sync.Once
	validator *Validator
	vErr      error
)

// NewValidator returns the Validator built from the schema at SchemaPath. The
// schema is compiled once per process: every call returns the same
// Validator (or the same error). (A function cannot share the name of the
// type in Go, hence NewValidator rather than Validator.)
func NewValidator() (*Validator, error) {
	once.Do(func() { validator, vErr = load() })
	return validator, vErr
}

func load() (*Validator, error) {
	p, err := SchemaPath()
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("protocoltest: %w", err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		return nil, fmt.Errorf("protocoltest: %s: %w", p, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	loc := "file:///airbyte_protocol.schema.json"
	if err := c.AddResource(loc, doc); err != nil {
		return nil, fmt.Errorf("protocoltest: %s: %w", p, err)
	}
	s, err := c.Compile(loc)
	if err != nil {
		return nil, fmt.Errorf("protocoltest: compile %s: %w", p, err)
	}
	return &Validator{path: p, compiler: c, message: s, defs: map[string]*jsonschema.Schema{}}, nil
}

// Path is the schema file the Validator was built from.
func (v *Validator) Path() string { return v.path }

// payloadKeys maps each message type to its payload key.
var payloadKeys = map[string]string{
	"RECORD":              "record",
	"STATE":               "state",
	"LOG":                 "log",
	"TRACE":               "trace",
	"SPEC":                "spec",
	"CATALOG":             "catalog",
	"CONNECTION_STATUS":   "connectionStatus",
	"CONTROL":             "control",
	"DESTINATION_CATALOG": "destination_catalog",
}

// Line validates one stdout line (with or without its final newline): the
// official schema, the type↔payload rule, no null namespace, and for
// RECORD an integer emitted_at and a non-empty object as data.
func (v *Validator) Line(line []byte) error {
	line = bytes.TrimSuffix(line, []byte("\n"))
	if len(bytes.TrimSpace(line)) == 0 {
		return errors.New("empty line")
	}
	if i := bytes.IndexAny(line, "\r\n"); i >= 0 {
		return fmt.Errorf("line break inside the line at byte %d", i)
	}
	if !json.Valid(line) {
		var x any
		err := json.Unmarshal(line, &x)
		return fmt.Errorf("not JSON: %v", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(line))
	if err != nil {
		return fmt.Errorf("not JSON: %v", err)
	}
	if err := v.message.Validate(doc); err != nil {
		return fmt.Errorf("schema: %s", flatten(err))
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(line, &top); err != nil {
		return fmt.Errorf("not a JSON object: %v", err)
	}
	var typ string
	if err := json.Unmarshal(top["type"], &typ); err != nil {
		return fmt.Errorf("type: %v", err)
	}
	want, ok := payloadKeys[typ]
	if !ok {
		return fmt.Errorf("unknown type %q", typ)
	}
	payload, ok := top[want]
	if !ok || isNull(payload) {
		return fmt.Errorf("type %s without its %q payload", typ, want)
	}
	for _, k := range sortedPayloadKeys() {
		if k != want {
			if _, has := top[k]; has {
				return fmt.Errorf("type %s carries a %q payload besides %q", typ, k, want)
			}
		}
	}
	if p := nullNamespace(top, ""); p != "" {
		return fmt.Errorf("%s: namespace is null (omit it instead)", p)
	}
	if typ == "RECORD" {
		var rec map[string]json.RawMessage
		if err := json.Unmarshal(payload, &rec); err != nil {
			return fmt.Errorf("record: %v", err)
		}
		ea := bytes.TrimSpace(rec["emitted_at"])
		if len(ea) == 0 || bytes.ContainsAny(ea, ".eE") {
			return fmt.Errorf("record.emitted_at must be an integer (epoch ms), got %s", ea)
		}
		data := bytes.TrimSpace(rec["data"])
		if len(data) == 0 || data[0] != '{' {
			return fmt.Errorf("record.data must be an object, got %s", short(data))
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(data, &obj); err != nil {
			return fmt.Errorf("record.data: %v", err)
		}
		if len(obj) == 0 {
			return errors.New("record.data is an empty object (the platform drops such records)")
		}
	}
	return nil
}

// Definition validates doc against one definition of the schema, such as
// "ConfiguredAirbyteCatalog" or "AirbyteStateMessage".
func (v *Validator) Definition(name string, doc []byte) error {
	v.mu.Lock()
	s, ok := v.defs[name]
	if !ok {
		var err error
		s, err = v.compiler.Compile("file:///airbyte_protocol.schema.json#/definitions/" + name)
		if err != nil {
			v.mu.Unlock()
			return fmt.Errorf("protocoltest: definition %q: %w", name, err)
		}
		v.defs[name] = s
	}
	v.mu.Unlock()
	x, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("not JSON: %v", err)
	}
	if err := s.Validate(x); err != nil {
		return fmt.Errorf("schema %s: %s", name, flatten(err))
	}
	return nil
}

func sortedPayloadKeys() []string {
	out := make([]string, 0, len(payloadKeys))
	for _, k := range payloadKeys {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// opaque are members whose contents are user data, not protocol fields: a
// key "namespace" inside them means nothing to the protocol.
var opaque = map[string]bool{
	"data": true, "json_schema": true, "connectionSpecification": true,
	"stream_state": true, "shared_state": true, "config": true,
	"advanced_auth": true, "meta": true,
}

// nullNamespace returns the JSON path of a "namespace": null in the
// protocol fields of v, or "".
func nullNamespace(v any, at string) string {
	switch x := v.(type) {
	case map[string]json.RawMessage:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := k
			if at != "" {
				p = at + "." + k
			}
			if k == "namespace" && isNull(x[k]) {
				return p
			}
			if opaque[k] {
				continue
			}
			if r := nullNamespace(x[k], p); r != "" {
				return r
			}
		}
	case json.RawMessage:
		b := bytes.TrimSpace(x)
		if len(b) == 0 {
			return ""
		}
		switch b[0] {
		case '{':
			var m map[string]json.RawMessage
			if json.Unmarshal(b, &m) == nil {
				return nullNamespace(m, at)
			}
		case '[':
			var a []json.RawMessage
			if json.Unmarshal(b, &a) == nil {
				for i, e := range a {
					if r := nullNamespace(e, fmt.Sprintf("%s[%d]", at, i)); r != "" {
						return r
					}
				}
			}
		}
	}
	return ""
}

func isNull(b []byte) bool { return bytes.Equal(bytes.TrimSpace(b), []byte("null")) }

func short(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	if len(b) == 0 {
		return "nothing"
	}
	return string(b)
}

// flatten turns a jsonschema error into one line: "at /path: problem; ...".
func flatten(err error) string {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return strings.ReplaceAll(err.Error(), "\n", " ")
	}
	var msgs []string
	seen := map[string]bool{}
	for _, u := range ve.BasicOutput().Errors {
		if u.Error == nil {
			continue
		}
		m := u.Error.String()
		if strings.HasPrefix(m, "validation failed") || strings.HasPrefix(m, "doesn't validate with") {
			continue
		}
		loc := u.InstanceLocation
		if loc == "" {
			loc = "/"
		}
		line := "at " + loc + ": " + m
		if !seen[line] {
			seen[line] = true
			msgs = append(msgs, line)
		}
	}
	if len(msgs) == 0 {
		return strings.ReplaceAll(ve.Error(), "\n", " ")
	}
	return strings.Join(msgs, "; ")
}

// Message is one parsed stdout line. Payload fields hold the raw JSON of
// the payload the line carries (nil when absent).
type Message struct {
	Line int             // 1-based line number in the output
	Raw  json.RawMessage // the whole line, without its newline
	Type string

	Record           json.RawMessage
	State            json.RawMessage
	Log              json.RawMessage
	Trace            json.RawMessage
	Spec             json.RawMessage
	Catalog          json.RawMessage
	ConnectionStatus json.RawMessage
	Control          json.RawMessage
}

// Parse decodes one line without validating it.
func Parse(line []byte) (Message, error) {
	line = bytes.TrimSuffix(line, []byte("\n"))
	var m struct {
		Type             string          `json:"type"`
		Record           json.RawMessage `json:"record"`
		State            json.RawMessage `json:"state"`
		Log              json.RawMessage `json:"log"`
		Trace            json.RawMessage `json:"trace"`
		Spec             json.RawMessage `json:"spec"`
		Catalog          json.RawMessage `json:"catalog"`
		ConnectionStatus json.RawMessage `json:"connectionStatus"`
		Control          json.RawMessage `json:"control"`
	}
	if err := json.Unmarshal(line, &m); err != nil {
		return Message{}, err
	}
	return Message{
		Raw: append(json.RawMessage(nil), line...), Type: m.Type,
		Record: m.Record, State: m.State, Log: m.Log, Trace: m.Trace, Spec: m.Spec,
		Catalog: m.Catalog, ConnectionStatus: m.ConnectionStatus, Control: m.Control,
	}, nil
}

// Lines splits output into lines. A final line without its newline is
// returned too; CheckOutput reports it.
func Lines(stdout []byte) [][]byte {
	if len(stdout) == 0 {
		return nil
	}
	lines := bytes.Split(bytes.TrimSuffix(stdout, []byte("\n")), []byte("\n"))
	return lines
}

// CheckOutput validates every line of stdout with Line and fails t (naming
// the line number and showing the line) for each bad one, and when stdout
// does not end with a newline. It returns the parsed messages. If the
// schema cannot be loaded the test fails immediately.
func CheckOutput(t testing.TB, stdout []byte) []Message {
	t.Helper()
	v, err := NewValidator()
	if err != nil {
		t.Fatalf("protocoltest: %v", err)
	}
	if len(stdout) > 0 && stdout[len(stdout)-1] != '\n' {
		t.Errorf("stdout does not end with a newline (last line cut?): ...%s", tail(stdout, 120))
	}
	var out []Message
	for i, line := range Lines(stdout) {
		n := i + 1
		if err := v.Line(line); err != nil {
			t.Errorf("stdout line %d: %v\n\t%s", n, err, short(line))
			continue
		}
		m, err := Parse(line)
		if err != nil {
			t.Errorf("stdout line %d: %v", n, err)
			continue
		}
		m.Line = n
		out = append(out, m)
	}
	return out
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// field decodes the member at path (dotted) of raw into dst; false when
// missing or not decodable.
func field(raw json.RawMessage, dst any, path ...string) bool {
	for _, k := range path {
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return false
		}
		v, ok := m[k]
		if !ok {
			return false
		}
		raw = v
	}
	if dst == nil {
		return true
	}
	if r, ok := dst.(*json.RawMessage); ok {
		*r = append((*r)[:0], raw...)
		return true
	}
	return json.Unmarshal(raw, dst) == nil
}

func str(raw json.RawMessage, path ...string) string {
	var s string
	field(raw, &s, path...)
	return s
}

// RecordStream is the stream of a RECORD ("" otherwise).
func (m Message) RecordStream() string { return str(m.Record, "stream") }

// RecordData is the data object of a RECORD (nil otherwise).
func (m Message) RecordData() json.RawMessage {
	var r json.RawMessage
	if !field(m.Record, &r, "data") {
		return nil
	}
	return r
}

// RecordFields decodes the data of a RECORD into a map (nil otherwise).
func (m Message) RecordFields() map[string]any {
	var out map[string]any
	if d := m.RecordData(); d != nil {
		dec := json.NewDecoder(bytes.NewReader(d))
		dec.UseNumber()
		if dec.Decode(&out) != nil {
			return nil
		}
	}
	return out
}

// StateType is the state type of a STATE (STREAM, GLOBAL, LEGACY).
func (m Message) StateType() string { return str(m.State, "type") }

// StateStream is the stream named by a STREAM state ("" otherwise).
func (m Message) StateStream() string { return str(m.State, "stream", "stream_descriptor", "name") }

// StreamState is the stream_state of a STREAM state (nil otherwise).
func (m Message) StreamState() json.RawMessage {
	var r json.RawMessage
	if !field(m.State, &r, "stream", "stream_state") {
		return nil
	}
	return r
}

// StateCount is sourceStats.recordCount of a STATE; ok is false when absent.
func (m Message) StateCount() (count float64, ok bool) {
	ok = field(m.State, &count, "sourceStats", "recordCount")
	return count, ok
}

// TraceType is the type of a TRACE (ERROR, STREAM_STATUS, ESTIMATE, ...).
func (m Message) TraceType() string { return str(m.Trace, "type") }

// ErrorMessage is trace.error.message of an error TRACE.
func (m Message) ErrorMessage() string { return str(m.Trace, "error", "message") }

// ErrorInternal is trace.error.internal_message of an error TRACE.
func (m Message) ErrorInternal() string { return str(m.Trace, "error", "internal_message") }

// FailureType is trace.error.failure_type of an error TRACE.
func (m Message) FailureType() string { return str(m.Trace, "error", "failure_type") }

// ErrorStream is the stream an error TRACE names ("" for none).
func (m Message) ErrorStream() string { return str(m.Trace, "error", "stream_descriptor", "name") }

// StreamStatus returns the stream and status of a STREAM_STATUS TRACE.
func (m Message) StreamStatus() (stream, status string) {
	return str(m.Trace, "stream_status", "stream_descriptor", "name"), str(m.Trace, "stream_status", "status")
}

// ConnStatus returns status and message of a CONNECTION_STATUS.
func (m Message) ConnStatus() (status, message string) {
	return str(m.ConnectionStatus, "status"), str(m.ConnectionStatus, "message")
}

// LogLevel and LogMessage read a LOG.
func (m Message) LogLevel() string { return str(m.Log, "level") }

// LogMessage is log.message of a LOG.
func (m Message) LogMessage() string { return str(m.Log, "message") }

// OfType returns the messages of type typ.
func OfType(msgs []Message, typ string) []Message {
	var out []Message
	for _, m := range msgs {
		if m.Type == typ {
			out = append(out, m)
		}
	}
	return out
}

// Records returns the RECORD messages of stream (all streams when "").
func Records(msgs []Message, stream string) []Message {
	var out []Message
	for _, m := range msgs {
		if m.Type == "RECORD" && (stream == "" || m.RecordStream() == stream) {
			out = append(out, m)
		}
	}
	return out
}

// Statuses returns the STREAM_STATUS statuses of stream, in order.
func Statuses(msgs []Message, stream string) []string {
	var out []string
	for _, m := range msgs {
		if m.Type == "TRACE" && m.TraceType() == "STREAM_STATUS" {
			if s, st := m.StreamStatus(); s == stream {
				out = append(out, st)
			}
		}
	}
	return out
}

// Errors returns the error TRACE messages.
func Errors(msgs []Message) []Message {
	var out []Message
	for _, m := range msgs {
		if m.Type == "TRACE" && m.TraceType() == "ERROR" {
			out = append(out, m)
		}
	}
	return out
}
