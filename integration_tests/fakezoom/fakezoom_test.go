package fakezoom

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// ---------------------------------------------------------------- helpers

func start(t testing.TB, o Options) *Server {
	t.Helper()
	s := New(o)
	if _, err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

type client struct {
	t     testing.TB
	s     *Server
	hc    *http.Client
	token string
}

func newClient(t testing.TB, s *Server) *client {
	c := &client{t: t, s: s, hc: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 20 * time.Second}}
	c.token = c.grant()
	return c
}

func (c *client) grant() string {
	c.t.Helper()
	form := url.Values{"grant_type": {"account_credentials"}, "account_id": {c.s.o.AccountID}}
	req, _ := http.NewRequest(http.MethodPost, c.s.TokenURL(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(c.s.o.ClientID, c.s.o.ClientSecret)
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || res.StatusCode != 200 {
		c.t.Fatalf("token: %d %v", res.StatusCode, err)
	}
	return tok.AccessToken
}

type result struct {
	status int
	body   []byte
	hdr    http.Header
	err    error
}

// get requests an escaped API path (relative to /v2).
func (c *client) get(path string) result {
	req, _ := http.NewRequest(http.MethodGet, c.s.APIBaseURL()+path, nil)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return result{err: err}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return result{status: res.StatusCode, body: b, hdr: res.Header, err: err}
}

func (c *client) mustJSON(path string, into any) {
	c.t.Helper()
	r := c.get(path)
	if r.err != nil || r.status != 200 {
		c.t.Fatalf("GET %s: %d %v %s", path, r.status, r.err, r.body)
	}
	if err := json.Unmarshal(r.body, into); err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
}

type zerr struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func wantErr(t testing.TB, r result, status, code int, msgPart string) {
	t.Helper()
	if r.err != nil {
		t.Fatalf("request error: %v", r.err)
	}
	var e zerr
	_ = json.Unmarshal(r.body, &e)
	if r.status != status || e.Code != code || !strings.Contains(e.Message, msgPart) {
		t.Fatalf("got %d %s, want %d code %d containing %q", r.status, r.body, status, code, msgPart)
	}
}

// pathUUID encodes a UUID the way the connector must.
func pathUUID(u string) string {
	e := url.PathEscape(u)
	if NeedsDoubleEncoding(u) {
		e = url.PathEscape(e)
	}
	return e
}

// pageAll follows next_page_token through a list endpoint.
func (c *client) pageAll(path, key string, pageSize int) []json.RawMessage {
	c.t.Helper()
	var out []json.RawMessage
	tok := ""
	for {
		q := "page_size=" + strconv.Itoa(pageSize)
		if tok != "" {
			q += "&next_page_token=" + url.QueryEscape(tok)
		}
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		var page map[string]json.RawMessage
		c.mustJSON(path+sep+q, &page)
		var recs []json.RawMessage
		if err := json.Unmarshal(page[key], &recs); err != nil {
			c.t.Fatalf("%s: records key %q: %v", path, key, err)
		}
		out = append(out, recs...)
		if err := json.Unmarshal(page["next_page_token"], &tok); err != nil {
			c.t.Fatal(err)
		}
		if tok == "" {
			return out
		}
	}
}

func records(t testing.TB, body []byte, key string) []json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	var recs []json.RawMessage
	if err := json.Unmarshal(m[key], &recs); err != nil {
		t.Fatalf("key %q: %v in %s", key, err, body)
	}
	return recs
}

func withFields(t testing.TB, rec json.RawMessage, kv ...any) json.RawMessage {
	t.Helper()
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(rec))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	b, _ := json.Marshal(m)
	return b
}

// canon returns a canonical form (sorted keys) of each record, sorted.
func canon(t testing.TB, recs []json.RawMessage) []string {
	t.Helper()
	out := make([]string, len(recs))
	for i, r := range recs {
		var v any
		d := json.NewDecoder(bytes.NewReader(r))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			t.Fatalf("bad record %s: %v", r, err)
		}
		b, _ := json.Marshal(v)
		out[i] = string(b)
	}
	sort.Strings(out)
	return out
}

func field[T any](t testing.TB, rec json.RawMessage, k string) T {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(rec, &m); err != nil {
		t.Fatal(err)
	}
	var v T
	d := json.NewDecoder(bytes.NewReader(m[k]))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		t.Fatalf("field %s of %s: %v", k, rec, err)
	}
	return v
}

// ---------------------------------------------------------------- OAuth

func TestTokenGrant(t *testing.T) {
	s := start(t, Options{Seed: 1, AccountID: "acct", ClientID: "cid", ClientSecret: "sec", TokenLifetime: 90 * time.Minute})
	type tc struct {
		name             string
		method           string
		query            url.Values
		form             url.Values
		user, pass       string
		noAuth           bool
		status           int
		errCode, errText string
	}
	good := url.Values{"grant_type": {"account_credentials"}, "account_id": {"acct"}}
	tests := []tc{
		{name: "form body", form: good, user: "cid", pass: "sec", status: 200},
		{name: "query string", query: good, user: "cid", pass: "sec", status: 200},
		{name: "bad secret", form: good, user: "cid", pass: "nope", status: 400, errCode: "invalid_client", errText: "Invalid client_id or client_secret"},
		{name: "bad client", form: good, user: "x", pass: "sec", status: 400, errCode: "invalid_client", errText: "Invalid client_id or client_secret"},
		{name: "no basic auth", form: good, noAuth: true, status: 400, errCode: "invalid_client", errText: "Invalid client_id or client_secret"},
		{name: "wrong account", form: url.Values{"grant_type": {"account_credentials"}, "account_id": {"other"}}, user: "cid", pass: "sec", status: 400, errCode: "invalid_request", errText: "Invalid request : Bad Request"},
		{name: "client_credentials grant", form: url.Values{"grant_type": {"client_credentials"}, "account_id": {"acct"}}, user: "cid", pass: "sec", status: 400, errCode: "unsupported_grant_type", errText: "unsupported grant type"},
		{name: "no grant", form: url.Values{"account_id": {"acct"}}, user: "cid", pass: "sec", status: 400, errCode: "unsupported_grant_type", errText: "unsupported grant type"},
		{name: "GET", method: http.MethodGet, query: good, user: "cid", pass: "sec", status: 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.method
			if m == "" {
				m = http.MethodPost
			}
			u := s.TokenURL()
			if tt.query != nil {
				u += "?" + tt.query.Encode()
			}
			req, _ := http.NewRequest(m, u, strings.NewReader(tt.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if !tt.noAuth {
				req.SetBasicAuth(tt.user, tt.pass)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body map[string]any
			if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %v", res.StatusCode, tt.status, body)
			}
			switch {
			case tt.status == 200:
				if tok, _ := body["access_token"].(string); len(tok) < 20 {
					t.Errorf("access_token %q", tok)
				}
				if body["token_type"] != "bearer" || body["expires_in"] != float64(5400) {
					t.Errorf("token response %v", body)
				}
				if sc, _ := body["scope"].(string); !strings.Contains(sc, "report:read:admin") {
					t.Errorf("scope %q", sc)
				}
			case tt.errCode != "":
				if body["error"] != tt.errCode || body["reason"] != tt.errText {
					t.Errorf("body %v, want error %q reason %q", body, tt.errCode, tt.errText)
				}
			}
		})
	}
	if st := s.Stats(); st.TokensIssued != 2 || st.ByEndpoint["POST /oauth/token"] != int64(len(tests)) {
		t.Errorf("stats %+v", st)
	}
}

func TestAPIAuth(t *testing.T) {
	s := start(t, Options{Seed: 1, TokenLifetime: 300 * time.Millisecond})
	c := newClient(t, s)
	if r := c.get("/users"); r.status != 200 {
		t.Fatalf("fresh token: %d %s", r.status, r.body)
	}
	bare := &client{t: t, s: s, hc: c.hc}
	wantErr(t, bare.get("/users"), 401, 124, "Invalid access token.")
	bare.token = "not-a-token"
	wantErr(t, bare.get("/users"), 401, 124, "Invalid access token.")
	time.Sleep(400 * time.Millisecond)
	wantErr(t, c.get("/users"), 401, 124, "Access token is expired.")
	c.token = c.grant()
	if r := c.get("/users"); r.status != 200 {
		t.Fatalf("new token: %d %s", r.status, r.body)
	}
}

func TestRevokeTokenAfter(t *testing.T) {
	s := start(t, Options{Seed: 1, RevokeTokenAfter: 2})
	c := newClient(t, s)
	for i := 0; i < 2; i++ {
		if r := c.get("/users"); r.status != 200 {
			t.Fatalf("request %d: %d", i, r.status)
		}
	}
	wantErr(t, c.get("/users"), 401, 124, "Invalid access token.")
	wantErr(t, c.get("/users"), 401, 124, "Invalid access token.")
	c.token = c.grant()
	for i := 0; i < 3; i++ {
		if r := c.get("/users"); r.status != 200 {
			t.Fatalf("after refresh %d: %d", i, r.status)
		}
	}
}

// ---------------------------------------------------------------- pagination

func TestPagination(t *testing.T) {
	s := start(t, Options{Seed: 7, Users: 650, MeetingsPerUser: -1, WebinarsPerUser: -1, PageTokenTTL: time.Second})
	c := newClient(t, s)

	// the whole listing equals Expected()
	all := c.pageAll("/users", "users", 1000)
	if got, want := canon(t, all), canon(t, s.Expected()["users"]); !reflect.DeepEqual(got, want) {
		t.Fatalf("paged users (%d) differ from Expected (%d)", len(got), len(want))
	}

	var p1 struct {
		PageSize     int               `json:"page_size"`
		TotalRecords int               `json:"total_records"`
		PageCount    int               `json:"page_count"`
		Next         string            `json:"next_page_token"`
		Users        []json.RawMessage `json:"users"`
	}
	c.mustJSON("/users?page_size=1000", &p1)
	if p1.PageSize != 300 || len(p1.Users) != 300 || p1.TotalRecords != 650 || p1.PageCount != 3 || p1.Next == "" {
		t.Fatalf("page 1: size %d len %d total %d count %d next %q", p1.PageSize, len(p1.Users), p1.TotalRecords, p1.PageCount, p1.Next)
	}
	var def struct {
		PageSize int               `json:"page_size"`
		Users    []json.RawMessage `json:"users"`
	}
	c.mustJSON("/users", &def)
	if def.PageSize != 30 || len(def.Users) != 30 {
		t.Fatalf("default page size %d len %d", def.PageSize, len(def.Users))
	}

	// a token is reusable until it expires, and only for its own listing
	r1 := c.get("/users?page_size=300&next_page_token=" + url.QueryEscape(p1.Next))
	r2 := c.get("/users?page_size=300&next_page_token=" + url.QueryEscape(p1.Next))
	if r1.status != 200 || !bytes.Equal(records(t, r1.body, "users")[0], records(t, r2.body, "users")[0]) {
		t.Fatalf("token reuse: %d %d", r1.status, r2.status)
	}
	uid := field[string](t, p1.Users[0], "id")
	wantErr(t, c.get("/users/"+uid+"/meetings?next_page_token="+url.QueryEscape(p1.Next)), 400, 300, "The next page token is invalid or expired.")
	wantErr(t, c.get("/users?next_page_token=bogus"), 400, 300, "The next page token is invalid or expired.")
	wantErr(t, c.get("/users?status=inactive&next_page_token="+url.QueryEscape(p1.Next)), 400, 300, "invalid or expired")

	time.Sleep(1100 * time.Millisecond)
	wantErr(t, c.get("/users?page_size=300&next_page_token="+url.QueryEscape(p1.Next)), 400, 300, "The next page token is invalid or expired.")
}

// ---------------------------------------------------------------- ids and UUIDs

func TestIDsRoundTrip(t *testing.T) {
	s := New(Options{Seed: 42, Users: 50, MeetingsPerUser: 30})
	for u := 0; u < 50; u++ {
		id := s.userID(u)
		if len(id) != 22 {
			t.Fatalf("user id %q", id)
		}
		if got, ok := s.lookupUser(id); !ok || got != u {
			t.Fatalf("user %d: %d %v", u, got, ok)
		}
		if got, ok := s.lookupUser(s.user(u).email); !ok || got != u {
			t.Fatalf("user email %d: %d %v", u, got, ok)
		}
	}
	lead, dbl, total := 0, 0, 0
	for _, kind := range []uint64{kMeeting, kWebinar} {
		for g := 0; g < 1500; g++ {
			id := s.numID(kind, g)
			if len(strconv.FormatInt(id, 10)) != 11 {
				t.Fatalf("id %d", id)
			}
			if back, ok := s.decodeNumID(kind, id); !ok || back != g {
				t.Fatalf("id %d → %d %v, want %d", id, back, ok, g)
			}
			for occ := 0; occ < 3; occ++ {
				u := s.uuid(kind, g, occ)
				total++
				if len(u) != 24 || !strings.HasSuffix(u, "==") {
					t.Fatalf("uuid %q", u)
				}
				switch {
				case strings.HasPrefix(u, "/"):
					lead++
				case strings.Contains(u, "//"):
					dbl++
				}
				k, gg, oo, ok := s.decodeUUID(u)
				if !ok || k != kind || gg != g || oo != occ {
					t.Fatalf("uuid %q → %d %d %d %v", u, k, gg, oo, ok)
				}
			}
		}
	}
	if f := float64(lead) / float64(total); f < 0.035 || f > 0.065 {
		t.Errorf("leading-slash fraction %.3f", f)
	}
	if f := float64(dbl) / float64(total); f < 0.035 || f > 0.065 {
		t.Errorf("double-slash fraction %.3f", f)
	}
	if _, _, _, ok := s.decodeUUID("aDYlohsHRtCd4ii1uC2+hA=="); ok {
		t.Error("foreign uuid decoded")
	}
}

func TestUUIDDoubleEncoding(t *testing.T) {
	s := start(t, Options{Seed: 3})
	c := newClient(t, s)
	var needs, plain []json.RawMessage
	for _, r := range s.Expected()["past_meeting_instances"] {
		if NeedsDoubleEncoding(field[string](t, r, "uuid")) {
			needs = append(needs, r)
		} else {
			plain = append(plain, r)
		}
	}
	if len(needs) == 0 || len(plain) == 0 {
		t.Fatalf("need both kinds of uuids: %d %d", len(needs), len(plain))
	}
	for _, r := range needs {
		u := field[string](t, r, "uuid")
		once, twice := url.PathEscape(u), url.PathEscape(url.PathEscape(u))
		t.Run(u, func(t *testing.T) {
			wantErr(t, c.get("/past_meetings/"+once+"/participants"), 404, 3001, "Meeting does not exist: "+u+".")
			if r := c.get("/past_meetings/" + twice + "/participants"); r.status != 200 {
				t.Fatalf("double-encoded: %d %s", r.status, r.body)
			}
			if r := c.get("/past_meetings/" + twice + "/polls"); r.status != 200 || field[string](t, r.body, "uuid") != u {
				t.Fatalf("double-encoded polls: %d %s", r.status, r.body)
			}
		})
	}
	u := field[string](t, plain[0], "uuid")
	for _, p := range []string{url.PathEscape(u), url.PathEscape(url.PathEscape(u))} {
		if r := c.get("/past_meetings/" + p + "/participants"); r.status != 200 {
			t.Fatalf("plain uuid %s: %d %s", p, r.status, r.body)
		}
	}
	// a meeting uuid is not a webinar uuid
	wantErr(t, c.get("/past_webinars/"+pathUUID(u)+"/qa"), 404, 3001, "Webinar does not exist")
}

// ---------------------------------------------------------------- edge cases

type fixture struct {
	noReg       mtg
	reg         mtg
	basic, zero string
	noReport    session
	wNoReport   session
	someUser    string
}

func findFixture(t testing.TB, s *Server) fixture {
	t.Helper()
	var f fixture
	var haveNoReg, haveReg, haveNR, haveWNR bool
	for _, kind := range []uint64{kMeeting, kWebinar} {
		for u := 0; u < s.nU; u++ {
			for i := 0; i < s.mtgCount(kind, u); i++ {
				m := s.mtg(kind, u*s.perUser(kind)+i)
				if kind == kMeeting && !m.reg && !haveNoReg {
					f.noReg, haveNoReg = m, true
				}
				if kind == kMeeting && m.reg && !haveReg {
					f.reg, haveReg = m, true
				}
				for k := 0; k < s.sessionCount(&m, int(s.added.Load())); k++ {
					ss := s.session(&m, k)
					mm := m
					ss.m = &mm
					if !ss.report && kind == kMeeting && !haveNR {
						f.noReport, haveNR = ss, true
					}
					if !ss.report && kind == kWebinar && !haveWNR {
						f.wNoReport, haveWNR = ss, true
					}
				}
			}
		}
	}
	if !haveNoReg || !haveReg || !haveNR || !haveWNR || s.basicUser < 0 || s.zeroUser < 0 {
		t.Fatalf("fixture incomplete: %v %v %v %v", haveNoReg, haveReg, haveNR, haveWNR)
	}
	f.basic, f.zero, f.someUser = s.userID(s.basicUser), s.userID(s.zeroUser), s.userID(0)
	return f
}

func TestEdgeCases(t *testing.T) {
	s := start(t, Options{Seed: 11})
	c := newClient(t, s)
	f := findFixture(t, s)
	noReg := strconv.FormatInt(f.noReg.id, 10)
	regID := strconv.FormatInt(f.reg.id, 10)
	today := s.Now().Format("2006-01-02")
	tests := []struct {
		name   string
		path   string
		status int
		code   int
		msg    string
	}{
		{"registrants not required", "/meetings/" + noReg + "/registrants", 400, 300, "This meeting has not set registration as required: " + noReg + "."},
		{"questions not required", "/meetings/" + noReg + "/registrants/questions", 400, 300, "This meeting has not set registration as required: " + noReg + "."},
		{"registrants ok", "/meetings/" + regID + "/registrants", 200, 0, ""},
		{"basic user webinars", "/users/" + f.basic + "/webinars", 400, 200, "Webinar plan is missing. You must subscribe to the webinar plan and enable webinar for this user in order to perform this action."},
		{"report never ran", "/report/meetings/" + pathUUID(f.noReport.uuid), 404, 3001, "not found or has expired"},
		{"report participants never ran", "/report/meetings/" + pathUUID(f.noReport.uuid) + "/participants", 404, 3001, "not found or has expired"},
		{"webinar report never ran", "/report/webinars/" + pathUUID(f.wNoReport.uuid), 404, 3001, "not found or has expired"},
		{"webinar report participants never ran", "/report/webinars/" + pathUUID(f.wNoReport.uuid) + "/participants", 404, 3001, "not found or has expired"},
		{"past participants of never-reported session", "/past_meetings/" + pathUUID(f.noReport.uuid) + "/participants", 200, 0, ""},
		{"unknown meeting", "/meetings/81234567890", 404, 3001, "Meeting does not exist: 81234567890."},
		{"webinar id on meeting endpoint", "/meetings/" + strconv.FormatInt(s.numID(kWebinar, 0), 10), 404, 3001, "Meeting does not exist"},
		{"unknown user", "/users/nobody/meetings", 404, 1001, "User nobody not exist or not belong to this account."},
		{"unknown uuid", "/past_meetings/" + url.PathEscape("aDYlohsHRtCd4ii1uC2+hA==") + "/participants", 404, 3001, "Meeting does not exist"},
		{"upcoming uuid is not a past session", "/past_meetings/" + pathUUID(s.uuid(kMeeting, f.reg.g, upcomingOcc)) + "/participants", 404, 3001, "Meeting does not exist"},
		{"report range over a month", "/report/users/" + f.someUser + "/meetings?from=2026-09-01&to=2026-10-15", 400, 300, "The date range must be within one month"},
		{"report older than 6 months", "/report/users/" + f.someUser + "/meetings?from=2026-05-01&to=2026-05-20", 400, 300, "Only provide report in recent 6 months"},
		{"report without dates", "/report/users/" + f.someUser + "/meetings", 400, 300, "required"},
		{"report ok", "/report/users/" + f.someUser + "/meetings?from=2026-11-01&to=" + today, 200, 0, ""},
		{"recordings ok", "/users/" + f.someUser + "/recordings?from=2026-11-01&to=" + today, 200, 0, ""},
		{"unknown route", "/nothing/here", 404, 404, "Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := c.get(tt.path)
			if tt.status == 200 {
				if r.status != 200 {
					t.Fatalf("%d %s", r.status, r.body)
				}
				return
			}
			wantErr(t, r, tt.status, tt.code, tt.msg)
		})
	}
	t.Run("user without meetings", func(t *testing.T) {
		recs := c.pageAll("/users/"+f.zero+"/meetings", "meetings", 300)
		if len(recs) != 0 {
			t.Fatalf("%d meetings", len(recs))
		}
	})
	t.Run("me and email", func(t *testing.T) {
		a := c.pageAll("/users/me/meetings", "meetings", 300)
		b := c.pageAll("/users/"+url.PathEscape(s.user(0).email)+"/meetings", "meetings", 300)
		if len(a) == 0 || !reflect.DeepEqual(canon(t, a), canon(t, b)) {
			t.Fatalf("me %d, email %d", len(a), len(b))
		}
	})
	t.Run("missing scope", func(t *testing.T) {
		s2 := start(t, Options{Seed: 11, MissingScope: "/report/"})
		c2 := newClient(t, s2)
		wantErr(t, c2.get("/report/meetings/"+pathUUID(f.reg.uuidFor(s2, 0))), 400, 4711, "Invalid access token, does not contain scopes:[report:read:admin].")
		if r := c2.get("/users"); r.status != 200 {
			t.Fatalf("users: %d", r.status)
		}
	})
	t.Run("recordings range is cut to one month", func(t *testing.T) {
		var body struct {
			From, To string
			Meetings []json.RawMessage
		}
		c.mustJSON("/users/"+f.someUser+"/recordings?from=2026-06-01&to=2026-11-30&page_size=300", &body)
		if body.From != "2026-10-30" || body.To != "2026-11-30" {
			t.Fatalf("from %s to %s", body.From, body.To)
		}
		for _, m := range body.Meetings {
			if st := field[string](t, m, "start_time"); st < "2026-10-30" {
				t.Fatalf("recording outside the window: %s", st)
			}
		}
	})
	t.Run("report respects from/to", func(t *testing.T) {
		recs := c.pageAll("/report/users/"+f.someUser+"/meetings?from=2026-08-01&to=2026-08-31", "meetings", 2)
		for _, m := range recs {
			st := field[string](t, m, "start_time")
			if st < "2026-08-01T00:00:00Z" || st > "2026-08-31T23:59:59Z" {
				t.Fatalf("start_time %s outside range", st)
			}
		}
	})
}

func (m mtg) uuidFor(s *Server, k int) string { return s.uuid(m.kind, m.g, k) }

// ---------------------------------------------------------------- rate limits

func TestPerSecondRateLimit(t *testing.T) {
	s := start(t, Options{Seed: 1, RateLimits: map[string]int{"Light": 5, "Medium": 100}})
	c := newClient(t, s)
	id := strconv.FormatInt(s.numID(kMeeting, 0), 10)
	results := make([]result, 12)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = c.get("/meetings/" + id)
		}()
	}
	wg.Wait()
	okN, limited := 0, 0
	for _, r := range results {
		switch r.status {
		case 200:
			okN++
		case 429:
			limited++
			wantErr(t, r, 429, 429, "You have reached the maximum per-second rate limit for this API. Try again later.")
			if r.hdr.Get("X-RateLimit-Category") != "Light" || r.hdr.Get("X-RateLimit-Type") != "QPS" || r.hdr.Get("Retry-After") != "" {
				t.Errorf("headers %v", r.hdr)
			}
		default:
			t.Fatalf("status %d", r.status)
		}
	}
	if okN != 5 || limited != 7 {
		t.Fatalf("ok %d limited %d, want 5 and 7", okN, limited)
	}
	// Medium is a different bucket
	if r := c.get("/users"); r.status != 200 {
		t.Fatalf("medium: %d", r.status)
	}
	time.Sleep(1100 * time.Millisecond)
	if r := c.get("/meetings/" + id); r.status != 200 {
		t.Fatalf("after a second: %d", r.status)
	}
	if st := s.Stats(); st.RateLimited != 7 || st.ByEndpointStatus["GET /meetings/{meetingId}"][429] != 7 {
		t.Errorf("stats: %+v", st)
	}
}

func TestDailyHeavyCap(t *testing.T) {
	s := start(t, Options{Seed: 1, DailyHeavyCap: 3})
	c := newClient(t, s)
	f := findFixture(t, s)
	p := "/report/users/" + f.someUser + "/meetings?from=2026-11-01&to=2026-11-30"
	for i := 0; i < 3; i++ {
		r := c.get(p)
		if r.status != 200 {
			t.Fatalf("heavy %d: %d %s", i, r.status, r.body)
		}
		if r.hdr.Get("X-RateLimit-Remaining") != strconv.Itoa(2-i) {
			t.Errorf("remaining %q", r.hdr.Get("X-RateLimit-Remaining"))
		}
	}
	r := c.get(p)
	wantErr(t, r, 429, 429, "You have reached the maximum daily rate limit for this API. Refer to the response header for details on when you can make another request.")
	if r.hdr.Get("X-RateLimit-Type") != "Daily-limit" || r.hdr.Get("X-RateLimit-Category") != "Heavy" || r.hdr.Get("X-RateLimit-Remaining") != "0" || r.hdr.Get("X-RateLimit-Limit") != "3" {
		t.Errorf("headers %v", r.hdr)
	}
	ra, err := time.Parse(time.RFC3339, r.hdr.Get("Retry-After"))
	if err != nil || !ra.Equal(dayStart(time.Now()).Add(24*time.Hour)) {
		t.Errorf("Retry-After %q: %v", r.hdr.Get("Retry-After"), err)
	}
	if r := c.get("/users"); r.status != 200 {
		t.Fatalf("medium after cap: %d", r.status)
	}
	if st := s.Stats(); st.DailyLimited != 1 {
		t.Errorf("daily limited %d", st.DailyLimited)
	}
}

// ---------------------------------------------------------------- faults

func TestFaults(t *testing.T) {
	t.Run("error rate", func(t *testing.T) {
		s := start(t, Options{Seed: 5, ErrorRate: 1})
		c := newClient(t, s)
		html, js := 0, 0
		for i := 0; i < 40; i++ {
			r := c.get("/users")
			if r.status < 500 || r.status > 503 {
				t.Fatalf("status %d", r.status)
			}
			if strings.HasPrefix(r.hdr.Get("Content-Type"), "text/html") && bytes.Contains(r.body, []byte("<html>")) {
				html++
			} else if json.Valid(r.body) {
				js++
			}
		}
		if html == 0 || js == 0 {
			t.Fatalf("html %d json %d", html, js)
		}
		if st := s.Stats(); st.InjectedErrors != 40 {
			t.Errorf("injected %d", st.InjectedErrors)
		}
	})
	t.Run("reset", func(t *testing.T) {
		s := start(t, Options{Seed: 5, ResetRate: 1})
		c := newClient(t, s) // the token endpoint is never faulted
		r := c.get("/users")
		if r.err == nil {
			t.Fatalf("want a connection error, got %d", r.status)
		}
		t.Logf("client error: %v", r.err)
	})
	t.Run("truncate", func(t *testing.T) {
		s := start(t, Options{Seed: 5, TruncateRate: 1})
		c := newClient(t, s)
		r := c.get("/users")
		if r.err == nil || r.status != 200 {
			t.Fatalf("want 200 with a read error, got %d %v", r.status, r.err)
		}
		if !errors.Is(r.err, io.ErrUnexpectedEOF) {
			t.Logf("read error: %v", r.err)
		}
	})
	t.Run("hang first", func(t *testing.T) {
		s := start(t, Options{Seed: 5, HangFirst: 1})
		c := newClient(t, s)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.APIBaseURL()+"/users", nil)
		req.Header.Set("Authorization", "Bearer "+c.token)
		t0 := time.Now()
		_, err := c.hc.Do(req)
		if err == nil || time.Since(t0) < 150*time.Millisecond {
			t.Fatalf("want a timeout, got %v after %v", err, time.Since(t0))
		}
		if r := c.get("/users"); r.status != 200 {
			t.Fatalf("second request: %d", r.status)
		}
	})
	t.Run("latency", func(t *testing.T) {
		s := start(t, Options{Seed: 5, Latency: 60 * time.Millisecond})
		c := newClient(t, s)
		t0 := time.Now()
		if r := c.get("/users"); r.status != 200 || time.Since(t0) < 60*time.Millisecond {
			t.Fatalf("%d after %v", r.status, time.Since(t0))
		}
	})
}

// ---------------------------------------------------------------- data

func TestDeterminism(t *testing.T) {
	a := New(Options{Seed: 99}).Expected()
	b := New(Options{Seed: 99}).Expected()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different Expected()")
	}
	c := New(Options{Seed: 100}).Expected()
	if reflect.DeepEqual(a["users"], c["users"]) {
		t.Fatal("different seeds, same users")
	}
	for _, n := range Streams() {
		if len(a[n]) == 0 {
			t.Errorf("stream %s has no records with the default sizes", n)
		}
	}
}

var primaryKeys = map[string][]string{
	"users": {"id"}, "meetings": {"id"}, "meeting_registrants": {"meeting_id", "id"}, "meeting_polls": {"meeting_id", "id"},
	"meeting_registration_questions": {"meeting_id"}, "past_meeting_instances": {"uuid"}, "report_meetings": {"uuid"},
	"report_meeting_participants": {"meeting_uuid", "user_id", "join_time"}, "past_meeting_participants": {"meeting_uuid", "id", "name", "join_time"},
	"meeting_poll_results": {"meeting_uuid", "email", "name"}, "webinars": {"id"}, "webinar_panelists": {"webinar_id", "id"},
	"webinar_registrants": {"webinar_id", "id"}, "webinar_polls": {"webinar_id", "id"}, "webinar_registration_questions": {"webinar_id"},
	"webinar_tracking_sources": {"webinar_id", "id"}, "webinar_absentees": {"webinar_uuid", "id"}, "webinar_poll_results": {"webinar_uuid", "email", "name"},
	"webinar_qna_results": {"webinar_uuid", "email", "name"}, "report_webinars": {"uuid"}, "report_webinar_participants": {"webinar_uuid", "user_id", "join_time"},
	"report_user_meetings": {"uuid"}, "recordings": {"uuid"},
}

func TestPrimaryKeysUnique(t *testing.T) {
	s := New(Options{Seed: 4, ParticipantsPerSession: 12})
	s.AddSessions(2)
	exp := s.Expected()
	if len(primaryKeys) != len(Streams()) {
		t.Fatalf("keys for %d streams, %d streams", len(primaryKeys), len(Streams()))
	}
	for stream, pk := range primaryKeys {
		seen := map[string]bool{}
		for _, r := range exp[stream] {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(r, &m); err != nil {
				t.Fatal(err)
			}
			var parts []string
			for _, k := range pk {
				v, ok := m[k]
				if !ok {
					t.Fatalf("%s: record lacks key field %s: %s", stream, k, r)
				}
				parts = append(parts, string(v))
			}
			key := strings.Join(parts, "|")
			if seen[key] {
				t.Fatalf("%s: duplicate primary key %s", stream, key)
			}
			seen[key] = true
		}
	}
}

// syncAll walks the API like the connector (full refresh of every stream)
// and returns the records it would emit.
func syncAll(t *testing.T, c *client) map[string][]json.RawMessage {
	out := map[string][]json.RawMessage{}
	for _, n := range Streams() {
		out[n] = []json.RawMessage{}
	}
	add := func(stream string, recs []json.RawMessage, kv ...any) {
		for _, r := range recs {
			out[stream] = append(out[stream], withFields(t, r, kv...))
		}
	}
	body := func(path string) (json.RawMessage, int) {
		r := c.get(path)
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r.body, r.status
	}
	const ps = 7 // small pages exercise next_page_token
	users := c.pageAll("/users", "users", ps)
	add("users", users)
	now := c.s.Now()
	for _, u := range users {
		uid := field[string](t, u, "id")
		for from := dayStart(now.AddDate(0, -6, 0)); !from.After(now); from = from.AddDate(0, 0, 30) {
			to := from.AddDate(0, 0, 29)
			q := "?from=" + from.Format("2006-01-02") + "&to=" + to.Format("2006-01-02")
			add("report_user_meetings", c.pageAll("/report/users/"+uid+"/meetings"+q, "meetings", ps), "user_id", uid)
			add("recordings", c.pageAll("/users/"+uid+"/recordings"+q, "meetings", ps), "user_id", uid)
		}
		for _, m := range c.pageAll("/users/"+uid+"/meetings", "meetings", ps) {
			id := field[json.Number](t, m, "id")
			p := "/meetings/" + id.String()
			b, st := body(p)
			if st != 200 {
				t.Fatalf("%s: %d", p, st)
			}
			add("meetings", []json.RawMessage{b})
			if b, st := body(p + "/registrants?page_size=1"); st == 200 {
				add("meeting_registrants", c.pageAll(p+"/registrants", "registrants", ps), "meeting_id", id)
				_ = b
			}
			if b, st := body(p + "/registrants/questions"); st == 200 {
				add("meeting_registration_questions", []json.RawMessage{b}, "meeting_id", id)
			}
			b, _ = body(p + "/polls")
			add("meeting_polls", records(t, b, "polls"), "meeting_id", id)
			b, _ = body("/past_meetings/" + id.String() + "/instances")
			for _, inst := range records(t, b, "meetings") {
				add("past_meeting_instances", []json.RawMessage{inst}, "meeting_id", id)
				u := field[string](t, inst, "uuid")
				start := field[string](t, inst, "start_time")
				e := pathUUID(u)
				parent := []any{"meeting_id", id, "meeting_uuid", u, "meeting_start_time", start}
				if b, st := body("/report/meetings/" + e); st == 200 {
					add("report_meetings", []json.RawMessage{b}, "meeting_uuid", u)
					add("report_meeting_participants", c.pageAll("/report/meetings/"+e+"/participants", "participants", ps), parent...)
				} else if st != 404 {
					t.Fatalf("report %s: %d", u, st)
				}
				add("past_meeting_participants", c.pageAll("/past_meetings/"+e+"/participants", "participants", ps), parent...)
				b, _ := body("/past_meetings/" + e + "/polls")
				add("meeting_poll_results", records(t, b, "questions"), parent...)
			}
		}
		r := c.get("/users/" + uid + "/webinars")
		if r.status == 400 {
			continue
		}
		for _, w := range c.pageAll("/users/"+uid+"/webinars", "webinars", ps) {
			id := field[json.Number](t, w, "id")
			ids := id.String()
			p := "/webinars/" + ids
			b, _ := body(p)
			add("webinars", []json.RawMessage{b})
			b, _ = body(p + "/panelists")
			add("webinar_panelists", records(t, b, "panelists"), "webinar_id", id)
			add("webinar_registrants", c.pageAll(p+"/registrants", "registrants", ps), "webinar_id", ids)
			b, _ = body(p + "/polls")
			add("webinar_polls", records(t, b, "polls"), "webinar_id", ids)
			b, _ = body(p + "/registrants/questions")
			add("webinar_registration_questions", []json.RawMessage{b}, "webinar_id", ids)
			b, _ = body(p + "/tracking_sources")
			add("webinar_tracking_sources", records(t, b, "tracking_sources"), "webinar_id", ids)
			b, _ = body("/past_webinars/" + ids + "/instances")
			for _, inst := range records(t, b, "webinars") {
				u := field[string](t, inst, "uuid")
				start := field[string](t, inst, "start_time")
				e := pathUUID(u)
				parent := []any{"webinar_uuid", u, "webinar_start_time", start}
				add("webinar_absentees", c.pageAll("/past_webinars/"+e+"/absentees", "registrants", ps), parent...)
				b, _ := body("/past_webinars/" + e + "/polls")
				add("webinar_poll_results", records(t, b, "questions"), parent...)
				b, _ = body("/past_webinars/" + e + "/qa")
				add("webinar_qna_results", records(t, b, "questions"), parent...)
				if b, st := body("/report/webinars/" + e); st == 200 {
					add("report_webinars", []json.RawMessage{b}, "webinar_uuid", u)
					add("report_webinar_participants", c.pageAll("/report/webinars/"+e+"/participants", "participants", ps), parent...)
				}
			}
		}
	}
	return out
}

func TestExpectedMatchesAPI(t *testing.T) {
	s := start(t, Options{Seed: 21, Users: 6, RegistrantsPerMeeting: 9, ParticipantsPerSession: 10})
	c := newClient(t, s)
	got := syncAll(t, c)
	exp := s.Expected()
	for _, n := range Streams() {
		g, e := canon(t, got[n]), canon(t, exp[n])
		if len(e) == 0 {
			t.Errorf("%s: no expected records", n)
		}
		if !reflect.DeepEqual(g, e) {
			t.Errorf("%s: API gave %d records, Expected() %d", n, len(g), len(e))
			for i := 0; i < len(g) && i < len(e); i++ {
				if g[i] != e[i] {
					t.Logf("first difference:\n api: %s\n exp: %s", g[i], e[i])
					break
				}
			}
		}
	}
	st := s.Stats()
	if st.APIRequests == 0 || st.ByEndpoint["GET /users"] == 0 || st.ByEndpoint["GET /past_meetings/{meetingId}/participants"] == 0 || st.MaxConcurrent < 1 {
		t.Errorf("stats %+v", st)
	}
	s.ResetStats()
	if st := s.Stats(); st.APIRequests != 0 || len(st.ByEndpoint) != 0 {
		t.Errorf("after reset %+v", st)
	}
}

func TestAddSessions(t *testing.T) {
	s := start(t, Options{Seed: 8, Users: 5})
	c := newClient(t, s)
	before := s.Expected()
	latest := map[string]string{} // meeting id → latest start
	for _, r := range before["past_meeting_instances"] {
		id := field[json.Number](t, r, "meeting_id").String()
		if st := field[string](t, r, "start_time"); st > latest[id] {
			latest[id] = st
		}
	}
	s.AddSessions(2)
	after := s.Expected()
	now := s.Now().Format("2006-01-02T15:04:05Z")
	for _, n := range Streams() {
		if len(after[n]) < len(before[n]) {
			t.Errorf("%s shrank", n)
		}
	}
	old := map[string]bool{}
	for _, r := range canon(t, before["past_meeting_instances"]) {
		old[r] = true
	}
	newCount := 0
	for i, r := range canon(t, after["past_meeting_instances"]) {
		if old[r] {
			continue
		}
		newCount++
		rec := json.RawMessage(r)
		id := field[json.Number](t, rec, "meeting_id").String()
		st := field[string](t, rec, "start_time")
		if st <= latest[id] || st > now {
			t.Errorf("new session %d of %s starts %s (latest before %s, now %s)", i, id, st, latest[id], now)
		}
	}
	if newCount != 2*len(latest) {
		t.Fatalf("%d new sessions for %d meetings", newCount, len(latest))
	}
	for _, n := range []string{"report_meetings", "past_meeting_participants", "webinar_absentees", "report_webinars", "webinar_qna_results"} {
		if len(after[n]) <= len(before[n]) {
			t.Errorf("%s: no new records", n)
		}
	}
	// the API shows them too
	id := strconv.FormatInt(s.numID(kMeeting, 0), 10)
	var inst struct{ Meetings []json.RawMessage }
	c.mustJSON("/past_meetings/"+id+"/instances", &inst)
	m := s.mtg(kMeeting, 0)
	if len(inst.Meetings) != m.base+2 {
		t.Fatalf("instances %d, want %d", len(inst.Meetings), m.base+2)
	}
	// a second batch comes after the first
	s.AddSessions(1)
	var inst2 struct{ Meetings []json.RawMessage }
	c.mustJSON("/past_meetings/"+id+"/instances", &inst2)
	last := field[string](t, inst2.Meetings[len(inst2.Meetings)-1], "start_time")
	prev := field[string](t, inst2.Meetings[len(inst2.Meetings)-2], "start_time")
	if !(last > prev) || last > now {
		t.Fatalf("third added session %s after %s, now %s", last, prev, now)
	}
}

func TestConcurrentUse(t *testing.T) {
	s := start(t, Options{Seed: 2, Latency: 5 * time.Millisecond})
	c := newClient(t, s)
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%4 == 0 {
				s.AddSessions(1)
			}
			_ = s.Stats()
			c.pageAll("/users", "users", 3)
		}()
	}
	wg.Wait()
	if st := s.Stats(); st.MaxConcurrent < 2 {
		t.Errorf("max concurrent %d", st.MaxConcurrent)
	}
}

func TestUnicodeAndEscaping(t *testing.T) {
	got := appendJSONString(nil, "José \"Müller\" 🎉 \\ \n\t\x01 会議 \xff")
	var back string
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatalf("%s: %v", got, err)
	}
	if back != "José \"Müller\" 🎉 \\ \n\t\x01 会議 \ufffd" {
		t.Fatalf("round trip %q", back)
	}
	exp := New(Options{Seed: 1}).Expected()
	var all strings.Builder
	for n, recs := range exp {
		for _, r := range recs {
			if !json.Valid(r) {
				t.Fatalf("%s: invalid JSON %s", n, r)
			}
			all.Write(r)
		}
	}
	for _, want := range []string{"🎉", "会議", "é", `\"`} {
		if !strings.Contains(all.String(), want) {
			t.Errorf("no %q in the data", want)
		}
	}
}

func BenchmarkUsersPage300(b *testing.B) {
	s := New(Options{Seed: 1, Users: 2000})
	c := &apiReq{q: url.Values{"page_size": {"300"}}}
	b.ReportAllocs()
	for b.Loop() {
		rs := s.hUsers(c)
		if rs.status != 200 {
			b.Fatal(rs.status)
		}
		b.SetBytes(int64(len(rs.body)))
	}
}

func BenchmarkReportParticipantsPage300(b *testing.B) {
	s := New(Options{Seed: 1, Users: 2000, ParticipantsPerSession: 300})
	u := s.uuid(kMeeting, 0, 0)
	c := &apiReq{q: url.Values{"page_size": {"300"}}, args: []string{pathUUID(u)}}
	h := s.hPastParticipants
	b.ReportAllocs()
	for b.Loop() {
		rs := h(c)
		if rs.status != 200 {
			b.Fatal(rs.status, string(rs.body))
		}
		b.SetBytes(int64(len(rs.body)))
	}
}
