package connector_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/source-zoom/source-zoom/connector"
	"github.com/source-zoom/source-zoom/protocol"
)

// TestRecordSelection: records are found under a key, a dotted path, the
// stream name by convention, or are the whole body; a missing or null key
// is an empty page.
func TestRecordSelection(t *testing.T) {
	tests := []struct {
		name      string
		recordsAt string
		body      string
		want      []string // raw records
	}{
		{"by convention the stream name", "", `{"things":[{"a":1},{"a":2}],"other":[{"x":1}]}`, []string{`{"a":1}`, `{"a":2}`}},
		{"explicit key", "data", `{"things":[{"x":1}],"data":[{"a":1}]}`, []string{`{"a":1}`}},
		{"dotted path", "result.items", `{"result":{"count":2,"items":[ {"a":1} ,{"a":[2,{"b":"}"}]}]}}`, []string{`{"a":1}`, `{"a":[2,{"b":"}"}]}`}},
		{"key path inside escaped keys", "r.items", `{"r\"":{"items":[{"no":1}]},"r":{"items":[{"yes":1}]}}`, []string{`{"yes":1}`}},
		{"whole body", connector.WholeBody, `{"id":5,"settings":{"x":[1,2]}}`, []string{`{"id":5,"settings":{"x":[1,2]}}`}},
		{"whole body with white space around", connector.WholeBody, "\n  {\"id\":5}  \r\n", []string{`{"id":5}`}},
		{"empty object whole body", connector.WholeBody, `{}`, []string{`{}`}},
		{"key missing", "", `{"total_records":0}`, nil},
		{"key null", "", `{"things":null}`, nil},
		{"empty array", "", `{"things":[]}`, nil},
		{"empty array with spaces", "", `{"things":[ ]}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.json("/things", tc.body)
			src := f.source(connector.Stream{Name: "things", RecordsAt: tc.recordsAt})
			out, err := runRead(t, src, frAll("things"), nil)
			if err != nil {
				t.Fatalf("Read: %v\n%s", err, out)
			}
			equalStrings(t, "records", out.records("things"), tc.want)
			want := []string{"STARTED", "RUNNING", "COMPLETE"}
			if len(tc.want) == 0 {
				want = []string{"STARTED", "COMPLETE"}
			}
			equalStrings(t, "statuses", out.statuses("things"), want)
			out.checkStateCounts(t)
		})
	}
}

// TestRecordsNotObjects: a record that is not a JSON object fails the
// stream with a message saying what it is and where; other streams go on.
func TestRecordsNotObjects(t *testing.T) {
	tests := []struct {
		name      string
		recordsAt string
		body      string
		message   []string
	}{
		{"number", "", `{"things":[1,2]}`, []string{"record 0 of ", "/things is a number, not a JSON object"}},
		{"string after an object", "", `{"things":[{"a":1},"x"]}`, []string{"record 1 of ", "is a string, not a JSON object"}},
		{"nested array", "", `{"things":[[{"a":1}]]}`, []string{"record 0 ", "is an array, not a JSON object"}},
		{"null record", "", `{"things":[null]}`, []string{"record 0 ", "is null, not a JSON object"}},
		{"boolean", "", `{"things":[true]}`, []string{"is a boolean"}},
		{"records key is an object", "", `{"things":{"a":1}}`, []string{`"things" is an object, not an array of records`}},
		{"records key is a string", "", `{"things":"x"}`, []string{`"things" is a string, not an array of records`}},
		{"whole body a string", connector.WholeBody, `"hello"`, []string{"record 0 ", "is a string, not a JSON object"}},
		{"whole body a number", connector.WholeBody, `42`, []string{"is a number, not a JSON object"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.json("/things", tc.body)
			f.json("/fine", `{"fine":[{"ok":true}]}`)
			src := f.source(connector.Stream{Name: "things", RecordsAt: tc.recordsAt}, connector.Stream{Name: "fine"})
			out, err := runRead(t, src, frAll("things", "fine"), nil)
			var rep *connector.ReportedError
			if !errors.As(err, &rep) {
				t.Fatalf("Read error = %v, want a ReportedError", err)
			}
			mustContain(t, "error", out.errorOf(t, "things").Message, tc.message...)
			if got := out.statuses("things"); got[len(got)-1] != "INCOMPLETE" {
				t.Errorf("statuses = %q, want INCOMPLETE last", got)
			}
			equalStrings(t, "fine", out.records("fine"), []string{`{"ok":true}`})
			equalStrings(t, "fine statuses", out.statuses("fine"), []string{"STARTED", "RUNNING", "COMPLETE"})
			out.checkStateCounts(t)
		})
	}
}

// trickyRecords are objects whose bytes must reach the output unchanged:
// unicode, emoji, escapes (including \u escapes and escaped slashes), HTML
// characters, big and exponent numbers, odd spacing, and an empty object.
var trickyRecords = []string{
	`{"id":1,"name":"Zoë Łódź 東京","emoji":"🎉👩‍💻","esc":"a\"b\\c\/d\n\t\u00e9\ud83d\ude00"}`,
	`{"id":2,"html":"<a href=\"x\">&amp;</a>","u2028":"\u2028 \u2029","big":12345678901234567890123,"exp":1.5E+300,"neg":-0.0}`,
	`{ "id" : 3 , "spaced" : [ 1 , { } , [ ] ] , "nested" : { "k" : null } }`,
	`{"id":4,"ctl":"\u0000\u001f","slash":"\/"}`,
	`{}`,
	`{ }`,
	`{"id":7,"dup":1,"dup":2}`,
}

// TestRecordsByteForByte: records pass through unchanged, and a child's
// added parent fields are spliced before the closing brace, into an empty
// object too.
func TestRecordsByteForByte(t *testing.T) {
	f := newFake(t)
	body := `{"users":[{"id":42,"email":"zoë@example.com"},{"id":"abc\u00e9","email":null}],"things":[` + strings.Join(trickyRecords, ",") + `]}`
	f.json("/users", body)
	child := `{"items":[` + strings.Join(trickyRecords, ", ") + `]}`
	f.json("/users/42/items", child)
	f.json("/users/abc%C3%A9/items", child)
	src := f.source(
		connector.Stream{Name: "users"},
		connector.Stream{Name: "things", Path: "/users"},
		connector.Stream{Name: "items", Parent: "users", Path: "/users/{user_id}/items", Params: []connector.Param{
			{Name: "user_id", Field: "id", Add: true, AsString: true},
			{Name: "user_id_raw", Field: "id", Add: true},
			{Name: "email", Field: "email", Add: true},
			{Name: "missing", Field: "no.such.field", Add: true},
		}},
	)
	src.Concurrency = 1 // children in parent order
	out, err := runRead(t, src, frAll("users", "things", "items"), nil)
	if err != nil {
		t.Fatalf("Read: %v\n%s", err, out)
	}
	equalStrings(t, "users", out.records("users"), []string{`{"id":42,"email":"zoë@example.com"}`, `{"id":"abc\u00e9","email":null}`})
	equalStrings(t, "things", out.records("things"), trickyRecords)

	splice := func(rec, extra string) string {
		i := strings.LastIndexByte(rec, '}')
		body := strings.TrimRight(rec[:i], " ")
		if strings.HasSuffix(body, "{") {
			return rec[:i] + extra[1:] + "}"
		}
		return rec[:i] + extra + "}"
	}
	var want []string
	for _, extra := range []string{
		`,"user_id":"42","user_id_raw":42,"email":"zoë@example.com","missing":null`,
		`,"user_id":"abc\u00e9","user_id_raw":"abc\u00e9","email":null,"missing":null`,
	} {
		for _, r := range trickyRecords {
			want = append(want, splice(r, extra))
		}
	}
	got := out.records("items")
	equalStrings(t, "items", got, want)
	for _, r := range got {
		if !json.Valid([]byte(r)) {
			t.Errorf("spliced record is not valid JSON: %s", r)
		}
	}
	if got := out.field(t, "items", "user_id"); got[0] != "42" || got[len(got)-1] != "abcé" {
		t.Errorf("user_id = %q", got)
	}
	out.checkStateCounts(t)
	f.noUnmatched(t)
}

// TestPrettyPrintedResponses: an API that indents its JSON still gives one
// RECORD per line (line breaks between tokens cannot travel in a JSON
// line), with the parent fields and strings intact.
func TestPrettyPrintedResponses(t *testing.T) {
	f := newFake(t)
	indent := func(v any) string {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		return string(b) + "\n"
	}
	f.json("/users", indent(map[string]any{"users": []any{
		map[string]any{"id": 1, "profile": map[string]any{"name": "A\nB", "tags": []string{"x", "y"}}},
	}}))
	f.json("/users/1", indent(map[string]any{"id": 1, "settings": map[string]any{"tz": "UTC"}}))
	src := f.source(
		connector.Stream{Name: "users"},
		connector.Stream{Name: "user_details", Parent: "users", Path: "/users/{id}", RecordsAt: connector.WholeBody,
			Params: []connector.Param{{Name: "id", Field: "id"}, {Name: "profile", Field: "profile", Add: true}}},
	)
	out, err := runRead(t, src, frAll("users", "user_details"), nil)
	if err != nil {
		t.Fatalf("Read: %v\n%s", err, out)
	}
	if n := len(out.records("users")); n != 1 {
		t.Fatalf("%d users, want 1", n)
	}
	u := out.objects(t, "users")[0]
	if p, _ := u["profile"].(map[string]any); p["name"] != "A\nB" {
		t.Errorf("user = %v", u)
	}
	d := out.objects(t, "user_details")
	if len(d) != 1 || d[0]["settings"].(map[string]any)["tz"] != "UTC" || d[0]["profile"].(map[string]any)["name"] != "A\nB" {
		t.Errorf("user_details = %v", d)
	}
	out.checkStateCounts(t)
}

// TestWholeBodyArray: a body that is a JSON array (GitHub style) with
// RecordsAt WholeBody gives one record per element; with a key instead the
// stream fails rather than silently reading nothing.
func TestWholeBodyArray(t *testing.T) {
	f := newFake(t)
	f.json("/list", `[{"id":1},{"id":2}]`)
	f.json("/empty", `[]`)
	f.json("/keyed", `[{"id":1}]`)
	src := f.source(
		connector.Stream{Name: "list", RecordsAt: connector.WholeBody},
		connector.Stream{Name: "empty", RecordsAt: connector.WholeBody},
		connector.Stream{Name: "keyed"},
	)
	out, err := runRead(t, src, frAll("list", "empty", "keyed"), nil)
	if err == nil {
		t.Fatal("Read succeeded; want the keyed stream to fail")
	}
	equalStrings(t, "list", out.records("list"), []string{`{"id":1}`, `{"id":2}`})
	equalStrings(t, "empty statuses", out.statuses("empty"), []string{"STARTED", "COMPLETE"})
	mustContain(t, "keyed error", out.errorOf(t, "keyed").Message, "an array", `"keyed"`)
	out.checkStateCounts(t)
}

// TestDependentStreams: users → user_meetings (hidden) → three selected
// children, one of them depth 3 (meeting_registrants) taking a value from
// its grandparent. Each parent is read once however many children are
// selected; the unselected parents are read but not emitted; path
// placeholders are escaped (with a custom Encode where declared); parent
// values are added under the declared names.
func TestDependentStreams(t *testing.T) {
	f := newFake(t)
	f.handle("/users", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("next_page_token") == "" {
			writeJSON(w, 200, map[string]any{"users": []any{map[string]any{"id": "u1"}}, "next_page_token": "p2"})
			return
		}
		writeJSON(w, 200, map[string]any{"users": []any{map[string]any{"id": "u 2/x"}}, "next_page_token": ""})
	})
	f.json("/users/u1/meetings", `{"meetings":[{"id":101,"uuid":"/abc=="},{"id":102,"uuid":"plain"}]}`)
	f.json("/users/u%202%2Fx/meetings", `{"meetings":[{"id":201,"uuid":"x//y"}]}`)
	for _, m := range []struct{ id, uuidPath string }{{"101", "%252Fabc=="}, {"102", "plain"}, {"201", "x%252F%252Fy"}} {
		f.json("/meetings/"+m.id, `{"id":`+m.id+`,"topic":"T`+m.id+`"}`)
		f.json("/meetings/"+m.id+"/registrants", `{"registrants":[{"email":"r@`+m.id+`"}]}`)
		f.json("/meetings/"+m.uuidPath+"/polls", `{"polls":[{"title":"P`+m.id+`"}]}`)
	}
	doubleEscape := func(s string) string {
		if strings.HasPrefix(s, "/") || strings.Contains(s, "//") {
			s = strings.ReplaceAll(s, "/", "%2F")
		}
		return strings.ReplaceAll(s, "%", "%25")
	}
	src := f.source(
		connector.Stream{Name: "users"},
		connector.Stream{Name: "user_meetings", Hidden: true, Parent: "users", Path: "/users/{user_id}/meetings", RecordsAt: "meetings",
			Params: []connector.Param{{Name: "user_id", Field: "id"}}},
		connector.Stream{Name: "meetings", Parent: "user_meetings", Path: "/meetings/{meeting_id}", RecordsAt: connector.WholeBody,
			Params: []connector.Param{{Name: "meeting_id", Field: "id"}}},
		connector.Stream{Name: "meeting_registrants", Parent: "user_meetings", Path: "/meetings/{meeting_id}/registrants", RecordsAt: "registrants",
			Params: []connector.Param{{Name: "meeting_id", Field: "id", Add: true}, {Name: "host", Field: "user_id", Add: true}}},
		connector.Stream{Name: "meeting_polls", Parent: "user_meetings", Path: "/meetings/{meeting_uuid}/polls", RecordsAt: "polls",
			Params: []connector.Param{{Name: "meeting_uuid", Field: "uuid", Add: true, AsString: true, Encode: doubleEscape}}},
	)
	src.Paginator = connector.Cursor{TokenField: "next_page_token", SizeParam: "page_size"}
	out, err := runRead(t, src, frAll("meetings", "meeting_registrants", "meeting_polls"), nil)
	if err != nil {
		t.Fatalf("Read: %v\n%s", err, out)
	}
	f.noUnmatched(t)
	for p, n := range map[string]int{"/users": 2, "/users/u1/meetings": 1, "/users/u%202%2Fx/meetings": 1, "/meetings/101": 1, "/meetings/%252Fabc==/polls": 1} {
		if got := f.hit(p); got != n {
			t.Errorf("%s: %d requests, want %d", p, got, n)
		}
	}
	if f.totalHits() != 2+2+3*3 {
		t.Errorf("%d requests, want 13: %q", f.totalHits(), f.requestURIs())
	}
	for _, s := range []string{"users", "user_meetings"} {
		if n := len(out.records(s)) + len(out.states(s)) + len(out.statuses(s)); n != 0 {
			t.Errorf("unselected parent %q was emitted (%d messages)", s, n)
		}
	}
	equalStrings(t, "meetings", sortedCopy(out.records("meetings")), []string{`{"id":101,"topic":"T101"}`, `{"id":102,"topic":"T102"}`, `{"id":201,"topic":"T201"}`})
	equalStrings(t, "registrants", sortedCopy(out.records("meeting_registrants")), []string{
		`{"email":"r@101","meeting_id":101,"host":"u1"}`,
		`{"email":"r@102","meeting_id":102,"host":"u1"}`,
		`{"email":"r@201","meeting_id":201,"host":"u 2/x"}`,
	})
	equalStrings(t, "polls", sortedCopy(out.records("meeting_polls")), []string{
		`{"title":"P101","meeting_uuid":"/abc=="}`,
		`{"title":"P102","meeting_uuid":"plain"}`,
		`{"title":"P201","meeting_uuid":"x//y"}`,
	})
	for _, s := range []string{"meetings", "meeting_registrants", "meeting_polls"} {
		equalStrings(t, s+" statuses", out.statuses(s), []string{"STARTED", "RUNNING", "COMPLETE"})
	}
	out.checkStateCounts(t)
}

// TestParentSelectedWithChild: a selected parent is emitted and read once
// for its children too.
func TestParentSelectedWithChild(t *testing.T) {
	f := newFake(t)
	f.json("/users", `{"users":[{"id":1},{"id":2}]}`)
	f.json("/users/1/items", `{"items":[{"n":1}]}`)
	f.json("/users/2/items", `{"items":[{"n":2}]}`)
	src := f.source(
		connector.Stream{Name: "users"},
		connector.Stream{Name: "items", Parent: "users", Path: "/users/{id}/items", Params: []connector.Param{{Name: "id", Field: "id", Add: true}}},
	)
	out, err := runRead(t, src, frAll("items", "users"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.hit("/users") != 1 {
		t.Errorf("users read %d times", f.hit("/users"))
	}
	equalStrings(t, "users", out.records("users"), []string{`{"id":1}`, `{"id":2}`})
	equalStrings(t, "items", sortedCopy(out.records("items")), []string{`{"n":1,"id":1}`, `{"n":2,"id":2}`})
}

// TestMissingParentValue: a parent record without the value a child's
// path needs fails the child (and its own children), not the parent.
func TestMissingParentValue(t *testing.T) {
	f := newFake(t)
	f.json("/users", `{"users":[{"id":1},{"name":"no id"}]}`)
	f.json("/users/1/meetings", `{"meetings":[{"id":7}]}`)
	f.json("/meetings/7/polls", `{"polls":[{"p":1}]}`)
	src := f.source(
		connector.Stream{Name: "users"},
		connector.Stream{Name: "meetings", Parent: "users", Path: "/users/{id}/meetings", Params: []connector.Param{{Name: "id", Field: "id"}}},
		connector.Stream{Name: "polls", Parent: "meetings", Path: "/meetings/{id}/polls", Params: []connector.Param{{Name: "id", Field: "id"}}},
	)
	src.Concurrency = 1
	out, err := runRead(t, src, frAll("users", "meetings", "polls"), nil)
	if err == nil {
		t.Fatal("Read succeeded")
	}
	equalStrings(t, "users statuses", out.statuses("users"), []string{"STARTED", "RUNNING", "COMPLETE"})
	mustContain(t, "meetings error", out.errorOf(t, "meetings").Message, "no value for {id}")
	if s := out.statuses("polls"); s[len(s)-1] != "INCOMPLETE" {
		t.Errorf("polls statuses = %q: a child of a failed stream is not complete", s)
	}
	out.errorOf(t, "polls")
}

// TestCatalogErrors: the catalog is checked against the table before any
// request.
func TestCatalogErrors(t *testing.T) {
	streams := []connector.Stream{
		{Name: "users"},
		{Name: "hidden", Hidden: true, Parent: "users", Path: "/u/{id}", Params: []connector.Param{{Name: "id", Field: "id"}}},
		{Name: "events", Incremental: &connector.Incremental{CursorField: "ts"}},
	}
	withNS := fr("users")
	withNS.Stream.Namespace = "ns"
	badMode := fr("users")
	badMode.SyncMode = "sideways"
	badCursor := inc("events")
	badCursor.CursorField = []string{"other"}
	goodCursor := inc("events")
	goodCursor.CursorField = []string{"ts"}
	tests := []struct {
		name string
		cat  []protocol.ConfiguredStream
		want string
	}{
		{"empty", nil, "no streams selected"},
		{"unknown", []protocol.ConfiguredStream{fr("nope")}, `unknown stream "nope"`},
		{"hidden", []protocol.ConfiguredStream{fr("hidden")}, `unknown stream "hidden"`},
		{"namespace", []protocol.ConfiguredStream{withNS}, "no namespaces"},
		{"twice", []protocol.ConfiguredStream{fr("users"), fr("users")}, "selected twice"},
		{"incremental unsupported", []protocol.ConfiguredStream{inc("users")}, "does not support incremental"},
		{"sync mode", []protocol.ConfiguredStream{badMode}, `unknown sync_mode "sideways"`},
		{"cursor field", []protocol.ConfiguredStream{badCursor}, "source-defined"},
		{"ok", []protocol.ConfiguredStream{goodCursor}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.json("/users", `{"users":[]}`)
			f.json("/events", `{"events":[]}`)
			src := f.source(streams...)
			c := cat(tc.cat...)
			out, err := runRead(t, src, c, nil)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Read: %v", err)
				}
				return
			}
			var ce *connector.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Read error = %v, want a ConfigError", err)
			}
			mustContain(t, "error", err.Error(), tc.want)
			if connector.FailureType(err) != "config_error" {
				t.Errorf("FailureType = %q", connector.FailureType(err))
			}
			if f.totalHits() != 0 {
				t.Errorf("%d requests before the catalog was checked", f.totalHits())
			}
			if len(out.records("users")) != 0 {
				t.Error("records emitted")
			}
		})
	}
}

// TestValidate: programming errors in the table are found before reading.
func TestValidate(t *testing.T) {
	p := func(names ...string) []connector.Param {
		var out []connector.Param
		for _, n := range names {
			out = append(out, connector.Param{Name: n, Field: n})
		}
		return out
	}
	tests := []struct {
		name    string
		streams []connector.Stream
		want    string
	}{
		{"ok", []connector.Stream{{Name: "a"}, {Name: "b", Parent: "a", Path: "/a/{x}/b", Params: p("x")}}, ""},
		{"empty name", []connector.Stream{{Name: ""}}, "empty name"},
		{"twice", []connector.Stream{{Name: "a"}, {Name: "a"}}, "declared twice"},
		{"unknown parent", []connector.Stream{{Name: "a", Parent: "zz"}}, "unknown parent"},
		{"cycle", []connector.Stream{{Name: "a", Parent: "b"}, {Name: "b", Parent: "a"}}, "parent cycle"},
		{"self parent", []connector.Stream{{Name: "a", Parent: "a"}}, "parent cycle"},
		{"placeholder", []connector.Stream{{Name: "a", Path: "/a/{id}"}}, "placeholder {id} has no param"},
		{"query placeholder", []connector.Stream{{Name: "a", Query: url.Values{"from": {"{since}"}}}}, "placeholder {since} has no param"},
		{"incremental without cursor", []connector.Stream{{Name: "a", Incremental: &connector.Incremental{}}}, "without cursor field"},
		{"partition cursor not a param", []connector.Stream{{Name: "a", Incremental: &connector.Incremental{CursorField: "t", PartitionCursor: "s"}}}, `partition cursor "s"`},
		{"window without params", []connector.Stream{{Name: "a", Incremental: &connector.Incremental{CursorField: "t", Window: 1}}}, "window without from/to"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := &connector.Source{Streams: tc.streams}
			err := src.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tc.want)
			}
			mustContain(t, "error", err.Error(), tc.want)
			if _, rerr := runRead(t, src, frAll(tc.streams[0].Name), nil); rerr == nil || !strings.Contains(rerr.Error(), "stream table") {
				t.Errorf("Read error = %v, want the table error", rerr)
			}
		})
	}
}
