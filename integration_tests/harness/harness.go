package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/source-zoom/source-zoom/integration_tests/fakezoom"
	"github.com/source-zoom/source-zoom/protocol/protocoltest"
)

// BinEnv names an environment variable that, when set, is the connector
// binary Binary returns (nothing is built).
const BinEnv = "SOURCE_ZOOM_BIN"

// Timeout bounds each Run.
var Timeout = 3 * time.Minute

var (
	buildOnce sync.Once
	buildDir  string
	binPath   string
	buildErr  error
)

// ModuleRoot returns the directory of go.mod, found by walking up from the
// working directory.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("harness: no go.mod in the working directory or above it")
		}
		dir = up
	}
}

// Build compiles the connector (the module's main package) into a new
// temporary directory and returns the binary's path. Most callers want
// Binary, which builds once per process.
func Build() (string, error) {
	if p := os.Getenv(BinEnv); p != "" {
		return filepath.Abs(p)
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "source-zoom-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "source-zoom")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("harness: go build in %s: %v\n%s", root, err, out)
	}
	buildDir = dir
	return bin, nil
}

// Binary returns the connector binary, building it on the first call of
// the process (or $SOURCE_ZOOM_BIN when set). It fails t if the build fails.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() { binPath, buildErr = Build() })
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// Main runs the tests of m and then removes the binary Binary built. Use it
// from TestMain: func TestMain(m *testing.M) { os.Exit(harness.Main(m)) }.
func Main(m *testing.M) int {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	return code
}

// StartFake starts a fake Zoom server on 127.0.0.1 and closes it when the
// test ends.
func StartFake(t testing.TB, o fakezoom.Options) *fakezoom.Server {
	t.Helper()
	s := fakezoom.New(o)
	if _, err := s.Start(); err != nil {
		t.Fatalf("fake zoom: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Config returns the connector configuration for s: its credentials and
// URLs, then extra (which may override them; a nil value deletes a key).
func Config(s *fakezoom.Server, extra map[string]any) map[string]any {
	o := s.Options()
	c := map[string]any{
		"account_id":             o.AccountID,
		"client_id":              o.ClientID,
		"client_secret":          o.ClientSecret,
		"authorization_endpoint": s.TokenURL(),
		"api_base_url":           s.APIBaseURL(),
	}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// WriteConfig writes Config(s, extra) to a temporary file and returns its path.
func WriteConfig(t testing.TB, s *fakezoom.Server, extra map[string]any) string {
	t.Helper()
	return WriteJSON(t, "config.json", Config(s, extra))
}

// WriteJSON writes v as JSON (raw bytes as they are) to a new file named
// name in a temporary directory and returns its path.
func WriteJSON(t testing.TB, name string, v any) string {
	t.Helper()
	var b []byte
	switch v := v.(type) {
	case []byte:
		b = v
	case json.RawMessage:
		b = v
	default:
		var err error
		if b, err = json.MarshalIndent(v, "", "  "); err != nil {
			t.Fatalf("harness: %s: %v", name, err)
		}
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Message is one validated stdout line.
type Message = protocoltest.Message

// Result is what one run of the connector produced.
type Result struct {
	Args   []string
	Stdout []byte
	Stderr []byte
	Code   int       // exit code
	Msgs   []Message // stdout lines, in order, each valid against the protocol
}

// Run runs bin with args in a fresh temporary working directory, waits at
// most Timeout, validates every stdout line against the Airbyte protocol
// (failing t for each bad line) and returns the result. A non-zero exit is
// not a failure: callers check Code.
func Run(t testing.TB, bin string, args ...string) *Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = t.TempDir()
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := &Result{Args: args, Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s %s: killed after %v\nstderr: %s\nstdout tail: %s", filepath.Base(bin), strings.Join(args, " "), Timeout, tail(r.Stderr), tail(r.Stdout))
	case errors.As(err, &exit):
		r.Code = exit.ExitCode()
	case err != nil:
		t.Fatalf("%s %s: %v", filepath.Base(bin), strings.Join(args, " "), err)
	}
	r.Msgs = validate(t, r.Stdout)
	return r
}

// validate checks each stdout line against the protocol and parses it. It
// is the one place where the protocol checker is called.
func validate(t testing.TB, stdout []byte) []Message {
	t.Helper()
	return protocoltest.CheckOutput(t, stdout)
}

func tail(b []byte) string {
	const n = 2000
	if len(b) > n {
		return "..." + string(b[len(b)-n:])
	}
	return string(b)
}

// Records returns the data of every RECORD, per stream, in output order.
func (r *Result) Records() map[string][]json.RawMessage {
	out := map[string][]json.RawMessage{}
	for _, m := range r.Msgs {
		if m.Type == "RECORD" {
			s := m.RecordStream()
			out[s] = append(out[s], m.RecordData())
		}
	}
	return out
}

// State is one STREAM state message.
type State struct {
	Stream      string
	Blob        json.RawMessage // stream.stream_state
	RecordCount float64         // sourceStats.recordCount
	HasCount    bool            // whether sourceStats.recordCount was present
	Line        int             // stdout line number
	Raw         json.RawMessage // the whole AirbyteStateMessage
}

// States returns the STREAM states per stream, in output order.
func (r *Result) States() map[string][]State {
	out := map[string][]State{}
	for _, m := range r.Msgs {
		if m.Type != "STATE" {
			continue
		}
		n, ok := m.StateCount()
		st := State{Stream: m.StateStream(), Blob: m.StreamState(), RecordCount: n, HasCount: ok, Line: m.Line, Raw: m.State}
		out[st.Stream] = append(out[st.Stream], st)
	}
	return out
}

// LastStates returns a --state file: a JSON array of the last STATE
// message of each stream (sorted by stream, without sourceStats, as the
// platform saves them).
func (r *Result) LastStates() []byte {
	states := r.States()
	names := make([]string, 0, len(states))
	for name := range states {
		names = append(names, name)
	}
	sort.Strings(names)
	out := []json.RawMessage{}
	for _, name := range names {
		list := states[name]
		var m map[string]json.RawMessage
		if err := json.Unmarshal(list[len(list)-1].Raw, &m); err != nil {
			continue // validate already failed the test
		}
		delete(m, "sourceStats")
		b, _ := json.Marshal(m)
		out = append(out, b)
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	return b
}

// Statuses returns the STREAM_STATUS statuses of stream, in order.
func (r *Result) Statuses(stream string) []string {
	return protocoltest.Statuses(r.Msgs, stream)
}

// Errors returns the error TRACE messages.
func (r *Result) Errors() []Message {
	return protocoltest.Errors(r.Msgs)
}

// Logs returns the LOG messages.
func (r *Result) Logs() []Message {
	return protocoltest.OfType(r.Msgs, "LOG")
}

// ConnectionStatus returns the status and message of the CONNECTION_STATUS
// line, failing t unless there is exactly one.
func (r *Result) ConnectionStatus(t testing.TB) (status, message string) {
	t.Helper()
	cs := protocoltest.OfType(r.Msgs, "CONNECTION_STATUS")
	if len(cs) != 1 {
		t.Fatalf("want 1 CONNECTION_STATUS, got %d\nstdout: %s\nstderr: %s", len(cs), tail(r.Stdout), tail(r.Stderr))
	}
	return cs[0].ConnStatus()
}
