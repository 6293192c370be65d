package harness

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/source-zoom/source-zoom/integration_tests/fakezoom"
	"github.com/source-zoom/source-zoom/protocol/protocoltest"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func raws(docs ...string) []json.RawMessage {
	out := make([]json.RawMessage, len(docs))
	for i, d := range docs {
		out[i] = json.RawMessage(d)
	}
	return out
}

func TestCanonical(t *testing.T) {
	a, err := Canonical([]byte(`{"b": 1.50, "a": {"y": [1, "x<"], "x": null}}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":{"x":null,"y":[1,"x<"]},"b":1.50}`; a != want {
		t.Errorf("Canonical = %s, want %s", a, want)
	}
	if _, err := Canonical([]byte(`{`)); err == nil {
		t.Error("Canonical accepted broken JSON")
	}
}

func TestDiff(t *testing.T) {
	want := map[string][]json.RawMessage{
		"a": raws(`{"id":1,"x":2}`, `{"id":1,"x":2}`, `{"id":3}`),
		"b": raws(`{"id":1}`),
	}
	same := map[string][]json.RawMessage{
		"a": raws(`{"id":3}`, `{"x":2, "id":1}`, `{"id":1,"x":2}`),
		"b": raws(`{ "id": 1 }`),
		"c": nil,
	}
	if d := Diff(want, same); d != "" {
		t.Errorf("Diff of equal multisets:\n%s", d)
	}
	got := map[string][]json.RawMessage{
		"a": raws(`{"id":1,"x":2}`, `{"id":3}`, `{"id":4}`),
	}
	d := Diff(want, got)
	for _, s := range []string{
		"stream a: want 3 records, got 3: 1 missing, 1 extra",
		`first missing: {"id":1,"x":2}`,
		`first extra:   {"id":4}`,
		"stream b: want 1 records, got 0: 1 missing, 0 extra",
	} {
		if !strings.Contains(d, s) {
			t.Errorf("Diff lacks %q:\n%s", s, d)
		}
	}
}

func parsed(t *testing.T, lines ...string) *Result {
	r := &Result{Stdout: []byte(strings.Join(lines, "\n") + "\n")}
	r.Msgs = validate(t, r.Stdout)
	return r
}

func TestResultAccessors(t *testing.T) {
	r := parsed(t,
		`{"type":"TRACE","trace":{"type":"STREAM_STATUS","emitted_at":1,"stream_status":{"stream_descriptor":{"name":"a"},"status":"STARTED"}}}`,
		`{"type":"RECORD","record":{"stream":"a","data":{"id":1},"emitted_at":1}}`,
		`{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"},"stream_state":{"c":"1"}},"sourceStats":{"recordCount":1}}}`,
		`{"type":"RECORD","record":{"stream":"b","data":{"id":2},"emitted_at":1}}`,
		`{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"},"stream_state":{"c":"2"}},"sourceStats":{"recordCount":0}}}`,
		`{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"b"},"stream_state":{}}}}`,
		`{"type":"LOG","log":{"level":"WARN","message":"w"}}`,
		`{"type":"TRACE","trace":{"type":"ERROR","emitted_at":1,"error":{"message":"boom","failure_type":"system_error"}}}`,
		`{"type":"TRACE","trace":{"type":"STREAM_STATUS","emitted_at":1,"stream_status":{"stream_descriptor":{"name":"a"},"status":"COMPLETE"}}}`,
	)
	if d := Diff(map[string][]json.RawMessage{"a": raws(`{"id":1}`), "b": raws(`{"id":2}`)}, r.Records()); d != "" {
		t.Errorf("Records:\n%s", d)
	}
	st := r.States()
	if len(st["a"]) != 2 || st["a"][0].RecordCount != 1 || !st["a"][0].HasCount || string(st["a"][1].Blob) != `{"c":"2"}` || st["b"][0].HasCount {
		t.Errorf("States = %+v", st)
	}
	want := `[{"stream":{"stream_descriptor":{"name":"a"},"stream_state":{"c":"2"}},"type":"STREAM"},{"stream":{"stream_descriptor":{"name":"b"},"stream_state":{}},"type":"STREAM"}]`
	if got, _ := Canonical(r.LastStates()); got != want {
		t.Errorf("LastStates = %s\nwant %s", got, want)
	}
	v, err := protocoltest.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	var arr []json.RawMessage
	json.Unmarshal(r.LastStates(), &arr)
	for _, s := range arr {
		if err := v.Definition("AirbyteStateMessage", s); err != nil {
			t.Error(err)
		}
	}
	if s := r.Statuses("a"); strings.Join(s, ",") != "STARTED,COMPLETE" {
		t.Errorf("Statuses = %v", s)
	}
	if e := r.Errors(); len(e) != 1 || e[0].ErrorMessage() != "boom" {
		t.Errorf("Errors = %v", e)
	}
	if l := r.Logs(); len(l) != 1 || l[0].LogLevel() != "WARN" {
		t.Errorf("Logs = %v", l)
	}
}

// TestEndToEnd runs the real binary once: discover, then a read of two
// streams that must match the fake's expected records.
func TestEndToEnd(t *testing.T) {
	bin := Binary(t)
	s := StartFake(t, fakezoom.Options{Seed: 7, Users: 2})
	cfg := WriteConfig(t, s, map[string]any{"concurrency": 4})
	cat := Discover(t, bin, cfg)
	if len(cat.Streams) == 0 {
		t.Fatal("empty catalog")
	}
	inc := Incremental(cat)
	if inc["recordings"] != "start_time" {
		t.Errorf("Incremental(cat)[recordings] = %q", inc["recordings"])
	}
	if _, err := Configure(cat, []string{"nope"}, false); err == nil {
		t.Error("Configure accepted an unknown stream")
	}
	catalog := WriteCatalog(t, cat, []string{"users", "recordings"}, true)
	r := Run(t, bin, "read", "--config", cfg, "--catalog", catalog)
	if r.Code != 0 || len(r.Stderr) != 0 {
		t.Fatalf("read: exit %d, stderr %s", r.Code, r.Stderr)
	}
	exp := Expected(s)
	SameRecords(t, map[string][]json.RawMessage{"users": exp["users"], "recordings": exp["recordings"]}, r.Records())
	if st := r.States()["recordings"]; len(st) == 0 || !strings.Contains(string(st[len(st)-1].Blob), "start_time") {
		t.Errorf("recordings states: %+v", st)
	}
}
