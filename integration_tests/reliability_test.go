package integration_tests

// Reliability: the connector against a faulty fake Zoom (5xx storms,
// connection resets, truncated bodies, hanging requests, short-lived and
// revoked tokens, 429 storms, the daily Heavy cap, expired page tokens, a
// slow reader on stdout), against malformed API answers, and with bad
// input. Each test asserts the exact records of the sync where it should
// succeed. RELIABILITY.md lists the scenarios with measured figures.
//
//	go test ./integration_tests -run TestReliab -v

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/source-zoom/source-zoom/integration_tests/fakezoom"
	"github.com/source-zoom/source-zoom/integration_tests/harness"
	"github.com/source-zoom/source-zoom/protocol"
	"github.com/source-zoom/source-zoom/protocol/protocoltest"
)

// ---------------------------------------------------------------- helpers
// (shared by reliability_test.go, resume_test.go, zoom_edge_test.go and
// secrets_test.go; prefixed rel to stay clear of the acceptance suite's)

// heavyStreams are the streams of Zoom's Heavy rate-limit category.
var heavyStreams = []string{"report_meetings", "report_meeting_participants", "report_webinars", "report_webinar_participants", "report_user_meetings"}

var relCat struct {
	once sync.Once
	cat  *protocol.Catalog
}

// relCatalog returns the discovered catalog, discovered once per process
// (discover never calls the API: the catalog is static).
func relCatalog(t *testing.T) *protocol.Catalog {
	t.Helper()
	bin := harness.Binary(t)
	relCat.once.Do(func() {
		cfg := harness.WriteJSON(t, "config.json", map[string]any{"account_id": "a", "client_id": "b", "client_secret": "c"})
		relCat.cat = harness.Discover(t, bin, cfg)
	})
	if relCat.cat == nil {
		t.Fatal("discover failed in an earlier test")
	}
	return relCat.cat
}

// relFake is a fake Zoom server, maybe behind a wrapping handler.
type relFake struct {
	*fakezoom.Server
	base string // the URL the connector talks to
}

// relStart starts a fake Zoom server; wrap, when not nil, wraps its
// handler (to observe requests or inject answers the fake lacks).
func relStart(t *testing.T, o fakezoom.Options, wrap func(http.Handler) http.Handler) *relFake {
	t.Helper()
	if wrap == nil {
		s := harness.StartFake(t, o)
		return &relFake{Server: s, base: s.BaseURL()}
	}
	s := fakezoom.New(o)
	srv := httptest.NewServer(wrap(s.Handler()))
	t.Cleanup(func() {
		s.Close() // releases hanging requests first
		srv.Close()
	})
	return &relFake{Server: s, base: srv.URL}
}

// config writes the connector config for f, with extra keys.
func (f *relFake) config(t *testing.T, extra map[string]any) string {
	t.Helper()
	c := harness.Config(f.Server, extra)
	if _, ok := extra["authorization_endpoint"]; !ok {
		c["authorization_endpoint"] = f.base + "/oauth/token"
	}
	if _, ok := extra["api_base_url"]; !ok {
		c["api_base_url"] = f.base + "/v2"
	}
	return harness.WriteJSON(t, "config.json", c)
}

// relRead runs read and returns the result and its duration.
func relRead(t *testing.T, cfg, catalog string, state []byte, extra ...string) (*harness.Result, time.Duration) {
	t.Helper()
	args := []string{"read", "--config", cfg, "--catalog", catalog}
	if state != nil {
		args = append(args, "--state", harness.WriteJSON(t, "state.json", state))
	}
	args = append(args, extra...)
	start := time.Now()
	r := harness.Run(t, harness.Binary(t), args...)
	d := time.Since(start)
	relNoCrash(t, r)
	return r, d
}

// relOK fails t unless r exited 0 with an empty stderr and no error trace.
func relOK(t *testing.T, what string, r *harness.Result) {
	t.Helper()
	if r.Code != 0 {
		t.Errorf("%s: exit code %d, want 0", what, r.Code)
	}
	if len(r.Stderr) != 0 {
		t.Errorf("%s: stderr: %s", what, relClip(r.Stderr))
	}
	for _, m := range r.Errors() {
		t.Errorf("%s: error trace: %s", what, relClip(m.Raw))
	}
}

var goSource = regexp.MustCompile(`\.go:\d+`)

// relNoCrash fails t if the output shows a panic or a Go stack trace.
func relNoCrash(t *testing.T, r *harness.Result) {
	t.Helper()
	for _, b := range [][]byte{r.Stderr} {
		if bytes.Contains(b, []byte("goroutine ")) || bytes.Contains(b, []byte("panic")) || goSource.Match(b) {
			t.Errorf("stderr shows a crash:\n%s", relClip(b))
		}
	}
	for _, m := range r.Msgs {
		var text string
		switch m.Type {
		case "TRACE":
			if m.TraceType() != "ERROR" {
				continue
			}
			var st string
			var e struct {
				Error struct {
					StackTrace string `json:"stack_trace"`
				} `json:"error"`
			}
			if json.Unmarshal(m.Trace, &e) == nil {
				st = e.Error.StackTrace
			}
			if st != "" {
				t.Errorf("error trace carries a stack trace: %s", relClip(m.Raw))
			}
			text = m.ErrorMessage() + " " + m.ErrorInternal()
		case "LOG":
			text = m.LogMessage()
		default:
			continue
		}
		if strings.Contains(text, "goroutine ") || strings.Contains(text, "panic") || strings.Contains(text, "internal error") || goSource.MatchString(text) {
			t.Errorf("message shows a crash: %s", relClip(m.Raw))
		}
	}
}

func relClip(b []byte) string {
	const n = 1500
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// relCount is the number of records of m.
func relCount(m map[string][]json.RawMessage) int {
	n := 0
	for _, l := range m {
		n += len(l)
	}
	return n
}

// relStats is a one-line summary of the fake's counters.
func relStats(st fakezoom.Stats) string {
	return fmt.Sprintf("api=%d token_requests=%d tokens_issued=%d 429=%d daily_429=%d 5xx=%d resets=%d truncated=%d hung=%d 401=%d max_in_flight=%d",
		st.APIRequests, st.TokenRequests, st.TokensIssued, st.RateLimited, st.DailyLimited, st.InjectedErrors, st.Resets, st.Truncated, st.Hung, st.ByStatus[401], st.MaxConcurrent)
}

// relFigures logs the measured figures of a scenario in one greppable line.
func relFigures(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Logf("FIGURES %s: %s", t.Name(), fmt.Sprintf(format, args...))
}

// relLastStateAfterRecords fails t unless every selected stream has a
// STATE after its last RECORD.
func relLastStateAfterRecords(t *testing.T, r *harness.Result, streams []string) {
	t.Helper()
	lastRec := map[string]int{}
	for _, m := range r.Msgs {
		if m.Type == "RECORD" {
			lastRec[m.RecordStream()] = m.Line
		}
	}
	states := r.States()
	for _, s := range streams {
		st := states[s]
		if len(st) == 0 {
			t.Errorf("stream %s: no STATE", s)
			continue
		}
		if last := st[len(st)-1]; last.Line < lastRec[s] {
			t.Errorf("stream %s: last STATE (line %d) before its last RECORD (line %d)", s, last.Line, lastRec[s])
		}
	}
}

func relNames(cat *protocol.Catalog) []string {
	var out []string
	for _, s := range cat.Streams {
		out = append(out, s.Name)
	}
	return out
}

// relDedup is the set of records per stream, in canonical form.
func relDedup(recs ...map[string][]json.RawMessage) map[string][]json.RawMessage {
	out := map[string][]json.RawMessage{}
	seen := map[string]map[string]bool{}
	for _, m := range recs {
		for s, list := range m {
			if seen[s] == nil {
				seen[s] = map[string]bool{}
			}
			for _, r := range list {
				c, _ := harness.Canonical(r)
				if !seen[s][c] {
					seen[s][c] = true
					out[s] = append(out[s], json.RawMessage(c))
				}
			}
		}
	}
	return out
}

func relOnly(m map[string][]json.RawMessage, streams ...string) map[string][]json.RawMessage {
	out := map[string][]json.RawMessage{}
	for _, s := range streams {
		out[s] = m[s]
	}
	return out
}

// relProc is a connector process whose stdout the test reads line by line.
type relProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	out    *bufio.Reader
	stdout bytes.Buffer
	stderr bytes.Buffer
	lines  int
	start  time.Time
}

func relStartProc(t *testing.T, args ...string) *relProc {
	t.Helper()
	p := &relProc{t: t, cmd: exec.Command(harness.Binary(t), args...)}
	p.cmd.Dir = t.TempDir()
	p.cmd.Stderr = &p.stderr
	pipe, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.out = bufio.NewReaderSize(pipe, 64<<10)
	p.start = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			_, _ = io.Copy(io.Discard, p.out)
			_ = p.cmd.Wait()
		}
	})
	return p
}

// readLines reads stdout until n lines in all were read; false at EOF.
func (p *relProc) readLines(n int) bool {
	for p.lines < n {
		line, err := p.out.ReadBytes('\n')
		p.stdout.Write(line)
		if err != nil {
			return false
		}
		p.lines++
	}
	return true
}

// finish reads stdout to its end, waits for the process (at most limit)
// and returns the result (a cut last line is dropped, as the platform
// would) and how long the process ran.
func (p *relProc) finish(limit time.Duration) (*harness.Result, time.Duration) {
	p.t.Helper()
	timer := time.AfterFunc(limit, func() { _ = p.cmd.Process.Kill() })
	defer timer.Stop()
	rest, _ := io.ReadAll(p.out)
	p.stdout.Write(rest)
	err := p.cmd.Wait()
	d := time.Since(p.start)
	r := &harness.Result{Args: p.cmd.Args[1:], Stdout: p.stdout.Bytes(), Stderr: p.stderr.Bytes()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.Code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.Code = -int(ws.Signal())
		}
	case err != nil:
		p.t.Fatalf("connector: %v", err)
	}
	if i := bytes.LastIndexByte(r.Stdout, '\n'); i+1 < len(r.Stdout) {
		r.Stdout = r.Stdout[:i+1] // a line cut by SIGKILL
	}
	r.Msgs = protocoltest.CheckOutput(p.t, r.Stdout)
	relNoCrash(p.t, r)
	return r, d
}

// relRSS reads VmRSS and VmHWM of pid in kB.
func relRSS(pid int) (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = v
		case "VmHWM:":
			hwm = v
		}
	}
	return rss, hwm, nil
}

// hijackWriter passes Hijack and Flush through a wrapping ResponseWriter
// (the fake resets connections and cuts bodies with them).
type hijackWriter struct {
	http.ResponseWriter
	status int
}

func (w *hijackWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *hijackWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return w.ResponseWriter.(http.Hijacker).Hijack()
}

// ---------------------------------------------------------------- faults

// TestReliabilityFaults: 10 % of requests answered 500/502/503 (half with
// HTML bodies), connection resets, truncated JSON bodies, and all three at
// once. Every sync ends with exit 0 and exactly the fake's records.
func TestReliabilityFaults(t *testing.T) {
	t.Parallel()
	cat := relCatalog(t)
	for _, tc := range []struct {
		name string
		o    fakezoom.Options
	}{
		{"5xx", fakezoom.Options{Seed: 11, Users: 3, ErrorRate: 0.10}},
		{"resets", fakezoom.Options{Seed: 12, Users: 3, ResetRate: 0.05}},
		{"truncated", fakezoom.Options{Seed: 13, Users: 3, TruncateRate: 0.05}},
		{"all", fakezoom.Options{Seed: 14, Users: 3, ErrorRate: 0.05, ResetRate: 0.03, TruncateRate: 0.03}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var html atomic.Int64
			f := relStart(t, tc.o, func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					hw := &hijackWriter{ResponseWriter: w}
					h.ServeHTTP(hw, r)
					if hw.status >= 500 && strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") {
						html.Add(1)
					}
				})
			})
			cfg := f.config(t, map[string]any{"concurrency": 8})
			r, d := relRead(t, cfg, harness.WriteCatalog(t, cat, nil, false), nil)
			relOK(t, "read", r)
			want := harness.Expected(f.Server)
			harness.SameRecords(t, want, r.Records())
			st := f.Stats()
			injected := st.InjectedErrors + st.Resets + st.Truncated
			if injected == 0 {
				t.Errorf("the fake injected no fault: %s", relStats(st))
			}
			if tc.o.ErrorRate > 0 && html.Load() == 0 {
				t.Errorf("no 5xx with an HTML body was served")
			}
			relFigures(t, "records %d/%d, exit %d, %v; injected 5xx=%d (HTML %d) resets=%d truncated=%d; %s",
				relCount(r.Records()), relCount(want), r.Code, d.Round(time.Millisecond), st.InjectedErrors, html.Load(), st.Resets, st.Truncated, relStats(st))
		})
	}
}

// TestReliabilityHangingRequest: the first API requests hang until the
// client gives up; with request_timeout_seconds 1 each is abandoned after
// a second and retried.
func TestReliabilityHangingRequest(t *testing.T) {
	t.Parallel()
	cat := relCatalog(t)
	f := relStart(t, fakezoom.Options{Seed: 21, Users: 2, HangFirst: 2}, nil)
	cfg := f.config(t, map[string]any{"request_timeout_seconds": 1, "concurrency": 4})
	r, d := relRead(t, cfg, harness.WriteCatalog(t, cat, nil, false), nil)
	relOK(t, "read", r)
	want := harness.Expected(f.Server)
	harness.SameRecords(t, want, r.Records())
	st := f.Stats()
	if st.Hung != 2 {
		t.Errorf("hung requests = %d, want 2", st.Hung)
	}
	if d > 30*time.Second {
		t.Errorf("read took %v: a hanging request should cost about request_timeout_seconds", d)
	}
	relFigures(t, "records %d/%d, exit %d, %v; %s", relCount(r.Records()), relCount(want), r.Code, d.Round(time.Millisecond), relStats(st))
}

// TestReliabilityTokenExpiry: tokens live 2 s and the sync lasts several
// lifetimes: the connector replaces them before they expire, about one per
// lifetime (not one per request), and loses nothing.
func TestReliabilityTokenExpiry(t *testing.T) {
	t.Parallel()
	cat := relCatalog(t)
	const lifetime = 2 * time.Second
	f := relStart(t, fakezoom.Options{Seed: 31, Users: 3, TokenLifetime: lifetime, Latency: 50 * time.Millisecond}, nil)
	cfg := f.config(t, map[string]any{"concurrency": 2})
	r, d := relRead(t, cfg, harness.WriteCatalog(t, cat, nil, false), nil)
	relOK(t, "read", r)
	want := harness.Expected(f.Server)
	harness.SameRecords(t, want, r.Records())
	st := f.Stats()
	lifetimes := float64(d) / float64(lifetime)
	if lifetimes < 3 {
		t.Errorf("the sync lasted %v, under 3 token lifetimes: the test proves little", d)
	}
	// Replaced at two thirds of their life: about 1.5 per lifetime, plus
	// one per 401 (a request stalled past its token's expiry on a loaded
	// machine).
	unauthorized := st.ByStatus[http.StatusUnauthorized]
	if max := int64(2*lifetimes) + 2 + unauthorized; st.TokensIssued > max {
		t.Errorf("%d tokens issued in %.1f lifetimes (max %d): tokens are not reused", st.TokensIssued, lifetimes, max)
	}
	if min := int64(lifetimes); st.TokensIssued < min {
		t.Errorf("%d tokens issued in %.1f lifetimes: expired tokens were used", st.TokensIssued, lifetimes)
	}
	if st.TokensIssued*10 > st.APIRequests {
		t.Errorf("%d tokens for %d API requests", st.TokensIssued, st.APIRequests)
	}
	if unauthorized*20 > st.APIRequests {
		t.Errorf("%d answers 401 of %d requests: tokens are not replaced before they expire", unauthorized, st.APIRequests)
	}
	relFigures(t, "records %d/%d, exit %d, %v = %.1f token lifetimes; tokens issued %d for %d API requests; 401 answers %d; %s",
		relCount(r.Records()), relCount(want), r.Code, d.Round(time.Millisecond), lifetimes, st.TokensIssued, st.APIRequests, st.ByStatus[401], relStats(st))
}

// TestReliabilityRevokedToken: the token is revoked after 40 requests
// (401 code 124): one refresh, the rejected requests retried, nothing lost.
func TestReliabilityRevokedToken(t *testing.T) {
	t.Parallel()
	cat := relCatalog(t)
	f := relStart(t, fakezoom.Options{Seed: 32, Users: 3, RevokeTokenAfter: 40, Latency: 5 * time.Millisecond}, nil)
	cfg := f.config(t, map[string]any{"concurrency": 8})
	r, d := relRead(t, cfg, harness.WriteCatalog(t, cat, nil, false), nil)
	relOK(t, "read", r)
	want := harness.Expected(f.Server)
	harness.SameRecords(t, want, r.Records())
	st := f.Stats()
	if st.TokensIssued != 2 {
		t.Errorf("tokens issued = %d, want 2 (the first and one refresh)", st.TokensIssued)
	}
	if st.ByStatus[http.StatusUnauthorized] == 0 {
		t.Errorf("no 401: the token was not revoked")
	}
	relFigures(t, "records %d/%d, exit %d, %v; tokens issued %d, 401 answers %d; %s",
		relCount(r.Records()), relCount(want), r.Code, d.Round(time.Millisecond), st.TokensIssued, st.ByStatus[401], relStats(st))
}

// TestReliabilityRateLimitStorm: low per-second limits and no rate_limits
// in the config: the connector meets 429s, slows down to the limits it
// discovers and finishes with every record.
func TestReliabilityRateLimitStorm(t *testing.T) {
	t.Parallel()
	cat := relCatalog(t)
	limits := map[string]int{"Light": 20, "Medium": 15, "Heavy": 8}
	f := relStart(t, fakezoom.Options{Seed: 41, Users: 2, RateLimits: limits}, nil)
	cfg := f.config(t, map[string]any{"concurrency": 16})
	r, d := relRead(t, cfg, harness.WriteCatalog(t, cat, nil, false), nil)
	relOK(t, "read", r)
	want := harness.Expected(f.Server)
	harness.SameRecords(t, want, r.Records())
	st := f.Stats()
	if st.RateLimited == 0 {
		t.Errorf("no 429: the storm did not happen (%s)", relStats(st))
	}
	if st.RateLimited*2 > st.APIRequests {
		t.Errorf("%d of %d requests answered 429: the connector does not back off", st.RateLimited, st.APIRequests)
	}
	rateLimited := 0
	for _, m := range r.Msgs {
		if m.Type == "TRACE" && m.TraceType() == "STREAM_STATUS" && strings.Contains(string(m.Trace), "RATE_LIMITED") {
			rateLimited++
		}
	}
	relFigures(t, "records %d/%d, exit %d, %v; 429 answers %d of %d API requests; RATE_LIMITED statuses %d; %s",
		relCount(r.Records()), relCount(want), r.Code, d.Round(time.Millisecond), st.RateLimited, st.APIRequests, rateLimited, relStats(st))
}

// TestReliabilityDailyCap: the daily Heavy cap is reached mid-sync. Heavy
// streams stop with their state and a transient_error naming the reset
// time (00:00 UTC); the other streams finish with exact records; the
// process exits non-zero within a minute. A resumed sync (same data, no
// cap, the first run's last states) completes the data.
func TestReliabilityDailyCap(t *testing.T) {
	t.Parallel()
	if now := time.Now().UTC(); now.Add(6*time.Minute).Day() != now.Day() {
		t.Skip("within 6 minutes of 00:00 UTC the daily limit resets during the sync")
	}
	cat := relCatalog(t)
	for _, tc := range []struct {
		name  string
		extra map[string]any
	}{
		{"discovered", nil}, // learnt from Zoom's daily 429
		{"configured", map[string]any{"rate_limits": map[string]any{"heavy_per_day": 10}}}, // counted locally
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := fakezoom.Options{Seed: 51, Users: 2, DailyHeavyCap: 10}
			f := relStart(t, o, nil)
			extra := map[string]any{"concurrency": 8}
			for k, v := range tc.extra {
				extra[k] = v
			}
			catalog := harness.WriteCatalog(t, cat, nil, true)
			reset := time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour).Format(time.RFC3339)
			r1, d1 := relRead(t, f.config(t, extra), catalog, nil)
			if r1.Code == 0 {
				t.Errorf("sync 1: exit 0 although Heavy streams stopped")
			}
			if d1 > time.Minute {
				t.Errorf("sync 1 took %v, want under a minute", d1)
			}
			if len(r1.Stderr) != 0 {
				t.Errorf("sync 1: stderr: %s", r1.Stderr)
			}
			want := harness.Expected(f.Server)
			got1 := r1.Records()
			failed := map[string]bool{}
			for _, e := range r1.Errors() {
				s := e.ErrorStream()
				failed[s] = true
				if !slices.Contains(heavyStreams, s) {
					t.Errorf("sync 1: non-Heavy stream %q failed: %s", s, e.ErrorMessage())
					continue
				}
				if e.FailureType() != "transient_error" {
					t.Errorf("sync 1: stream %s: failure_type %s, want transient_error", s, e.FailureType())
				}
				if !strings.Contains(e.ErrorMessage(), reset) || !strings.Contains(e.ErrorMessage(), s) {
					t.Errorf("sync 1: stream %s: error %q does not name the stream and the reset time %s", s, e.ErrorMessage(), reset)
				}
			}
			if len(failed) == 0 {
				t.Fatalf("sync 1: no Heavy stream stopped (%s)", relStats(f.Stats()))
			}
			names := relNames(cat)
			for _, s := range names {
				st := r1.Statuses(s)
				if failed[s] {
					if slices.Contains(st, "COMPLETE") || st[len(st)-1] != "INCOMPLETE" {
						t.Errorf("sync 1: stopped stream %s statuses %v", s, st)
					}
					continue
				}
				if len(st) == 0 || st[len(st)-1] != "COMPLETE" {
					t.Errorf("sync 1: stream %s statuses %v, want COMPLETE", s, st)
				}
				harness.SameRecords(t, relOnly(want, s), relOnly(got1, s))
			}
			relLastStateAfterRecords(t, r1, names)
			st1 := f.Stats()
			if tc.extra != nil && st1.DailyLimited != 0 {
				t.Errorf("sync 1: %d daily 429s although the cap was configured", st1.DailyLimited)
			}

			// Sync 2: a new day (a fake with the same data and no cap).
			o.DailyHeavyCap = 0
			f2 := relStart(t, o, nil)
			r2, d2 := relRead(t, f2.config(t, map[string]any{"concurrency": 8}), catalog, r1.LastStates())
			relOK(t, "sync 2", r2)
			got2 := r2.Records()
			harness.SameRecords(t, relDedup(want), relDedup(got1, got2))
			inc := harness.Incremental(cat)
			for _, s := range names {
				if _, ok := inc[s]; !ok {
					harness.SameRecords(t, relOnly(want, s), relOnly(got2, s))
				}
			}
			var stopped []string
			for s := range failed {
				stopped = append(stopped, s)
			}
			sort.Strings(stopped)
			relFigures(t, "sync 1: exit %d in %v, stopped %v, records %d (Heavy %d of %d); daily 429s %d, Heavy requests served %d; sync 2: exit %d in %v, %d records; union = expected %d records",
				r1.Code, d1.Round(time.Millisecond), stopped, relCount(got1), relCount(relOnly(got1, heavyStreams...)), relCount(relOnly(want, heavyStreams...)),
				st1.DailyLimited, heavyServed(st1), r2.Code, d2.Round(time.Millisecond), relCount(got2), relCount(want))
		})
	}
}

func heavyServed(st fakezoom.Stats) int64 {
	var n int64
	for ep, m := range st.ByEndpointStatus {
		if strings.Contains(ep, "/report/") {
			n += m[200]
		}
	}
	return n
}

// TestReliabilityPageTokenExpiry: next_page_token lives 500 ms and the
// first follow-up request of each listing arrives 1.2 s late (a slow
// network; with the fake's fixed Latency alone a token would expire on
// every page or on none), so the token has expired: the listing restarts
// from its first page, and no record is lost or duplicated.
func TestReliabilityPageTokenExpiry(t *testing.T) {
	t.Parallel()
	cat := relCatalog(t)
	const ttl = 500 * time.Millisecond
	var mu sync.Mutex
	delayed := map[string]bool{}
	f := relStart(t, fakezoom.Options{Seed: 61, Users: 1, MeetingsPerUser: 2, WebinarsPerUser: 1, InstancesPerMeeting: 2, ParticipantsPerSession: 320, PageTokenTTL: ttl, Latency: 10 * time.Millisecond},
		func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Query().Get("next_page_token") != "" {
					mu.Lock()
					first := !delayed[r.URL.Path]
					delayed[r.URL.Path] = true
					mu.Unlock()
					if first {
						time.Sleep(ttl + 700*time.Millisecond)
					}
				}
				h.ServeHTTP(w, r)
			})
		})
	cfg := f.config(t, map[string]any{"concurrency": 4})
	r, d := relRead(t, cfg, harness.WriteCatalog(t, cat, nil, false), nil)
	relOK(t, "read", r)
	want := harness.Expected(f.Server)
	harness.SameRecords(t, want, r.Records())
	st := f.Stats()
	var expired int64
	for _, m := range st.ByEndpointStatus {
		expired += m[http.StatusBadRequest]
	}
	mu.Lock()
	listings := len(delayed)
	mu.Unlock()
	restarts := 0
	for _, m := range r.Logs() {
		if strings.Contains(m.LogMessage(), "restarting listing") {
			restarts++
		}
	}
	if listings == 0 || expired < int64(listings) {
		t.Errorf("%d multi-page listings, %d answers 400: no page token expired", listings, expired)
	}
	if restarts < listings {
		t.Errorf("%d restart LOG lines for %d expired listings", restarts, listings)
	}
	relFigures(t, "records %d/%d (no duplicates), exit %d, %v; multi-page listings %d, expired page tokens %d, restarts logged %d; %s",
		relCount(r.Records()), relCount(want), r.Code, d.Round(time.Millisecond), listings, expired, restarts, relStats(st))
}

// TestReliabilitySlowReader: the reader of stdout stops for 3 s in the
// middle of a large sync: the connector blocks (the fake sees few requests
// meanwhile), its RSS stays under 100 MB, and the sync completes exactly.
func TestReliabilitySlowReader(t *testing.T) {
	t.Parallel()
	cat := relCatalog(t)
	f := relStart(t, fakezoom.Options{Seed: 71, Users: 4, ParticipantsPerSession: 160, RegistrantsPerMeeting: 20}, nil)
	cfg := f.config(t, map[string]any{"concurrency": 16})
	want := harness.Expected(f.Server)
	total := relCount(want)
	p := relStartProc(t, "read", "--config", cfg, "--catalog", harness.WriteCatalog(t, cat, nil, false))
	if !p.readLines(total / 4) {
		t.Fatalf("output ended after %d lines, want more than %d", p.lines, total/4)
	}
	before := f.Stats().APIRequests
	var maxRSS int64
	var samples int
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		rss, _, err := relRSS(p.cmd.Process.Pid)
		if err != nil {
			t.Fatalf("reading /proc: %v", err)
		}
		samples++
		maxRSS = max(maxRSS, rss)
	}
	_, hwm, _ := relRSS(p.cmd.Process.Pid)
	during := f.Stats().APIRequests - before
	r, d := p.finish(time.Minute)
	if r.Code != 0 || len(r.Stderr) != 0 {
		t.Errorf("exit %d, stderr %s", r.Code, relClip(r.Stderr))
	}
	harness.SameRecords(t, want, r.Records())
	if maxRSS > 100<<10 || hwm > 100<<10 {
		t.Errorf("RSS %d kB (peak %d kB) while the reader was blocked, want under 100 MB", maxRSS, hwm)
	}
	all := f.Stats().APIRequests
	if before >= all {
		t.Errorf("every API request (%d) was made before the reader paused: the pause was not mid-sync", all)
	}
	if during*4 > all {
		t.Errorf("%d of %d API requests made while stdout was blocked: no back-pressure", during, all)
	}
	relFigures(t, "records %d/%d, %d bytes of output, exit %d, %v (3 s paused after %d lines); RSS max %d kB over %d samples while blocked, peak (VmHWM) %d kB; API requests before the pause %d, during it %d, in all %d",
		relCount(r.Records()), total, len(r.Stdout), r.Code, d.Round(time.Millisecond), total/4, maxRSS, samples, hwm, before, during, all)
}

// ---------------------------------------------------------------- bad input

// TestReliabilityBadInput refuses bad config, catalog and state clearly
// (exit 1 with a config_error TRACE naming the problem, or exit 2 with a
// usage line for unreadable files), never with a panic or a stack trace.
// main_test.go covers single missing or mistyped fields, malformed JSON,
// unknown streams and sync modes; this covers the rest through the binary.
func TestReliabilityBadInput(t *testing.T) {
	t.Parallel()
	cat := relCatalog(t)
	f := relStart(t, fakezoom.Options{Seed: 81, Users: 2}, nil)
	good := harness.Config(f.Server, nil)
	with := func(kv ...any) map[string]any {
		c := map[string]any{}
		for k, v := range good {
			c[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			c[kv[i].(string)] = kv[i+1]
		}
		return c
	}
	goodCfg := harness.WriteJSON(t, "config.json", good)
	pmi := harness.WriteCatalog(t, cat, []string{"past_meeting_instances"}, true)
	configured := func(mod func(cs *protocol.ConfiguredStream)) string {
		cc, err := harness.Configure(cat, []string{"past_meeting_instances"}, true)
		if err != nil {
			t.Fatal(err)
		}
		mod(&cc.Streams[0])
		return harness.WriteJSON(t, "catalog.json", cc)
	}
	dup, _ := harness.Configure(cat, []string{"users"}, false)
	dup.Streams = append(dup.Streams, dup.Streams[0])

	for _, tc := range []struct {
		name    string
		config  any    // nil: the good config
		catalog string // "": pmi
		state   string
		want    []string // in the config_error message
	}{
		{name: "config with every field missing", config: map[string]any{}, want: []string{"config", "account_id"}},
		{name: "config with every field of the wrong type", config: map[string]any{"account_id": 1, "client_id": true, "client_secret": []any{"x"}, "api_base_url": 5, "concurrency": "many"}, want: []string{"config"}},
		{name: "config with every field empty", config: map[string]any{"account_id": "", "client_id": "", "client_secret": "", "authorization_endpoint": "", "api_base_url": ""}, want: []string{"config"}},
		{name: "authorization_endpoint not a URL", config: with("authorization_endpoint", "not a url"), want: []string{"authorization_endpoint"}},
		{name: "authorization_endpoint without scheme", config: with("authorization_endpoint", "zoom.us/oauth/token"), want: []string{"authorization_endpoint"}},
		{name: "api_base_url scheme only", config: with("api_base_url", "https://"), want: []string{"api_base_url"}},
		{name: "authorization_endpoint http to a public host", config: with("authorization_endpoint", "http://zoom.us/oauth/token"), want: []string{"authorization_endpoint", "http"}},
		{name: "api_base_url http to a look-alike of localhost", config: with("api_base_url", "http://localhost.example.com/v2"), want: []string{"api_base_url", "http"}},
		{name: "api_base_url http to 0.0.0.0", config: with("api_base_url", "http://0.0.0.0:9/v2"), want: []string{"api_base_url", "http"}},
		{name: "cursor field that does not exist", catalog: configured(func(cs *protocol.ConfiguredStream) { cs.CursorField = []string{"updated_at"} }), want: []string{"past_meeting_instances", "updated_at"}},
		{name: "nested cursor field", catalog: configured(func(cs *protocol.ConfiguredStream) { cs.CursorField = []string{"settings", "start_time"} }), want: []string{"past_meeting_instances", "cursor"}},
		{name: "stream selected twice", catalog: harness.WriteJSON(t, "catalog.json", dup), want: []string{"users", "twice"}},
		{name: "catalog stream without a name", catalog: harness.WriteJSON(t, "catalog.json", []byte(`{"streams":[{"sync_mode":"full_refresh","destination_sync_mode":"overwrite"}]}`)), want: []string{"catalog"}},
		{name: "catalog streams null", catalog: harness.WriteJSON(t, "catalog.json", []byte(`{"streams":null}`)), want: []string{"catalog"}},
		{name: "catalog stream null", catalog: harness.WriteJSON(t, "catalog.json", []byte(`{"streams":[null]}`)), want: []string{"catalog"}},
		{name: "catalog sync_mode a number", catalog: harness.WriteJSON(t, "catalog.json", []byte(`{"streams":[{"stream":{"name":"users","json_schema":{}},"sync_mode":1}]}`)), want: []string{"catalog"}},
		{name: "catalog with a namespace", catalog: configured(func(cs *protocol.ConfiguredStream) { cs.Stream.Namespace = "zoom" }), want: []string{"past_meeting_instances", "namespace"}},
		{name: "state STREAM without a descriptor", state: `[{"type":"STREAM","stream":{"stream_state":{}}}]`, want: []string{"state"}},
		{name: "state GLOBAL without stream names", state: `{"type":"GLOBAL","global":{"stream_states":[{"stream_state":{}}]}}`, want: []string{"state"}},
		{name: "state partitions of the wrong shape", state: `{"past_meeting_instances":{"partitions":["a"]}}`, want: []string{"past_meeting_instances", "partitions"}},
		{name: "state cursor a number", state: `{"past_meeting_instances":{"start_time":20260101}}`, want: []string{"past_meeting_instances", "start_time"}},
		{name: "state a string", state: `"yesterday"`, want: []string{"state"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, catalog := goodCfg, pmi
			if tc.config != nil {
				cfg = harness.WriteJSON(t, "config.json", tc.config)
			}
			if tc.catalog != "" {
				catalog = tc.catalog
			}
			var state []byte
			if tc.state != "" {
				state = []byte(tc.state)
			}
			r, _ := relRead(t, cfg, catalog, state)
			relConfigError(t, r, tc.want...)
		})
	}

	t.Run("unknown extra config fields are tolerated", func(t *testing.T) {
		cfg := harness.WriteJSON(t, "config.json", with("frobnicate", true, "nested_extra", map[string]any{"a": []int{1}}))
		r, _ := relRead(t, cfg, harness.WriteCatalog(t, cat, []string{"users"}, false), nil)
		relOK(t, "read", r)
		harness.SameRecords(t, relOnly(harness.Expected(f.Server), "users"), r.Records())
	})

	t.Run("state of streams not in the catalog is ignored with a LOG line", func(t *testing.T) {
		state := `[{"type":"STREAM","stream":{"stream_descriptor":{"name":"recordings"},"stream_state":{"start_time":"2026-01-01T00:00:00Z"}}},` +
			`{"type":"STREAM","stream":{"stream_descriptor":{"name":"no_such_stream"},"stream_state":{"x":1}}},` +
			`{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":{}}}]`
		r, _ := relRead(t, goodCfg, harness.WriteCatalog(t, cat, []string{"users"}, false), []byte(state))
		relOK(t, "read", r)
		harness.SameRecords(t, relOnly(harness.Expected(f.Server), "users"), r.Records())
		logged := false
		for _, m := range r.Logs() {
			msg := m.LogMessage()
			if strings.Contains(msg, "ignoring") && strings.Contains(msg, "recordings") && strings.Contains(msg, "no_such_stream") {
				logged = true
			}
		}
		if !logged {
			t.Errorf("no LOG line names the ignored states of recordings and no_such_stream")
		}
	})

	for _, which := range []string{"config", "catalog"} {
		t.Run(which+" file over 64 MiB", func(t *testing.T) {
			huge := filepath.Join(t.TempDir(), which+".json")
			fh, err := os.Create(huge)
			if err != nil {
				t.Fatal(err)
			}
			if err := fh.Truncate(64<<20 + 1); err != nil { // sparse: cheap
				t.Fatal(err)
			}
			fh.Close()
			cfg, catalog := goodCfg, pmi
			if which == "config" {
				cfg = huge
			} else {
				catalog = huge
			}
			r, _ := relRead(t, cfg, catalog, nil)
			if r.Code != 2 || len(r.Stdout) != 0 {
				t.Errorf("exit %d, stdout %q: want a usage error (exit 2, empty stdout)", r.Code, relClip(r.Stdout))
			}
			if !strings.Contains(string(r.Stderr), "--"+which) || !strings.Contains(string(r.Stderr), "larger than 64 MiB") {
				t.Errorf("stderr does not say --%s is too large: %s", which, r.Stderr)
			}
		})
	}
}

// relConfigError fails t unless r exited 1 with one config_error TRACE
// whose message names every want, no record, nothing on stderr.
func relConfigError(t *testing.T, r *harness.Result, want ...string) {
	t.Helper()
	if r.Code != 1 {
		t.Errorf("exit %d, want 1", r.Code)
	}
	if len(r.Stderr) != 0 {
		t.Errorf("stderr: %s", relClip(r.Stderr))
	}
	errs := r.Errors()
	if len(errs) != 1 {
		t.Fatalf("%d error traces, want 1:\n%s", len(errs), relClip(r.Stdout))
	}
	if ft := errs[0].FailureType(); ft != "config_error" {
		t.Errorf("failure_type %s, want config_error: %s", ft, errs[0].ErrorMessage())
	}
	for _, w := range want {
		if !strings.Contains(errs[0].ErrorMessage(), w) {
			t.Errorf("error %q does not name %q", errs[0].ErrorMessage(), w)
		}
	}
	if n := relCount(r.Records()); n != 0 {
		t.Errorf("%d records despite the error", n)
	}
	t.Logf("message: %s", errs[0].ErrorMessage())
}

// ---------------------------------------------------------------- malformed API answers

// malformedZoom is a small Zoom: a token endpoint and GET /v2/users
// answering body(n) for the n-th users request (from 1).
type malformedZoom struct {
	status func(n int) int
	body   func(n int) string
	calls  atomic.Int64
	times  chan time.Time
}

const malformedToken = "tok-malformed-5d1f0c9a8b"

func (z *malformedZoom) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/oauth/token":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"bearer","expires_in":3600}`, malformedToken)
	case r.Method == http.MethodGet && r.URL.Path == "/v2/users":
		n := int(z.calls.Add(1))
		select {
		case z.times <- time.Now():
		default:
		}
		body := z.body(n)
		if strings.HasPrefix(body, "<") {
			w.Header().Set("Content-Type", "text/html")
		} else {
			w.Header().Set("Content-Type", "application/json")
		}
		st := http.StatusOK
		if z.status != nil {
			st = z.status(n)
		}
		w.WriteHeader(st)
		io.WriteString(w, body)
	default:
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"code":404,"message":"not found"}`)
	}
}

const twoUsers = `[{"id":"KDcuGIm1QgePTO8WbOqwIQ","first_name":"Jill","email":"jill@example.com","type":1},{"id":"z8yCXSc1QIu9EO8q7MBcIA","first_name":"Bo","email":"bo@example.com","type":2}]`

func startMalformed(t *testing.T, z *malformedZoom) string {
	t.Helper()
	z.times = make(chan time.Time, 100)
	srv := httptest.NewServer(z)
	t.Cleanup(srv.Close)
	return harness.WriteJSON(t, "config.json", map[string]any{
		"account_id": "acct", "client_id": "client", "client_secret": "SECRET-malformed-0b6e",
		"authorization_endpoint": srv.URL + "/oauth/token", "api_base_url": srv.URL + "/v2",
		"request_timeout_seconds": 2,
	})
}

// TestReliabilityMalformedAnswers: non-JSON bodies on 200, error bodies
// without a code, records that are not objects, a repeating
// next_page_token: each ends the users stream with an error that names it
// (or is retried, when it passes), never a loop or a crash.
func TestReliabilityMalformedAnswers(t *testing.T) {
	t.Parallel()
	cat := relCatalog(t)
	users := harness.WriteCatalog(t, cat, []string{"users"}, false)
	page := func(token, records string) string {
		return `{"page_size":300,"total_records":2,"next_page_token":"` + token + `","users":` + records + `}`
	}
	for _, tc := range []struct {
		name    string
		z       *malformedZoom
		records int      // records expected
		fail    string   // failure_type; "" = success
		want    []string // in the error message
		calls   int64    // users requests expected (0: any)
	}{
		{name: "HTML on 200 then JSON", z: &malformedZoom{body: func(n int) string {
			if n <= 2 {
				return "<html><body>Maintenance</body></html>"
			}
			return page("", twoUsers)
		}}, records: 2, calls: 3},
		{name: "empty 200 then JSON", z: &malformedZoom{body: func(n int) string {
			if n == 1 {
				return ""
			}
			return page("", twoUsers)
		}}, records: 2, calls: 2},
		{name: "error body without code", z: &malformedZoom{status: func(int) int { return 400 }, body: func(int) string { return `{"message":"Bad request, and no code"}` }},
			fail: "system_error", want: []string{`"users"`, "HTTP 400", "Bad request, and no code"}, calls: 1},
		{name: "error body without code or message", z: &malformedZoom{status: func(int) int { return 404 }, body: func(int) string { return `{"status":"gone"}` }},
			fail: "system_error", want: []string{`"users"`, "HTTP 404"}, calls: 1},
		{name: "403 with HTML", z: &malformedZoom{status: func(int) int { return 403 }, body: func(int) string { return "<html>Forbidden</html>" }},
			fail: "config_error", want: []string{`"users"`, "HTTP 403"}, calls: 1},
		{name: "records that are not objects", z: &malformedZoom{body: func(int) string { return page("", `[1,"two",null]`) }},
			fail: "system_error", want: []string{`"users"`, "not a JSON object"}, calls: 1},
		{name: "records not an array", z: &malformedZoom{body: func(int) string { return page("", `{"id":"x"}`) }},
			fail: "system_error", want: []string{`"users"`, "not an array"}, calls: 1},
		{name: "body an array", z: &malformedZoom{body: func(int) string { return twoUsers }},
			fail: "system_error", want: []string{`"users"`, "not an object"}, calls: 1},
		{name: "body a string", z: &malformedZoom{body: func(int) string { return `"users"` }},
			fail: "system_error", want: []string{`"users"`, "not an object"}, calls: 1},
		{name: "next_page_token repeats", z: &malformedZoom{body: func(n int) string {
			return page("same-token", strings.Replace(twoUsers, "Jill", "Jill"+strconv.Itoa(n), 1))
		}}, records: 4, fail: "system_error", want: []string{`"users"`, "repeated page token"}, calls: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := startMalformed(t, tc.z)
			r, d := relRead(t, cfg, users, nil)
			if n := len(r.Records()["users"]); n != tc.records {
				t.Errorf("%d records, want %d", n, tc.records)
			}
			if tc.calls != 0 && tc.z.calls.Load() != tc.calls {
				t.Errorf("%d users requests, want %d", tc.z.calls.Load(), tc.calls)
			}
			if len(r.Stderr) != 0 {
				t.Errorf("stderr: %s", r.Stderr)
			}
			if tc.fail == "" {
				relOK(t, "read", r)
				return
			}
			if r.Code != 1 {
				t.Errorf("exit %d, want 1", r.Code)
			}
			errs := r.Errors()
			if len(errs) != 1 {
				t.Fatalf("%d error traces, want 1:\n%s", len(errs), relClip(r.Stdout))
			}
			e := errs[0]
			if e.FailureType() != tc.fail || e.ErrorStream() != "users" {
				t.Errorf("failure_type %s for stream %q, want %s for users", e.FailureType(), e.ErrorStream(), tc.fail)
			}
			for _, w := range tc.want {
				if !strings.Contains(e.ErrorMessage(), w) {
					t.Errorf("error %q does not name %q", e.ErrorMessage(), w)
				}
			}
			if st := r.Statuses("users"); len(st) == 0 || st[len(st)-1] != "INCOMPLETE" {
				t.Errorf("statuses %v, want INCOMPLETE last", st)
			}
			t.Logf("%v: %s", d.Round(time.Millisecond), e.ErrorMessage())
		})
	}

	// A 200 that is never JSON is retried with growing back-off (about a
	// minute for 8 attempts); the test watches three attempts, then stops
	// the sync with SIGTERM.
	t.Run("HTML on 200 forever", func(t *testing.T) {
		t.Parallel()
		z := &malformedZoom{body: func(int) string { return "<html><body>Maintenance</body></html>" }}
		cfg := startMalformed(t, z)
		p := relStartProc(t, "read", "--config", cfg, "--catalog", users, "--debug")
		var at []time.Time
		for len(at) < 3 {
			select {
			case tm := <-z.times:
				at = append(at, tm)
			case <-time.After(10 * time.Second):
				t.Fatalf("%d attempts in 10 s, want 3", len(at))
			}
		}
		gap1, gap2 := at[1].Sub(at[0]), at[2].Sub(at[1])
		if gap1 < 200*time.Millisecond || gap2 < gap1/2 {
			t.Errorf("attempts %v then %v apart: no back-off", gap1, gap2)
		}
		sent := time.Now()
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		r, _ := p.finish(10 * time.Second)
		if waited := time.Since(sent); waited > 5*time.Second {
			t.Errorf("exited %v after SIGTERM", waited)
		}
		if r.Code != 1 {
			t.Errorf("exit %d, want 1", r.Code)
		}
		named := false
		for _, m := range r.Logs() {
			if msg := m.LogMessage(); strings.Contains(msg, "stream=users") && strings.Contains(msg, "not valid JSON") {
				named = true
			}
		}
		if !named {
			t.Errorf("no DEBUG LOG line says the users answer is not valid JSON:\n%s", relClip(r.Stdout))
		}
		t.Logf("attempts %v then %v apart", gap1.Round(time.Millisecond), gap2.Round(time.Millisecond))
	})
}
