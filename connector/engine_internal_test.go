package connector

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRetryAfterHeader(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"  ", 0},
		{"0", 0},
		{"5", 5 * time.Second},
		{" 120 ", 2 * time.Minute},
		{"-3", 0},
		{"soon", 0},
		{"1.5", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{now.Add(time.Hour).Format(time.RFC1123Z), time.Hour},
		{now.Add(30 * time.Second).Format(time.RFC3339), 30 * time.Second},
		{"2026-03-01T12:00:10", 10 * time.Second},
	}
	for _, tc := range tests {
		if got := retryAfter(tc.in, now); got != tc.want {
			t.Errorf("retryAfter(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestClassify(t *testing.T) {
	rules := []ErrorRule{
		{Status: []int{404}, Codes: []int{3001}, Action: ActionSkip, Reason: "gone"},
		{Codes: []int{124}, Action: ActionRefreshAuth},
		{Message: "Next Page Token", Action: ActionRestart},
	}
	tests := []struct {
		e      APIError
		action Action
		reason string
	}{
		{APIError{Status: 404, Code: 3001, HasCode: true}, ActionSkip, "gone"},
		{APIError{Status: 404, Code: 3001}, ActionFail, ""}, // no code in the body
		{APIError{Status: 400, Code: 3001, HasCode: true}, ActionFail, ""},
		{APIError{Status: 401, Code: 124, HasCode: true}, ActionRefreshAuth, ""},
		{APIError{Status: 400, Message: "The next page token is invalid"}, ActionRestart, ""},
		{APIError{Status: 429}, ActionRetry, ""},
		{APIError{Status: 500}, ActionRetry, ""},
		{APIError{Status: 504}, ActionRetry, ""},
		{APIError{Status: 408}, ActionRetry, ""},
		{APIError{Status: 401}, ActionConfigError, "the API refused the credentials"},
		{APIError{Status: 403}, ActionConfigError, "the API refused the credentials"},
		{APIError{Status: 404}, ActionFail, ""},
		{APIError{Status: 422}, ActionFail, ""},
	}
	for _, tc := range tests {
		a, r := classify(&tc.e, nil, rules)
		if a != tc.action || r != tc.reason {
			t.Errorf("classify(%+v) = %s %q, want %s %q", tc.e, a, r, tc.action, tc.reason)
		}
	}
	// Earlier rule lists win.
	first := []ErrorRule{{Status: []int{500}, Action: ActionSkip}}
	if a, _ := classify(&APIError{Status: 500}, first, []ErrorRule{{Status: []int{500}, Action: ActionFail}}); a != ActionSkip {
		t.Errorf("stream rules did not win: %s", a)
	}
	for a := ActionFail; a <= ActionRestart; a++ {
		if a.String() == "" {
			t.Errorf("Action %d has no name", a)
		}
	}
}

func TestErrBodyCode(t *testing.T) {
	tests := []struct {
		body string
		code int
		has  bool
		msg  string
	}{
		{`{"code":124,"message":"Invalid access token."}`, 124, true, "Invalid access token."},
		{`{"code":"x","message":"m"}`, 0, false, "m"},
		{`{"error":"invalid_client","reason":"Invalid client_id or client_secret"}`, 0, false, "Invalid client_id or client_secret"},
		{`{"error_description":"d","error":"e"}`, 0, false, "d"},
		{`{"error":{"message":"nested"}}`, 0, false, `{"error":{"message":"nested"}}`},
		{`{"message":""}`, 0, false, `{"message":""}`},
		{"<html>\n  <h1>502 Bad Gateway</h1>\n</html>", 0, false, "<html> <h1>502 Bad Gateway</h1> </html>"},
		{``, 0, false, "(empty body)"},
	}
	for _, tc := range tests {
		code, has, msg := errBodyCode([]byte(tc.body))
		if code != tc.code || has != tc.has || msg != tc.msg {
			t.Errorf("errBodyCode(%q) = %d %v %q, want %d %v %q", tc.body, code, has, msg, tc.code, tc.has, tc.msg)
		}
	}
}

func TestParseTimeFormats(t *testing.T) {
	want := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, s := range []string{"2026-01-02T03:04:05Z", "2026-01-02T04:04:05+01:00", "2026-01-02T03:04:05"} {
		got, err := ParseTime(s)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, %v", s, got, err)
		}
	}
	if got, err := ParseTime("2026-01-02"); err != nil || !got.Equal(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("ParseTime(date) = %v, %v", got, err)
	}
	for _, s := range []string{"", "yesterday", "2026-13-01", "01/02/2026"} {
		if _, err := ParseTime(s); err == nil {
			t.Errorf("ParseTime(%q) accepted", s)
		}
	}
}

func TestWindowsSplit(t *testing.T) {
	day := 24 * time.Hour
	now := time.Date(2026, 3, 15, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		from   time.Time
		window time.Duration
		layout string
		want   [][2]string
	}{
		{"date layout, inclusive days", time.Date(2026, 3, 1, 18, 0, 0, 0, time.UTC), 5 * day, "2006-01-02",
			[][2]string{{"2026-03-01", "2026-03-05"}, {"2026-03-06", "2026-03-10"}, {"2026-03-11", "2026-03-15"}}},
		{"window of less than a day is a day", time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC), time.Hour, "2006-01-02",
			[][2]string{{"2026-03-14", "2026-03-14"}, {"2026-03-15", "2026-03-15"}}},
		{"from today", now, 30 * day, "2006-01-02", [][2]string{{"2026-03-15", "2026-03-15"}}},
		{"from the future", now.Add(48 * time.Hour), day, "2006-01-02", nil},
		{"other date layout", time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC), 2 * day, "01/02/2006",
			[][2]string{{"03/14/2026", "03/15/2026"}}},
		{"date-time layout", now.Add(-50 * time.Hour), day, "",
			[][2]string{{"2026-03-13T10:00:00Z", "2026-03-14T10:00:00Z"}, {"2026-03-14T10:00:00Z", "2026-03-15T10:00:00Z"}, {"2026-03-15T10:00:00Z", "2026-03-15T12:00:00Z"}}},
		{"date-time layout, exact", now.Add(-2 * time.Hour), time.Hour, time.RFC3339,
			[][2]string{{"2026-03-15T10:00:00Z", "2026-03-15T11:00:00Z"}, {"2026-03-15T11:00:00Z", "2026-03-15T12:00:00Z"}}},
		{"date-time from now", now, time.Hour, time.RFC3339, nil},
	}
	for _, tc := range tests {
		got := windows(tc.from, now, &Incremental{Window: tc.window, WindowLayout: tc.layout})
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: windows = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestNextLink(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{`<https://api.test/x?page=2>; rel="next", <https://api.test/x?page=9>; rel="last"`}, "https://api.test/x?page=2"},
		{[]string{`<https://api.test/x?page=1>; rel="prev"`, `</x?page=3>; rel=next`}, "/x?page=3"},
		{[]string{`<https://api.test/x?page=9>; rel="last"`}, ""},
		{[]string{`https://api.test/x?page=2; rel="next"`}, ""},
		{[]string{`<https://api.test/x>`}, ""},
	}
	for _, tc := range tests {
		if got := nextLink(tc.in); got != tc.want {
			t.Errorf("nextLink(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func testRequester(t *testing.T, h http.HandlerFunc, limits map[string]Limit) (*requester, *url.URL) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	src := &Source{BaseURL: srv.URL, Transport: srv.Client().Transport, Limits: limits,
		Retry: RetryPolicy{MaxTries: 5, Initial: time.Millisecond, Max: 2 * time.Millisecond}}
	u, _ := url.Parse(srv.URL + "/x")
	return newRequester(src, slog.New(slog.NewTextHandler(io.Discard, nil)), &readStats{}), u
}

func (l *limiter) rate() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lim == nil {
		return 0
	}
	return float64(l.lim.Limit())
}

// TestPerSecond429SlowsCategory: a per-second 429 lowers the pace of its
// category (and only its category), and the request still succeeds.
func TestPerSecond429SlowsCategory(t *testing.T) {
	var n atomic.Int32
	r, u := testRequester(t, func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1) == 1 {
			w.WriteHeader(429)
			_, _ = w.Write([]byte(`{"code":429,"message":"You have reached the maximum per-second rate limit"}`))
			return
		}
		_, _ = w.Write([]byte(`{}`))
	}, map[string]Limit{"Light": {PerSecond: 20}, "Medium": {PerSecond: 20}})
	light, medium := r.limits["Light"], r.limits["Medium"]
	before := light.rate()
	if before <= 0 || before > 20 {
		t.Fatalf("known limit paced at %v/s", before)
	}
	if _, err := r.get(context.Background(), &Stream{Name: "s", Category: "Light"}, u); err != nil {
		t.Fatal(err)
	}
	if after := light.rate(); after >= before {
		t.Errorf("rate after a 429 = %v/s, before %v/s: not slower", after, before)
	}
	if medium.rate() != before {
		t.Errorf("another category slowed down: %v/s", medium.rate())
	}
	if got := r.stats.throttled.Load(); got != 1 {
		t.Errorf("throttled = %d", got)
	}
	if got := r.stats.retries.Load(); got != 1 {
		t.Errorf("retries = %d", got)
	}
}

// TestUnknownLimitPacedAfter429: a category without a known limit is not
// paced until the API answers 429, then it is.
func TestUnknownLimitPacedAfter429(t *testing.T) {
	var n atomic.Int32
	r, u := testRequester(t, func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1) == 4 {
			w.WriteHeader(429)
			_, _ = w.Write([]byte(`{"message":"too many requests"}`))
			return
		}
		_, _ = w.Write([]byte(`{}`))
	}, map[string]Limit{"Heavy": {}})
	st := &Stream{Name: "s", Category: "Heavy"}
	for i := 0; i < 3; i++ {
		if _, err := r.get(context.Background(), st, u); err != nil {
			t.Fatal(err)
		}
	}
	if got := r.limits["Heavy"].rate(); got != 0 {
		t.Fatalf("paced at %v/s before any 429", got)
	}
	if _, err := r.get(context.Background(), st, u); err != nil {
		t.Fatal(err)
	}
	if got := r.limits["Heavy"].rate(); got <= 0 || got > 10 {
		t.Errorf("paced at %v/s after a 429 following 3 requests", got)
	}
}

// TestLimiterDailyCap: a known daily cap is counted locally and resets at
// midnight UTC; an exhausted category refuses until its reset.
func TestLimiterDailyCap(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 22, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	set := func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }
	l := newLimiter("Heavy", Limit{PerDay: 2}, clock)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if err := l.wait(ctx); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
	}
	var rl *RateLimitError
	if err := l.wait(ctx); !errors.As(err, &rl) {
		t.Fatalf("third request: %v, want a RateLimitError", err)
	}
	midnight := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	if !rl.Reset.Equal(midnight) || rl.Category != "Heavy" {
		t.Errorf("RateLimitError = %+v", rl)
	}
	mustContainIn(t, rl.Error(), "2026-03-02T00:00:00Z", `"Heavy"`)
	set(midnight.Add(time.Minute))
	if err := l.wait(ctx); err != nil {
		t.Errorf("after midnight: %v", err)
	}

	e := newLimiter("Light", Limit{}, clock)
	e.exhaust(now.Add(time.Hour))
	if err := e.wait(ctx); !errors.As(err, &rl) || !rl.Reset.Equal(now.Add(time.Hour)) {
		t.Errorf("exhausted category: %v", err)
	}
	e.exhaust(now.Add(time.Minute)) // an earlier reset does not shorten it
	set(now.Add(30 * time.Minute))
	if err := e.wait(ctx); err == nil {
		t.Error("exhausted category answered before its reset")
	}
	set(now.Add(2 * time.Hour))
	if err := e.wait(ctx); err != nil {
		t.Errorf("after reset: %v", err)
	}
}

func mustContainIn(t *testing.T, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%q does not contain %q", s, sub)
		}
	}
}

func TestFailureType(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{Configf("bad %s", "x"), "config_error"},
		{&TransientError{Err: errors.New("net")}, "transient_error"},
		{errors.New("bug"), "system_error"},
		{&ConfigError{Err: &ruleError{APIError: &APIError{Status: 400}, Action: ActionConfigError}}, "config_error"},
		{&ruleError{APIError: &APIError{Status: 400}, Action: ActionFail}, "system_error"},
	}
	for _, tc := range tests {
		if got := FailureType(tc.err); got != tc.want {
			t.Errorf("FailureType(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
