package fakezoom

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

type apiReq struct {
	r     *http.Request
	q     url.Values
	args  []string // raw (still escaped) path parameters
	added int
}

type route struct {
	tmpl   string
	cat    string
	fn     func(*apiReq) resp
	args   []string
	status int // for unmatched routes: 404 or 405
}

// route matches an escaped API path (without /v2).
func (s *Server) route(method, path string) route {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	n := len(segs)
	at := func(i int, lit string) bool { return i < n && segs[i] == lit }
	type cand struct {
		tmpl string
		cat  string
		fn   func(*apiReq) resp
		args []string
	}
	var c *cand
	set := func(t, cat string, fn func(*apiReq) resp, args ...string) { c = &cand{t, cat, fn, args} }
	switch {
	case n == 1 && at(0, "users"):
		set("/users", catMedium, s.hUsers)
	case n == 3 && at(0, "users") && at(2, "meetings"):
		set("/users/{userId}/meetings", catMedium, s.hUserMtgs(kMeeting), segs[1])
	case n == 3 && at(0, "users") && at(2, "webinars"):
		set("/users/{userId}/webinars", catMedium, s.hUserMtgs(kWebinar), segs[1])
	case n == 3 && at(0, "users") && at(2, "recordings"):
		set("/users/{userId}/recordings", catMedium, s.hRecordings, segs[1])
	case n == 2 && at(0, "meetings"):
		set("/meetings/{meetingId}", catLight, s.hMtgDetail(kMeeting), segs[1])
	case n == 3 && at(0, "meetings") && at(2, "registrants"):
		set("/meetings/{meetingId}/registrants", catMedium, s.hRegistrants(kMeeting), segs[1])
	case n == 3 && at(0, "meetings") && at(2, "polls"):
		set("/meetings/{meetingId}/polls", catLight, s.hPolls(kMeeting), segs[1])
	case n == 4 && at(0, "meetings") && at(2, "registrants") && at(3, "questions"):
		set("/meetings/{meetingId}/registrants/questions", catLight, s.hRegQuestions(kMeeting), segs[1])
	case n == 3 && at(0, "past_meetings") && at(2, "instances"):
		set("/past_meetings/{meetingId}/instances", catMedium, s.hInstances(kMeeting), segs[1])
	case n == 3 && at(0, "past_meetings") && at(2, "participants"):
		set("/past_meetings/{meetingId}/participants", catMedium, s.hPastParticipants, segs[1])
	case n == 3 && at(0, "past_meetings") && at(2, "polls"):
		set("/past_meetings/{meetingId}/polls", catMedium, s.hPastPolls(kMeeting), segs[1])
	case n == 3 && at(0, "report") && at(1, "meetings"):
		set("/report/meetings/{meetingId}", catHeavy, s.hReport(kMeeting), segs[2])
	case n == 4 && at(0, "report") && at(1, "meetings") && at(3, "participants"):
		set("/report/meetings/{meetingId}/participants", catHeavy, s.hReportParticipants(kMeeting), segs[2])
	case n == 3 && at(0, "report") && at(1, "webinars"):
		set("/report/webinars/{webinarId}", catHeavy, s.hReport(kWebinar), segs[2])
	case n == 4 && at(0, "report") && at(1, "webinars") && at(3, "participants"):
		set("/report/webinars/{webinarId}/participants", catHeavy, s.hReportParticipants(kWebinar), segs[2])
	case n == 4 && at(0, "report") && at(1, "users") && at(3, "meetings"):
		set("/report/users/{userId}/meetings", catHeavy, s.hUserReport, segs[2])
	case n == 2 && at(0, "webinars"):
		set("/webinars/{webinarId}", catLight, s.hMtgDetail(kWebinar), segs[1])
	case n == 3 && at(0, "webinars") && at(2, "panelists"):
		set("/webinars/{webinarId}/panelists", catMedium, s.hPanelists, segs[1])
	case n == 3 && at(0, "webinars") && at(2, "registrants"):
		set("/webinars/{webinarId}/registrants", catMedium, s.hRegistrants(kWebinar), segs[1])
	case n == 3 && at(0, "webinars") && at(2, "polls"):
		set("/webinars/{webinarId}/polls", catLight, s.hPolls(kWebinar), segs[1])
	case n == 4 && at(0, "webinars") && at(2, "registrants") && at(3, "questions"):
		set("/webinars/{webinarId}/registrants/questions", catLight, s.hRegQuestions(kWebinar), segs[1])
	case n == 3 && at(0, "webinars") && at(2, "tracking_sources"):
		set("/webinars/{webinarId}/tracking_sources", catLight, s.hTracking, segs[1])
	case n == 3 && at(0, "past_webinars") && at(2, "instances"):
		set("/past_webinars/{webinarId}/instances", catMedium, s.hInstances(kWebinar), segs[1])
	case n == 3 && at(0, "past_webinars") && at(2, "absentees"):
		set("/past_webinars/{WebinarUUID}/absentees", catMedium, s.hAbsentees, segs[1])
	case n == 3 && at(0, "past_webinars") && at(2, "polls"):
		set("/past_webinars/{webinarId}/polls", catMedium, s.hPastPolls(kWebinar), segs[1])
	case n == 3 && at(0, "past_webinars") && at(2, "qa"):
		set("/past_webinars/{webinarId}/qa", catMedium, s.hQA, segs[1])
	}
	if c == nil {
		return route{tmpl: method + " (unknown)", status: http.StatusNotFound}
	}
	for _, a := range c.args {
		if a == "" {
			return route{tmpl: method + " (unknown)", status: http.StatusNotFound}
		}
	}
	if method != http.MethodGet {
		return route{tmpl: method + " " + c.tmpl, status: http.StatusMethodNotAllowed}
	}
	return route{tmpl: "GET " + c.tmpl, cat: c.cat, fn: c.fn, args: c.args}
}

// ---------------------------------------------------------------- pagination

func pageSize(q url.Values) int {
	ps, err := strconv.Atoi(q.Get("page_size"))
	if err != nil || ps <= 0 {
		return 30
	}
	if ps > 300 {
		return 300
	}
	return ps
}

var errBadPageToken = errResp(http.StatusBadRequest, 300, "The next page token is invalid or expired.")

// page serves one page of l. key identifies the listing (a token issued for
// one listing is invalid for another). extra writes fields before the records.
func (s *Server) page(a *apiReq, key, recordsKey string, l listing, extra func(*jw)) resp {
	ps := pageSize(a.q)
	off := 0
	now := time.Now()
	if tok := a.q.Get("next_page_token"); tok != "" {
		s.pmu.Lock()
		st, ok := s.pages[tok]
		if ok && !now.Before(st.expires) {
			delete(s.pages, tok)
			ok = false
		}
		s.pmu.Unlock()
		if !ok || st.key != key {
			return errBadPageToken
		}
		off = st.offset
	}
	end := off + ps
	if end > l.n {
		end = l.n
	}
	if off > end {
		off = end
	}
	next := ""
	if end < l.n {
		next = randToken(26)
		s.pmu.Lock()
		s.pages[next] = pageState{key: key, offset: end, expires: now.Add(s.o.PageTokenTTL)}
		s.pageMade++
		if s.pageMade%1024 == 0 {
			for t, st := range s.pages {
				if !now.Before(st.expires) {
					delete(s.pages, t)
				}
			}
		}
		s.pmu.Unlock()
	}
	pageCount := 0
	if l.n > 0 {
		pageCount = (l.n + ps - 1) / ps
	}
	j := jw{b: make([]byte, 0, 256+(end-off)*1024)}
	j.open()
	if extra != nil {
		extra(&j)
	}
	j.int("page_count", pageCount)
	j.int("page_size", ps)
	j.int("total_records", l.n)
	j.str("next_page_token", next)
	j.arr(recordsKey)
	for i := off; i < end; i++ {
		j.sep()
		j.b = l.item(j.b, i)
		j.need = true
	}
	j.closeArr()
	j.close()
	return resp{status: http.StatusOK, body: j.b}
}

func whole(key string, items [][]byte, total bool) resp {
	j := jw{}
	j.open()
	if total {
		j.int("total_records", len(items))
	}
	j.arr(key)
	for _, it := range items {
		j.elemRaw(it)
	}
	j.closeArr()
	j.close()
	return resp{status: http.StatusOK, body: j.b}
}

func listItems(l listing) [][]byte {
	out := make([][]byte, l.n)
	for i := range out {
		out[i] = l.item(nil, i)
	}
	return out
}

func ok(b []byte) resp { return resp{status: http.StatusOK, body: b} }

// ---------------------------------------------------------------- path parameters

func kindWord(kind uint64) string {
	if kind == kWebinar {
		return "Webinar"
	}
	return "Meeting"
}

func notExist(kind uint64, v string) resp {
	return errResp(http.StatusNotFound, 3001, kindWord(kind)+" does not exist: "+v+".")
}

func (s *Server) userArg(a *apiReq) (int, string, *resp) {
	v, err := url.PathUnescape(a.args[0])
	if err != nil {
		v = a.args[0]
	}
	u, found := s.lookupUser(v)
	if !found {
		rs := errResp(http.StatusNotFound, 1001, "User "+v+" not exist or not belong to this account.")
		return 0, v, &rs
	}
	return u, v, nil
}

// mtgArg resolves a numeric meeting/webinar id.
func (s *Server) mtgArg(kind uint64, a *apiReq) (mtg, string, *resp) {
	v, err := url.PathUnescape(a.args[0])
	if err != nil {
		v = a.args[0]
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err == nil {
		if g, found := s.decodeNumID(kind, id); found && s.validMtg(kind, g) {
			return s.mtg(kind, g), v, nil
		}
	}
	rs := notExist(kind, v)
	return mtg{}, v, &rs
}

// sessionArg resolves a past session from a UUID (or a numeric id: the latest
// session). Zoom decodes the path segment once; a UUID that begins with "/"
// or contains "//" must have been encoded twice.
func (s *Server) sessionArg(kind uint64, a *apiReq) (*session, string, *resp) {
	raw := a.args[0]
	v, err := url.PathUnescape(raw)
	if err != nil {
		rs := notExist(kind, raw)
		return nil, raw, &rs
	}
	if strings.Contains(v, "%") {
		v2, err := url.PathUnescape(v)
		if err != nil {
			rs := notExist(kind, v)
			return nil, v, &rs
		}
		v = v2
	} else if NeedsDoubleEncoding(v) {
		rs := notExist(kind, v)
		return nil, v, &rs
	}
	if id, err := strconv.ParseInt(v, 10, 64); err == nil {
		g, found := s.decodeNumID(kind, id)
		if found && s.validMtg(kind, g) {
			m := s.mtg(kind, g)
			if n := s.sessionCount(&m, a.added); n > 0 {
				ss := s.session(&m, n-1)
				return &ss, v, nil
			}
		}
		rs := notExist(kind, v)
		return nil, v, &rs
	}
	k, g, occ, found := s.decodeUUID(v)
	if found && k == kind && s.validMtg(kind, g) {
		m := s.mtg(kind, g)
		if occ < s.sessionCount(&m, a.added) {
			ss := s.session(&m, occ)
			return &ss, v, nil
		}
	}
	rs := notExist(kind, v)
	return nil, v, &rs
}

// ---------------------------------------------------------------- handlers

func (s *Server) hUsers(a *apiReq) resp {
	status := a.q.Get("status")
	if status == "" {
		status = "active"
	}
	l := s.lsUsers()
	if status != "active" {
		l = listing{}
	}
	return s.page(a, "users|"+status, "users", l, nil)
}

func (s *Server) hUserMtgs(kind uint64) func(*apiReq) resp {
	return func(a *apiReq) resp {
		u, _, rs := s.userArg(a)
		if rs != nil {
			return *rs
		}
		if kind == kWebinar && u == s.basicUser {
			return errResp(http.StatusBadRequest, 200, "Webinar plan is missing. You must subscribe to the webinar plan and enable webinar for this user in order to perform this action.")
		}
		key := "webinars"
		if kind == kMeeting {
			key = "meetings"
		}
		return s.page(a, key+"|"+strconv.Itoa(u), key, s.lsUserMtgs(kind, u), nil)
	}
}

func (s *Server) hMtgDetail(kind uint64) func(*apiReq) resp {
	return func(a *apiReq) resp {
		m, _, rs := s.mtgArg(kind, a)
		if rs != nil {
			return *rs
		}
		if kind == kWebinar {
			return ok(s.renderWebinar(nil, &m))
		}
		return ok(s.renderMeeting(nil, &m))
	}
}

func notRegistration(kind uint64, v string) resp {
	return errResp(http.StatusBadRequest, 300, "This "+strings.ToLower(kindWord(kind))+" has not set registration as required: "+v+".")
}

func (s *Server) hRegistrants(kind uint64) func(*apiReq) resp {
	return func(a *apiReq) resp {
		m, v, rs := s.mtgArg(kind, a)
		if rs != nil {
			return *rs
		}
		if !m.reg {
			return notRegistration(kind, v)
		}
		return s.page(a, "reg|"+strconv.FormatInt(m.id, 10), "registrants", s.lsRegistrants(&m), nil)
	}
}

func (s *Server) hRegQuestions(kind uint64) func(*apiReq) resp {
	return func(a *apiReq) resp {
		m, v, rs := s.mtgArg(kind, a)
		if rs != nil {
			return *rs
		}
		if !m.reg {
			return notRegistration(kind, v)
		}
		return ok(s.renderRegQuestions(nil, &m))
	}
}

func (s *Server) hPolls(kind uint64) func(*apiReq) resp {
	return func(a *apiReq) resp {
		m, _, rs := s.mtgArg(kind, a)
		if rs != nil {
			return *rs
		}
		return whole("polls", s.pollItems(&m), true)
	}
}

func (s *Server) hPanelists(a *apiReq) resp {
	m, _, rs := s.mtgArg(kWebinar, a)
	if rs != nil {
		return *rs
	}
	return whole("panelists", listItems(s.lsPanelists(&m)), true)
}

func (s *Server) hTracking(a *apiReq) resp {
	m, _, rs := s.mtgArg(kWebinar, a)
	if rs != nil {
		return *rs
	}
	return whole("tracking_sources", listItems(s.lsTracking(&m)), true)
}

func (s *Server) hInstances(kind uint64) func(*apiReq) resp {
	return func(a *apiReq) resp {
		m, _, rs := s.mtgArg(kind, a)
		if rs != nil {
			return *rs
		}
		key := "meetings"
		if kind == kWebinar {
			key = "webinars"
		}
		return whole(key, s.instanceItems(&m, a.added), false)
	}
}

func (s *Server) hPastParticipants(a *apiReq) resp {
	ss, _, rs := s.sessionArg(kMeeting, a)
	if rs != nil {
		return *rs
	}
	return s.page(a, "pp|"+ss.uuid, "participants", s.lsPastParticipants(ss), nil)
}

func (s *Server) hPastPolls(kind uint64) func(*apiReq) resp {
	return func(a *apiReq) resp {
		ss, _, rs := s.sessionArg(kind, a)
		if rs != nil {
			return *rs
		}
		return ok(renderSessionBody(ss, "questions", s.pollResultItems(ss)))
	}
}

func (s *Server) hQA(a *apiReq) resp {
	ss, _, rs := s.sessionArg(kWebinar, a)
	if rs != nil {
		return *rs
	}
	return ok(renderSessionBody(ss, "questions", s.qaItems(ss)))
}

func (s *Server) hAbsentees(a *apiReq) resp {
	ss, _, rs := s.sessionArg(kWebinar, a)
	if rs != nil {
		return *rs
	}
	return s.page(a, "abs|"+ss.uuid, "registrants", s.lsAbsentees(ss), nil)
}

func reportNotFound(kind uint64, v string) resp {
	return errResp(http.StatusNotFound, 3001, kindWord(kind)+" "+v+" not found or has expired.")
}

func (s *Server) hReport(kind uint64) func(*apiReq) resp {
	return func(a *apiReq) resp {
		ss, v, rs := s.sessionArg(kind, a)
		if rs != nil {
			return *rs
		}
		if !ss.report {
			return reportNotFound(kind, v)
		}
		return ok(s.renderReport(nil, ss))
	}
}

func (s *Server) hReportParticipants(kind uint64) func(*apiReq) resp {
	return func(a *apiReq) resp {
		ss, v, rs := s.sessionArg(kind, a)
		if rs != nil {
			return *rs
		}
		if !ss.report {
			return reportNotFound(kind, v)
		}
		return s.page(a, "rp|"+ss.uuid, "participants", s.lsReportParticipants(ss), nil)
	}
}

func parseDate(v string) (time.Time, bool) {
	t, err := time.Parse("2006-01-02", v)
	return t, err == nil
}

// withinMonth: to is at most one calendar month (or 30 days) after from.
func withinMonth(from, to time.Time) bool {
	return !to.After(from.AddDate(0, 1, 0)) || to.Sub(from) <= 30*day
}

func dateRangeExtra(from, to time.Time) func(*jw) {
	return func(j *jw) {
		j.str("from", from.Format("2006-01-02"))
		j.str("to", to.Format("2006-01-02"))
	}
}

func (s *Server) hUserReport(a *apiReq) resp {
	u, _, rs := s.userArg(a)
	if rs != nil {
		return *rs
	}
	fv, tv := a.q.Get("from"), a.q.Get("to")
	from, okF := parseDate(fv)
	to, okT := parseDate(tv)
	switch {
	case fv == "" || tv == "":
		return errResp(http.StatusBadRequest, 300, "The from and to parameters are required.")
	case !okF || !okT:
		return errResp(http.StatusBadRequest, 300, "Invalid date format, expected yyyy-mm-dd.")
	case to.Before(from):
		return errResp(http.StatusBadRequest, 300, "The to date must be later than the from date.")
	case from.Before(dayStart(s.now.AddDate(0, -6, 0))):
		return errResp(http.StatusBadRequest, 300, "Only provide report in recent 6 months")
	case !withinMonth(from, to):
		return errResp(http.StatusBadRequest, 300, "The date range must be within one month")
	}
	key := "urep|" + strconv.Itoa(u) + "|" + fv + "|" + tv
	return s.page(a, key, "meetings", s.lsUserReport(u, from, to.Add(day), a.added), dateRangeExtra(from, to))
}

func (s *Server) hRecordings(a *apiReq) resp {
	u, _, rs := s.userArg(a)
	if rs != nil {
		return *rs
	}
	today := dayStart(s.now)
	from, to := today, today
	if fv := a.q.Get("from"); fv != "" {
		t, okF := parseDate(fv)
		if !okF {
			return errResp(http.StatusBadRequest, 300, "Invalid date format, expected yyyy-mm-dd.")
		}
		from = t
	}
	if tv := a.q.Get("to"); tv != "" {
		t, okT := parseDate(tv)
		if !okT {
			return errResp(http.StatusBadRequest, 300, "Invalid date format, expected yyyy-mm-dd.")
		}
		to = t
	}
	if to.Before(from) {
		return errResp(http.StatusBadRequest, 300, "The to date must be later than the from date.")
	}
	// Like Zoom, a range over one month is silently cut to the month before "to".
	if !withinMonth(from, to) {
		from = to.AddDate(0, -1, 0)
	}
	key := "rec|" + strconv.Itoa(u) + "|" + from.Format("2006-01-02") + "|" + to.Format("2006-01-02")
	return s.page(a, key, "meetings", s.lsRecordings(u, from, to.Add(day), a.added), dateRangeExtra(from, to))
}
