package connector

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Action is what to do with an API answer matched by an ErrorRule.
type Action int

const (
	// ActionFail fails the stream with the API's message (system_error).
	ActionFail Action = iota
	// ActionSkip skips the partition with a LOG line; the stream goes on.
	ActionSkip
	// ActionRetry retries the request with back-off.
	ActionRetry
	// ActionConfigError fails the stream with a config_error.
	ActionConfigError
	// ActionFailSync stops the whole sync.
	ActionFailSync
	// ActionRefreshAuth invalidates the token and retries once; a second
	// match is a config_error.
	ActionRefreshAuth
	// ActionRestart restarts the listing from its first page (an expired
	// page token); records already emitted are not emitted again.
	ActionRestart
	// ActionQuota means the stream's rate-limit category is spent until the
	// answer's Retry-After (default: the next 00:00 UTC), like a daily cap:
	// the category's streams stop with a transient error naming the reset
	// time while the other categories go on. A Retry-After within
	// RetryPolicy.MaxWait is waited out instead.
	ActionQuota
)

func (a Action) String() string {
	return [...]string{"fail", "skip", "retry", "config error", "fail sync", "refresh auth", "restart listing", "quota spent"}[a]
}

// ErrorRule matches an error answer on its HTTP status, a header, and the
// API's error code and message in the body. Empty criteria match anything;
// text matches are case-insensitive substrings.
type ErrorRule struct {
	Status  []int  // HTTP statuses
	Codes   []int  // body error codes
	Message string // substring of the body message
	// Header names a response header that must be present and, if
	// HeaderValue is set, contain it.
	Header, HeaderValue string
	Action              Action
	// Reason is logged with skips and put in front of failures.
	Reason string
}

func (r ErrorRule) matches(e *APIError) bool {
	if len(r.Status) > 0 && !containsInt(r.Status, e.Status) {
		return false
	}
	if len(r.Codes) > 0 && (!e.HasCode || !containsInt(r.Codes, e.Code)) {
		return false
	}
	if r.Message != "" && !strings.Contains(strings.ToLower(e.Message), strings.ToLower(r.Message)) {
		return false
	}
	if r.Header != "" {
		v, ok := e.Header[http.CanonicalHeaderKey(r.Header)]
		if !ok || !strings.Contains(strings.ToLower(strings.Join(v, ",")), strings.ToLower(r.HeaderValue)) {
			return false
		}
	}
	return true
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// classify returns the action for an API error: the first matching rule of
// rules, else the defaults: 429, 5xx and 408 retry, 401 and 403 are config
// errors, other 4xx fail the stream.
func classify(e *APIError, rules ...[]ErrorRule) (Action, string) {
	for _, rs := range rules {
		for _, r := range rs {
			if r.matches(e) {
				return r.Action, r.Reason
			}
		}
	}
	switch {
	case e.Status == http.StatusTooManyRequests, e.Status >= 500, e.Status == http.StatusRequestTimeout:
		return ActionRetry, ""
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return ActionConfigError, "the API refused the credentials"
	}
	return ActionFail, ""
}

// RetryPolicy bounds retries. Zero fields take defaults.
type RetryPolicy struct {
	MaxTries int           // attempts per request (default 8)
	Initial  time.Duration // first back-off (default 500ms)
	Max      time.Duration // back-off cap (default 30s)
	// MaxWait is the longest Retry-After the connector sleeps through
	// (default 5m); longer waits end the stream with a transient error.
	MaxWait time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxTries <= 0 {
		p.MaxTries = 8
	}
	if p.Initial <= 0 {
		p.Initial = 500 * time.Millisecond
	}
	if p.Max <= 0 {
		p.Max = 30 * time.Second
	}
	if p.MaxWait <= 0 {
		p.MaxWait = 5 * time.Minute
	}
	return p
}

// retryAfter parses a Retry-After header: seconds or an HTTP date (also
// RFC 3339, which some APIs send). Zero when absent or unparsable.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	for _, layout := range []string{http.TimeFormat, time.RFC1123, time.RFC1123Z, time.RFC3339, "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, v); err == nil {
			if d := t.Sub(now); d > 0 {
				return d
			}
			return 0
		}
	}
	return 0
}

// errBodyCode reads an error body like {"code": 124, "message": "..."}.
func errBodyCode(body []byte) (code int, has bool, msg string) {
	if len(body) == 0 || body[0] != '{' {
		return 0, false, snippet(body)
	}
	if v, ok := member(body, "code"); ok {
		if n, err := strconv.Atoi(string(v)); err == nil {
			code, has = n, true
		}
	}
	for _, k := range []string{"message", "reason", "error_description", "error"} {
		if v, ok := member(body, k); ok {
			if s := scalarString(v); s != "" {
				return code, has, s
			}
		}
	}
	return code, has, snippet(body)
}

// snippet returns a short single-line excerpt of a (maybe HTML) body.
func snippet(body []byte) string {
	s := strings.Join(strings.Fields(string(body)), " ")
	if s == "" {
		return "(empty body)"
	}
	return truncate(s, 200)
}

var errRetriesExhausted = errors.New("retries exhausted")
