package connector_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/source-zoom/source-zoom/connector"
	"github.com/source-zoom/source-zoom/protocol"
)

// usersWithThings serves users 1..3 and their things; user 2's things
// answer with status and body.
func usersWithThings(t *testing.T, status int, body string) *fake {
	f := newFake(t)
	f.json("/users", `{"users":[{"id":1},{"id":2},{"id":3}]}`)
	f.json("/users/1/things", `{"things":[{"n":1}]}`)
	f.handle("/users/2/things", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, status, body) })
	f.json("/users/3/things", `{"things":[{"n":3}]}`)
	return f
}

func thingsTable(rules ...connector.ErrorRule) []connector.Stream {
	return []connector.Stream{
		{Name: "users"},
		{Name: "things", Parent: "users", Path: "/users/{id}/things", Params: []connector.Param{{Name: "id", Field: "id"}}, Errors: rules},
	}
}

// TestErrorRules: rules match on status AND body code (and message); a
// skip logs and goes on, a config error is a config_error TRACE naming the
// stream, anything unmatched fails the stream with the API's message.
func TestErrorRules(t *testing.T) {
	gone := connector.ErrorRule{Status: []int{404}, Codes: []int{3001}, Action: connector.ActionSkip, Reason: "meeting deleted"}
	tests := []struct {
		name       string
		status     int
		body       string
		rules      []connector.ErrorRule // stream rules
		srcRules   []connector.ErrorRule // Source rules
		skip       bool
		failure    string // failure_type when the stream fails
		message    []string
		retryTimes int // requests to user 2's things when retried
	}{
		{name: "status and code match: skip", status: 404, body: `{"code":3001,"message":"Meeting does not exist"}`, rules: []connector.ErrorRule{gone}, skip: true},
		{name: "status matches, code differs: fail", status: 404, body: `{"code":1001,"message":"User does not exist: 2"}`, rules: []connector.ErrorRule{gone},
			failure: "system_error", message: []string{"HTTP 404", "code 1001: User does not exist: 2", "/users/2/things"}},
		{name: "code matches, status differs: fail", status: 400, body: `{"code":3001,"message":"odd"}`, rules: []connector.ErrorRule{gone},
			failure: "system_error", message: []string{"HTTP 400", "code 3001: odd"}},
		{name: "no code in body: code rule does not match", status: 404, body: `{"message":"Not here"}`, rules: []connector.ErrorRule{gone},
			failure: "system_error", message: []string{"HTTP 404: Not here"}},
		{name: "message rule, case-insensitive", status: 400, body: `{"code":300,"message":"Meeting REGISTRATION is not enabled"}`,
			rules: []connector.ErrorRule{{Status: []int{400}, Message: "registration", Action: connector.ActionSkip}}, skip: true},
		{name: "stream rules before source rules", status: 400, body: `{"code":7,"message":"x"}`,
			rules:    []connector.ErrorRule{{Codes: []int{7}, Action: connector.ActionSkip}},
			srcRules: []connector.ErrorRule{{Codes: []int{7}, Action: connector.ActionFail, Reason: "source says fail"}}, skip: true},
		{name: "source rule", status: 400, body: `{"code":7,"message":"x"}`,
			srcRules: []connector.ErrorRule{{Codes: []int{7}, Action: connector.ActionSkip}}, skip: true},
		{name: "config error rule", status: 400, body: `{"code":4711,"message":"Invalid access token, does not contain scopes:[meeting:read:admin]"}`,
			srcRules: []connector.ErrorRule{{Codes: []int{4711}, Action: connector.ActionConfigError, Reason: "the app lacks a scope"}},
			failure:  "config_error", message: []string{"the app lacks a scope", "does not contain scopes"}},
		{name: "401 by default a config error", status: 401, body: `{"code":124,"message":"Invalid access token."}`,
			failure: "config_error", message: []string{"refused the credentials", "Invalid access token."}},
		{name: "403 by default a config error", status: 403, body: `{"message":"Forbidden"}`,
			failure: "config_error", message: []string{"HTTP 403"}},
		{name: "unmatched 4xx fails with the API message", status: 422, body: `{"code":99,"message":"Unprocessable thing"}`,
			failure: "system_error", message: []string{"HTTP 422", "Unprocessable thing"}},
		{name: "HTML error body", status: 418, body: "<html>\n<body>I am   a teapot</body></html>",
			failure: "system_error", message: []string{"HTTP 418", "<html> <body>I am a teapot</body></html>"}},
		{name: "retry rule on a 4xx", status: 409, body: `{"code":5,"message":"busy"}`,
			rules:   []connector.ErrorRule{{Status: []int{409}, Action: connector.ActionRetry}},
			failure: "transient_error", message: []string{"giving up after 3 attempts", "busy"}, retryTimes: 3},
		{name: "5xx retried then transient", status: 503, body: `{"message":"down"}`,
			failure: "transient_error", message: []string{"giving up after 3 attempts", "HTTP 503"}, retryTimes: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := usersWithThings(t, tc.status, tc.body)
			src := f.source(thingsTable(tc.rules...)...)
			src.Errors = tc.srcRules
			src.Concurrency = 1
			out, err := runRead(t, src, frAll("users", "things"), nil)
			equalStrings(t, "users", out.statuses("users"), []string{"STARTED", "RUNNING", "COMPLETE"})
			if tc.skip {
				if err != nil {
					t.Fatalf("Read: %v\n%s", err, out)
				}
				equalStrings(t, "things", out.records("things"), []string{`{"n":1}`, `{"n":3}`})
				equalStrings(t, "statuses", out.statuses("things"), []string{"STARTED", "RUNNING", "COMPLETE"})
				var skipped []string
				for _, l := range out.logs("INFO") {
					if strings.HasPrefix(l, "skipping partition") {
						skipped = append(skipped, l)
					}
				}
				if len(skipped) != 1 {
					t.Fatalf("skip logs = %q, want 1", skipped)
				}
				mustContain(t, "skip log", skipped[0], "stream=things", "partition=2", fmt.Sprint("status=", tc.status))
				if tc.rules != nil && tc.rules[0].Reason != "" {
					mustContain(t, "skip log", skipped[0], tc.rules[0].Reason)
				}
				if len(out.errors()) != 0 {
					t.Errorf("TRACE errors on a skip: %v", out.errors())
				}
			} else {
				var rep *connector.ReportedError
				if !errors.As(err, &rep) {
					t.Fatalf("Read error = %v, want a ReportedError", err)
				}
				e := out.errorOf(t, "things")
				if e.FailureType != tc.failure {
					t.Errorf("failure_type = %q, want %q (%s)", e.FailureType, tc.failure, e.Message)
				}
				if e.StreamDescriptor == nil || e.StreamDescriptor.Name != "things" {
					t.Errorf("stream_descriptor = %v", e.StreamDescriptor)
				}
				mustContain(t, "message", e.Message, tc.message...)
				if got := out.statuses("things"); got[len(got)-1] != "INCOMPLETE" {
					t.Errorf("statuses = %q", got)
				}
				if len(out.errors()) != 1 {
					t.Errorf("%d TRACE errors, want 1 (users is fine)", len(out.errors()))
				}
			}
			want := 1
			if tc.retryTimes > 0 {
				want = tc.retryTimes
			}
			if got := f.hit("/users/2/things"); got != want {
				t.Errorf("user 2: %d requests, want %d", got, want)
			}
			out.checkStateCounts(t)
		})
	}
}

// TestFailSync: ActionFailSync stops every stream; the cause is reported.
func TestFailSync(t *testing.T) {
	f := usersWithThings(t, 400, `{"code":66,"message":"account suspended"}`)
	release := make(chan struct{})
	f.handle("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		writeJSON(w, 200, `{"slow":[{"a":1}]}`)
	})
	defer close(release)
	src := f.source(append(thingsTable(), connector.Stream{Name: "slow"})...)
	src.Errors = []connector.ErrorRule{{Codes: []int{66}, Action: connector.ActionFailSync, Reason: "the account is suspended"}}
	src.Concurrency = 2
	done := make(chan struct{})
	var out *output
	var err error
	go func() {
		defer close(done)
		out, err = runRead(t, src, frAll("users", "things", "slow"), nil)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("fail-sync did not stop the slow stream")
	}
	if err == nil {
		t.Fatal("Read succeeded")
	}
	mustContain(t, "error", out.errorOf(t, "things").Message, "the account is suspended", "account suspended")
	if s := out.statuses("slow"); s[len(s)-1] != "INCOMPLETE" {
		t.Errorf("slow statuses = %q", s)
	}
}

// TestRetries: 5xx, network errors and cut bodies are retried with
// back-off; a retried stream loses nothing and duplicates nothing.
func TestRetries(t *testing.T) {
	tests := []struct {
		name     string
		failures []func(w http.ResponseWriter, r *http.Request)
	}{
		{"5xx", []func(http.ResponseWriter, *http.Request){
			func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 503, `{"message":"unavailable"}`) },
			func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 502, `<html>bad gateway</html>`) },
		}},
		{"408", []func(http.ResponseWriter, *http.Request){
			func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 408, ``) },
		}},
		{"connection reset", []func(http.ResponseWriter, *http.Request){
			func(w http.ResponseWriter, r *http.Request) {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err != nil {
					t.Error(err)
					return
				}
				_ = conn.Close()
			},
		}},
		{"cut body", []func(http.ResponseWriter, *http.Request){
			func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, `{"items":[{"id":1},{"i`) },
		}},
		{"429 without Retry-After", []func(http.ResponseWriter, *http.Request){
			func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 429, `{"code":429,"message":"too many"}`) },
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			var n atomic.Int32
			f.handle("/items", func(w http.ResponseWriter, r *http.Request) {
				i := int(n.Add(1)) - 1
				if i < len(tc.failures) {
					tc.failures[i](w, r)
					return
				}
				writeJSON(w, 200, `{"items":[{"id":1},{"id":2}]}`)
			})
			src := f.source(connector.Stream{Name: "items"})
			out, err := runRead(t, src, frAll("items"), nil)
			if err != nil {
				t.Fatalf("Read: %v\n%s", err, out)
			}
			equalStrings(t, "records", out.records("items"), []string{`{"id":1}`, `{"id":2}`})
			if got, want := f.hit("/items"), len(tc.failures)+1; got != want {
				t.Errorf("%d requests, want %d", got, want)
			}
			out.checkStateCounts(t)
		})
	}
}

// TestRetryAfter: a Retry-After header, in seconds or as an HTTP date, is
// waited for before the retry.
func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name   string
		header func() (string, time.Time) // header value and the earliest retry
	}{
		{"seconds", func() (string, time.Time) { return "1", time.Now().Add(time.Second) }},
		{"HTTP date", func() (string, time.Time) {
			at := time.Now().Add(1500 * time.Millisecond).UTC().Truncate(time.Second)
			return at.Format(http.TimeFormat), at
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			var mu sync.Mutex
			var earliest, retried time.Time
			var n int
			f.handle("/items", func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				n++
				if n == 1 {
					var v string
					v, earliest = tc.header()
					w.Header().Set("Retry-After", v)
					writeJSON(w, 503, `{"message":"later"}`)
					return
				}
				retried = time.Now()
				writeJSON(w, 200, `{"items":[{"id":1}]}`)
			})
			src := f.source(connector.Stream{Name: "items"})
			out, err := runRead(t, src, frAll("items"), nil)
			if err != nil {
				t.Fatalf("Read: %v\n%s", err, out)
			}
			mu.Lock()
			defer mu.Unlock()
			if n != 2 {
				t.Fatalf("%d requests, want 2", n)
			}
			// The header has a one-second resolution: allow a little slack.
			if early := earliest.Sub(retried); early > 20*time.Millisecond {
				t.Errorf("retried %s before Retry-After allowed", early)
			}
			if late := retried.Sub(earliest); late > 2*time.Second {
				t.Errorf("retried %s after Retry-After allowed", late)
			}
		})
	}
}

// TestRetryAfterTooLong: a Retry-After beyond MaxWait ends the stream at
// once with a transient error instead of sleeping.
func TestRetryAfterTooLong(t *testing.T) {
	f := newFake(t)
	f.handle("/items", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		writeJSON(w, 503, `{"message":"maintenance"}`)
	})
	src := f.source(connector.Stream{Name: "items"})
	src.Retry.MaxWait = time.Second
	start := time.Now()
	out, err := runRead(t, src, frAll("items"), nil)
	if err == nil {
		t.Fatal("Read succeeded")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s", d)
	}
	e := out.errorOf(t, "items")
	if e.FailureType != "transient_error" {
		t.Errorf("failure_type = %q", e.FailureType)
	}
	mustContain(t, "message", e.Message, "retry after 1h0m0s", "longer than")
	if f.hit("/items") != 1 {
		t.Errorf("%d requests", f.hit("/items"))
	}
}

// TestCancelDuringRetryWait: cancelling the context while a request waits
// out a long Retry-After returns promptly with the partition incomplete.
func TestCancelDuringRetryWait(t *testing.T) {
	f := newFake(t)
	asked := make(chan struct{}, 1)
	f.handle("/items", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		writeJSON(w, 429, `{"message":"slow down"}`)
		select {
		case asked <- struct{}{}:
		default:
		}
	})
	src := f.source(connector.Stream{Name: "items", Incremental: &connector.Incremental{CursorField: "t"}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-asked
		time.Sleep(50 * time.Millisecond) // let the engine start waiting
		cancel()
	}()
	start := time.Now()
	out, err := runReadCtx(ctx, t, src, cat(inc("items")), nil)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Read returned %s after the first request; it did not stop waiting on cancel", d)
	}
	var te *connector.TransientError
	if !errors.As(err, &te) {
		t.Fatalf("Read error = %v, want a TransientError", err)
	}
	if s := out.statuses("items"); s[len(s)-1] != "INCOMPLETE" {
		t.Errorf("statuses = %q, want INCOMPLETE last", s)
	}
	if st := out.lastState("items"); string(st) != "{}" {
		t.Errorf("state after cancel = %s, want {} (nothing completed)", st)
	}
	if f.hit("/items") != 1 {
		t.Errorf("%d requests", f.hit("/items"))
	}
}

// tokens is a TokenSource that hands out t1, t2, ... and drops the
// current token when told it is stale.
type tokens struct {
	mu          sync.Mutex
	n           int
	invalidated []string
}

func (s *tokens) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == 0 {
		s.n = 1
	}
	return &oauth2.Token{AccessToken: fmt.Sprintf("t%d", s.n)}, nil
}

func (s *tokens) Invalidate(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.invalidated = append(s.invalidated, tok)
	if tok == fmt.Sprintf("t%d", s.n) {
		s.n++
	}
}

func (s *tokens) dropped() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.invalidated...)
}

// plainTokens cannot invalidate.
type plainTokens struct{}

func (plainTokens) Token() (*oauth2.Token, error) { return &oauth2.Token{AccessToken: "t1"}, nil }

var refreshRule = connector.ErrorRule{Status: []int{401}, Codes: []int{124}, Action: connector.ActionRefreshAuth, Reason: "access token rejected"}

// TestRefreshAuth: a 401 matched by an ActionRefreshAuth rule invalidates
// the rejected token and retries once with a new one; a second rejection,
// or a token source that cannot refresh, is a config error.
func TestRefreshAuth(t *testing.T) {
	tests := []struct {
		name     string
		auth     oauth2.TokenSource
		accept   func(tok string) bool
		ok       bool
		requests int
	}{
		{"refresh then success", &tokens{}, func(tok string) bool { return tok != "t1" }, true, 2},
		{"rejected again", &tokens{}, func(string) bool { return false }, false, 2},
		{"no invalidator", plainTokens{}, func(string) bool { return false }, false, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.handle("/items", func(w http.ResponseWriter, r *http.Request) {
				tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
				if !tc.accept(tok) {
					writeJSON(w, 401, `{"code":124,"message":"Invalid access token."}`)
					return
				}
				writeJSON(w, 200, `{"items":[{"id":1}]}`)
			})
			src := f.source(connector.Stream{Name: "items"})
			src.Auth = tc.auth
			src.Errors = []connector.ErrorRule{refreshRule}
			out, err := runRead(t, src, frAll("items"), nil)
			if got := f.hit("/items"); got != tc.requests {
				t.Errorf("%d requests, want %d", got, tc.requests)
			}
			if ts, ok := tc.auth.(*tokens); ok {
				equalStrings(t, "invalidated", ts.dropped(), []string{"t1"})
			}
			if tc.ok {
				if err != nil {
					t.Fatalf("Read: %v\n%s", err, out)
				}
				equalStrings(t, "records", out.records("items"), []string{`{"id":1}`})
				mustContain(t, "log", strings.Join(out.logs("INFO"), "\n"), "access token rejected; fetching a new one")
				return
			}
			if err == nil {
				t.Fatal("Read succeeded")
			}
			e := out.errorOf(t, "items")
			if e.FailureType != "config_error" {
				t.Errorf("failure_type = %q", e.FailureType)
			}
			mustContain(t, "message", e.Message, "Invalid access token.")
		})
	}
}

// TestRefreshAuthInvalidatesTheRejectedToken: when two requests are
// rejected with the same stale token at once, only that token is
// invalidated, never the fresh one another request already fetched.
func TestRefreshAuthInvalidatesTheRejectedToken(t *testing.T) {
	f := newFake(t)
	var arrived sync.WaitGroup
	arrived.Add(2)
	var rejected sync.Map
	h := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			if tok == "t1" {
				// Hold both stale requests until both arrived.
				arrived.Done()
				waited := make(chan struct{})
				go func() { arrived.Wait(); close(waited) }()
				select {
				case <-waited:
				case <-time.After(5 * time.Second):
					t.Error("the two requests were not concurrent")
				}
				if name == "b" {
					// Answer b after a has refreshed and retried.
					time.Sleep(100 * time.Millisecond)
				}
				rejected.Store(tok, true)
				writeJSON(w, 401, `{"code":124,"message":"Invalid access token."}`)
				return
			}
			writeJSON(w, 200, `{"`+name+`":[{"id":1}]}`)
		}
	}
	f.handle("/a", h("a"))
	f.handle("/b", h("b"))
	ts := &tokens{}
	src := f.source(connector.Stream{Name: "a"}, connector.Stream{Name: "b"})
	src.Auth = ts
	src.Errors = []connector.ErrorRule{refreshRule}
	src.Concurrency = 2
	out, err := runRead(t, src, frAll("a", "b"), nil)
	if err != nil {
		t.Fatalf("Read: %v\n%s", err, out)
	}
	for _, tok := range ts.dropped() {
		if _, ok := rejected.Load(tok); !ok {
			t.Errorf("invalidated %q, which the API never rejected (invalidated: %q)", tok, ts.dropped())
		}
	}
}

// TestRestartListing: an expired page token restarts the listing from the
// first page; the records already emitted are not emitted again, and the
// number of restarts is bounded.
func TestRestartListing(t *testing.T) {
	restartRule := connector.ErrorRule{Status: []int{400}, Codes: []int{300}, Message: "next page token", Action: connector.ActionRestart, Reason: "page token expired"}
	tests := []struct {
		name    string
		expire  int // how many times page 2 answers "expired"
		ok      bool
		page1   int // requests of page 1
		records []string
	}{
		{"once", 1, true, 2, []string{"1", "2", "3", "4", "5"}},
		{"three times", 3, true, 4, []string{"1", "2", "3", "4", "5"}},
		{"always", 100, false, 4, []string{"1", "2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			var mu sync.Mutex
			expired, page1 := 0, 0
			f.handle("/users", func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				switch r.URL.Query().Get("next_page_token") {
				case "":
					page1++
					writeJSON(w, 200, map[string]any{"users": ids(1, 2), "next_page_token": fmt.Sprintf("p2-%d", page1)})
				case fmt.Sprintf("p2-%d", page1):
					if expired < tc.expire {
						expired++
						writeJSON(w, 400, `{"code":300,"message":"The next page token is invalid or expired."}`)
						return
					}
					writeJSON(w, 200, map[string]any{"users": ids(3, 4), "next_page_token": "p3"})
				case "p3":
					writeJSON(w, 200, map[string]any{"users": ids(5, 5), "next_page_token": ""})
				default:
					t.Errorf("stale token reused: %s", r.RequestURI)
					writeJSON(w, 400, `{"code":1,"message":"bad token"}`)
				}
			})
			for i := 1; i <= 5; i++ {
				f.json(fmt.Sprintf("/users/%d/things", i), fmt.Sprintf(`{"things":[{"of":%d}]}`, i))
			}
			src := f.source(thingsTable()...)
			src.Paginator = connector.Cursor{TokenField: "next_page_token", SizeParam: "page_size"}
			src.PageSize = 2
			src.Errors = []connector.ErrorRule{restartRule}
			out, err := runRead(t, src, frAll("users", "things"), nil)
			if tc.ok != (err == nil) {
				t.Fatalf("Read error = %v\n%s", err, out)
			}
			equalStrings(t, "users", out.field(t, "users", "id"), tc.records)
			equalStrings(t, "things of", sortedCopy(out.field(t, "things", "of")), tc.records)
			mu.Lock()
			if page1 != tc.page1 {
				t.Errorf("page 1 read %d times, want %d", page1, tc.page1)
			}
			mu.Unlock()
			restarts := 0
			for _, l := range out.logs("INFO") {
				if strings.HasPrefix(l, "restarting listing") {
					restarts++
				}
			}
			if want := min(tc.expire, 3); restarts != want {
				t.Errorf("%d restart logs, want %d", restarts, want)
			}
			if !tc.ok {
				mustContain(t, "error", out.errorOf(t, "users").Message, "page token expired", "HTTP 400")
			}
			out.checkStateCounts(t)
		})
	}
}

// TestPerSecond429: 429s without a daily type are waited out; the stream
// reports RATE_LIMITED and completes.
func TestPerSecond429(t *testing.T) {
	f := newFake(t)
	var n atomic.Int32
	f.handle("/items", func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2 {
			w.Header().Set("X-RateLimit-Type", "QPS")
			writeJSON(w, 429, `{"code":429,"message":"You have reached the maximum per-second rate limit for this API. Try again later."}`)
			return
		}
		writeJSON(w, 200, `{"items":[{"id":1}]}`)
	})
	src := f.source(connector.Stream{Name: "items", Category: "Light"})
	src.Limits = map[string]connector.Limit{"Light": {PerSecond: 50}}
	out, err := runRead(t, src, frAll("items"), nil)
	if err != nil {
		t.Fatalf("Read: %v\n%s", err, out)
	}
	equalStrings(t, "statuses", out.statuses("items"), []string{"STARTED", "RATE_LIMITED", "RUNNING", "COMPLETE"})
	equalStrings(t, "records", out.records("items"), []string{`{"id":1}`})
	if f.hit("/items") != 3 {
		t.Errorf("%d requests", f.hit("/items"))
	}
}

// TestDaily429: a 429 matched by an ActionQuota rule (a daily limit) stops
// the streams of its category with a transient error naming the reset
// time; other categories go on.
func TestDaily429(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter string
		reset      func(now time.Time) time.Time
	}{
		{"no Retry-After: next midnight UTC", "", func(now time.Time) time.Time {
			y, m, d := now.UTC().Date()
			return time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
		}},
		{"Retry-After beyond MaxWait", "7200", func(now time.Time) time.Time { return now.Add(2 * time.Hour) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.handle("/heavy1", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-RateLimit-Type", "Daily-limit")
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				writeJSON(w, 429, `{"code":429,"message":"You have reached the maximum daily rate limit for this API."}`)
			})
			f.json("/heavy2", `{"heavy2":[{"id":1}]}`)
			f.json("/light", `{"light":[{"id":1},{"id":2}]}`)
			now := time.Date(2026, 3, 10, 15, 30, 0, 0, time.UTC)
			src := f.source(
				connector.Stream{Name: "heavy1", Category: "Heavy"},
				connector.Stream{Name: "heavy2", Category: "Heavy"},
				connector.Stream{Name: "light", Category: "Light"},
			)
			src.Now = func() time.Time { return now }
			src.Limits = map[string]connector.Limit{"Heavy": {}, "Light": {}}
			src.Errors = []connector.ErrorRule{{Status: []int{429}, Header: "x-ratelimit-type", HeaderValue: "DAILY", Action: connector.ActionQuota}}
			src.Concurrency = 1
			out, err := runRead(t, src, frAll("heavy1", "heavy2", "light"), nil)
			if err == nil {
				t.Fatal("Read succeeded")
			}
			reset := tc.reset(now).Format(time.RFC3339)
			for _, s := range []string{"heavy1", "heavy2"} {
				e := out.errorOf(t, s)
				if e.FailureType != "transient_error" {
					t.Errorf("%s: failure_type = %q", s, e.FailureType)
				}
				mustContain(t, s+" message", e.Message, "daily request limit", `"Heavy"`, reset)
				if st := out.statuses(s); st[len(st)-1] != "INCOMPLETE" {
					t.Errorf("%s statuses = %q", s, st)
				}
			}
			if f.hit("/heavy1") != 1 {
				t.Errorf("heavy1: %d requests, want 1 (a daily 429 is not retried)", f.hit("/heavy1"))
			}
			if f.hit("/heavy2") != 0 {
				t.Errorf("heavy2: %d requests, want 0 (its category is exhausted)", f.hit("/heavy2"))
			}
			equalStrings(t, "light", out.records("light"), []string{`{"id":1}`, `{"id":2}`})
			equalStrings(t, "light statuses", out.statuses("light"), []string{"STARTED", "RUNNING", "COMPLETE"})
			out.checkStateCounts(t)
		})
	}
}

// TestDailyCapCountedLocally: a known daily cap stops the category after
// that many requests without asking the API.
func TestDailyCapCountedLocally(t *testing.T) {
	f := newFake(t)
	f.handle("/reports", func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Query().Get("page")
		writeJSON(w, 200, fmt.Sprintf(`{"reports":[{"page":%q}]}`, p))
	})
	f.json("/other", `{"other":[{"id":1}]}`)
	f.json("/light", `{"light":[{"id":1}]}`)
	src := f.source(
		connector.Stream{Name: "reports", Category: "Heavy", Paginator: connector.PageNumber{PageParam: "page"}},
		connector.Stream{Name: "other", Category: "Heavy"},
		connector.Stream{Name: "light", Category: "Light"},
	)
	src.PageSize = 1
	src.Limits = map[string]connector.Limit{"Heavy": {PerDay: 3}}
	src.Concurrency = 1
	out, err := runRead(t, src, frAll("reports", "other", "light"), nil)
	if err == nil {
		t.Fatal("Read succeeded")
	}
	if got := f.hit("/reports") + f.hit("/other"); got != 3 {
		t.Errorf("%d Heavy requests, want 3", got)
	}
	equalStrings(t, "pages", out.field(t, "reports", "page"), []string{"1", "2", "3"})
	e := out.errorOf(t, "reports")
	if e.FailureType != "transient_error" {
		t.Errorf("failure_type = %q", e.FailureType)
	}
	mustContain(t, "message", e.Message, "daily request limit", "resets at", "T00:00:00Z")
	out.errorOf(t, "other")
	equalStrings(t, "light", out.records("light"), []string{`{"id":1}`})
	out.checkStateCounts(t)
}

// TestStreamStatusAndEstimate: every selected stream goes STARTED, RUNNING
// (only with records), then COMPLETE or INCOMPLETE, with its final STATE
// before the last status; a root stream with Estimate reports an ESTIMATE.
func TestStreamStatusAndEstimate(t *testing.T) {
	f := newFake(t)
	f.json("/full", `{"total_records":3,"full":[{"id":1},{"id":2},{"id":3}]}`)
	f.json("/empty", `{"total_records":0,"empty":[]}`)
	f.handle("/broken", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 400, `{"message":"nope"}`) })
	f.json("/full/1/kids", `{"total_records":9,"kids":[{"k":1}]}`)
	f.json("/full/2/kids", `{"kids":[]}`)
	f.json("/full/3/kids", `{"kids":[]}`)
	src := f.source(
		connector.Stream{Name: "full", Estimate: "total_records"},
		connector.Stream{Name: "empty", Estimate: "total_records"},
		connector.Stream{Name: "broken", Estimate: "total_records"},
		connector.Stream{Name: "kids", Parent: "full", Path: "/full/{id}/kids", Params: []connector.Param{{Name: "id", Field: "id"}}, Estimate: "total_records"},
	)
	out, err := runRead(t, src, frAll("full", "empty", "broken", "kids"), nil)
	if err == nil {
		t.Fatal("Read succeeded")
	}
	equalStrings(t, "full", out.statuses("full"), []string{"STARTED", "RUNNING", "COMPLETE"})
	equalStrings(t, "empty", out.statuses("empty"), []string{"STARTED", "COMPLETE"})
	equalStrings(t, "broken", out.statuses("broken"), []string{"STARTED", "INCOMPLETE"})
	equalStrings(t, "kids", out.statuses("kids"), []string{"STARTED", "RUNNING", "COMPLETE"})
	var estimates []string
	startedSeen := 0
	lastState := map[string]int{}
	for i, m := range out.msgs {
		if m.Type == protocol.TypeState {
			lastState[m.State.Stream.StreamDescriptor.Name] = i
		}
		if m.Type != protocol.TypeTrace {
			continue
		}
		if e := m.Trace.Estimate; e != nil {
			estimates = append(estimates, fmt.Sprintf("%s/%s/%d", e.Name, e.Type, e.RowEstimate))
		}
		if s := m.Trace.StreamStatus; s != nil {
			switch s.Status {
			case "STARTED":
				if startedSeen != i {
					t.Errorf("STARTED of %q at line %d: not before everything else", s.StreamDescriptor.Name, i+1)
				}
				startedSeen++
			case "COMPLETE", "INCOMPLETE":
				name := s.StreamDescriptor.Name
				if _, ok := lastState[name]; !ok {
					t.Errorf("%s of %q at line %d before any STATE", s.Status, name, i+1)
				}
				for j, later := range out.msgs[i+1:] {
					if (later.Record != nil && later.Record.Stream == name) ||
						(later.State != nil && later.State.Stream.StreamDescriptor.Name == name) ||
						(later.Trace != nil && later.Trace.StreamStatus != nil && later.Trace.StreamStatus.StreamDescriptor.Name == name) {
						t.Errorf("line %d: %s message of %q after its %s", i+j+2, later.Type, name, s.Status)
					}
				}
			}
		}
	}
	// Zero estimates are not reported, nor those of child streams.
	equalStrings(t, "estimates", estimates, []string{"full/STREAM/3"})
	out.checkStateCounts(t)
}

// TestSkipLogsAreBounded: a stream that skips many partitions logs the
// first few one by one and the rest in one summary line.
func TestSkipLogsAreBounded(t *testing.T) {
	f := newFake(t)
	var items []string
	for i := range 12 {
		items = append(items, fmt.Sprintf(`{"id":%d}`, i))
		f.handle(fmt.Sprintf("/items/%d/notes", i), func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 400, `{"code":300,"message":"notes are off"}`)
		})
	}
	f.json("/items", `{"items":[`+strings.Join(items, ",")+`]}`)
	src := f.source(
		connector.Stream{Name: "items"},
		connector.Stream{Name: "notes", Parent: "items", Path: "/items/{id}/notes", Params: []connector.Param{{Name: "id", Field: "id"}},
			Errors: []connector.ErrorRule{{Codes: []int{300}, Action: connector.ActionSkip, Reason: "notes disabled"}}},
	)
	out, err := runRead(t, src, frAll("items", "notes"), nil)
	if err != nil {
		t.Fatalf("Read: %v\n%s", err, out)
	}
	var each, summary int
	for _, l := range out.logs("INFO") {
		switch {
		case strings.HasPrefix(l, "skipping partition: notes disabled"):
			each++
		case strings.HasPrefix(l, "skipped 12 partitions in all (7 more than logged above): notes disabled"):
			summary++
		}
	}
	if each != 5 || summary != 1 {
		t.Errorf("%d skip lines and %d summaries, want 5 and 1:\n%s", each, summary, strings.Join(out.logs("INFO"), "\n"))
	}
	equalStrings(t, "notes statuses", out.statuses("notes"), []string{"STARTED", "COMPLETE"})
}
