package fakezoom

import (
	"crypto/rand"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

type resp struct {
	status int
	body   []byte
	hdr    map[string]string
}

func errResp(status, code int, msg string) resp {
	j := jw{}
	j.open()
	j.int("code", code)
	j.str("message", msg)
	j.close()
	return resp{status: status, body: j.b}
}

const (
	catLight    = "Light"
	catMedium   = "Medium"
	catHeavy    = "Heavy"
	catResource = "Resource-intensive"
)

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	switch {
	case path == "/oauth/token":
		s.serveToken(w, r)
	case path == "/v2" || strings.HasPrefix(path, "/v2/"):
		s.serveAPI(w, r, strings.TrimPrefix(path, "/v2"))
	default:
		s.count("", http.StatusNotFound, false)
		writeResp(w, errResp(http.StatusNotFound, 404, "Not Found"))
	}
}

func writeResp(w http.ResponseWriter, rs resp) {
	h := w.Header()
	for k, v := range rs.hdr {
		h.Set(k, v)
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json;charset=UTF-8")
	}
	h.Set("Content-Length", strconv.Itoa(len(rs.body)))
	w.WriteHeader(rs.status)
	_, _ = w.Write(rs.body)
}

func (s *Server) count(endpoint string, status int, api bool) {
	s.smu.Lock()
	defer s.smu.Unlock()
	s.stats.Requests++
	if api {
		s.stats.APIRequests++
	}
	if endpoint != "" {
		s.stats.ByEndpoint[endpoint]++
		m := s.stats.ByEndpointStatus[endpoint]
		if m == nil {
			m = map[int]int64{}
			s.stats.ByEndpointStatus[endpoint] = m
		}
		m[status]++
	}
	s.stats.ByStatus[status]++
	if status == http.StatusTooManyRequests {
		s.stats.RateLimited++
	}
}

func (s *Server) bump(f func(st *Stats)) {
	s.smu.Lock()
	f(&s.stats)
	s.smu.Unlock()
}

func (s *Server) sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-s.done:
		return false
	}
}

// ---------------------------------------------------------------- OAuth

func randToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

var allScopes = []string{"user:read:admin", "meeting:read:admin", "webinar:read:admin", "report:read:admin", "recording:read:admin"}

// scopeFor names the scope Zoom reports as missing for an API path prefix.
func scopeFor(prefix string) string {
	p := strings.TrimPrefix(prefix, "/v2")
	switch {
	case strings.HasPrefix(p, "/report"):
		return "report:read:admin"
	case strings.HasPrefix(p, "/webinars"), strings.HasPrefix(p, "/past_webinars"):
		return "webinar:read:admin"
	case strings.HasPrefix(p, "/meetings"), strings.HasPrefix(p, "/past_meetings"):
		return "meeting:read:admin"
	case strings.Contains(p, "/recordings"):
		return "recording:read:admin"
	}
	return "user:read:admin"
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	const ep = "POST /oauth/token"
	s.bump(func(st *Stats) { st.TokenRequests++ })
	s.sleep(r, s.o.Latency)
	tokErr := func(reason, code string) {
		s.count(ep, http.StatusBadRequest, false)
		j := jw{}
		j.open()
		j.str("reason", reason)
		j.str("error", code)
		j.close()
		writeResp(w, resp{status: http.StatusBadRequest, body: j.b})
	}
	if r.Method != http.MethodPost {
		s.count(ep, http.StatusMethodNotAllowed, false)
		writeResp(w, resp{status: http.StatusMethodNotAllowed, body: []byte(`{"reason":"Method Not Allowed","error":"invalid_request"}`)})
		return
	}
	_ = r.ParseForm() // query string and form body
	id, secret, ok := r.BasicAuth()
	if !ok || id != s.o.ClientID || secret != s.o.ClientSecret {
		tokErr("Invalid client_id or client_secret", "invalid_client")
		return
	}
	if gt := r.Form.Get("grant_type"); gt != "account_credentials" {
		tokErr("unsupported grant type", "unsupported_grant_type")
		return
	}
	if r.Form.Get("account_id") != s.o.AccountID {
		tokErr("Invalid request : Bad Request", "invalid_request")
		return
	}
	tok := "eyJzdiI6IjAwMDAwMSIsImFsZyI6IkhTNTEyIiwidiI6IjIuMCJ9." + randToken(96)
	s.amu.Lock()
	now := time.Now()
	for t, exp := range s.tokens { // forget long-expired tokens
		if now.Sub(exp) > time.Hour {
			delete(s.tokens, t)
			delete(s.revoked, t)
		}
	}
	s.tokens[tok] = now.Add(s.o.TokenLifetime)
	s.current = tok
	s.issued = append(s.issued, tok)
	s.amu.Unlock()
	var scopes []string
	for _, sc := range allScopes {
		if s.o.MissingScope != "" && sc == scopeFor(s.o.MissingScope) {
			continue
		}
		scopes = append(scopes, sc)
	}
	j := jw{}
	j.open()
	j.str("access_token", tok)
	j.str("token_type", "bearer")
	j.num("expires_in", int64(s.o.TokenLifetime/time.Second))
	j.str("scope", strings.Join(scopes, " "))
	j.str("api_url", "https://api.zoom.us")
	j.close()
	s.bump(func(st *Stats) { st.TokensIssued++ })
	s.count(ep, http.StatusOK, false)
	writeResp(w, resp{status: http.StatusOK, body: j.b, hdr: map[string]string{"Cache-Control": "no-store"}})
}

// checkAuth returns a 401 response or nil.
func (s *Server) checkAuth(r *http.Request) *resp {
	a := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(a, "Bearer ")
	if !ok {
		tok, ok = strings.CutPrefix(a, "bearer ")
	}
	s.amu.Lock()
	exp, known := s.tokens[tok]
	revoked := s.revoked[tok]
	s.amu.Unlock()
	if !ok || tok == "" || !known || revoked {
		rs := errResp(http.StatusUnauthorized, 124, "Invalid access token.")
		return &rs
	}
	if !time.Now().Before(exp) {
		rs := errResp(http.StatusUnauthorized, 124, "Access token is expired.")
		return &rs
	}
	return nil
}

// ---------------------------------------------------------------- rate limits

// window is a sliding one-second window: a ring of the last limit accepted
// request times.
type window struct {
	times []time.Time
	next  int
	n     int
}

func (w *window) allow(now time.Time, limit int) bool {
	if len(w.times) != limit {
		w.times = make([]time.Time, limit)
		w.next, w.n = 0, 0
	}
	if w.n == limit {
		oldest := w.times[w.next]
		if now.Sub(oldest) < time.Second {
			return false
		}
	} else {
		w.n++
	}
	w.times[w.next] = now
	w.next = (w.next + 1) % limit
	return true
}

func (s *Server) rateLimit(cat string) *resp {
	limit := s.o.RateLimits[cat]
	now := time.Now()
	s.lmu.Lock()
	defer s.lmu.Unlock()
	if limit > 0 {
		w := s.windows[cat]
		if w == nil {
			w = &window{}
			s.windows[cat] = w
		}
		if !w.allow(now, limit) {
			rs := errResp(http.StatusTooManyRequests, 429, "You have reached the maximum per-second rate limit for this API. Try again later.")
			rs.hdr = map[string]string{"X-RateLimit-Category": cat, "X-RateLimit-Type": "QPS"}
			return &rs
		}
	}
	if s.o.DailyHeavyCap > 0 && (cat == catHeavy || cat == catResource) {
		today := now.UTC().Format("2006-01-02")
		if today != s.dailyDay {
			s.dailyDay, s.dailyCount = today, 0
		}
		reset := dayStart(now).Add(day).Format(time.RFC3339)
		if s.dailyCount >= s.o.DailyHeavyCap {
			rs := errResp(http.StatusTooManyRequests, 429, "You have reached the maximum daily rate limit for this API. Refer to the response header for details on when you can make another request.")
			rs.hdr = map[string]string{"X-RateLimit-Category": cat, "X-RateLimit-Type": "Daily-limit",
				"X-RateLimit-Limit": strconv.Itoa(s.o.DailyHeavyCap), "X-RateLimit-Remaining": "0", "Retry-After": reset}
			return &rs
		}
		s.dailyCount++
	}
	return nil
}

func (s *Server) dailyHeaders(cat string) map[string]string {
	if s.o.DailyHeavyCap <= 0 || (cat != catHeavy && cat != catResource) {
		return nil
	}
	s.lmu.Lock()
	rem := s.o.DailyHeavyCap - s.dailyCount
	s.lmu.Unlock()
	if rem < 0 {
		rem = 0
	}
	return map[string]string{"X-RateLimit-Category": cat, "X-RateLimit-Limit": strconv.Itoa(s.o.DailyHeavyCap), "X-RateLimit-Remaining": strconv.Itoa(rem)}
}

// ---------------------------------------------------------------- API

type fault int

const (
	faultNone fault = iota
	faultReset
	faultError
	faultTruncate
)

func (s *Server) pickFault() (fault, float64) {
	if s.o.ResetRate <= 0 && s.o.ErrorRate <= 0 && s.o.TruncateRate <= 0 {
		return faultNone, 0
	}
	s.fmu.Lock()
	u, v := s.frng.Float64(), s.frng.Float64()
	s.fmu.Unlock()
	switch {
	case u < s.o.ResetRate:
		return faultReset, v
	case u < s.o.ResetRate+s.o.ErrorRate:
		return faultError, v
	case u < s.o.ResetRate+s.o.ErrorRate+s.o.TruncateRate:
		return faultTruncate, v
	}
	return faultNone, v
}

func htmlError(status int) []byte {
	t := strconv.Itoa(status) + " " + http.StatusText(status)
	return []byte("<html>\r\n<head><title>" + t + "</title></head>\r\n<body>\r\n<center><h1>" + t +
		"</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
}

func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, path string) {
	seq := s.apiSeq.Add(1)
	cur := s.inflight.Add(1)
	defer s.inflight.Add(-1)
	s.smu.Lock()
	if cur > s.stats.MaxConcurrent {
		s.stats.MaxConcurrent = cur
	}
	s.smu.Unlock()

	rt := s.route(r.Method, path)
	ep := rt.tmpl

	if int64(s.o.HangFirst) >= seq {
		s.bump(func(st *Stats) { st.Hung++ })
		select {
		case <-r.Context().Done():
		case <-s.done:
		}
		s.count(ep, 0, true)
		return
	}
	if !s.sleep(r, s.o.Latency) {
		s.count(ep, 0, true)
		return
	}
	if s.o.RevokeTokenAfter > 0 && seq == int64(s.o.RevokeTokenAfter)+1 {
		s.amu.Lock()
		if !s.revokeDone && s.current != "" {
			s.revoked[s.current] = true
			s.revokeDone = true
		}
		s.amu.Unlock()
	}

	f, v := s.pickFault()
	switch f {
	case faultReset:
		s.bump(func(st *Stats) { st.Resets++ })
		s.count(ep, 0, true)
		resetConn(w)
		return
	case faultError:
		status := []int{500, 502, 503}[int(v*6)%3]
		var rs resp
		if int(v*6) < 3 {
			msg := map[int]string{500: "Internal server error", 502: "Bad gateway", 503: "Service unavailable"}[status]
			rs = errResp(status, status, msg)
		} else {
			rs = resp{status: status, body: htmlError(status), hdr: map[string]string{"Content-Type": "text/html"}}
		}
		s.bump(func(st *Stats) { st.InjectedErrors++ })
		s.count(ep, status, true)
		writeResp(w, rs)
		return
	}

	rs := s.handleAPI(r, path, rt)
	if f == faultTruncate && rs.status == http.StatusOK && len(rs.body) > 1 {
		s.bump(func(st *Stats) { st.Truncated++ })
		s.count(ep, rs.status, true)
		h := w.Header()
		h.Set("Content-Type", "application/json;charset=UTF-8")
		h.Set("Content-Length", strconv.Itoa(len(rs.body)))
		w.WriteHeader(rs.status)
		_, _ = w.Write(rs.body[:len(rs.body)/2])
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		panic(http.ErrAbortHandler) // closes the connection mid-body
	}
	s.count(ep, rs.status, true)
	writeResp(w, rs)
}

func (s *Server) handleAPI(r *http.Request, path string, rt route) resp {
	if rs := s.checkAuth(r); rs != nil {
		return *rs
	}
	if rt.fn == nil {
		if rt.status != 0 {
			return errResp(rt.status, rt.status, http.StatusText(rt.status))
		}
		return errResp(http.StatusNotFound, 404, "Not Found")
	}
	if ms := s.o.MissingScope; ms != "" {
		p := strings.TrimPrefix(ms, "/v2")
		if strings.HasPrefix(path, p) {
			return errResp(http.StatusBadRequest, 4711, "Invalid access token, does not contain scopes:["+scopeFor(ms)+"].")
		}
	}
	if rs := s.rateLimit(rt.cat); rs != nil {
		if rs.hdr["X-RateLimit-Type"] == "Daily-limit" {
			s.bump(func(st *Stats) { st.DailyLimited++ })
		}
		return *rs
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return errResp(http.StatusBadRequest, 300, "Invalid query string.")
	}
	rs := rt.fn(&apiReq{r: r, q: q, args: rt.args, added: int(s.added.Load())})
	if h := s.dailyHeaders(rt.cat); h != nil {
		if rs.hdr == nil {
			rs.hdr = h
		} else {
			for k, v := range h {
				if _, ok := rs.hdr[k]; !ok {
					rs.hdr[k] = v
				}
			}
		}
	}
	return rs
}
