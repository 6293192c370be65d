package protocoltest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// examples returns the non-empty lines of shared/airbyte/examples/name.
func examples(t *testing.T, name string) [][]byte {
	t.Helper()
	p, err := SchemaPath()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(p), "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if l := bytes.TrimSpace(sc.Bytes()); len(l) > 0 {
			out = append(out, append([]byte(nil), l...))
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no lines", name)
	}
	return out
}

func mustValidator(t *testing.T) *Validator {
	t.Helper()
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSchemaPathFromRepo(t *testing.T) {
	p, err := SchemaPath()
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(p) != "airbyte_protocol.schema.json" {
		t.Fatalf("SchemaPath = %s", p)
	}
	v := mustValidator(t)
	if v.Path() != p {
		t.Fatalf("NewValidator().Path() = %s, want %s", v.Path(), p)
	}
}

func TestSchemaPathWalksUp(t *testing.T) {
	src, err := SchemaPath()
	if err != nil {
		t.Fatal(err)
	}
	schema, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	dst := filepath.Join(root, "shared", "airbyte", "airbyte_protocol.schema.json")
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, schema, 0o644); err != nil {
		t.Fatal(err)
	}
	deep := filepath.Join(root, "clone", "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(deep)
	got, err := SchemaPath()
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := filepath.EvalSymlinks(dst); got != dst && got != want {
		gotReal, _ := filepath.EvalSymlinks(got)
		if gotReal != want {
			t.Fatalf("SchemaPath = %s, want %s", got, dst)
		}
	}
}

func TestSchemaPathNotFound(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if _, err := os.Stat(filepath.Join("/", schemaRel)); err == nil {
		t.Skip("a schema sits at the file system root")
	}
	if p, err := SchemaPath(); err == nil {
		// Some directory above the temp dir holds shared/: only fail if it
		// is not really above us.
		if !strings.HasPrefix(dir, filepath.Dir(filepath.Dir(filepath.Dir(p)))) {
			t.Fatalf("SchemaPath from %s = %s, want an error", dir, p)
		}
	} else if !strings.Contains(err.Error(), "not found") {
		t.Fatalf("error %q does not say not found", err)
	}
	t.Setenv(SchemaEnv, filepath.Join(dir, "missing.json"))
	if _, err := SchemaPath(); err == nil || !strings.Contains(err.Error(), SchemaEnv) {
		t.Fatalf("SchemaPath with a bad $%s: err = %v", SchemaEnv, err)
	}
}

// fakeTB records failures. Fatal stops the calling goroutine like testing.T.
type fakeTB struct {
	testing.TB
	mu     sync.Mutex
	errs   []string
	fatals []string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.fatals = append(f.fatals, fmt.Sprintf(format, args...))
	f.mu.Unlock()
	runtime.Goexit()
}

// runCheck runs CheckOutput with a fakeTB on its own goroutine.
func runCheck(stdout []byte) (*fakeTB, []Message) {
	f := &fakeTB{}
	var msgs []Message
	done := make(chan struct{})
	go func() {
		defer close(done)
		msgs = CheckOutput(f, stdout)
	}()
	<-done
	return f, msgs
}

func TestCheckOutputFailsWithoutSchema(t *testing.T) {
	// Reset the cached validator; restore it afterwards.
	saveV, saveErr := validator, vErr
	t.Cleanup(func() {
		once = sync.Once{}
		once.Do(func() { validator, vErr = saveV, saveErr })
	})
	once = sync.Once{}
	t.Setenv(SchemaEnv, filepath.Join(t.TempDir(), "nope.json"))
	f, _ := runCheck([]byte(`{"type":"LOG","log":{"level":"INFO","message":"x"}}` + "\n"))
	if len(f.fatals) != 1 {
		t.Fatalf("CheckOutput without schema: fatals %q, errors %q; want one fatal", f.fatals, f.errs)
	}
	if !strings.Contains(f.fatals[0], "nope.json") {
		t.Errorf("fatal %q does not name the path", f.fatals[0])
	}
}

func TestValidExamples(t *testing.T) {
	v := mustValidator(t)
	lines := examples(t, "valid_messages.jsonl")
	if len(lines) != 23 {
		t.Errorf("valid_messages.jsonl has %d lines, README says 23", len(lines))
	}
	for i, l := range lines {
		if err := v.Line(l); err != nil {
			t.Errorf("valid line %d: %v\n%s", i+1, err, l)
		}
	}
	out := append(bytes.Join(lines, []byte("\n")), '\n')
	f, msgs := runCheck(out)
	if len(f.errs)+len(f.fatals) > 0 {
		t.Fatalf("CheckOutput on the valid examples: %q %q", f.errs, f.fatals)
	}
	if len(msgs) != len(lines) {
		t.Fatalf("CheckOutput returned %d messages for %d lines", len(msgs), len(lines))
	}
	for i, m := range msgs {
		if m.Line != i+1 {
			t.Errorf("message %d has Line %d", i, m.Line)
		}
	}
}

func TestInvalidExamples(t *testing.T) {
	v := mustValidator(t)
	lines := examples(t, "invalid_messages.jsonl")
	if len(lines) != 14 {
		t.Errorf("invalid_messages.jsonl has %d lines, README says 14", len(lines))
	}
	for i, l := range lines {
		if err := v.Line(l); err == nil {
			t.Errorf("invalid line %d validates:\n%s", i+1, l)
		}
	}
}

func TestBadLines(t *testing.T) {
	v := mustValidator(t)
	for _, tc := range []struct {
		name, line, want string
	}{
		{"null record namespace", `{"type":"RECORD","record":{"stream":"users","namespace":null,"data":{"id":1},"emitted_at":1}}`, "namespace"},
		{"null descriptor namespace", `{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"users","namespace":null},"stream_state":{}}}}`, "namespace"},
		{"null status namespace", `{"type":"TRACE","trace":{"type":"STREAM_STATUS","emitted_at":1,"stream_status":{"stream_descriptor":{"name":"users","namespace":null},"status":"STARTED"}}}`, "namespace"},
		{"RECORD with trace payload", `{"type":"RECORD","trace":{"type":"ERROR","emitted_at":1,"error":{"message":"x"}}}`, "payload"},
		{"RECORD without payload", `{"type":"RECORD"}`, "payload"},
		{"null payload", `{"type":"LOG","log":null}`, ""},
		{"two payloads", `{"type":"LOG","log":{"level":"INFO","message":"x"},"record":{"stream":"users","data":{"id":1},"emitted_at":1}}`, "record"},
		{"state with log", `{"type":"STATE","state":{"type":"LEGACY","data":{}},"log":{"level":"INFO","message":"x"}}`, "log"},
		{"CONTROL with spec", `{"type":"CONTROL","control":{"type":"CONNECTOR_CONFIG","emitted_at":1,"connectorConfig":{"config":{}}},"spec":{"connectionSpecification":{}}}`, "spec"},
		{"float emitted_at", `{"type":"RECORD","record":{"stream":"users","data":{"id":1},"emitted_at":1714575600000.0}}`, "emitted_at"},
		{"exponent emitted_at", `{"type":"RECORD","record":{"stream":"users","data":{"id":1},"emitted_at":1e3}}`, "emitted_at"},
		{"empty data", `{"type":"RECORD","record":{"stream":"users","data":{},"emitted_at":1}}`, "empty"},
		{"array data", `{"type":"RECORD","record":{"stream":"users","data":[1],"emitted_at":1}}`, ""},
		{"not JSON", `{"type":"LOG",`, "JSON"},
		{"empty line", ``, "empty"},
		{"two lines", "{\"type\":\"LOG\",\"log\":{\"level\":\"INFO\",\n\"message\":\"x\"}}", "line break"},
		{"array", `[]`, ""},
		{"lower-case type", `{"type":"log","log":{"level":"INFO","message":"x"}}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := v.Line([]byte(tc.line))
			if err == nil {
				t.Fatalf("Line(%s) = nil, want an error", tc.line)
			}
			if tc.want != "" && !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Line error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestGoodLines(t *testing.T) {
	v := mustValidator(t)
	for _, l := range []string{
		// namespace is only a protocol field outside of data and schemas.
		`{"type":"RECORD","record":{"stream":"users","data":{"namespace":null},"emitted_at":1}}`,
		`{"type":"CATALOG","catalog":{"streams":[{"name":"users","json_schema":{"type":"object","properties":{"namespace":null}},"supported_sync_modes":["full_refresh"]}]}}`,
		`{"type":"RECORD","record":{"stream":"users","data":{"id":1},"emitted_at":0}}` + "\n",
		`{"type":"CONTROL","control":{"type":"CONNECTOR_CONFIG","emitted_at":1,"connectorConfig":{"config":{"a":1}}}}`,
	} {
		if err := v.Line([]byte(l)); err != nil {
			t.Errorf("Line(%s): %v", l, err)
		}
	}
}

func TestCheckOutputNamesLine(t *testing.T) {
	out := `{"type":"LOG","log":{"level":"INFO","message":"ok"}}
{"type":"RECORD","record":{"stream":"users","namespace":null,"data":{"id":1},"emitted_at":1}}
{"type":"CONNECTION_STATUS","connectionStatus":{"status":"SUCCEEDED"}}
`
	f, msgs := runCheck([]byte(out))
	if len(f.errs) != 1 || !strings.Contains(f.errs[0], "line 2") {
		t.Fatalf("errors = %q, want one naming line 2", f.errs)
	}
	if len(msgs) != 2 || msgs[0].Line != 1 || msgs[1].Line != 3 {
		t.Fatalf("messages = %+v", msgs)
	}

	f, _ = runCheck([]byte(`{"type":"CONNECTION_STATUS","connectionStatus":{"status":"SUCCEEDED"}}`))
	if len(f.errs) != 1 || !strings.Contains(f.errs[0], "newline") {
		t.Fatalf("output without final newline: errors = %q", f.errs)
	}
	f, msgs = runCheck(nil)
	if len(f.errs)+len(f.fatals) != 0 || len(msgs) != 0 {
		t.Fatalf("empty output: %q %q %v", f.errs, f.fatals, msgs)
	}
	f, _ = runCheck([]byte("\n"))
	if len(f.errs) != 1 {
		t.Fatalf("blank line: errors = %q", f.errs)
	}
}

func TestAccessors(t *testing.T) {
	out := strings.Join([]string{
		`{"type":"RECORD","record":{"stream":"users","data":{"id":"u1","n":12345678901234567},"emitted_at":1}}`,
		`{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"a":1}},"sourceStats":{"recordCount":2.0}}}`,
		`{"type":"TRACE","trace":{"type":"ERROR","emitted_at":1,"error":{"message":"bad","internal_message":"in","failure_type":"config_error","stream_descriptor":{"name":"users"}}}}`,
		`{"type":"TRACE","trace":{"type":"STREAM_STATUS","emitted_at":1,"stream_status":{"stream_descriptor":{"name":"users"},"status":"STARTED"}}}`,
		`{"type":"TRACE","trace":{"type":"STREAM_STATUS","emitted_at":1,"stream_status":{"stream_descriptor":{"name":"users"},"status":"COMPLETE"}}}`,
		`{"type":"CONNECTION_STATUS","connectionStatus":{"status":"FAILED","message":"nope"}}`,
		`{"type":"LOG","log":{"level":"WARN","message":"careful"}}`,
	}, "\n") + "\n"
	f, msgs := runCheck([]byte(out))
	if len(f.errs)+len(f.fatals) > 0 {
		t.Fatalf("%q %q", f.errs, f.fatals)
	}
	rec := msgs[0]
	if rec.RecordStream() != "users" || string(rec.RecordData()) != `{"id":"u1","n":12345678901234567}` {
		t.Errorf("record accessors: %q %s", rec.RecordStream(), rec.RecordData())
	}
	if got := rec.RecordFields()["n"]; fmt.Sprint(got) != "12345678901234567" {
		t.Errorf("RecordFields keeps numbers exact: %v", got)
	}
	st := msgs[1]
	if n, ok := st.StateCount(); !ok || n != 2 || st.StateStream() != "users" || st.StateType() != "STREAM" || string(st.StreamState()) != `{"a":1}` {
		t.Errorf("state accessors: %v %v %q %q %s", n, ok, st.StateStream(), st.StateType(), st.StreamState())
	}
	e := msgs[2]
	if e.TraceType() != "ERROR" || e.ErrorMessage() != "bad" || e.ErrorInternal() != "in" || e.FailureType() != "config_error" || e.ErrorStream() != "users" {
		t.Errorf("error accessors: %q %q %q %q", e.TraceType(), e.ErrorMessage(), e.FailureType(), e.ErrorStream())
	}
	if got := Statuses(msgs, "users"); strings.Join(got, ",") != "STARTED,COMPLETE" {
		t.Errorf("Statuses = %q", got)
	}
	if s, m := msgs[5].ConnStatus(); s != "FAILED" || m != "nope" {
		t.Errorf("ConnStatus = %q %q", s, m)
	}
	if msgs[6].LogLevel() != "WARN" || msgs[6].LogMessage() != "careful" {
		t.Errorf("log accessors")
	}
	if len(Records(msgs, "users")) != 1 || len(Records(msgs, "x")) != 0 || len(Records(msgs, "")) != 1 {
		t.Errorf("Records")
	}
	if len(Errors(msgs)) != 1 || len(OfType(msgs, "TRACE")) != 3 {
		t.Errorf("Errors/OfType")
	}
	if _, ok := msgs[0].StateCount(); ok {
		t.Errorf("StateCount of a RECORD reports ok")
	}
}

func TestDefinition(t *testing.T) {
	v := mustValidator(t)
	p, _ := SchemaPath()
	cat, err := os.ReadFile(filepath.Join(filepath.Dir(p), "examples", "configured_catalog.example.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Definition("ConfiguredAirbyteCatalog", cat); err != nil {
		t.Errorf("configured catalog example: %v", err)
	}
	if err := v.Definition("ConfiguredAirbyteCatalog", []byte(`{"streams":[{}]}`)); err == nil {
		t.Errorf("bad configured catalog validates")
	}
	if err := v.Definition("NoSuchThing", []byte(`{}`)); err == nil {
		t.Errorf("unknown definition: no error")
	}
}

func TestValidatorConcurrent(t *testing.T) {
	v := mustValidator(t)
	line := []byte(`{"type":"RECORD","record":{"stream":"users","data":{"id":1},"emitted_at":1}}`)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if err := v.Line(line); err != nil {
					t.Error(err)
					return
				}
				if err := v.Definition("AirbyteStateMessage", []byte(`{"type":"LEGACY","data":{}}`)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
