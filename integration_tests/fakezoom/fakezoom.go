// Package fakezoom is a fake Zoom API v2 server for integration tests and
// benchmarks of the source-zoom connector. It serves deterministic data
// generated on the fly from a seed (nothing per record is stored, so sizes of
// millions of records are fine), behaves like Zoom on errors, pagination,
// UUID encoding and rate limits, and can inject faults.
//
// Data model (per seed):
//   - users 0..Users-1; with 5 users or more, user 1 is a basic (unlicensed)
//     user whose webinar list answers 400 code 200, and user 3 hosts no
//     meetings.
//   - meetings: even global index = recurring (type 8, InstancesPerMeeting
//     past sessions), odd = scheduled (type 2, one past session); every 4th
//     meeting (index%4 == 3) does not require registration (its registrants
//     and registration questions answer 400 code 300). Webinars likewise
//     (type 9 / 5), all with registration.
//   - every past session has ParticipantsPerSession participant rows (row 0
//     is the host, every 4th row a re-join); about 1 session in 8 never ran a
//     report (report endpoints answer 404 code 3001); meeting sessions with
//     (index+occurrence)%3 == 0 have a cloud recording.
//   - base sessions start between Now-150d and Now-10d; AddSessions appends
//     sessions in the last 7 days before Now.
//   - about 5% of session UUIDs begin with "/" and 5% contain "//".
package fakezoom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures a Server. Zero sizes take the Default* values; a
// negative size means zero.
type Options struct {
	Seed int64
	// sizes
	Users, MeetingsPerUser, WebinarsPerUser int
	// past occurrences per recurring meeting (recurring meetings have several
	// UUIDs; non-recurring ones have one); same for webinars
	InstancesPerMeeting                                            int
	ParticipantsPerSession, RegistrantsPerMeeting, PollsPerMeeting int
	// OAuth credentials; defaults "fake-account", "fake-client", "fake-secret"
	AccountID, ClientID, ClientSecret string
	TokenLifetime                     time.Duration // default 1h (expires_in)
	PageTokenTTL                      time.Duration // default 15m
	Latency                           time.Duration // added to every request (API and token)
	// requests per second per category: "Light", "Medium", "Heavy",
	// "Resource-intensive"; 0 or missing = unlimited
	RateLimits       map[string]int
	DailyHeavyCap    int     // 0 = none; after N Heavy requests answer Zoom's daily 429
	ErrorRate        float64 // fraction of API requests answered 500/502/503 (half with an HTML body)
	TruncateRate     float64 // fraction answered 200 with a body cut in the middle (connection closed)
	ResetRate        float64 // fraction whose TCP connection is reset
	HangFirst        int     // the first N API requests hang until the client goes away
	RevokeTokenAfter int     // after N API requests, the current access token is revoked (401 code 124) once
	// API path prefix (e.g. "/report/") answered 400 code 4711 "Invalid
	// access token, does not contain scopes:[report:read:admin]."
	MissingScope string
	Now          time.Time // data clock; zero = DefaultNow (2026-11-30T12:00:00Z)
}

// Default sizes.
const (
	DefaultUsers                  = 10
	DefaultMeetingsPerUser        = 4
	DefaultWebinarsPerUser        = 2
	DefaultInstancesPerMeeting    = 3
	DefaultParticipantsPerSession = 6
	DefaultRegistrantsPerMeeting  = 4
	DefaultPollsPerMeeting        = 2
)

// DefaultNow is the data clock used when Options.Now is zero.
var DefaultNow = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// Stats counts what the server saw.
type Stats struct {
	Requests         int64                    // all requests (API and token)
	APIRequests      int64                    // requests under /v2
	TokenRequests    int64                    // POST /oauth/token
	TokensIssued     int64                    // successful token grants
	ByEndpoint       map[string]int64         // "GET /users/{userId}/meetings" → count
	ByStatus         map[int]int64            // HTTP status → count (0 = connection reset)
	ByEndpointStatus map[string]map[int]int64 // endpoint → status → count
	RateLimited      int64                    // 429 answers, per-second and daily
	DailyLimited     int64                    // daily-limit 429 answers
	InjectedErrors   int64                    // injected 5xx
	Truncated        int64                    // injected truncated bodies
	Resets           int64                    // injected connection resets
	Hung             int64                    // requests held by HangFirst
	MaxConcurrent    int64                    // most API requests in flight at once
}

// Server is a fake Zoom API. It is safe for concurrent use.
type Server struct {
	o    Options
	now  time.Time
	seed int64

	nU, mpu, wpu, inst, pps, rpm, ppm int
	basicUser, zeroUser               int

	added atomic.Int64

	idBm, idBw, idMulInv, uuidKey uint64

	amu        sync.Mutex
	tokens     map[string]time.Time // access token → expiry
	revoked    map[string]bool
	current    string
	revokeDone bool
	issued     []string // every access token granted, in order

	pmu      sync.Mutex
	pages    map[string]pageState
	pageMade int

	lmu        sync.Mutex
	windows    map[string]*window
	dailyCount int
	dailyDay   string

	fmu  sync.Mutex
	frng *rand.Rand

	apiSeq   atomic.Int64
	inflight atomic.Int64

	smu   sync.Mutex
	stats Stats

	done      chan struct{}
	closeOnce sync.Once
	srvMu     sync.Mutex
	srv       *http.Server
	base      string
}

type pageState struct {
	key     string
	offset  int
	expires time.Time
}

func sz(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// New returns a server; call Start to listen, or use Handler.
func New(o Options) *Server {
	if o.AccountID == "" {
		o.AccountID = "fake-account"
	}
	if o.ClientID == "" {
		o.ClientID = "fake-client"
	}
	if o.ClientSecret == "" {
		o.ClientSecret = "fake-secret"
	}
	if o.TokenLifetime <= 0 {
		o.TokenLifetime = time.Hour
	}
	if o.PageTokenTTL <= 0 {
		o.PageTokenTTL = 15 * time.Minute
	}
	if o.RateLimits != nil { // private copy: the caller may reuse its map
		rl := make(map[string]int, len(o.RateLimits))
		for k, v := range o.RateLimits {
			rl[k] = v
		}
		o.RateLimits = rl
	}
	s := &Server{o: o, seed: o.Seed, now: o.Now.UTC()}
	if o.Now.IsZero() {
		s.now = DefaultNow
	}
	s.nU = sz(o.Users, DefaultUsers)
	s.mpu = sz(o.MeetingsPerUser, DefaultMeetingsPerUser)
	s.wpu = sz(o.WebinarsPerUser, DefaultWebinarsPerUser)
	s.inst = sz(o.InstancesPerMeeting, DefaultInstancesPerMeeting)
	s.pps = sz(o.ParticipantsPerSession, DefaultParticipantsPerSession)
	s.rpm = sz(o.RegistrantsPerMeeting, DefaultRegistrantsPerMeeting)
	s.ppm = sz(o.PollsPerMeeting, DefaultPollsPerMeeting)
	s.basicUser, s.zeroUser = -1, -1
	if s.nU >= 5 {
		s.basicUser, s.zeroUser = 1, 3
	}
	s.idBm = s.h(kIDB, 1) % idMod
	s.idBw = s.h(kIDB, 2) % idMod
	s.idMulInv = modInverse(idMul, idMod)
	s.uuidKey = s.h(kIDB, 3)
	s.tokens = map[string]time.Time{}
	s.revoked = map[string]bool{}
	s.pages = map[string]pageState{}
	s.windows = map[string]*window{}
	s.frng = rand.New(rand.NewPCG(uint64(o.Seed), 0xfa017))
	s.done = make(chan struct{})
	s.stats = newStats()
	return s
}

func newStats() Stats {
	return Stats{ByEndpoint: map[string]int64{}, ByStatus: map[int]int64{}, ByEndpointStatus: map[string]map[int]int64{}}
}

// Handler returns the HTTP handler (token endpoint and /v2 API).
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Start listens on 127.0.0.1:0 and serves in the background.
func (s *Server) Start() (baseURL string, err error) { return s.StartAddr("127.0.0.1:0") }

// StartAddr listens on addr and serves in the background.
func (s *Server) StartAddr(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 30 * time.Second}
	s.srvMu.Lock()
	s.srv = srv
	s.base = "http://" + ln.Addr().String()
	base := s.base
	s.srvMu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err
		}
	}()
	return base, nil
}

// Close stops the server and releases hanging requests.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.done) })
	s.srvMu.Lock()
	srv := s.srv
	s.srvMu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// Shutdown stops the server gracefully.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closeOnce.Do(func() { close(s.done) })
	s.srvMu.Lock()
	srv := s.srv
	s.srvMu.Unlock()
	if srv != nil {
		return srv.Shutdown(ctx)
	}
	return nil
}

// BaseURL is the URL returned by Start ("" before Start).
func (s *Server) BaseURL() string {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	return s.base
}

// APIBaseURL is BaseURL + "/v2".
func (s *Server) APIBaseURL() string { return s.BaseURL() + "/v2" }

// TokenURL is BaseURL + "/oauth/token".
func (s *Server) TokenURL() string { return s.BaseURL() + "/oauth/token" }

// Now returns the data clock.
func (s *Server) Now() time.Time { return s.now }

// Options returns the effective options (with defaults filled in).
func (s *Server) Options() Options {
	o := s.o
	o.Users, o.MeetingsPerUser, o.WebinarsPerUser, o.InstancesPerMeeting = s.nU, s.mpu, s.wpu, s.inst
	o.ParticipantsPerSession, o.RegistrantsPerMeeting, o.PollsPerMeeting = s.pps, s.rpm, s.ppm
	o.Now = s.now
	return o
}

// AddSessions adds n past occurrences to every existing meeting and webinar.
// They start after all existing occurrences and end before Now.
func (s *Server) AddSessions(n int) {
	if n > 0 {
		s.added.Add(int64(n))
	}
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.smu.Lock()
	defer s.smu.Unlock()
	st := s.stats
	st.ByEndpoint = make(map[string]int64, len(s.stats.ByEndpoint))
	for k, v := range s.stats.ByEndpoint {
		st.ByEndpoint[k] = v
	}
	st.ByStatus = make(map[int]int64, len(s.stats.ByStatus))
	for k, v := range s.stats.ByStatus {
		st.ByStatus[k] = v
	}
	st.ByEndpointStatus = make(map[string]map[int]int64, len(s.stats.ByEndpointStatus))
	for k, v := range s.stats.ByEndpointStatus {
		m := make(map[int]int64, len(v))
		for c, n := range v {
			m[c] = n
		}
		st.ByEndpointStatus[k] = m
	}
	return st
}

// IssuedTokens returns every access token the server granted, in order
// (for tests that check no token leaks into the connector's output).
func (s *Server) IssuedTokens() []string {
	s.amu.Lock()
	defer s.amu.Unlock()
	return append([]string(nil), s.issued...)
}

// ResetStats zeroes the counters.
func (s *Server) ResetStats() {
	s.smu.Lock()
	s.stats = newStats()
	s.smu.Unlock()
}

// Streams lists the stream names of Expected, sorted.
func Streams() []string {
	out := append([]string(nil), streamNames...)
	sort.Strings(out)
	return out
}

var streamNames = []string{
	"users", "meetings", "meeting_registrants", "meeting_polls", "meeting_registration_questions",
	"past_meeting_instances", "report_meetings", "report_meeting_participants", "past_meeting_participants",
	"meeting_poll_results", "webinars", "webinar_panelists", "webinar_registrants", "webinar_polls",
	"webinar_registration_questions", "webinar_tracking_sources", "webinar_absentees", "webinar_poll_results",
	"webinar_qna_results", "report_webinars", "report_webinar_participants", "report_user_meetings", "recordings",
}

// Expected returns, per stream, the records a complete full-refresh sync
// emits (with the fields the connector adds). It materialises everything:
// use it with small sizes.
func (s *Server) Expected() map[string][]json.RawMessage {
	out := make(map[string][]json.RawMessage, len(streamNames))
	for _, n := range streamNames {
		out[n] = []json.RawMessage{}
	}
	add := func(stream string, b []byte) { out[stream] = append(out[stream], json.RawMessage(b)) }
	added := int(s.added.Load())
	all := func(l listing, stream string, kv ...string) {
		for i := 0; i < l.n; i++ {
			add(stream, addFields(l.item(nil, i), kv...))
		}
	}
	for u := 0; u < s.nU; u++ {
		add("users", s.renderUser(nil, u))
	}
	for _, kind := range []uint64{kMeeting, kWebinar} {
		for u := 0; u < s.nU; u++ {
			for i := 0; i < s.mtgCount(kind, u); i++ {
				m := s.mtg(kind, u*s.perUser(kind)+i)
				idN := jsonNum(m.id)
				idS := jsonStr(jsonNum(m.id))
				if kind == kMeeting {
					add("meetings", s.renderMeeting(nil, &m))
					if m.reg {
						all(s.lsRegistrants(&m), "meeting_registrants", "meeting_id", idN)
						add("meeting_registration_questions", addFields(s.renderRegQuestions(nil, &m), "meeting_id", idN))
					}
					for _, it := range s.pollItems(&m) {
						add("meeting_polls", addFields(it, "meeting_id", idN))
					}
				} else {
					add("webinars", s.renderWebinar(nil, &m))
					all(s.lsPanelists(&m), "webinar_panelists", "webinar_id", idN)
					all(s.lsRegistrants(&m), "webinar_registrants", "webinar_id", idS)
					for _, it := range s.pollItems(&m) {
						add("webinar_polls", addFields(it, "webinar_id", idS))
					}
					add("webinar_registration_questions", addFields(s.renderRegQuestions(nil, &m), "webinar_id", idS))
					all(s.lsTracking(&m), "webinar_tracking_sources", "webinar_id", idS)
				}
				for k := 0; k < s.sessionCount(&m, added); k++ {
					ss := s.session(&m, k)
					uuidS := jsonStr(ss.uuid)
					startS := string(jsonTime(ss.start))
					if kind == kMeeting {
						add("past_meeting_instances", addFields(renderInstance(nil, &ss), "meeting_id", idN))
						parent := []string{"meeting_id", idN, "meeting_uuid", uuidS, "meeting_start_time", startS}
						if ss.report {
							add("report_meetings", addFields(s.renderReport(nil, &ss), "meeting_uuid", uuidS))
							all(s.lsReportParticipants(&ss), "report_meeting_participants", parent...)
						}
						all(s.lsPastParticipants(&ss), "past_meeting_participants", parent...)
						for _, it := range s.pollResultItems(&ss) {
							add("meeting_poll_results", addFields(it, parent...))
						}
					} else {
						parent := []string{"webinar_uuid", uuidS, "webinar_start_time", startS}
						all(s.lsAbsentees(&ss), "webinar_absentees", parent...)
						for _, it := range s.pollResultItems(&ss) {
							add("webinar_poll_results", addFields(it, parent...))
						}
						for _, it := range s.qaItems(&ss) {
							add("webinar_qna_results", addFields(it, parent...))
						}
						if ss.report {
							add("report_webinars", addFields(s.renderReport(nil, &ss), "webinar_uuid", uuidS))
							all(s.lsReportParticipants(&ss), "report_webinar_participants", parent...)
						}
					}
				}
			}
		}
	}
	from := dayStart(s.now.AddDate(0, -6, 0))
	for u := 0; u < s.nU; u++ {
		uid := jsonStr(s.userID(u))
		all(s.lsUserReport(u, from, s.now.Add(day), added), "report_user_meetings", "user_id", uid)
		all(s.lsRecordings(u, time.Time{}, s.now.Add(day), added), "recordings", "user_id", uid)
	}
	return out
}

func jsonTime(t time.Time) []byte {
	b := []byte{'"'}
	b = appendTime(b, t)
	return append(b, '"')
}

func dayStart(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Get serves one authorized GET of an API path (e.g. "/users?page_size=300")
// in process, without a listener, and returns the response body: a page of
// realistic Zoom JSON for benchmarks. A status other than 200 is an error.
func (s *Server) Get(path string) ([]byte, error) {
	h := s.Handler()
	form := url.Values{"grant_type": {"account_credentials"}, "account_id": {s.o.AccountID}}
	req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(s.o.ClientID, s.o.ClientSecret)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil || tok.AccessToken == "" {
		return nil, fmt.Errorf("fakezoom: token: HTTP %d: %s", rec.Code, rec.Body.Bytes())
	}
	req = httptest.NewRequest(http.MethodGet, "/v2"+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return nil, fmt.Errorf("fakezoom: GET %s: HTTP %d: %s", path, rec.Code, rec.Body.Bytes())
	}
	return rec.Body.Bytes(), nil
}
