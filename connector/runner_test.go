package connector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/source-zoom/source-zoom/protocol"
	"github.com/source-zoom/source-zoom/protocol/protocoltest"
)

// rtSpec is a small ConnectorSpecification: token is a secret.
const rtSpec = `{"protocol_version":"0.2.0","connectionSpecification":{
  "$schema":"http://json-schema.org/draft-07/schema#","type":"object",
  "required":["base"],"additionalProperties":true,
  "properties":{
    "base":{"type":"string","minLength":1},
    "token":{"type":"string","airbyte_secret":true},
    "n":{"type":"integer","minimum":1}
  }}}`

type rtResult struct {
	code           int
	stdout, stderr string
	msgs           []protocoltest.Message
}

// rtRun runs Run in-process with files written to a temp dir. files maps
// flag names (config, catalog, state) to contents.
func rtRun(t *testing.T, c *Connector, cmd string, files map[string]string, extra ...string) rtResult {
	t.Helper()
	args := []string{cmd}
	dir := t.TempDir()
	for _, name := range []string{"config", "catalog", "state"} {
		content, ok := files[name]
		if !ok {
			continue
		}
		p := filepath.Join(dir, name+".json")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--"+name, p)
	}
	args = append(args, extra...)
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), args, &stdout, &stderr, c)
	r := rtResult{code: code, stdout: stdout.String(), stderr: stderr.String()}
	r.msgs = protocoltest.CheckOutput(t, stdout.Bytes())
	return r
}

// rtConnector opens a Source with one stream "things" at base.
func rtConnector() *Connector {
	return &Connector{
		Name: "source-test",
		Spec: json.RawMessage(rtSpec),
		Open: func(ctx context.Context, config json.RawMessage, env Env) (*Source, error) {
			var c struct{ Base string }
			if err := json.Unmarshal(config, &c); err != nil {
				return nil, err
			}
			return &Source{
				BaseURL: c.Base,
				Retry:   RetryPolicy{MaxTries: 2, Initial: time.Millisecond, Max: 2 * time.Millisecond},
				Streams: []Stream{
					{Name: "things", PrimaryKey: [][]string{{"id"}}},
					{Name: "hidden", Hidden: true},
					{Name: "events", PrimaryKey: [][]string{{"id"}}, Schema: json.RawMessage(`{"type":"object","properties":{"id":{"type":"integer"},"at":{"type":"string"}}}`),
						Incremental: &Incremental{CursorField: "at"}},
				},
			}, nil
		},
	}
}

func rtServer(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func rtClosedURL(t *testing.T) string {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	return u
}

func rtCatalog(stream, mode string) string {
	return fmt.Sprintf(`{"streams":[{"stream":{"name":%q,"json_schema":{},"supported_sync_modes":["full_refresh"]},"sync_mode":%q,"destination_sync_mode":"overwrite"}]}`, stream, mode)
}

func TestRunUsageCodes(t *testing.T) {
	c := rtConnector()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "missing command"},
		{[]string{"--help"}, 0, "usage:"},
		{[]string{"help"}, 0, "usage:"},
		{[]string{"read", "-h"}, 0, "usage:"},
		{[]string{"nope"}, 2, `unknown command "nope"`},
		{[]string{"check"}, 2, "missing --config"},
		{[]string{"check", "--config"}, 2, "flag needs an argument"},
		{[]string{"check", "--config", "/does/not/exist.json"}, 2, "/does/not/exist.json"},
		{[]string{"spec", "x"}, 2, `unexpected argument "x"`},
		{[]string{"spec", "--state", "s.json"}, 2, "--state is not used by spec"},
		{[]string{"discover", "--config", "runner_test.go", "--catalog", "k"}, 2, "--catalog is not used by discover"},
	} {
		var stdout, stderr bytes.Buffer
		code := Run(context.Background(), tc.args, &stdout, &stderr, c)
		if code != tc.code || stdout.Len() != 0 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("Run(%q) = %d, stdout %q, stderr %q; want %d and stderr naming %q", tc.args, code, stdout.String(), stderr.String(), tc.code, tc.want)
		}
		if tc.code == 2 && !strings.HasPrefix(stderr.String(), "source-test: ") {
			t.Errorf("Run(%q): stderr does not start with the program name: %q", tc.args, stderr.String())
		}
	}
}

func TestRunSpecCommand(t *testing.T) {
	r := rtRun(t, rtConnector(), "spec", nil)
	if r.code != 0 || r.stderr != "" || len(r.msgs) != 1 || r.msgs[0].Type != "SPEC" {
		t.Fatalf("spec: %d %q\n%s", r.code, r.stderr, r.stdout)
	}
	var a, b any
	_ = json.Unmarshal(r.msgs[0].Spec, &a)
	_ = json.Unmarshal([]byte(rtSpec), &b)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("spec payload differs from the connector's spec")
	}
}

func TestRunCheckStatus(t *testing.T) {
	ok := rtServer(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"things":[{"id":1}]}`) })
	for _, tc := range []struct {
		name   string
		config string
		check  func(context.Context, *Source, Env) error
		status string
		want   string
	}{
		{"default probe succeeds", `{"base":"` + ok + `"}`, nil, "SUCCEEDED", ""},
		{"default probe fails", `{"base":"` + rtClosedURL(t) + `"}`, nil, "FAILED", "giving up"},
		{"check succeeds", `{"base":"x"}`, func(context.Context, *Source, Env) error { return nil }, "SUCCEEDED", ""},
		{"check fails", `{"base":"x"}`, func(context.Context, *Source, Env) error { return errors.New("account suspended") }, "FAILED", "account suspended"},
		{"spec violation", `{"base":""}`, nil, "FAILED", "base"},
		{"wrong type", `{"base":"x","n":"3"}`, nil, "FAILED", `"n"`},
		{"not JSON", `{"base":`, nil, "FAILED", "line 1, column 9"},
		{"not an object", `"base"`, nil, "FAILED", "object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := rtConnector()
			c.Check = tc.check
			r := rtRun(t, c, "check", map[string]string{"config": tc.config})
			if r.code != 0 || r.stderr != "" {
				t.Errorf("exit %d, stderr %q", r.code, r.stderr)
			}
			if len(r.msgs) != 1 || r.msgs[0].Type != "CONNECTION_STATUS" {
				t.Fatalf("want one CONNECTION_STATUS:\n%s", r.stdout)
			}
			st, msg := r.msgs[0].ConnStatus()
			if st != tc.status || !strings.Contains(msg, tc.want) {
				t.Errorf("%s %q, want %s containing %q", st, msg, tc.status, tc.want)
			}
		})
	}
}

func TestRunErrorTraces(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"config", Configf("config: %q is bad", "x"), "config_error"},
		{"wrapped config", fmt.Errorf("open: %w", &ConfigError{Err: errors.New("bad")}), "config_error"},
		{"transient", &TransientError{Err: errors.New("network down")}, "transient_error"},
		{"wrapped transient", fmt.Errorf("a: %w", fmt.Errorf("b: %w", &TransientError{Err: errors.New("x")})), "transient_error"},
		{"plain", errors.New("boom"), "system_error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := rtConnector()
			c.Open = func(context.Context, json.RawMessage, Env) (*Source, error) { return nil, tc.err }
			r := rtRun(t, c, "discover", map[string]string{"config": `{"base":"x"}`})
			if r.code != 1 || r.stderr != "" {
				t.Errorf("exit %d, stderr %q", r.code, r.stderr)
			}
			errs := protocoltest.Errors(r.msgs)
			if len(errs) != 1 || errs[0].FailureType() != tc.want || errs[0].ErrorMessage() != tc.err.Error() {
				t.Fatalf("want one %s trace with %q:\n%s", tc.want, tc.err, r.stdout)
			}
			if FailureType(tc.err) != tc.want {
				t.Errorf("FailureType = %s", FailureType(tc.err))
			}
		})
	}
}

func TestRunPanicBecomesTrace(t *testing.T) {
	c := rtConnector()
	c.Open = func(context.Context, json.RawMessage, Env) (*Source, error) { panic("nil map somewhere") }
	r := rtRun(t, c, "discover", map[string]string{"config": `{"base":"x"}`})
	if r.code != 1 {
		t.Errorf("exit %d, want 1", r.code)
	}
	errs := protocoltest.Errors(r.msgs)
	if len(errs) != 1 || errs[0].FailureType() != "system_error" || !strings.Contains(errs[0].ErrorMessage(), "nil map somewhere") {
		t.Fatalf("want a system_error trace naming the panic:\n%s", r.stdout)
	}
	var tr struct {
		Error struct {
			StackTrace string `json:"stack_trace"`
		}
	}
	_ = json.Unmarshal(errs[0].Trace, &tr)
	if !strings.Contains(tr.Error.StackTrace, "runner_test.go") {
		t.Errorf("stack trace does not show the panic site:\n%s", tr.Error.StackTrace)
	}
}

func TestRunRedactsConfigSecrets(t *testing.T) {
	const secret = "very-secret-token-value"
	c := rtConnector()
	c.Open = func(context.Context, json.RawMessage, Env) (*Source, error) {
		return nil, fmt.Errorf("login with %s failed for base https://x", secret)
	}
	c.Check = nil
	cfg := `{"base":"https://x","token":"` + secret + `"}`
	r := rtRun(t, c, "discover", map[string]string{"config": cfg})
	if strings.Contains(r.stdout, secret) {
		t.Fatalf("secret in stdout:\n%s", r.stdout)
	}
	if msg := protocoltest.Errors(r.msgs)[0].ErrorMessage(); msg != "login with **** failed for base https://x" {
		t.Errorf("message %q", msg)
	}
	r = rtRun(t, c, "check", map[string]string{"config": cfg})
	if _, msg := r.msgs[0].ConnStatus(); strings.Contains(r.stdout, secret) || !strings.Contains(msg, "****") {
		t.Fatalf("check: secret not redacted:\n%s", r.stdout)
	}
	// Logged secrets are redacted too.
	c.Open = func(_ context.Context, _ json.RawMessage, env Env) (*Source, error) {
		env.Log.Info("using token " + secret)
		env.Log.Debug("debug " + secret)
		return nil, errors.New("stop")
	}
	r = rtRun(t, c, "discover", map[string]string{"config": cfg}, "--debug")
	if strings.Contains(r.stdout, secret) || len(protocoltest.OfType(r.msgs, "LOG")) != 2 {
		t.Fatalf("logs:\n%s", r.stdout)
	}
}

func TestRedactConfigSecrets(t *testing.T) {
	for _, tc := range []struct {
		config string
		want   []string
	}{
		{`{"base":"b","token":"tok-1"}`, []string{"tok-1"}},
		{`{"base":"b","token":"  "}`, nil},
		{`{"base":"b","token":42}`, nil},
		{`{"base":"b"}`, nil},
		{`not json`, nil},
		{`[]`, nil},
	} {
		got := redactConfigSecrets(json.RawMessage(rtSpec), []byte(tc.config))
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("redactConfigSecrets(%s) = %q, want %q", tc.config, got, tc.want)
		}
	}
}

func TestRunDebugFlag(t *testing.T) {
	c := rtConnector()
	c.Open = func(_ context.Context, _ json.RawMessage, env Env) (*Source, error) {
		env.Log.Debug("debug line")
		env.Log.Info("info line")
		return nil, errors.New("stop")
	}
	for _, debug := range []bool{false, true} {
		var extra []string
		if debug {
			extra = []string{"--debug"}
		}
		r := rtRun(t, c, "discover", map[string]string{"config": `{"base":"x"}`}, extra...)
		logs := protocoltest.OfType(r.msgs, "LOG")
		want := 1
		if debug {
			want = 2
		}
		if len(logs) != want {
			t.Errorf("--debug=%v: %d LOG lines, want %d:\n%s", debug, len(logs), want, r.stdout)
		}
	}
}

type rtFailWriter struct{}

func (rtFailWriter) Write([]byte) (int, error) { return 0, errors.New("stdout closed") }

func TestRunOutputError(t *testing.T) {
	var stderr bytes.Buffer
	code := Run(context.Background(), []string{"spec"}, rtFailWriter{}, &stderr, rtConnector())
	if code != 1 || !strings.Contains(stderr.String(), "stdout closed") {
		t.Fatalf("Run with a broken stdout = %d, stderr %q", code, stderr.String())
	}
}

func TestRunDiscoverCatalog(t *testing.T) {
	r := rtRun(t, rtConnector(), "discover", map[string]string{"config": `{"base":"x"}`})
	if r.code != 0 || len(r.msgs) != 1 {
		t.Fatalf("discover: %d\n%s", r.code, r.stdout)
	}
	var cat protocol.Catalog
	if err := json.Unmarshal(r.msgs[0].Catalog, &cat); err != nil {
		t.Fatal(err)
	}
	if len(cat.Streams) != 2 || cat.Streams[0].Name != "things" || cat.Streams[1].Name != "events" {
		t.Fatalf("streams: %+v", cat.Streams)
	}
	things, events := cat.Streams[0], cat.Streams[1]
	if string(things.JSONSchema) != `{"type":"object","additionalProperties":true}` || len(things.SupportedSyncModes) != 1 || things.SourceDefinedCursor {
		t.Errorf("things: %+v", things)
	}
	if fmt.Sprint(events.SupportedSyncModes) != "[full_refresh incremental]" || !events.SourceDefinedCursor || fmt.Sprint(events.DefaultCursorField) != "[at]" {
		t.Errorf("events: %+v", events)
	}
}

func TestRunReadReportsStreamErrorsOnce(t *testing.T) {
	base := rtServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"code":300,"message":"bad request"}`)
	})
	r := rtRun(t, rtConnector(), "read", map[string]string{"config": `{"base":"` + base + `"}`, "catalog": rtCatalog("things", "full_refresh")})
	if r.code != 1 || r.stderr != "" {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	errs := protocoltest.Errors(r.msgs)
	if len(errs) != 1 || errs[0].ErrorStream() != "things" || !strings.Contains(errs[0].ErrorMessage(), "bad request") {
		t.Fatalf("want one error trace for stream things:\n%s", r.stdout)
	}
	if got := protocoltest.Statuses(r.msgs, "things"); fmt.Sprint(got) != "[STARTED INCOMPLETE]" {
		t.Errorf("statuses %q", got)
	}
}

func TestRunReadSucceeds(t *testing.T) {
	base := rtServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/things":
			fmt.Fprint(w, `{"things":[{"id":1},{"id":2}]}`)
		case "/events":
			fmt.Fprint(w, `{"events":[{"id":1,"at":"2026-01-01T00:00:00Z"},{"id":2,"at":"2026-03-01T00:00:00Z"}]}`)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	})
	cat := `{"streams":[` +
		`{"stream":{"name":"things","json_schema":{},"supported_sync_modes":["full_refresh"]},"sync_mode":"full_refresh","destination_sync_mode":"overwrite"},` +
		`{"stream":{"name":"events","json_schema":{},"supported_sync_modes":["incremental"]},"sync_mode":"incremental","cursor_field":["at"],"destination_sync_mode":"append"}]}`
	state := `[{"type":"STREAM","stream":{"stream_descriptor":{"name":"events"},"stream_state":{"at":"2026-02-01T00:00:00Z"}}}]`
	r := rtRun(t, rtConnector(), "read", map[string]string{"config": `{"base":"` + base + `"}`, "catalog": cat, "state": state})
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q\n%s", r.code, r.stderr, r.stdout)
	}
	if n := len(protocoltest.Records(r.msgs, "things")); n != 2 {
		t.Errorf("%d things, want 2", n)
	}
	if ev := protocoltest.Records(r.msgs, "events"); len(ev) != 1 || ev[0].RecordFields()["at"] != "2026-03-01T00:00:00Z" {
		t.Errorf("events after the saved cursor: %v", ev)
	}
	var last protocoltest.Message
	for _, m := range protocoltest.OfType(r.msgs, "STATE") {
		if m.StateStream() == "events" {
			last = m
		}
	}
	if string(last.StreamState()) != `{"at":"2026-03-01T00:00:00Z"}` {
		t.Errorf("final events state %s", last.StreamState())
	}
}

func TestRunReadBadInputs(t *testing.T) {
	cfg := `{"base":"` + rtClosedURL(t) + `"}`
	for _, tc := range []struct {
		name           string
		catalog, state string
		want           []string
	}{
		{"catalog not JSON", `{"streams":`, "", []string{"catalog", "line 1, column 12"}},
		{"catalog wrong shape", `{"streams":{"a":1}}`, "", []string{"catalog", "ConfiguredAirbyteCatalog"}},
		{"unknown stream", rtCatalog("nope", "full_refresh"), "", []string{`"nope"`}},
		{"hidden stream", rtCatalog("hidden", "full_refresh"), "", []string{`"hidden"`}},
		{"incremental on full refresh stream", rtCatalog("things", "incremental"), "", []string{"things", "incremental"}},
		{"state not JSON", rtCatalog("things", "full_refresh"), "[\n{]", []string{"state", "line 2, column 2"}},
		{"state unknown key", rtCatalog("events", "incremental"), `{"events":{"cursor":"2026-01-01"}}`, []string{"events", `"cursor"`}},
		{"state bad partitions", rtCatalog("events", "incremental"), `{"events":{"partitions":[1]}}`, []string{"events", "partitions"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"config": cfg, "catalog": tc.catalog}
			if tc.state != "" {
				files["state"] = tc.state
			}
			r := rtRun(t, rtConnector(), "read", files)
			errs := protocoltest.Errors(r.msgs)
			if r.code != 1 || len(errs) != 1 || errs[0].FailureType() != "config_error" {
				t.Fatalf("exit %d; want one config_error:\n%s", r.code, r.stdout)
			}
			for _, w := range tc.want {
				if !strings.Contains(errs[0].ErrorMessage(), w) {
					t.Errorf("error %q does not name %q", errs[0].ErrorMessage(), w)
				}
			}
		})
	}
}

func TestParseStateShapes(t *testing.T) {
	examples := func(name string) []byte {
		p, err := protocoltest.SchemaPath()
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(filepath.Dir(p), "examples", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name  string
		input []byte
		want  map[string]string
	}{
		{"stream example", examples("state_file.stream.example.json"), map[string]string{"meetings": `{"start_time": "2024-05-01T15:00:00Z"}`, "webinars": `{"start_time": "2024-04-30T10:00:00Z"}`}},
		{"global example", examples("state_file.global.example.json"), map[string]string{"meetings": `{"start_time": "2024-05-01T15:00:00Z"}`}},
		{"legacy example", examples("state_file.legacy.example.json"), map[string]string{"meetings": `{"start_time": "2024-05-01T15:00:00Z"}`, "webinars": `{"start_time": "2024-04-30T10:00:00Z"}`}},
		{"empty", nil, map[string]string{}},
		{"white space", []byte(" \n\t"), map[string]string{}},
		{"null", []byte("null"), map[string]string{}},
		{"empty array", []byte("[]"), map[string]string{}},
		{"empty object", []byte("{}"), map[string]string{}},
		{"single STREAM message", []byte(`{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"},"stream_state":{"x":1}}}`), map[string]string{"a": `{"x":1}`}},
		{"STREAM without type", []byte(`[{"stream":{"stream_descriptor":{"name":"a"},"stream_state":{"x":1}}}]`), map[string]string{"a": `{"x":1}`}},
		{"STREAM without state", []byte(`[{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"}}}]`), map[string]string{"a": ``}},
		{"LEGACY message", []byte(`[{"type":"LEGACY","data":{"a":{"x":1}}}]`), map[string]string{"a": `{"x":1}`}},
		{"GLOBAL without type", []byte(`{"global":{"stream_states":[{"stream_descriptor":{"name":"b"},"stream_state":{}}]}}`), map[string]string{"b": `{}`}},
		{"later message wins", []byte(`[{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"},"stream_state":1}},{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"},"stream_state":2}}]`), map[string]string{"a": `2`}},
		{"with sourceStats", []byte(`[{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"},"stream_state":{}},"sourceStats":{"recordCount":3.0}}]`), map[string]string{"a": `{}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseState(tc.input)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("ParseState = %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if string(got[k]) != v {
					t.Errorf("stream %q: %s, want %s", k, got[k], v)
				}
			}
		})
	}
}

func TestParseStateErrors(t *testing.T) {
	for _, tc := range []struct{ input, want string }{
		{`[`, "line 1, column 2"},
		{"{\n\"a\": }", "line 2, column 6"},
		{`"state"`, "a string"},
		{`42`, "a number"},
		{`true`, "a boolean"},
		{`[1]`, "state message 0"},
		{`[null]`, "unknown state type"},
		{`[{"type":"PER_STREAM"}]`, `"PER_STREAM"`},
		{`[{"type":"STREAM"}]`, "stream_descriptor.name"},
		{`[{"type":"STREAM","stream":{"stream_descriptor":{"name":""}}}]`, "stream_descriptor.name"},
		{`[{"type":"GLOBAL"}]`, "without global"},
		{`[{"type":"GLOBAL","global":{"stream_states":[{}]}}]`, "stream_states[0]"},
		{`[{"type":"LEGACY","data":[1]}]`, "legacy state"},
		{`{"type":7}`, "not a state message"},
		{`{"a":1,}`, "line 1, column 8"},
	} {
		_, err := ParseState([]byte(tc.input))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseState(%s) error %v, want one containing %q", tc.input, err, tc.want)
		}
	}
}

func TestJSONSyntaxErrorPosition(t *testing.T) {
	for _, tc := range []struct{ input, want string }{
		{`x`, "line 1, column 1"},
		{`{"a":1,}`, "line 1, column 8"},
		{"{\n  \"a\": x\n}", "line 2, column 8"},
		{"{\r\n\"a\":\r\n}", "line 3, column 1"},
		{`{"é": x}`, "line 1, column 7"}, // columns count characters
		{`{"a":1`, "line 1, column 7"},   // end of input: just past the end
		{"{\"a\":1\n", "line 2, column 1"},
		{`{"a":1}}`, "line 1, column 8"},
		{`[1,2,]`, "line 1, column 6"},
	} {
		err := jsonSyntaxError([]byte(tc.input))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("jsonSyntaxError(%q) = %v, want %q", tc.input, err, tc.want)
		}
	}
	if err := jsonSyntaxError([]byte(`{"ok":true}`)); err != nil {
		t.Errorf("valid JSON: %v", err)
	}
}

func TestCursorState(t *testing.T) {
	day := func(s string) time.Time { tm, _ := time.Parse(time.RFC3339, s); return tm }
	for _, tc := range []struct {
		raw     string
		cursor  time.Time
		parts   int
		wantErr string
	}{
		{``, time.Time{}, 0, ""},
		{`null`, time.Time{}, 0, ""},
		{`{}`, time.Time{}, 0, ""},
		{`{"at":"2026-01-02T03:04:05Z"}`, day("2026-01-02T03:04:05Z"), 0, ""},
		{`{"at":"2026-01-02"}`, day("2026-01-02T00:00:00Z"), 0, ""},
		{`{"at":"2026-01-02T05:04:05+02:00"}`, day("2026-01-02T03:04:05Z"), 0, ""},
		{`{"at":"2026-01-02T03:04:05Z","partitions":{"p1":"2026-01-01","p|2":"2026-01-01T10:00:00Z"}}`, day("2026-01-02T03:04:05Z"), 2, ""},
		{`{"at":1}`, time.Time{}, 0, "RFC 3339 string"},
		{`{"at":"soon"}`, time.Time{}, 0, "soon"},
		{`{"partitions":{"p":"x"}}`, time.Time{}, 0, `partition "p"`},
		{`{"partitions":[]}`, time.Time{}, 0, "partitions"},
		{`{"start_time":"2026-01-01"}`, time.Time{}, 0, `unknown key "start_time"`},
		{`[]`, time.Time{}, 0, "must be an object"},
	} {
		cs, err := parseCursorState("events", "at", json.RawMessage(tc.raw))
		if tc.wantErr != "" {
			var ce *ConfigError
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.As(err, &ce) || !strings.Contains(err.Error(), `"events"`) {
				t.Errorf("parseCursorState(%s) error %v, want a ConfigError naming the stream and %q", tc.raw, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseCursorState(%s): %v", tc.raw, err)
			continue
		}
		if !cs.Cursor.Equal(tc.cursor) || len(cs.Partitions) != tc.parts {
			t.Errorf("parseCursorState(%s) = %v %v", tc.raw, cs.Cursor, cs.Partitions)
		}
		// marshal and parse again: the same state.
		back, err := parseCursorState("events", "at", cs.marshal("at"))
		if err != nil || !back.Cursor.Equal(cs.Cursor) || len(back.Partitions) != len(cs.Partitions) {
			t.Errorf("round trip of %s via %s: %v %v", tc.raw, cs.marshal("at"), back, err)
		}
	}
	cs := cursorState{Cursor: day("2026-01-02T03:04:05Z"), Partitions: map[string]time.Time{"b": day("2026-01-01T00:00:00Z"), "a\"x": day("2026-01-01T00:00:00Z")}}
	if got := string(cs.marshal("at")); got != `{"at":"2026-01-02T03:04:05Z","partitions":{"a\"x":"2026-01-01T00:00:00Z","b":"2026-01-01T00:00:00Z"}}` {
		t.Errorf("marshal = %s", got)
	}
	if got := string((cursorState{}).marshal("at")); got != `{}` {
		t.Errorf("marshal of empty state = %s", got)
	}
}

func TestReadFileLimits(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f.json")
	if err := os.WriteFile(p, []byte(`{"a":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := readFile(p); err != nil || string(b) != `{"a":1}` {
		t.Errorf("readFile = %q, %v", b, err)
	}
	if _, err := readFile(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Errorf("missing file: no error")
	}
}
