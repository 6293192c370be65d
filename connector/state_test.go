package connector_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/source-zoom/source-zoom/connector"
)

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestIncrementalRecordCursor: a stream without a partition cursor filters
// its records by their own cursor: after the saved cursor minus lookback
// (exclusive), or from the start date (inclusive); its final state is the
// highest cursor emitted.
func TestIncrementalRecordCursor(t *testing.T) {
	events := []string{
		`{"id":1,"updated_at":"2026-01-01T00:00:00Z"}`,
		`{"id":2,"updated_at":"2026-01-10T10:59:59Z"}`,
		`{"id":3,"updated_at":"2026-01-10T11:00:00Z"}`,
		`{"id":4,"updated_at":"2026-01-10T13:30:00+02:00"}`, // 11:30Z
		`{"id":5,"updated_at":"2026-01-11T00:00:00.250Z"}`,
		`{"id":6,"updated_at":"2026-01-10"}`, // a date: midnight UTC
	}
	tests := []struct {
		name      string
		state     string
		startDate string
		lookback  time.Duration
		full      bool
		want      []string // ids
		final     string
	}{
		{name: "no state", want: []string{"1", "2", "3", "4", "5", "6"}, final: `{"updated_at":"2026-01-11T00:00:00Z"}`},
		{name: "state minus lookback, exclusive", state: `{"updated_at":"2026-01-10T12:00:00Z"}`, lookback: time.Hour,
			want: []string{"4", "5"}, final: `{"updated_at":"2026-01-11T00:00:00Z"}`},
		{name: "state without lookback", state: `{"updated_at":"2026-01-10T11:30:00Z"}`,
			want: []string{"5"}, final: `{"updated_at":"2026-01-11T00:00:00Z"}`},
		{name: "start date, inclusive", startDate: "2026-01-10T11:00:00Z",
			want: []string{"3", "4", "5"}, final: `{"updated_at":"2026-01-11T00:00:00Z"}`},
		{name: "start date after state minus lookback wins", state: `{"updated_at":"2026-01-10T12:00:00Z"}`, lookback: 48 * time.Hour, startDate: "2026-01-10T11:30:00Z",
			want: []string{"4", "5"}, final: `{"updated_at":"2026-01-11T00:00:00Z"}`},
		{name: "state older than everything", state: `{"updated_at":"2020-01-01T00:00:00Z"}`,
			want: []string{"1", "2", "3", "4", "5", "6"}, final: `{"updated_at":"2026-01-11T00:00:00Z"}`},
		{name: "far-future state", state: `{"updated_at":"2999-01-01T00:00:00Z"}`, lookback: 24 * time.Hour,
			want: nil, final: `{"updated_at":"2999-01-01T00:00:00Z"}`},
		{name: "null state", state: `null`, want: []string{"1", "2", "3", "4", "5", "6"}, final: `{"updated_at":"2026-01-11T00:00:00Z"}`},
		{name: "empty state", state: `{}`, want: []string{"1", "2", "3", "4", "5", "6"}, final: `{"updated_at":"2026-01-11T00:00:00Z"}`},
		{name: "full refresh ignores state", state: `{"updated_at":"2999-01-01T00:00:00Z"}`, full: true,
			want: []string{"1", "2", "3", "4", "5", "6"}, final: `{}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.json("/events", `{"events":[`+strings.Join(events, ",")+`]}`)
			src := f.source(connector.Stream{Name: "events", Incremental: &connector.Incremental{CursorField: "updated_at"}})
			src.Lookback = tc.lookback
			if tc.startDate != "" {
				src.StartDate = ts(tc.startDate)
			}
			var state map[string]json.RawMessage
			if tc.state != "" {
				state = map[string]json.RawMessage{"events": json.RawMessage(tc.state)}
			}
			c := cat(inc("events"))
			if tc.full {
				c = frAll("events")
			}
			out, err := runRead(t, src, c, state)
			if err != nil {
				t.Fatalf("Read: %v\n%s", err, out)
			}
			equalStrings(t, "ids", out.field(t, "events", "id"), tc.want)
			if got := string(out.lastState("events")); got != tc.final {
				t.Errorf("final state = %s, want %s", got, tc.final)
			}
			equalStrings(t, "statuses", out.statuses("events")[len(out.statuses("events"))-1:], []string{"COMPLETE"})
			out.checkStateCounts(t)
		})
	}
}

// TestIncrementalRecordsWithoutCursor: records whose cursor is missing or
// unreadable are emitted (they cannot be proven old) and do not move the
// cursor.
func TestIncrementalRecordsWithoutCursor(t *testing.T) {
	f := newFake(t)
	f.json("/events", `{"events":[{"id":1},{"id":2,"updated_at":null},{"id":3,"updated_at":"soon"},{"id":4,"updated_at":"2026-05-01T00:00:00Z"}]}`)
	src := f.source(connector.Stream{Name: "events", Incremental: &connector.Incremental{CursorField: "updated_at"}})
	out, err := runRead(t, src, cat(inc("events")), map[string]json.RawMessage{"events": json.RawMessage(`{"updated_at":"2026-04-01T00:00:00Z"}`)})
	if err != nil {
		t.Fatal(err)
	}
	equalStrings(t, "ids", out.field(t, "events", "id"), []string{"1", "2", "3", "4"})
	if got := string(out.lastState("events")); got != `{"updated_at":"2026-05-01T00:00:00Z"}` {
		t.Errorf("final state = %s", got)
	}
}

// sessionsAPI: users u1, u2; their sessions; each session's participants.
func sessionsAPI(t *testing.T) (*fake, []connector.Stream) {
	f := newFake(t)
	f.json("/users", `{"users":[{"id":"u1"},{"id":"u2"}]}`)
	f.json("/users/u1/sessions", `{"sessions":[{"uuid":"s1","start_time":"2026-01-01T10:00:00Z"},{"uuid":"s2","start_time":"2026-01-10T09:59:59Z"},{"uuid":"s3","start_time":"2026-01-10T10:00:00Z"}]}`)
	f.json("/users/u2/sessions", `{"sessions":[{"uuid":"s4","start_time":"2026-01-10T10:00:01Z"},{"uuid":"s5","start_time":"2026-01-12T00:00:00Z"},{"uuid":"s6"}]}`)
	for i := 1; i <= 6; i++ {
		f.json(fmt.Sprintf("/sessions/s%d/participants", i), fmt.Sprintf(`{"participants":[{"name":"p%d"}]}`, i))
	}
	return f, []connector.Stream{
		{Name: "users"},
		{Name: "sessions", Hidden: true, Parent: "users", Path: "/users/{user_id}/sessions", Params: []connector.Param{{Name: "user_id", Field: "id"}}},
		{Name: "participants", Parent: "sessions", Path: "/sessions/{session_uuid}/participants",
			Params: []connector.Param{
				{Name: "session_uuid", Field: "uuid", Add: true},
				{Name: "session_start", Field: "start_time", Add: true, AsString: true},
			},
			Incremental: &connector.Incremental{CursorField: "session_start", PartitionCursor: "session_start"}},
	}
}

// TestIncrementalPartitionCursor: partitions at or before the saved cursor
// minus lookback are not fetched at all; the final state folds the
// partitions read into the cursor; done partitions in state are skipped.
func TestIncrementalPartitionCursor(t *testing.T) {
	tests := []struct {
		name    string
		state   string
		fetched []string // sessions whose participants are read
		final   string
	}{
		{"no state", "", []string{"s1", "s2", "s3", "s4", "s5", "s6"}, `{"session_start":"2026-01-12T00:00:00Z"}`},
		// lower bound 10:00:00 exclusive: s3 (10:00:00) is skipped, s4 (10:00:01) read.
		{"state", `{"session_start":"2026-01-10T12:00:00Z"}`, []string{"s4", "s5", "s6"}, `{"session_start":"2026-01-12T00:00:00Z"}`},
		{"state with done partitions", `{"session_start":"2026-01-10T12:00:00Z","partitions":{"s5":"2026-01-12T00:00:00Z","s6":"2026-01-10T12:00:00Z"}}`, []string{"s4"},
			`{"session_start":"2026-01-12T00:00:00Z"}`},
		{"state newer than the sessions read", `{"session_start":"2026-01-11T00:00:00Z"}`, []string{"s5", "s6"}, `{"session_start":"2026-01-12T00:00:00Z"}`},
		{"far-future state", `{"session_start":"2999-12-31T00:00:00Z"}`, []string{"s6"}, `{"session_start":"2999-12-31T00:00:00Z"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, streams := sessionsAPI(t)
			src := f.source(streams...)
			src.Lookback = 2 * time.Hour
			var state map[string]json.RawMessage
			if tc.state != "" {
				state = map[string]json.RawMessage{"participants": json.RawMessage(tc.state)}
			}
			out, err := runRead(t, src, cat(inc("participants")), state)
			if err != nil {
				t.Fatalf("Read: %v\n%s", err, out)
			}
			var fetched, want []string
			for i := 1; i <= 6; i++ {
				if f.hit(fmt.Sprintf("/sessions/s%d/participants", i)) > 0 {
					fetched = append(fetched, fmt.Sprintf("s%d", i))
				}
			}
			equalStrings(t, "fetched", fetched, tc.fetched)
			for _, s := range tc.fetched {
				want = append(want, "p"+s[1:])
			}
			equalStrings(t, "participants", sortedCopy(out.field(t, "participants", "name")), want)
			for _, p := range out.objects(t, "participants") {
				if p["session_uuid"] == nil {
					t.Errorf("participant without session_uuid: %v", p)
				}
			}
			if got := string(out.lastState("participants")); got != tc.final {
				t.Errorf("final state = %s, want %s", got, tc.final)
			}
			out.checkStateCounts(t)
			f.noUnmatched(t)
		})
	}
}

// TestStateErrors: a state that does not fit the stream is a config error
// before any request; the state of an unselected stream is ignored.
func TestStateErrors(t *testing.T) {
	tests := []struct {
		name  string
		state string
		want  []string
	}{
		{"unknown key", `{"updated_at":"2026-01-01T00:00:00Z","bogus":1}`, []string{`unknown key "bogus"`, "events"}},
		{"another stream's cursor", `{"start_time":"2026-01-01T00:00:00Z"}`, []string{`unknown key "start_time"`}},
		{"cursor not a string", `{"updated_at":5}`, []string{`"updated_at" must be an RFC 3339 string`}},
		{"cursor not a date", `{"updated_at":"yesterday"}`, []string{"not an RFC 3339"}},
		{"partitions not an object", `{"partitions":[1]}`, []string{`"partitions" must map`}},
		{"partition not a date", `{"partitions":{"a":"b"}}`, []string{`partition "a"`}},
		{"not an object", `[1]`, []string{"must be an object"}},
		{"a string", `"2026-01-01"`, []string{"must be an object"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.json("/events", `{"events":[]}`)
			src := f.source(connector.Stream{Name: "events", Incremental: &connector.Incremental{CursorField: "updated_at"}})
			_, err := runRead(t, src, cat(inc("events")), map[string]json.RawMessage{"events": json.RawMessage(tc.state)})
			var ce *connector.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Read error = %v, want a ConfigError", err)
			}
			mustContain(t, "error", err.Error(), tc.want...)
			if f.totalHits() != 0 {
				t.Errorf("%d requests with a bad state", f.totalHits())
			}
		})
	}
	t.Run("unselected stream's state is ignored", func(t *testing.T) {
		f := newFake(t)
		f.json("/events", `{"events":[]}`)
		src := f.source(connector.Stream{Name: "events", Incremental: &connector.Incremental{CursorField: "updated_at"}})
		out, err := runRead(t, src, cat(inc("events")), map[string]json.RawMessage{"old_stream": json.RawMessage(`{"x":1}`)})
		if err != nil {
			t.Fatal(err)
		}
		mustContain(t, "log", strings.Join(out.logs("INFO"), "\n"), "ignoring saved state", "old_stream")
	})
}

// TestWindows: windowed streams read [start, now] in windows passed as
// from/to parameters; date layouts give inclusive, non-overlapping days;
// MaxAge clamps an older start date with a WARN.
func TestWindows(t *testing.T) {
	now := ts("2026-03-15T12:00:00Z")
	dateInc := func(window time.Duration) *connector.Incremental {
		return &connector.Incremental{CursorField: "start_time", Window: window, FromParam: "from", ToParam: "to", WindowLayout: "2006-01-02", MaxAge: 30 * 24 * time.Hour}
	}
	tests := []struct {
		name      string
		inc       *connector.Incremental
		startDate string
		state     string
		lookback  time.Duration
		full      bool
		want      []string // from..to
		warn      string
	}{
		{name: "date windows from start date", inc: dateInc(5 * 24 * time.Hour), startDate: "2026-03-01",
			want: []string{"2026-03-01..2026-03-05", "2026-03-06..2026-03-10", "2026-03-11..2026-03-15"}},
		{name: "one-day windows", inc: dateInc(24 * time.Hour), startDate: "2026-03-13T23:00:00Z",
			want: []string{"2026-03-13..2026-03-13", "2026-03-14..2026-03-14", "2026-03-15..2026-03-15"}},
		{name: "start date clamped to MaxAge", inc: dateInc(10 * 24 * time.Hour), startDate: "2025-01-01",
			want: []string{"2026-02-13..2026-02-22", "2026-02-23..2026-03-04", "2026-03-05..2026-03-14", "2026-03-15..2026-03-15"},
			warn: `start_date 2025-01-01T00:00:00Z is older than the API serves for stream "reports"; starting at 2026-02-13`},
		{name: "state minus lookback", inc: dateInc(30 * 24 * time.Hour), state: `{"start_time":"2026-03-12T08:00:00Z"}`, lookback: 24 * time.Hour,
			want: []string{"2026-03-11..2026-03-15"}},
		{name: "full refresh reads MaxAge back", inc: dateInc(30 * 24 * time.Hour), full: true, startDate: "2026-03-10",
			want: []string{"2026-02-13..2026-03-14", "2026-03-15..2026-03-15"}},
		{name: "far-future state reads nothing", inc: dateInc(5 * 24 * time.Hour), state: `{"start_time":"2999-01-01T00:00:00Z"}`},
		{name: "date-time windows", inc: &connector.Incremental{CursorField: "start_time", Window: 24 * time.Hour, FromParam: "from", ToParam: "to"},
			startDate: "2026-03-13T00:00:00Z",
			want:      []string{"2026-03-13T00:00:00Z..2026-03-14T00:00:00Z", "2026-03-14T00:00:00Z..2026-03-15T00:00:00Z", "2026-03-15T00:00:00Z..2026-03-15T12:00:00Z"}},
		{name: "no start date: default MaxAge", inc: &connector.Incremental{CursorField: "start_time", Window: 100 * 24 * time.Hour, FromParam: "f", ToParam: "t", WindowLayout: "2006-01-02"},
			want: []string{"2025-09-16..2025-12-24", "2025-12-25..2026-03-15"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			var mu sync.Mutex
			var got []string
			f.handle("/reports", func(w http.ResponseWriter, r *http.Request) {
				q := r.URL.Query()
				from, to := q.Get(tc.inc.FromParam), q.Get(tc.inc.ToParam)
				mu.Lock()
				got = append(got, from+".."+to)
				mu.Unlock()
				writeJSON(w, 200, fmt.Sprintf(`{"reports":[{"start_time":%q}]}`, strings.Replace(to, "T12:00:00Z", "T11:00:00Z", 1)))
			})
			src := f.source(connector.Stream{Name: "reports", Incremental: tc.inc})
			src.Now = func() time.Time { return now }
			src.Lookback = tc.lookback
			if tc.startDate != "" {
				st, err := connector.ParseTime(tc.startDate)
				if err != nil {
					t.Fatal(err)
				}
				src.StartDate = st
			}
			var state map[string]json.RawMessage
			if tc.state != "" {
				state = map[string]json.RawMessage{"reports": json.RawMessage(tc.state)}
			}
			c := cat(inc("reports"))
			if tc.full {
				c = frAll("reports")
			}
			out, err := runRead(t, src, c, state)
			if err != nil {
				t.Fatalf("Read: %v\n%s", err, out)
			}
			equalStrings(t, "windows", got, tc.want)
			warns := out.logs("WARN")
			if tc.warn == "" && len(warns) > 0 {
				t.Errorf("unexpected warnings %q", warns)
			}
			if tc.warn != "" {
				if len(warns) != 1 {
					t.Fatalf("warnings = %q, want one", warns)
				}
				mustContain(t, "warning", warns[0], tc.warn)
			}
			if len(tc.want) == 0 && len(out.records("reports")) != 0 {
				t.Errorf("records from a far-future state: %q", out.records("reports"))
			}
			out.checkStateCounts(t)
		})
	}
}

// TestInterruptedReadResumes: cancelling a read mid-sync leaves, for each
// incremental stream, a state listing only the partitions it finished (no
// folded cursor, no COMPLETE); a read resumed from that state skips those
// partitions, still reads the children of finished parent partitions, and
// together the two reads emit every record exactly once.
func TestInterruptedReadResumes(t *testing.T) {
	const users, perUser, perMeeting = 4, 2, 2
	base := ts("2026-02-01T00:00:00Z")
	type meeting struct {
		id, user string
		created  time.Time
	}
	var meetings []meeting
	f := newFake(t)
	var usersBody []string
	for u := 1; u <= users; u++ {
		uid := fmt.Sprintf("u%d", u)
		usersBody = append(usersBody, fmt.Sprintf(`{"id":%q}`, uid))
		var ms []string
		for j := 1; j <= perUser; j++ {
			// Later users' meetings are older: a cursor folded too early
			// would hide them.
			m := meeting{fmt.Sprintf("m%d%d", u, j), uid, base.Add(-time.Duration(u*10+j) * time.Hour)}
			meetings = append(meetings, m)
			ms = append(ms, fmt.Sprintf(`{"id":%q,"created_at":%q}`, m.id, m.created.Format(time.RFC3339)))
		}
		f.json("/users/"+uid+"/meetings", `{"meetings":[`+strings.Join(ms, ",")+`]}`)
	}
	f.json("/users", `{"users":[`+strings.Join(usersBody, ",")+`]}`)
	var regRequests atomic.Int32
	var cancelAt atomic.Int32
	var cancel atomic.Pointer[context.CancelFunc]
	for _, m := range meetings {
		var rs []string
		for k := 1; k <= perMeeting; k++ {
			rs = append(rs, fmt.Sprintf(`{"id":"%s-r%d","created_at":%q}`, m.id, k, m.created.Add(time.Duration(k)*time.Minute).Format(time.RFC3339)))
		}
		body := `{"registrants":[` + strings.Join(rs, ",") + `]}`
		f.handle("/meetings/"+m.id+"/registrants", func(w http.ResponseWriter, r *http.Request) {
			if n := regRequests.Add(1); n == cancelAt.Load() {
				(*cancel.Load())()
				<-r.Context().Done() // the engine hangs up
				return
			}
			writeJSON(w, 200, body)
		})
	}
	streams := []connector.Stream{
		{Name: "users"},
		{Name: "meetings", Parent: "users", Path: "/users/{user_id}/meetings", Params: []connector.Param{{Name: "user_id", Field: "id", Add: true}},
			Incremental: &connector.Incremental{CursorField: "created_at"}},
		{Name: "registrants", Parent: "meetings", Path: "/meetings/{meeting_id}/registrants", Params: []connector.Param{{Name: "meeting_id", Field: "id", Add: true}},
			Incremental: &connector.Incremental{CursorField: "created_at"}},
	}
	c := cat(inc("meetings"), inc("registrants"))

	// First read: depth-first with one worker, cancelled at the third
	// registrants request (the first meeting of u2).
	ctx, cancelFn := context.WithCancel(context.Background())
	defer cancelFn()
	cancel.Store(&cancelFn)
	cancelAt.Store(3)
	src := f.source(streams...)
	src.Concurrency = 1
	out1, err := runReadCtx(ctx, t, src, c, nil)
	var te *connector.TransientError
	if !errors.As(err, &te) {
		t.Fatalf("interrupted Read error = %v, want a TransientError", err)
	}
	out1.checkStateCounts(t)
	state := map[string]json.RawMessage{}
	for _, s := range []string{"meetings", "registrants"} {
		st := out1.statuses(s)
		if st[len(st)-1] != "INCOMPLETE" || slices.Contains(st, "COMPLETE") {
			t.Errorf("%s statuses after interruption = %q", s, st)
		}
		state[s] = out1.lastState(s)
	}
	if got, want := string(state["meetings"]), `{"partitions":{"u1":"2026-01-31T13:00:00Z","u2":"2026-01-31T03:00:00Z"}}`; got != want {
		t.Errorf("meetings state after interruption = %s, want %s", got, want)
	}
	if got, want := string(state["registrants"]), `{"partitions":{"m11":"2026-01-31T13:02:00Z","m12":"2026-01-31T12:02:00Z"}}`; got != want {
		t.Errorf("registrants state after interruption = %s, want %s", got, want)
	}
	// Every partition in the state was emitted in full.
	for _, s := range []string{"meetings", "registrants"} {
		var st struct{ Partitions map[string]string }
		if err := json.Unmarshal(state[s], &st); err != nil {
			t.Fatal(err)
		}
		parent := map[string]string{"meetings": "user_id", "registrants": "meeting_id"}[s]
		per := map[string]int{"meetings": perUser, "registrants": perMeeting}[s]
		for key := range st.Partitions {
			n := 0
			for _, v := range out1.field(t, s, parent) {
				if v == key {
					n++
				}
			}
			if n != per {
				t.Errorf("%s partition %s is in the state with %d of its %d records emitted", s, key, n, per)
			}
		}
	}

	// Second read, resumed from the state: nothing is cancelled.
	cancelAt.Store(-1)
	before := map[string]int{}
	for _, m := range meetings {
		before[m.id] = f.hit("/meetings/" + m.id + "/registrants")
	}
	out2, err := runRead(t, f.source(streams...), c, state)
	if err != nil {
		t.Fatalf("resumed Read: %v\n%s", err, out2)
	}
	out2.checkStateCounts(t)
	// A finished partition of a record-cursor stream is fetched again (it
	// may have gained records since the interruption), but only its records
	// after its saved cursor are emitted: none here, so no duplicates.
	for _, id := range []string{"m11", "m12"} {
		if f.hit("/meetings/"+id+"/registrants") != before[id]+1 {
			t.Errorf("resumed read fetched the finished partition %s %d times, want once", id, f.hit("/meetings/"+id+"/registrants")-before[id])
		}
	}
	var allMeetings, allRegistrants []string
	for _, m := range meetings {
		allMeetings = append(allMeetings, m.id)
		for k := 1; k <= perMeeting; k++ {
			allRegistrants = append(allRegistrants, fmt.Sprintf("%s-r%d", m.id, k))
		}
	}
	got := append(out1.field(t, "meetings", "id"), out2.field(t, "meetings", "id")...)
	equalStrings(t, "meetings over both reads", sortedCopy(got), allMeetings)
	got = append(out1.field(t, "registrants", "id"), out2.field(t, "registrants", "id")...)
	equalStrings(t, "registrants over both reads", sortedCopy(got), allRegistrants)
	for _, s := range []string{"meetings", "registrants"} {
		equalStrings(t, s+" resumed statuses", out2.statuses(s)[len(out2.statuses(s))-1:], []string{"COMPLETE"})
	}
	// The final state folds every partition, those of the first read too.
	if got, want := string(out2.lastState("meetings")), `{"created_at":"2026-01-31T13:00:00Z"}`; got != want {
		t.Errorf("final meetings state = %s, want %s", got, want)
	}
	if got, want := string(out2.lastState("registrants")), `{"created_at":"2026-01-31T13:02:00Z"}`; got != want {
		t.Errorf("final registrants state = %s, want %s", got, want)
	}
}

// TestInterruptedRootResumes: a root incremental stream finished before
// the interruption is not emitted again, but still gives its children
// their partitions.
func TestInterruptedRootResumes(t *testing.T) {
	f := newFake(t)
	f.json("/boards", `{"boards":[{"id":1,"updated_at":"2026-01-01T00:00:00Z"},{"id":2,"updated_at":"2026-01-02T00:00:00Z"}]}`)
	f.json("/boards/1/cards", `{"cards":[{"c":"1a"}]}`)
	f.json("/boards/2/cards", `{"cards":[{"c":"2a"}]}`)
	src := f.source(
		connector.Stream{Name: "boards", Incremental: &connector.Incremental{CursorField: "updated_at"}},
		connector.Stream{Name: "cards", Parent: "boards", Path: "/boards/{id}/cards", Params: []connector.Param{{Name: "id", Field: "id", Add: true}}},
	)
	state := map[string]json.RawMessage{"boards": json.RawMessage(`{"partitions":{"":"2026-01-02T00:00:00Z"}}`)}
	out, err := runRead(t, src, cat(inc("boards"), fr("cards")), state)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(out.records("boards")); n != 0 {
		t.Errorf("finished root emitted %d records again", n)
	}
	equalStrings(t, "cards", sortedCopy(out.field(t, "cards", "c")), []string{"1a", "2a"})
	if got := string(out.lastState("boards")); got != `{"updated_at":"2026-01-02T00:00:00Z"}` {
		t.Errorf("boards final state = %s", got)
	}
	t.Run("records it gained after the interruption are emitted", func(t *testing.T) {
		f := newFake(t)
		f.json("/boards", `{"boards":[{"id":1,"updated_at":"2026-01-01T00:00:00Z"},{"id":2,"updated_at":"2026-01-02T00:00:00Z"},{"id":3,"updated_at":"2026-01-03T00:00:00Z"}]}`)
		src := f.source(connector.Stream{Name: "boards", Incremental: &connector.Incremental{CursorField: "updated_at"}})
		out, err := runRead(t, src, cat(inc("boards")), state)
		if err != nil {
			t.Fatal(err)
		}
		equalStrings(t, "boards", out.field(t, "boards", "id"), []string{"3"})
		equalStrings(t, "statuses", out.statuses("boards"), []string{"STARTED", "RUNNING", "COMPLETE"})
		if got := string(out.lastState("boards")); got != `{"updated_at":"2026-01-03T00:00:00Z"}` {
			t.Errorf("boards final state = %s", got)
		}
	})
	t.Run("without new records it emits nothing", func(t *testing.T) {
		f := newFake(t)
		f.json("/boards", `{"boards":[]}`)
		src := f.source(connector.Stream{Name: "boards", Incremental: &connector.Incremental{CursorField: "updated_at"}})
		out, err := runRead(t, src, cat(inc("boards")), state)
		if err != nil {
			t.Fatal(err)
		}
		equalStrings(t, "statuses", out.statuses("boards"), []string{"STARTED", "COMPLETE"})
		if got := string(out.lastState("boards")); got != `{"updated_at":"2026-01-02T00:00:00Z"}` {
			t.Errorf("boards final state = %s", got)
		}
	})
}

// TestParseState reads every state shape the platform writes.
func TestParseState(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr []string
	}{
		{name: "empty", in: "", want: map[string]string{}},
		{name: "white space", in: " \n\t", want: map[string]string{}},
		{name: "null", in: "null", want: map[string]string{}},
		{name: "empty array", in: "[]", want: map[string]string{}},
		{name: "empty object", in: "{}", want: map[string]string{}},
		{name: "array of STREAM", in: `[
			{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"updated_at":"2026-01-01T00:00:00Z"}},"sourceStats":{"recordCount":3}},
			{"type":"STREAM","stream":{"stream_descriptor":{"name":"meetings","namespace":null},"stream_state":{"partitions":{"a":"2026-01-01"}}}}
		]`, want: map[string]string{"users": `{"updated_at":"2026-01-01T00:00:00Z"}`, "meetings": `{"partitions":{"a":"2026-01-01"}}`}},
		{name: "STREAM without type", in: `[{"stream":{"stream_descriptor":{"name":"users"},"stream_state":{"x":1}}}]`, want: map[string]string{"users": `{"x":1}`}},
		{name: "one STREAM message", in: `{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"x":1}}}`, want: map[string]string{"users": `{"x":1}`}},
		{name: "later message wins", in: `[{"type":"STREAM","stream":{"stream_descriptor":{"name":"u"},"stream_state":{"x":1}}},{"type":"STREAM","stream":{"stream_descriptor":{"name":"u"},"stream_state":{"x":2}}}]`,
			want: map[string]string{"u": `{"x":2}`}},
		{name: "GLOBAL", in: `[{"type":"GLOBAL","global":{"shared_state":{"s":1},"stream_states":[{"stream_descriptor":{"name":"a"},"stream_state":{"x":1}},{"stream_descriptor":{"name":"b"},"stream_state":{"y":2}}]}}]`,
			want: map[string]string{"a": `{"x":1}`, "b": `{"y":2}`}},
		{name: "GLOBAL object without type", in: `{"global":{"stream_states":[{"stream_descriptor":{"name":"a"},"stream_state":{"x":1}}]}}`, want: map[string]string{"a": `{"x":1}`}},
		{name: "LEGACY message", in: `[{"type":"LEGACY","data":{"users":{"updated_at":"2026-01-01"},"meetings":{}}}]`,
			want: map[string]string{"users": `{"updated_at":"2026-01-01"}`, "meetings": `{}`}},
		{name: "LEGACY object message", in: `{"type":"LEGACY","data":{"users":{"x":1}}}`, want: map[string]string{"users": `{"x":1}`}},
		{name: "legacy object", in: `{"users":{"updated_at":"2026-01-01T00:00:00Z"},"meetings":{"partitions":{}}}`,
			want: map[string]string{"users": `{"updated_at":"2026-01-01T00:00:00Z"}`, "meetings": `{"partitions":{}}`}},
		{name: "null stream state", in: `[{"type":"STREAM","stream":{"stream_descriptor":{"name":"u"},"stream_state":null}}]`, want: map[string]string{"u": "null"}},
		{name: "malformed: names line and column", in: "[\n  {\"type\": \"STREAM\",\n   \"stream\": {oops}}\n]", wantErr: []string{"line 3, column 15", "invalid character 'o'"}},
		{name: "malformed: truncated", in: `[{"type":"STREAM"`, wantErr: []string{"line 1", "unexpected end of JSON input"}},
		{name: "malformed: trailing garbage", in: `{} x`, wantErr: []string{"line 1, column 4"}},
		{name: "a string", in: `"state"`, wantErr: []string{"not a string"}},
		{name: "a number", in: `42`, wantErr: []string{"not a number"}},
		{name: "a boolean", in: `true`, wantErr: []string{"not a boolean"}},
		{name: "array of numbers", in: `[1]`, wantErr: []string{"state message 0", "not a state message"}},
		{name: "array of arrays", in: `[{"type":"STREAM","stream":{"stream_descriptor":{"name":"a"},"stream_state":{}}},[]]`, wantErr: []string{"state message 1"}},
		{name: "unknown type", in: `[{"type":"PER_STREAM"}]`, wantErr: []string{`unknown state type "PER_STREAM"`}},
		{name: "type not a string", in: `[{"type":1}]`, wantErr: []string{"not a state message"}},
		{name: "STREAM without descriptor", in: `[{"type":"STREAM","stream":{"stream_state":{}}}]`, wantErr: []string{"without stream.stream_descriptor.name"}},
		{name: "STREAM with empty name", in: `[{"type":"STREAM","stream":{"stream_descriptor":{"name":""}}}]`, wantErr: []string{"without stream.stream_descriptor.name"}},
		{name: "name not a string", in: `[{"type":"STREAM","stream":{"stream_descriptor":{"name":5}}}]`, wantErr: []string{"not a state message"}},
		{name: "GLOBAL without global", in: `[{"type":"GLOBAL"}]`, wantErr: []string{"GLOBAL state without global"}},
		{name: "GLOBAL stream without name", in: `[{"type":"GLOBAL","global":{"stream_states":[{"stream_state":{}}]}}]`, wantErr: []string{"stream_states[0]"}},
		{name: "LEGACY data not an object", in: `[{"type":"LEGACY","data":[1]}]`, wantErr: []string{"legacy state must be an object"}},
		{name: "legacy object of wrong type", in: `{"users":1}`, want: map[string]string{"users": "1"}}, // checked per stream later
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := connector.ParseState([]byte(tc.in))
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("ParseState = %v, want an error", got)
				}
				mustContain(t, "error", err.Error(), tc.wantErr...)
				return
			}
			if err != nil {
				t.Fatalf("ParseState: %v", err)
			}
			gotS := map[string]string{}
			for k, v := range got {
				var b bytes.Buffer
				if err := json.Compact(&b, v); err != nil {
					gotS[k] = string(v)
				} else {
					gotS[k] = b.String()
				}
			}
			if fmt.Sprint(gotS) != fmt.Sprint(tc.want) {
				t.Errorf("ParseState = %v, want %v", gotS, tc.want)
			}
		})
	}
}

// TestStateRecordCountsUnderConcurrency: with a clock that makes every
// finished partition emit a STATE, each STATE still counts exactly the
// records of its stream since the previous one.
func TestStateRecordCountsUnderConcurrency(t *testing.T) {
	f := newFake(t)
	const n = 60
	var parents []string
	for i := 0; i < n; i++ {
		parents = append(parents, fmt.Sprintf(`{"id":%d}`, i))
		body := fmt.Sprintf(`{"items":[{"v":"%d-a","at":"2026-01-01T00:00:%02dZ"},{"v":"%d-b","at":"2026-01-01T00:01:%02dZ"}]}`, i, i%60, i, i%60)
		if i%7 == 0 {
			body = `{"items":[]}`
		}
		f.json(fmt.Sprintf("/parents/%d/items", i), body)
	}
	f.json("/parents", `{"parents":[`+strings.Join(parents, ",")+`]}`)
	var clock atomic.Int64
	src := f.source(
		connector.Stream{Name: "parents"},
		connector.Stream{Name: "items", Parent: "parents", Path: "/parents/{id}/items", Params: []connector.Param{{Name: "id", Field: "id"}},
			Incremental: &connector.Incremental{CursorField: "at"}},
	)
	src.Concurrency = 8
	src.Now = func() time.Time { return ts("2026-06-01T00:00:00Z").Add(time.Duration(clock.Add(1)) * 2 * time.Second) }
	out, err := runRead(t, src, cat(fr("parents"), inc("items")), nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := len(out.states("items")); s < n/2 {
		t.Errorf("only %d states for %d partitions", s, n)
	}
	if got := len(out.records("items")); got != 2*(n-(n+6)/7) {
		t.Errorf("%d items", got)
	}
	out.checkStateCounts(t)
	if got := string(out.lastState("items")); got != `{"at":"2026-01-01T00:01:59Z"}` {
		t.Errorf("final state = %s", got)
	}
	// Intermediate states list finished partitions only.
	for _, s := range out.states("items")[:len(out.states("items"))-1] {
		var st map[string]json.RawMessage
		if err := json.Unmarshal(s.Stream.StreamState, &st); err != nil || st["partitions"] == nil {
			t.Errorf("intermediate state without partitions: %s", s.Stream.StreamState)
		}
	}
}
