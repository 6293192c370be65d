package integration_tests

// The acceptance suite, in the spirit of Airbyte's Connector Acceptance
// Tests (CAT): it runs the real connector binary as a process against the
// fake Zoom server and checks spec, check, discover, basic read, full
// refresh and incremental reads, and the conventional files of this
// directory. Every stdout line of every run is validated against the
// official protocol schema (harness.Run).
//
//	go test ./integration_tests -run TestAcceptance            # run it
//	go test ./integration_tests -run TestAcceptance -update    # regenerate the files

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/source-zoom/source-zoom/connector"
	"github.com/source-zoom/source-zoom/integration_tests/fakezoom"
	"github.com/source-zoom/source-zoom/integration_tests/harness"
	"github.com/source-zoom/source-zoom/protocol"
	"github.com/source-zoom/source-zoom/protocol/protocoltest"
)

var updateFiles = flag.Bool("update", false, "regenerate expected_records.jsonl, configured_catalog.json, abnormal_state.json and sample_state.json from the fake Zoom server")

// suite is the fake Zoom account of the acceptance tests. Its seed and sizes
// are fixed: expected_records.jsonl is generated from it.
var suite = fakezoom.Options{Seed: 1, Users: 3}

// lookback is the connector's default lookback window (spec.json:
// lookback_window_days = 1).
const lookback = 24 * time.Hour

// referenceStreams are the 19 streams of Airbyte's own Zoom source
// (shared/reference/README.md): a user who switches keeps them.
var referenceStreams = []string{
	"users", "meetings", "meeting_registrants", "meeting_polls", "meeting_poll_results",
	"meeting_registration_questions", "webinars", "webinar_panelists", "webinar_registrants",
	"webinar_absentees", "webinar_polls", "webinar_poll_results", "webinar_registration_questions",
	"webinar_tracking_sources", "webinar_qna_results", "report_meetings", "report_meeting_participants",
	"report_webinars", "report_webinar_participants",
}

func TestMain(m *testing.M) { os.Exit(harness.Main(m)) }

// env is what most tests start from: the binary, a fake server with the
// suite's data, its config and the discovered catalog.
type env struct {
	bin string
	s   *fakezoom.Server
	cfg string
	cat *protocol.Catalog
}

func setup(t *testing.T) *env {
	t.Helper()
	e := &env{bin: harness.Binary(t), s: harness.StartFake(t, suite)}
	e.cfg = harness.WriteConfig(t, e.s, nil)
	e.cat = harness.Discover(t, e.bin, e.cfg)
	return e
}

func (e *env) read(t *testing.T, catalog string, state []byte) *harness.Result {
	t.Helper()
	args := []string{"read", "--config", e.cfg, "--catalog", catalog}
	if state != nil {
		args = append(args, "--state", harness.WriteJSON(t, "state.json", state))
	}
	return harness.Run(t, e.bin, args...)
}

// mustSucceed fails t unless r exited 0 with an empty stderr and no error
// TRACE.
func mustSucceed(t *testing.T, what string, r *harness.Result) {
	t.Helper()
	if r.Code != 0 {
		t.Errorf("%s: exit code %d, want 0", what, r.Code)
	}
	if len(r.Stderr) != 0 {
		t.Errorf("%s: stderr is not empty:\n%s", what, r.Stderr)
	}
	for _, m := range r.Errors() {
		t.Errorf("%s: error trace: %s", what, m.Raw)
	}
	if t.Failed() {
		t.FailNow()
	}
}

func (e *env) schemas(t *testing.T) map[string]*connector.Schema {
	t.Helper()
	out := map[string]*connector.Schema{}
	for _, s := range e.cat.Streams {
		sc, err := connector.CompileSchema(s.Name, s.JSONSchema)
		if err != nil {
			t.Fatalf("stream %s: json_schema does not compile: %v", s.Name, err)
		}
		out[s.Name] = sc
	}
	return out
}

func (e *env) names() []string {
	var out []string
	for _, s := range e.cat.Streams {
		out = append(out, s.Name)
	}
	return out
}

// ---- spec ----

func TestAcceptanceSpec(t *testing.T) {
	t.Parallel()
	bin := harness.Binary(t)
	r := harness.Run(t, bin, "spec")
	mustSucceed(t, "spec", r)
	specs := protocoltest.OfType(r.Msgs, "SPEC")
	if len(specs) != 1 || len(r.Msgs) != 1 {
		t.Fatalf("spec: want exactly one SPEC message, got %d messages", len(r.Msgs))
	}
	v, err := protocoltest.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Definition("ConnectorSpecification", specs[0].Spec); err != nil {
		t.Error(err)
	}
	var spec struct {
		ProtocolVersion string          `json:"protocol_version"`
		ConnSpec        json.RawMessage `json:"connectionSpecification"`
	}
	if err := json.Unmarshal(specs[0].Spec, &spec); err != nil {
		t.Fatal(err)
	}
	if spec.ProtocolVersion != "0.2.0" {
		t.Errorf("protocol_version = %q, want 0.2.0", spec.ProtocolVersion)
	}
	// The spec the binary prints is spec.json (CAT's spec_path check).
	file, err := os.ReadFile(filepath.Join("..", "spec.json"))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := canonical(t, file), canonical(t, specs[0].Spec); a != b {
		t.Error("spec output differs from spec.json")
	}

	var cs struct {
		Schema     string                     `json:"$schema"`
		Type       string                     `json:"type"`
		Required   []string                   `json:"required"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(spec.ConnSpec, &cs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cs.Schema, "draft-07") {
		t.Errorf("connectionSpecification $schema = %q, want draft-07", cs.Schema)
	}
	if cs.Type != "object" {
		t.Errorf("connectionSpecification type = %q, want object", cs.Type)
	}
	if _, err := connector.CompileSchema("connectionSpecification", spec.ConnSpec); err != nil {
		t.Errorf("connectionSpecification does not compile as draft-07: %v", err)
	}
	for _, f := range []string{"account_id", "client_id", "client_secret"} {
		if !slices.Contains(cs.Required, f) {
			t.Errorf("%s is not required", f)
		}
	}
	for _, f := range cs.Required {
		if _, ok := cs.Properties[f]; !ok {
			t.Errorf("required field %s has no property", f)
		}
	}
	// Every secret-looking field, at any depth, is airbyte_secret.
	secret := regexp.MustCompile(`(?i)secret|password|token$|api_key|private`)
	var walk func(path string, props map[string]json.RawMessage)
	walk = func(path string, props map[string]json.RawMessage) {
		for name, raw := range props {
			var p struct {
				Secret     bool                       `json:"airbyte_secret"`
				Properties map[string]json.RawMessage `json:"properties"`
			}
			if err := json.Unmarshal(raw, &p); err != nil {
				t.Fatalf("%s%s: %v", path, name, err)
			}
			if secret.MatchString(name) && !p.Secret {
				t.Errorf("%s%s looks like a secret but is not airbyte_secret", path, name)
			}
			walk(path+name+".", p.Properties)
		}
	}
	walk("", cs.Properties)
	var cl struct {
		Secret bool `json:"airbyte_secret"`
	}
	json.Unmarshal(cs.Properties["client_secret"], &cl)
	if !cl.Secret {
		t.Error("client_secret is not airbyte_secret")
	}
}

// ---- check ----

func TestAcceptanceCheck(t *testing.T) {
	t.Parallel()
	bin := harness.Binary(t)
	s := harness.StartFake(t, suite)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()

	invalid, err := os.ReadFile("invalid_config.json")
	if err != nil {
		t.Fatal(err)
	}
	var invalidCfg map[string]any
	if err := json.Unmarshal(invalid, &invalidCfg); err != nil {
		t.Fatal(err)
	}
	// invalid_config.json names no endpoint (so the real CAT asks Zoom);
	// here it is sent to the fake.
	invalidCfg["authorization_endpoint"], invalidCfg["api_base_url"] = s.TokenURL(), s.APIBaseURL()

	cases := []struct {
		name   string
		config map[string]any
		want   string   // SUCCEEDED or FAILED
		words  []string // the message contains one of these (lower case)
	}{
		{"good", harness.Config(s, nil), "SUCCEEDED", nil},
		{"wrong secret", harness.Config(s, map[string]any{"client_secret": "not-the-secret"}), "FAILED", []string{"credentials", "client_secret"}},
		{"wrong account", harness.Config(s, map[string]any{"account_id": "not-the-account"}), "FAILED", []string{"account"}},
		{"unreachable", harness.Config(s, map[string]any{"authorization_endpoint": closed + "/oauth/token", "api_base_url": closed + "/v2"}), "FAILED", []string{"network", "reach"}},
		{"invalid_config.json", invalidCfg, "FAILED", []string{"credentials", "client_secret"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := harness.WriteJSON(t, "config.json", c.config)
			r := harness.Run(t, bin, "check", "--config", cfg)
			if r.Code != 0 {
				t.Errorf("exit code %d, want 0 (a failed check is a FAILED status, not an exit code)", r.Code)
			}
			if len(r.Stderr) != 0 {
				t.Errorf("stderr: %s", r.Stderr)
			}
			status, msg := r.ConnectionStatus(t)
			if status != c.want {
				t.Fatalf("status %s (%q), want %s", status, msg, c.want)
			}
			if c.want == "FAILED" {
				low := strings.ToLower(msg)
				if !slices.ContainsFunc(c.words, func(w string) bool { return strings.Contains(low, w) }) {
					t.Errorf("message %q names none of %q", msg, c.words)
				}
				if secret, _ := c.config["client_secret"].(string); secret != "" && strings.Contains(msg, secret) {
					t.Errorf("message %q leaks the client secret", msg)
				}
			}
		})
	}
}

// ---- discover ----

func TestAcceptanceDiscover(t *testing.T) {
	t.Parallel()
	e := setup(t)
	seen := map[string]bool{}
	for _, s := range e.cat.Streams {
		if seen[s.Name] {
			t.Errorf("stream %s listed twice", s.Name)
		}
		seen[s.Name] = true
		var sc struct {
			Schema     string                     `json:"$schema"`
			Properties map[string]json.RawMessage `json:"properties"`
		}
		if err := json.Unmarshal(s.JSONSchema, &sc); err != nil {
			t.Errorf("stream %s: json_schema: %v", s.Name, err)
			continue
		}
		if sc.Schema != "" && !strings.Contains(sc.Schema, "draft-07") {
			t.Errorf("stream %s: $schema %q is not draft-07", s.Name, sc.Schema)
		}
		if _, err := connector.CompileSchema(s.Name, s.JSONSchema); err != nil {
			t.Errorf("stream %s: json_schema is not valid draft-07: %v", s.Name, err)
		}
		if !slices.Contains(s.SupportedSyncModes, protocol.FullRefresh) {
			t.Errorf("stream %s: no full_refresh in %v", s.Name, s.SupportedSyncModes)
		}
		if len(s.SourceDefinedPrimaryKey) == 0 {
			t.Errorf("stream %s: no source_defined_primary_key", s.Name)
		}
		for _, pk := range s.SourceDefinedPrimaryKey {
			if !hasPath(s.JSONSchema, pk) {
				t.Errorf("stream %s: primary key %v is not in the schema's properties", s.Name, pk)
			}
		}
		if slices.Contains(s.SupportedSyncModes, protocol.Incremental) {
			if !s.SourceDefinedCursor {
				t.Errorf("stream %s: incremental without source_defined_cursor", s.Name)
			}
			if len(s.DefaultCursorField) == 0 {
				t.Errorf("stream %s: incremental without default_cursor_field", s.Name)
			} else if !hasPath(s.JSONSchema, s.DefaultCursorField) {
				t.Errorf("stream %s: cursor %v is not in the schema's properties", s.Name, s.DefaultCursorField)
			}
		} else if s.SourceDefinedCursor || len(s.DefaultCursorField) > 0 {
			t.Errorf("stream %s: a cursor without incremental support", s.Name)
		}
	}
	for _, name := range referenceStreams {
		if !seen[name] {
			t.Errorf("reference stream %s is missing", name)
		}
	}
	for _, name := range fakezoom.Streams() {
		if !seen[name] {
			t.Errorf("stream %s (served by the fake) is missing", name)
		}
	}
}

// hasPath reports whether a JSON schema declares the nested property path.
func hasPath(schema json.RawMessage, path []string) bool {
	for _, p := range path {
		var s struct {
			Properties map[string]json.RawMessage `json:"properties"`
		}
		if json.Unmarshal(schema, &s) != nil {
			return false
		}
		next, ok := s.Properties[p]
		if !ok {
			return false
		}
		schema = next
	}
	return len(path) > 0
}

// ---- basic read ----

func TestAcceptanceBasicRead(t *testing.T) {
	t.Parallel()
	files := conventionalFiles(t)
	e := setup(t)
	r := e.read(t, harness.WriteCatalog(t, e.cat, nil, false), nil)
	mustSucceed(t, "read", r)
	got := r.Records()

	// Every record is valid against its stream's schema, declares no
	// column the schema lacks (CAT fail_on_extra_columns) and carries its
	// primary key, which is unique in the stream.
	schemas := e.schemas(t)
	want := harness.Expected(e.s)
	for _, s := range e.cat.Streams {
		props := topProperties(t, s.JSONSchema)
		keys := map[string]bool{}
		extra := map[string]int{}
		var invalid, noKey, dupKey []string
		for _, rec := range got[s.Name] {
			if err := schemas[s.Name].Validate(rec); err != nil {
				invalid = append(invalid, fmt.Sprintf("%v\n\t%s", err, clip(rec)))
			}
			var fields map[string]json.RawMessage
			json.Unmarshal(rec, &fields)
			for f := range fields {
				if !props[f] {
					extra[f]++
				}
			}
			switch k := primaryKey(rec, s.SourceDefinedPrimaryKey); {
			case k == "":
				noKey = append(noKey, clip(rec))
			case keys[k]:
				dupKey = append(dupKey, k)
			default:
				keys[k] = true
			}
		}
		if len(got[s.Name]) == 0 && len(want[s.Name]) > 0 {
			t.Errorf("stream %s: no records", s.Name)
		}
		if len(invalid) > 0 {
			t.Errorf("stream %s: %d of %d records do not match the schema; first: %s", s.Name, len(invalid), len(got[s.Name]), invalid[0])
		}
		if len(extra) > 0 {
			t.Errorf("stream %s: records carry columns the schema does not declare (CAT fail_on_extra_columns): %v", s.Name, extra)
		}
		if len(noKey) > 0 {
			t.Errorf("stream %s: %d records without their primary key %v; first: %s", s.Name, len(noKey), s.SourceDefinedPrimaryKey, noKey[0])
		}
		if len(dupKey) > 0 {
			t.Errorf("stream %s: %d duplicate primary keys %v; first: %s", s.Name, len(dupKey), s.SourceDefinedPrimaryKey, dupKey[0])
		}
	}
	// Exactly the fake's data, and every record of expected_records.jsonl.
	harness.SameRecords(t, want, got)
	for stream, recs := range files.expected {
		have := harness.Count(got[stream])
		var readable []json.RawMessage
		for _, r := range recs {
			if harness.Readable(stream, r, time.Now()) {
				readable = append(readable, r)
			}
		}
		for _, m := range harness.Count(readable).Minus(have) {
			t.Errorf("expected_records.jsonl: stream %s: record not read (run -update if the fake changed): %s", stream, clip([]byte(m)))
		}
	}
	for _, name := range e.names() {
		checkStatuses(t, r, name)
	}
	checkRecordCounts(t, r)
}

// checkStatuses asserts STARTED, then only RUNNING, then COMPLETE, and no
// RECORD of the stream outside that span.
func checkStatuses(t *testing.T, r *harness.Result, stream string) {
	t.Helper()
	st := r.Statuses(stream)
	ok := len(st) >= 2 && st[0] == protocol.StatusStarted && st[len(st)-1] == protocol.StatusComplete
	for _, s := range st[1:max(1, len(st)-1)] {
		ok = ok && s == protocol.StatusRunning
	}
	if !ok {
		t.Errorf("stream %s: statuses %v, want STARTED, RUNNING..., COMPLETE", stream, st)
		return
	}
	started, done := false, false
	for _, m := range r.Msgs {
		if s, status := m.StreamStatus(); s == stream {
			started = started || status == protocol.StatusStarted
			done = done || status == protocol.StatusComplete
		}
		if m.Type == "RECORD" && m.RecordStream() == stream && (!started || done) {
			t.Errorf("stream %s: RECORD on line %d outside STARTED..COMPLETE", stream, m.Line)
			return
		}
	}
}

// checkRecordCounts asserts that each STATE's sourceStats.recordCount is
// the number of RECORDs of its stream since the stream's previous STATE
// (what CAT and the platform check).
func checkRecordCounts(t *testing.T, r *harness.Result) {
	t.Helper()
	n := map[string]int{}
	bad := 0
	for _, m := range r.Msgs {
		switch m.Type {
		case "RECORD":
			n[m.RecordStream()]++
		case "STATE":
			s := m.StateStream()
			c, ok := m.StateCount()
			if (!ok || int(c) != n[s] || float64(int(c)) != c) && bad < 5 {
				bad++
				t.Errorf("line %d: STATE of %s says recordCount %v (present %v), but %d RECORDs since its previous STATE", m.Line, s, c, ok, n[s])
			}
			n[s] = 0
		}
	}
	for s, c := range n {
		if c > 0 {
			t.Errorf("stream %s: %d RECORDs after its last STATE", s, c)
		}
	}
}

func topProperties(t *testing.T, schema json.RawMessage) map[string]bool {
	var s struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(schema, &s); err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for k := range s.Properties {
		out[k] = true
	}
	return out
}

// primaryKey returns the canonical JSON of the key's values, "" when a
// component is missing or null.
func primaryKey(rec json.RawMessage, pk [][]string) string {
	var parts []json.RawMessage
	for _, path := range pk {
		v := rec
		for _, p := range path {
			var m map[string]json.RawMessage
			if json.Unmarshal(v, &m) != nil {
				return ""
			}
			v = m[p]
		}
		if v == nil || string(v) == "null" {
			return ""
		}
		parts = append(parts, v)
	}
	b, _ := json.Marshal(parts)
	return string(b)
}

// ---- full refresh ----

func TestAcceptanceFullRefresh(t *testing.T) {
	t.Parallel()
	e := setup(t)
	catalog := harness.WriteCatalog(t, e.cat, nil, false)
	r1 := e.read(t, catalog, nil)
	mustSucceed(t, "read 1", r1)
	r2 := e.read(t, catalog, nil)
	mustSucceed(t, "read 2", r2)
	if d := harness.Diff(r1.Records(), r2.Records()); d != "" {
		t.Errorf("two full-refresh reads differ (read 1 vs read 2):\n%s", d)
	}
}

// ---- incremental ----

func TestAcceptanceIncremental(t *testing.T) {
	t.Parallel()
	e := setup(t)
	inc := harness.Incremental(e.cat)
	if len(inc) == 0 {
		t.Fatal("no incremental stream")
	}
	catalog := harness.WriteCatalog(t, e.cat, nil, true)

	// Sync 1: no state, everything.
	r1 := e.read(t, catalog, nil)
	mustSucceed(t, "sync 1", r1)
	checkRecordCounts(t, r1)
	harness.SameRecords(t, harness.Expected(e.s), r1.Records())
	cursors := map[string]time.Time{}
	for stream, field := range inc {
		st := r1.States()[stream]
		if len(st) == 0 {
			t.Errorf("sync 1: stream %s emitted no STATE", stream)
			continue
		}
		c, err := stateCursor(st[len(st)-1].Blob, field)
		if err != nil {
			t.Errorf("sync 1: stream %s: last state: %v", stream, err)
			continue
		}
		cursors[stream] = c
	}
	if t.Failed() {
		t.FailNow()
	}

	// Sync 2, after new sessions: only new records, and old ones within the
	// lookback window of sync 1's cursor.
	const added = 2
	e.s.AddSessions(added)
	want := harness.Expected(e.s)
	r2 := e.read(t, catalog, r1.LastStates())
	mustSucceed(t, "sync 2", r2)
	checkRecordCounts(t, r2)
	got1, got2 := r1.Records(), r2.Records()
	for stream, field := range inc {
		old := harness.Count(got1[stream])
		reread, fresh := 0, 0
		for _, rec := range got2[stream] {
			c, _ := harness.Canonical(rec)
			if old[c] == 0 {
				fresh++
				continue
			}
			reread++
			ct, err := recordCursor(rec, field)
			switch {
			case err != nil:
				t.Errorf("sync 2: stream %s: %v", stream, err)
			case ct.Before(cursors[stream].Add(-lookback)):
				t.Errorf("sync 2: stream %s re-read a record with %s %s, older than sync 1's cursor %s less the lookback (%v): %s",
					stream, field, ct.Format(time.RFC3339), cursors[stream].Format(time.RFC3339), lookback, clip(rec))
			}
		}
		if fresh == 0 && len(harness.Count(want[stream]).Minus(old)) > 0 {
			t.Errorf("sync 2: stream %s read no new record", stream)
		}
		t.Logf("sync 2: %-30s %4d new, %4d re-read (lookback), %4d in sync 1", stream, fresh, reread, len(got1[stream]))
	}
	// Together the two syncs hold exactly the data (as sets).
	union := map[string][]json.RawMessage{}
	for _, recs := range []map[string][]json.RawMessage{got1, got2} {
		for s, list := range recs {
			union[s] = append(union[s], list...)
		}
	}
	harness.SameRecords(t, dedup(want), dedup(union))
	// A full-refresh stream re-reads everything.
	for _, s := range e.names() {
		if _, ok := inc[s]; !ok {
			harness.SameRecords(t, map[string][]json.RawMessage{s: want[s]}, map[string][]json.RawMessage{s: got2[s]})
		}
	}
}

// stateCursor reads the stream-level cursor of a final stream state.
func stateCursor(blob json.RawMessage, field string) (time.Time, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(blob, &m); err != nil {
		return time.Time{}, fmt.Errorf("state %s: %v", blob, err)
	}
	var s string
	if err := json.Unmarshal(m[field], &s); err != nil || s == "" {
		return time.Time{}, fmt.Errorf("state %s has no cursor %q", clip(blob), field)
	}
	return connector.ParseTime(s)
}

func recordCursor(rec json.RawMessage, field string) (time.Time, error) {
	var m map[string]any
	if err := json.Unmarshal(rec, &m); err != nil {
		return time.Time{}, err
	}
	s, _ := m[field].(string)
	if s == "" {
		return time.Time{}, fmt.Errorf("record without cursor %q: %s", field, clip(rec))
	}
	return connector.ParseTime(s)
}

func dedup(recs map[string][]json.RawMessage) map[string][]json.RawMessage {
	out := map[string][]json.RawMessage{}
	for s, list := range recs {
		seen := map[string]bool{}
		for _, r := range list {
			c, _ := harness.Canonical(r)
			if !seen[c] {
				seen[c] = true
				out[s] = append(out[s], json.RawMessage(c))
			}
		}
	}
	return out
}

// TestAcceptanceFutureState reads with abnormal_state.json (cursors in
// 2099): no record of any incremental stream, and a clean exit.
func TestAcceptanceFutureState(t *testing.T) {
	t.Parallel()
	files := conventionalFiles(t)
	e := setup(t)
	r := e.read(t, harness.WriteCatalog(t, e.cat, nil, true), files.abnormalState)
	mustSucceed(t, "read with abnormal_state.json", r)
	got := r.Records()
	for stream := range harness.Incremental(e.cat) {
		if n := len(got[stream]); n > 0 {
			t.Errorf("stream %s: %d records with a cursor in 2099, want 0: %s", stream, n, clip(got[stream][0]))
		}
	}
	for _, name := range e.names() {
		checkStatuses(t, r, name)
	}
	checkRecordCounts(t, r)
}

// TestAcceptanceSampleState reads with sample_state.json: the read accepts
// it and starts each incremental stream at its cursor less the lookback.
func TestAcceptanceSampleState(t *testing.T) {
	t.Parallel()
	files := conventionalFiles(t)
	e := setup(t)
	r := e.read(t, harness.WriteCatalog(t, e.cat, nil, true), files.sampleState)
	mustSucceed(t, "read with sample_state.json", r)
	state, err := connector.ParseState(files.sampleState)
	if err != nil {
		t.Fatal(err)
	}
	got, all := r.Records(), harness.Expected(e.s)
	fewer := false
	for stream, field := range harness.Incremental(e.cat) {
		c, err := stateCursor(state[stream], field)
		if err != nil {
			t.Errorf("sample_state.json: %s: %v", stream, err)
			continue
		}
		for _, rec := range got[stream] {
			if ct, err := recordCursor(rec, field); err != nil || ct.Before(c.Add(-lookback)) {
				t.Errorf("stream %s: record before the sample state's cursor %s: %s", stream, c.Format(time.RFC3339), clip(rec))
				break
			}
		}
		fewer = fewer || len(got[stream]) < len(all[stream])
	}
	if !fewer {
		t.Error("sample_state.json filtered nothing: pick a cursor inside the data")
	}
	checkRecordCounts(t, r)
}

// ---- conventional files ----

type files struct {
	expected      map[string][]json.RawMessage // expected_records.jsonl, per stream
	abnormalState []byte
	sampleState   []byte
}

var (
	filesOnce sync.Once
	filesErr  error
	filesVal  files
)

// conventionalFiles regenerates the files first with -update, then reads
// them, once per process.
func conventionalFiles(t *testing.T) files {
	t.Helper()
	filesOnce.Do(func() {
		if *updateFiles {
			if filesErr = generateFiles(t); filesErr != nil {
				return
			}
		}
		filesVal, filesErr = loadFiles()
	})
	if filesErr != nil {
		t.Fatal(filesErr)
	}
	return filesVal
}

func loadFiles() (files, error) {
	var f files
	b, err := os.ReadFile("expected_records.jsonl")
	if err != nil {
		return f, err
	}
	f.expected = map[string][]json.RawMessage{}
	for i, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var rec struct {
			Stream    string          `json:"stream"`
			Data      json.RawMessage `json:"data"`
			EmittedAt *int64          `json:"emitted_at"`
		}
		if err := json.Unmarshal(line, &rec); err != nil || rec.Stream == "" || len(rec.Data) == 0 || rec.EmittedAt == nil {
			return f, fmt.Errorf("expected_records.jsonl line %d: want {\"stream\",\"data\",\"emitted_at\"}: %v", i+1, err)
		}
		f.expected[rec.Stream] = append(f.expected[rec.Stream], rec.Data)
	}
	if f.abnormalState, err = os.ReadFile("abnormal_state.json"); err != nil {
		return f, err
	}
	if f.sampleState, err = os.ReadFile("sample_state.json"); err != nil {
		return f, err
	}
	return f, nil
}

// generateFiles writes the files derived from the fake and from discover.
func generateFiles(t *testing.T) error {
	e := setup(t)
	var b bytes.Buffer
	exp := harness.Expected(e.s)
	emitted := e.s.Now().UnixMilli()
	for _, stream := range fakezoom.Streams() {
		recs := exp[stream]
		for _, rec := range recs[:min(2, len(recs))] {
			line, err := json.Marshal(struct {
				Stream    string          `json:"stream"`
				Data      json.RawMessage `json:"data"`
				EmittedAt int64           `json:"emitted_at"`
			}{stream, rec, emitted})
			if err != nil {
				return err
			}
			b.Write(line)
			b.WriteByte('\n')
		}
	}
	if err := os.WriteFile("expected_records.jsonl", b.Bytes(), 0o644); err != nil {
		return err
	}
	cc, err := harness.Configure(e.cat, nil, true)
	if err != nil {
		return err
	}
	if err := writeIndented("configured_catalog.json", cc); err != nil {
		return err
	}
	// abnormal_state.json: every incremental stream at 2099; sample_state.json:
	// a month before the data clock, inside the data.
	sample := e.s.Now().AddDate(0, -1, 0).UTC().Format(time.RFC3339)
	for name, at := range map[string]string{"abnormal_state.json": "2099-01-01T00:00:00Z", "sample_state.json": sample} {
		if err := writeIndented(name, stateFile(harness.Incremental(e.cat), at)); err != nil {
			return err
		}
	}
	return nil
}

func stateFile(inc map[string]string, at string) []protocol.State {
	names := make([]string, 0, len(inc))
	for n := range inc {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []protocol.State
	for _, n := range names {
		blob, _ := json.Marshal(map[string]string{inc[n]: at})
		out = append(out, protocol.State{Type: protocol.StateStream, Stream: &protocol.StreamState{
			StreamDescriptor: protocol.StreamDescriptor{Name: n}, StreamState: blob}})
	}
	return out
}

func writeIndented(name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(name, append(b, '\n'), 0o644)
}

// TestAcceptanceFiles checks the conventional files of integration_tests.
func TestAcceptanceFiles(t *testing.T) {
	t.Parallel()
	files := conventionalFiles(t)
	e := setup(t)
	v, err := protocoltest.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	inc := harness.Incremental(e.cat)

	t.Run("configured_catalog.json", func(t *testing.T) {
		b, err := os.ReadFile("configured_catalog.json")
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Definition("ConfiguredAirbyteCatalog", b); err != nil {
			t.Error(err)
		}
		var cc protocol.ConfiguredCatalog
		if err := json.Unmarshal(b, &cc); err != nil {
			t.Fatal(err)
		}
		want, _ := harness.Configure(e.cat, nil, true)
		if len(cc.Streams) != len(want.Streams) {
			t.Fatalf("%d streams, discover has %d (run -update)", len(cc.Streams), len(want.Streams))
		}
		for i, s := range cc.Streams {
			w := want.Streams[i]
			if s.Stream.Name != w.Stream.Name || s.SyncMode != w.SyncMode || !slices.Equal(s.CursorField, w.CursorField) ||
				fmt.Sprint(s.PrimaryKey) != fmt.Sprint(w.PrimaryKey) {
				t.Errorf("stream %d: %s %s %v %v, discover says %s %s %v %v (run -update)", i, s.Stream.Name, s.SyncMode, s.CursorField, s.PrimaryKey,
					w.Stream.Name, w.SyncMode, w.CursorField, w.PrimaryKey)
			}
		}
		// The connector accepts it.
		r := harness.Run(t, e.bin, "read", "--config", e.cfg, "--catalog", mustAbs(t, "configured_catalog.json"))
		mustSucceed(t, "read with configured_catalog.json", r)
	})

	t.Run("expected_records.jsonl", func(t *testing.T) {
		for _, s := range e.names() {
			if len(files.expected[s]) == 0 {
				t.Errorf("no expected record for stream %s (run -update)", s)
			}
		}
		for s := range files.expected {
			if !slices.Contains(e.names(), s) {
				t.Errorf("expected records of unknown stream %s", s)
			}
		}
	})

	for name, blob := range map[string][]byte{"abnormal_state.json": files.abnormalState, "sample_state.json": files.sampleState} {
		t.Run(name, func(t *testing.T) {
			var msgs []json.RawMessage
			if err := json.Unmarshal(blob, &msgs); err != nil {
				t.Fatalf("not a JSON array of state messages: %v", err)
			}
			for i, m := range msgs {
				if err := v.Definition("AirbyteStateMessage", m); err != nil {
					t.Errorf("[%d]: %v", i, err)
				}
			}
			state, err := connector.ParseState(blob)
			if err != nil {
				t.Fatal(err)
			}
			for stream, field := range inc {
				c, err := stateCursor(state[stream], field)
				if err != nil {
					t.Errorf("stream %s: %v", stream, err)
				} else if name == "abnormal_state.json" && c.Year() < 2099 {
					t.Errorf("stream %s: cursor %s is not in the far future", stream, c)
				}
			}
			if len(state) != len(inc) {
				t.Errorf("%d streams, want the %d incremental streams", len(state), len(inc))
			}
		})
	}

	specSchema := func(t *testing.T) *connector.Schema {
		r := harness.Run(t, e.bin, "spec")
		var spec struct {
			C json.RawMessage `json:"connectionSpecification"`
		}
		json.Unmarshal(protocoltest.OfType(r.Msgs, "SPEC")[0].Spec, &spec)
		sc, err := connector.CompileSchema("spec", spec.C)
		if err != nil {
			t.Fatal(err)
		}
		return sc
	}(t)

	t.Run("sample_config.json", func(t *testing.T) {
		b, err := os.ReadFile("sample_config.json")
		if err != nil {
			t.Fatal(err)
		}
		if err := specSchema.Validate(b); err != nil {
			t.Errorf("does not match the spec: %v", err)
		}
		if bytes.ContainsAny(b, "<>") || bytes.Contains(b, []byte("YOUR_")) {
			t.Errorf("holds a placeholder: %s", b)
		}
		var cfg map[string]any
		json.Unmarshal(b, &cfg)
		for _, k := range []string{"authorization_endpoint", "api_base_url"} {
			s, _ := cfg[k].(string)
			u, err := url.Parse(s)
			if err != nil || (u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost") || u.Port() == "" {
				t.Errorf("%s = %q, want a URL on localhost with a port", k, s)
				continue
			}
			// Pointed at the running fake instead of its fixed port, it works.
			fake, _ := url.Parse(e.s.BaseURL())
			u.Host = fake.Host
			cfg[k] = u.String()
		}
		r := harness.Run(t, e.bin, "check", "--config", harness.WriteJSON(t, "config.json", cfg))
		if status, msg := r.ConnectionStatus(t); status != "SUCCEEDED" {
			t.Errorf("check: %s %s", status, msg)
		}
	})

	t.Run("invalid_config.json", func(t *testing.T) {
		b, err := os.ReadFile("invalid_config.json")
		if err != nil {
			t.Fatal(err)
		}
		// It is a well-formed config (so check fails on the credentials,
		// not on the form); TestAcceptanceCheck runs it.
		if err := specSchema.Validate(b); err != nil {
			t.Errorf("does not match the spec: %v", err)
		}
	})

	t.Run("acceptance-test-config.yml", func(t *testing.T) {
		b, err := os.ReadFile("acceptance-test-config.yml")
		if err != nil {
			t.Fatal(err)
		}
		y := string(b)
		meta, err := os.ReadFile(filepath.Join("..", "metadata.yaml"))
		if err == nil {
			m := regexp.MustCompile(`(?m)^\s*dockerRepository:\s*(\S+)`).FindStringSubmatch(string(meta))
			if m != nil && !strings.Contains(y, "connector_image: "+m[1]+":dev") {
				t.Errorf("connector_image is not %s:dev (metadata.yaml dockerRepository)", m[1])
			}
		}
		for _, k := range []string{"acceptance_tests:", "spec:", "connection:", "discovery:", "basic_read:", "full_refresh:", "incremental:", "expect_records:", "future_state:"} {
			if !strings.Contains(y, k) {
				t.Errorf("no %q", k)
			}
		}
		// Every path it names exists (secrets/ is the user's).
		for _, m := range regexp.MustCompile(`_path:\s*"?([^"\s]+)"?|path:\s*"?([^"\s]+)"?`).FindAllStringSubmatch(y, -1) {
			p := m[1] + m[2]
			if strings.HasPrefix(p, "secrets/") {
				continue
			}
			if _, err := os.Stat(filepath.Join("..", p)); err != nil {
				t.Errorf("names %s: %v", p, err)
			}
		}
	})
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func canonical(t *testing.T, b []byte) string {
	t.Helper()
	c, err := harness.Canonical(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func clip(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}
