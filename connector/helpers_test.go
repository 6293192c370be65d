package connector_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/source-zoom/source-zoom/connector"
	"github.com/source-zoom/source-zoom/protocol"
)

// fastRetry keeps retry tests quick.
var fastRetry = connector.RetryPolicy{MaxTries: 3, Initial: time.Millisecond, Max: 5 * time.Millisecond, MaxWait: 30 * time.Second}

// fake is an API served by an httptest server: handlers by escaped path,
// with every request counted.
type fake struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	routes    map[string]http.HandlerFunc
	hits      map[string]int // by escaped path
	uris      []string       // every RequestURI, in arrival order
	unmatched []string
}

func newFake(t *testing.T) *fake {
	t.Helper()
	f := &fake{t: t, routes: map[string]http.HandlerFunc{}, hits: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.EscapedPath()
		f.mu.Lock()
		f.hits[p]++
		f.uris = append(f.uris, r.RequestURI)
		h := f.routes[p]
		if h == nil {
			f.unmatched = append(f.unmatched, r.RequestURI)
		}
		f.mu.Unlock()
		if r.Method != http.MethodGet {
			t.Errorf("%s %s: want GET", r.Method, r.RequestURI)
		}
		if h == nil {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `{"code":404,"message":"no route for %s"}`, p)
			return
		}
		h(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// handle routes the escaped path p to h.
func (f *fake) handle(p string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes[p] = h
}

// json serves body (a string is sent as is, anything else encoded with
// json.Encoder, which ends the body with a newline) at p.
func (f *fake) json(p string, body any) {
	f.handle(p, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, body) })
}

func (f *fake) hit(p string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[p]
}

func (f *fake) totalHits() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, v := range f.hits {
		n += v
	}
	return n
}

func (f *fake) requestURIs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.uris)
}

func (f *fake) noUnmatched(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.unmatched) > 0 {
		t.Errorf("requests to unknown routes: %v", f.unmatched)
	}
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if s, ok := body.(string); ok {
		_, _ = w.Write([]byte(s))
		return
	}
	_ = json.NewEncoder(w).Encode(body)
}

// source returns a Source reading from f with quick retries.
func (f *fake) source(streams ...connector.Stream) *connector.Source {
	return &connector.Source{
		BaseURL:     f.srv.URL,
		Transport:   f.srv.Client().Transport,
		Retry:       fastRetry,
		Concurrency: 4,
		Streams:     streams,
	}
}

// output is a parsed read output.
type output struct {
	lines []string
	msgs  []protocol.Message
}

func runRead(t *testing.T, src *connector.Source, cat *protocol.ConfiguredCatalog, state map[string]json.RawMessage) (*output, error) {
	t.Helper()
	return runReadCtx(context.Background(), t, src, cat, state)
}

func runReadCtx(ctx context.Context, t *testing.T, src *connector.Source, cat *protocol.ConfiguredCatalog, state map[string]json.RawMessage) (*output, error) {
	t.Helper()
	var buf bytes.Buffer
	w := protocol.NewWriter(&buf, nil)
	log := slog.New(protocol.NewLogHandler(w, slog.LevelDebug))
	err := src.Read(ctx, w, log, cat, state)
	if cerr := w.Close(); cerr != nil {
		t.Fatalf("close writer: %v", cerr)
	}
	return parseOutput(t, buf.Bytes()), err
}

// parseOutput splits the output into messages; every line must be one JSON
// object whose payload is the one its type names.
func parseOutput(t *testing.T, b []byte) *output {
	t.Helper()
	o := &output{}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Errorf("output does not end with a newline")
	}
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if line == "" {
			if len(b) > 0 {
				t.Errorf("line %d is empty", i+1)
			}
			continue
		}
		var m protocol.Message
		if !json.Valid([]byte(line)) {
			t.Fatalf("line %d is not valid JSON: %q", i+1, line)
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %d: %v: %s", i+1, err, line)
		}
		ok := false
		switch m.Type {
		case protocol.TypeRecord:
			ok = m.Record != nil && len(m.Record.Data) > 0 && m.Record.Data[0] == '{'
		case protocol.TypeState:
			ok = m.State != nil
		case protocol.TypeLog:
			ok = m.Log != nil
		case protocol.TypeTrace:
			ok = m.Trace != nil
		}
		if !ok {
			t.Fatalf("line %d: bad %s message: %s", i+1, m.Type, line)
		}
		if strings.Contains(line, `"namespace":null`) {
			t.Errorf("line %d has a null namespace: %s", i+1, line)
		}
		o.lines = append(o.lines, line)
		o.msgs = append(o.msgs, m)
	}
	return o
}

// records returns the raw data of stream's records, in output order.
func (o *output) records(stream string) []string {
	var out []string
	for _, m := range o.msgs {
		if m.Type == protocol.TypeRecord && m.Record.Stream == stream {
			out = append(out, string(m.Record.Data))
		}
	}
	return out
}

// objects returns stream's records decoded (numbers as json.Number).
func (o *output) objects(t *testing.T, stream string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range o.records(stream) {
		out = append(out, decodeObject(t, []byte(r)))
	}
	return out
}

func decodeObject(t *testing.T, b []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return m
}

// field returns the string form of key in every record of stream.
func (o *output) field(t *testing.T, stream, key string) []string {
	t.Helper()
	var out []string
	for _, m := range o.objects(t, stream) {
		out = append(out, fmt.Sprint(m[key]))
	}
	return out
}

func (o *output) states(stream string) []*protocol.State {
	var out []*protocol.State
	for _, m := range o.msgs {
		if m.Type == protocol.TypeState && m.State.Stream != nil && m.State.Stream.StreamDescriptor.Name == stream {
			out = append(out, m.State)
		}
	}
	return out
}

// lastState returns the stream_state of stream's last STATE, or nil.
func (o *output) lastState(stream string) json.RawMessage {
	s := o.states(stream)
	if len(s) == 0 {
		return nil
	}
	return s[len(s)-1].Stream.StreamState
}

// statuses returns stream's STREAM_STATUS sequence; a RUNNING status with
// a RATE_LIMITED reason is reported as "RATE_LIMITED".
func (o *output) statuses(stream string) []string {
	var out []string
	for _, m := range o.msgs {
		if m.Type != protocol.TypeTrace || m.Trace.StreamStatus == nil || m.Trace.StreamStatus.StreamDescriptor.Name != stream {
			continue
		}
		s := m.Trace.StreamStatus.Status
		if len(m.Trace.StreamStatus.Reasons) > 0 {
			s = m.Trace.StreamStatus.Reasons[0].Type
		}
		out = append(out, s)
	}
	return out
}

func (o *output) errors() []*protocol.TraceErr {
	var out []*protocol.TraceErr
	for _, m := range o.msgs {
		if m.Type == protocol.TypeTrace && m.Trace.Type == protocol.TraceError {
			out = append(out, m.Trace.Error)
		}
	}
	return out
}

// errorOf returns the TRACE error of stream, failing the test unless there
// is exactly one.
func (o *output) errorOf(t *testing.T, stream string) *protocol.TraceErr {
	t.Helper()
	var found []*protocol.TraceErr
	for _, e := range o.errors() {
		if e.StreamDescriptor != nil && e.StreamDescriptor.Name == stream {
			found = append(found, e)
		}
	}
	if len(found) != 1 {
		t.Fatalf("stream %q: %d TRACE errors, want 1; output:\n%s", stream, len(found), o)
	}
	return found[0]
}

func (o *output) logs(level string) []string {
	var out []string
	for _, m := range o.msgs {
		if m.Type == protocol.TypeLog && m.Log.Level == level {
			out = append(out, m.Log.Message)
		}
	}
	return out
}

func (o *output) String() string { return strings.Join(o.lines, "\n") }

// checkStateCounts checks, over the whole output, that every STATE of a
// stream carries the number of RECORD lines of that stream since its
// previous STATE, and that no record follows a stream's last STATE.
func (o *output) checkStateCounts(t *testing.T) {
	t.Helper()
	since := map[string]int{}
	for i, m := range o.msgs {
		switch m.Type {
		case protocol.TypeRecord:
			since[m.Record.Stream]++
		case protocol.TypeState:
			if m.State.Type != protocol.StateStream || m.State.Stream == nil {
				t.Errorf("line %d: state is not a STREAM state: %s", i+1, o.lines[i])
				continue
			}
			name := m.State.Stream.StreamDescriptor.Name
			if m.State.SourceStats == nil {
				t.Errorf("line %d: state of %q without sourceStats", i+1, name)
				continue
			}
			if got := int(m.State.SourceStats.RecordCount); got != since[name] {
				t.Errorf("line %d: state of %q counts %d records, %d were emitted since its previous state", i+1, name, got, since[name])
			}
			since[name] = 0
		}
	}
	for name, n := range since {
		if n > 0 {
			t.Errorf("%d records of %q follow its last STATE", n, name)
		}
	}
}

// cat builds a configured catalog.
func cat(streams ...protocol.ConfiguredStream) *protocol.ConfiguredCatalog {
	return &protocol.ConfiguredCatalog{Streams: streams}
}

func fr(name string) protocol.ConfiguredStream {
	return protocol.ConfiguredStream{Stream: protocol.Stream{Name: name}, SyncMode: protocol.FullRefresh, DestinationSyncMode: "overwrite"}
}

func inc(name string) protocol.ConfiguredStream {
	return protocol.ConfiguredStream{Stream: protocol.Stream{Name: name}, SyncMode: protocol.Incremental, DestinationSyncMode: "append"}
}

func frAll(names ...string) *protocol.ConfiguredCatalog {
	c := &protocol.ConfiguredCatalog{}
	for _, n := range names {
		c.Streams = append(c.Streams, fr(n))
	}
	return c
}

// ids returns {"id": first}, ... {"id": last} as a JSON array body value.
func ids(first, last int) []map[string]any {
	var out []map[string]any
	for i := first; i <= last; i++ {
		out = append(out, map[string]any{"id": i})
	}
	return out
}

func mustContain(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s = %q, want it to contain %q", what, s, sub)
		}
	}
}

func equalStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}
