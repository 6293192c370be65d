package connector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// maxBody bounds a response body; a larger answer is an error, not an
// out-of-memory crash.
const maxBody = 256 << 20

// requester is the one HTTP client of a read: auth, rate limits, retries
// and error rules. It is safe for concurrent use.
type requester struct {
	src    *Source
	client *http.Client
	limits map[string]*limiter
	log    *slog.Logger
	retry  RetryPolicy
	now    func() time.Time
	// onRateLimited is told about waits caused by 429s (for STREAM_STATUS).
	onRateLimited func(stream string, until time.Time)
	stats         *readStats
}

// ruleError is an API error with the action its rule chose.
type ruleError struct {
	*APIError
	Action Action
	Reason string
}

func (e *ruleError) Error() string {
	if e.Reason != "" {
		return e.Reason + ": " + e.APIError.Error()
	}
	return e.APIError.Error()
}

func (e *ruleError) Unwrap() error { return e.APIError }

func newRequester(src *Source, log *slog.Logger, stats *readStats) *requester {
	now := src.Now
	if now == nil {
		now = time.Now
	}
	tr := src.Transport
	if tr == nil {
		tr = http.DefaultTransport
	}
	r := &requester{
		src:    src,
		client: &http.Client{Transport: tr, CheckRedirect: sameHostRedirect},
		limits: map[string]*limiter{},
		log:    log,
		retry:  src.Retry.withDefaults(),
		now:    now,
		stats:  stats,
	}
	for name, l := range src.Limits {
		r.limits[name] = newLimiter(name, l, now)
	}
	return r
}

// sameHostRedirect refuses redirects to another host, so the bearer token
// never leaves the API's host.
func sameHostRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("too many redirects")
	}
	if req.URL.Host != via[0].URL.Host {
		return fmt.Errorf("refusing redirect to another host %q", req.URL.Host)
	}
	return nil
}

func (r *requester) limiter(category string) *limiter {
	if l, ok := r.limits[category]; ok {
		return l
	}
	return nil
}

// sanitizeURL drops the query of u: page tokens are noise and query
// parameters may carry secrets.
func sanitizeURL(u *url.URL) string {
	c := *u
	c.RawQuery = ""
	c.User = nil
	return c.String()
}

// get fetches u for stream st with retries. It returns a Page whose body is
// valid JSON, or an error: *ruleError (the API answered an error), a
// *RateLimitError, a *ConfigError, or a context error.
func (r *requester) get(ctx context.Context, st *Stream, u *url.URL) (*Page, error) {
	category := st.Category
	if category == "" {
		category = r.src.Category
	}
	lim := r.limiter(category)
	bo := &backoff.ExponentialBackOff{
		InitialInterval:     r.retry.Initial,
		RandomizationFactor: 0.5,
		Multiplier:          2,
		MaxInterval:         r.retry.Max,
		MaxElapsedTime:      0,
		Stop:                backoff.Stop,
		Clock:               backoff.SystemClock,
	}
	bo.Reset()
	refreshed := false
	var lastErr error
	for attempt := 1; ; attempt++ {
		if lim != nil {
			if err := lim.wait(ctx); err != nil {
				return nil, err
			}
		}
		sent := r.now()
		page, usedToken, apiErr, err := r.do(ctx, u)
		if lim != nil && err == nil && (apiErr == nil || apiErr.Status != http.StatusTooManyRequests) {
			lim.answered(sent)
		}
		if err == nil && apiErr == nil {
			return page, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var wait time.Duration
		if apiErr != nil {
			action, reason := classify(apiErr, st.Errors, r.src.Errors)
			if apiErr.Status == http.StatusTooManyRequests && r.stats != nil {
				r.stats.throttled.Add(1)
			}
			if action == ActionQuota {
				reset := r.now().Add(apiErr.RetryAfter)
				if apiErr.RetryAfter <= 0 {
					reset = nextMidnight(r.now())
				}
				if lim != nil {
					lim.exhaust(reset)
				}
				if apiErr.RetryAfter <= 0 || apiErr.RetryAfter > r.retry.MaxWait {
					return nil, &RateLimitError{Category: category, Reset: reset}
				}
				action = ActionRetry // a short quota wait is waited out
			} else if apiErr.Status == http.StatusTooManyRequests && action == ActionRetry && lim != nil {
				lim.throttle(sent)
			}
			switch action {
			case ActionRetry:
				wait = apiErr.RetryAfter
				if wait > r.retry.MaxWait {
					return nil, &TransientError{Err: fmt.Errorf("%s asks to retry after %s, longer than the %s this connector waits", sanitizeURL(u), wait.Round(time.Second), r.retry.MaxWait), RetryAt: r.now().Add(wait)}
				}
				lastErr = apiErr
			case ActionRefreshAuth:
				inv, ok := r.src.Auth.(Invalidator)
				if refreshed || !ok {
					return nil, &ConfigError{Err: fmt.Errorf("the API rejected the access token again after a refresh: %s", apiErr.Message)}
				}
				refreshed = true
				inv.Invalidate(usedToken)
				r.log.Info("access token rejected; fetching a new one", "stream", st.Name, "reason", apiErr.Message)
				attempt--
				continue
			default:
				re := &ruleError{APIError: apiErr, Action: action, Reason: reason}
				if action == ActionConfigError {
					return nil, &ConfigError{Err: re}
				}
				return nil, re
			}
		} else {
			var ce *ConfigError
			if errors.As(err, &ce) {
				return nil, err
			}
			lastErr = err
		}
		if attempt >= r.retry.MaxTries {
			return nil, &TransientError{Err: fmt.Errorf("GET %s: giving up after %d attempts: %w", sanitizeURL(u), attempt, lastErr)}
		}
		if wait <= 0 {
			wait = bo.NextBackOff()
		} else {
			wait += time.Duration(rand.Int64N(int64(250 * time.Millisecond)))
		}
		if r.stats != nil {
			r.stats.retries.Add(1)
		}
		r.log.Debug("retrying request", "stream", st.Name, "url", sanitizeURL(u), "attempt", attempt, "wait", wait.Round(time.Millisecond).String(), "error", lastErr.Error())
		if apiErr != nil && apiErr.Status == http.StatusTooManyRequests && r.onRateLimited != nil {
			r.onRateLimited(st.Name, r.now().Add(wait))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// do performs one attempt and returns the access token it used. Exactly
// one of page, apiErr and err is non-nil.
func (r *requester) do(ctx context.Context, u *url.URL) (page *Page, token string, apiErr *APIError, err error) {
	timeout := r.src.Timeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", nil, fmt.Errorf("build request for %s: %w", sanitizeURL(u), err)
	}
	for k, vs := range r.src.Header {
		req.Header[k] = vs
	}
	req.Header.Set("Accept", "application/json")
	if r.src.Auth != nil {
		tok, err := r.src.Auth.Token()
		if err != nil {
			return nil, "", nil, err
		}
		token = tok.AccessToken
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if r.stats != nil {
		r.stats.requests.Add(1)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, token, nil, fmt.Errorf("GET %s: %w", sanitizeURL(u), stripURL(err))
	}
	defer resp.Body.Close()
	body, err := readBody(resp)
	if err != nil {
		return nil, token, nil, fmt.Errorf("GET %s: reading body: %w", sanitizeURL(u), stripURL(err))
	}
	if len(body) > maxBody {
		return nil, token, nil, fmt.Errorf("GET %s: body larger than %d bytes", sanitizeURL(u), maxBody)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		code, has, msg := errBodyCode(body)
		e := &APIError{
			Method: http.MethodGet, URL: sanitizeURL(u), Status: resp.StatusCode,
			Code: code, HasCode: has, Message: msg,
			RetryAfter: retryAfter(resp.Header.Get("Retry-After"), r.now()),
			Header:     resp.Header,
		}
		return nil, token, e, nil
	}
	if !validJSON(body) { // json.Valid's verdict, faster
		// A 200 with a body that is not JSON is usually a cut connection.
		return nil, token, nil, fmt.Errorf("GET %s: HTTP %d with a body that is not valid JSON (%d bytes): %s", sanitizeURL(u), resp.StatusCode, len(body), truncate(snippet(body), 80))
	}
	return &Page{URL: u, Header: resp.Header, Body: body}, token, nil, nil
}

// readBody reads the body, at most maxBody+1 bytes. With a Content-Length
// it reads into one buffer of that size: io.ReadAll grows chunks from 512
// bytes and copies them into a final slice, about three times the garbage
// for a 200 KB page (it showed in the CPU profile).
func readBody(resp *http.Response) ([]byte, error) {
	r := io.LimitReader(resp.Body, maxBody+1)
	n := resp.ContentLength
	if n <= 0 || n > maxBody {
		return io.ReadAll(r)
	}
	b := make([]byte, 0, n+1) // +1: room for the read that sees EOF
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // more than announced: grow
		}
		m, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+m]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// stripURL removes the URL (with its query) from *url.Error messages.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
