package main

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Zoom rate-limit categories, as the fake server applies them.
const (
	catLight  = "Light"
	catMedium = "Medium"
	catHeavy  = "Heavy"
)

var categories = []string{catLight, catMedium, catHeavy}

// endpointCategory maps a normalised API path (see normPath) to the
// rate-limit category the fake server (and Zoom) puts it in. It mirrors
// integration_tests/fakezoom/routes.go; an endpoint missing here makes a run
// fail, so the two cannot drift apart silently.
var endpointCategory = map[string]string{
	"/users":                             catMedium,
	"/users/{}/meetings":                 catMedium,
	"/users/{}/webinars":                 catMedium,
	"/users/{}/recordings":               catMedium,
	"/meetings/{}":                       catLight,
	"/meetings/{}/registrants":           catMedium,
	"/meetings/{}/polls":                 catLight,
	"/meetings/{}/registrants/questions": catLight,
	"/past_meetings/{}/instances":        catMedium,
	"/past_meetings/{}/participants":     catMedium,
	"/past_meetings/{}/polls":            catMedium,
	"/report/meetings/{}":                catHeavy,
	"/report/meetings/{}/participants":   catHeavy,
	"/report/webinars/{}":                catHeavy,
	"/report/webinars/{}/participants":   catHeavy,
	"/report/users/{}/meetings":          catHeavy,
	"/webinars/{}":                       catLight,
	"/webinars/{}/panelists":             catMedium,
	"/webinars/{}/registrants":           catMedium,
	"/webinars/{}/polls":                 catLight,
	"/webinars/{}/registrants/questions": catLight,
	"/webinars/{}/tracking_sources":      catLight,
	"/past_webinars/{}/instances":        catMedium,
	"/past_webinars/{}/absentees":        catMedium,
	"/past_webinars/{}/polls":            catMedium,
	"/past_webinars/{}/qa":               catMedium,
}

// literal path segments of the Zoom API; every other segment is an id.
var literals = map[string]bool{
	"users": true, "meetings": true, "webinars": true, "recordings": true, "registrants": true,
	"polls": true, "questions": true, "past_meetings": true, "past_webinars": true, "instances": true,
	"participants": true, "report": true, "panelists": true, "tracking_sources": true, "absentees": true, "qa": true,
}

// normPath turns an escaped API path below /v2 into its template, ids
// replaced by "{}": "/users/abc/meetings" → "/users/{}/meetings".
func normPath(p string) string {
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, s := range segs {
		if !literals[s] {
			segs[i] = "{}"
		}
	}
	return "/" + strings.Join(segs, "/")
}

// audit wraps the fake server's handler and records, for every API request,
// what the fake's Stats do not: the page_size asked for, whether the same
// URL was fetched successfully twice (a parent listed again), the requests
// that counted against each category's limit, and when the API traffic
// started and ended.
type audit struct {
	next http.Handler

	mu         sync.Mutex
	accepted   map[string]int64         // category → requests that counted against its limit
	throttled  map[string]int64         // category → 429 answers
	pageSizes  map[string]int64         // page_size value ("" = none) → list requests
	seen       map[string]bool          // URL of each successful request
	duplicates int64                    // successful requests of a URL already fetched successfully
	firstDup   string                   // one duplicated URL, for the report
	unknown    map[string]int64         // endpoints not in endpointCategory
	byEndpoint map[string]map[int]int64 // template → status → count
	first      time.Time                // first API request received
	last       time.Time                // last API response written
}

func newAudit(next http.Handler) *audit {
	a := &audit{next: next}
	a.reset()
	return a
}

func (a *audit) reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.accepted = map[string]int64{}
	a.throttled = map[string]int64{}
	a.pageSizes = map[string]int64{}
	a.seen = map[string]bool{}
	a.duplicates, a.firstDup = 0, ""
	a.unknown = map[string]int64{}
	a.byEndpoint = map[string]map[int]int64{}
	a.first, a.last = time.Time{}, time.Time{}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack and Flush pass through: the fake resets connections and cuts
// bodies with them when faults are injected.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

func (w *statusWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

func (a *audit) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath()
	if p != "/v2" && !strings.HasPrefix(p, "/v2/") {
		a.next.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	func() {
		defer func() {
			// The fake panics with http.ErrAbortHandler to cut a body;
			// record the request, then let net/http see the panic.
			if v := recover(); v != nil {
				a.record(r, p, 0, start)
				panic(v)
			}
		}()
		a.next.ServeHTTP(sw, r)
	}()
	a.record(r, p, sw.status, start)
}

func (a *audit) record(r *http.Request, p string, status int, start time.Time) {
	tmpl := normPath(strings.TrimPrefix(p, "/v2"))
	cat, known := endpointCategory[tmpl]
	q := r.URL.Query()
	end := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.first.IsZero() || start.Before(a.first) {
		a.first = start
	}
	if end.After(a.last) {
		a.last = end
	}
	m := a.byEndpoint[tmpl]
	if m == nil {
		m = map[int]int64{}
		a.byEndpoint[tmpl] = m
	}
	m[status]++
	if !known {
		a.unknown[tmpl]++
		return
	}
	switch status {
	case http.StatusTooManyRequests:
		a.throttled[cat]++
		return
	case http.StatusUnauthorized, 0:
		// Rejected before the rate limiter (or cut): no quota used.
		return
	}
	// Everything else went through the fake's rate limiter.
	a.accepted[cat]++
	if status >= 200 && status < 300 {
		u := r.URL.RequestURI()
		if a.seen[u] {
			a.duplicates++
			if a.firstDup == "" {
				a.firstDup = p
			}
		}
		a.seen[u] = true
		if isListing(tmpl) {
			a.pageSizes[q.Get("page_size")]++
		}
	}
}

// isListing reports whether the fake server (like Zoom) paginates the
// endpoint with page_size and next_page_token.
func isListing(tmpl string) bool {
	switch tmpl {
	case "/users", "/users/{}/meetings", "/users/{}/webinars", "/users/{}/recordings",
		"/meetings/{}/registrants", "/webinars/{}/registrants", "/past_meetings/{}/participants",
		"/past_webinars/{}/absentees", "/report/meetings/{}/participants", "/report/webinars/{}/participants",
		"/report/users/{}/meetings":
		return true
	}
	return false
}

// auditSnapshot is a copy of the audit counters.
type auditSnapshot struct {
	Accepted   map[string]int64         `json:"accepted_by_category"`
	Throttled  map[string]int64         `json:"throttled_by_category"`
	PageSizes  map[string]int64         `json:"page_sizes"`
	Duplicates int64                    `json:"duplicate_successful_requests"`
	FirstDup   string                   `json:"first_duplicate,omitempty"`
	Unknown    map[string]int64         `json:"unknown_endpoints,omitempty"`
	ByEndpoint map[string]map[int]int64 `json:"by_endpoint"`
	APISpan    time.Duration            `json:"api_span_ns"`
}

func (a *audit) snapshot() auditSnapshot {
	a.mu.Lock()
	defer a.mu.Unlock()
	cp := func(m map[string]int64) map[string]int64 {
		out := make(map[string]int64, len(m))
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	be := make(map[string]map[int]int64, len(a.byEndpoint))
	for k, v := range a.byEndpoint {
		m := make(map[int]int64, len(v))
		for c, n := range v {
			m[c] = n
		}
		be[k] = m
	}
	s := auditSnapshot{
		Accepted: cp(a.accepted), Throttled: cp(a.throttled), PageSizes: cp(a.pageSizes),
		Duplicates: a.duplicates, FirstDup: a.firstDup, Unknown: cp(a.unknown), ByEndpoint: be,
	}
	if !a.first.IsZero() {
		s.APISpan = a.last.Sub(a.first)
	}
	return s
}
