package connector

// Benchmarks of the hot path: the bytes of one page of 300 Zoom-like users
// (rendered by the fake Zoom server) turned into RECORD lines written to
// io.Discard through a protocol.Writer. Every benchmark reports records/s;
// BenchmarkNaivePage is the decode-into-maps-and-re-encode way, for the
// ratio. Run:
//
//	go test -run '^$' -bench . -benchmem ./connector/
//	go test -run '^$' -bench 'HandlePage/leaf' -cpuprofile cpu.out ./connector/

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/source-zoom/source-zoom/integration_tests/fakezoom"
	"github.com/source-zoom/source-zoom/protocol"
)

const benchPageSize = 300

var benchPage struct {
	once sync.Once
	body []byte
	err  error
}

// usersPage returns the body of GET /users?page_size=300 from the fake
// Zoom server with 300 users: about 225 KB of Zoom-like JSON with non-ASCII
// names, escapes and nested objects.
func usersPage(b *testing.B) []byte {
	b.Helper()
	benchPage.once.Do(func() {
		benchPage.body, benchPage.err = fakezoom.New(fakezoom.Options{Seed: 1, Users: benchPageSize}).Get("/users?page_size=300")
	})
	if benchPage.err != nil || !json.Valid(benchPage.body) {
		b.Fatalf("users page: %v: %.200s", benchPage.err, benchPage.body)
	}
	return benchPage.body
}

// benchReader is a reader writing to io.Discard, with one selected stream
// whose records sit under "users". children adds that many child streams
// (each with a user_id parameter, as Zoom's per-user listings have).
func benchReader(b *testing.B, children int) (*reader, *task) {
	b.Helper()
	src := &Source{BaseURL: "https://api.zoom.us/v2", PageSize: benchPageSize}
	rd := &reader{src: src, out: protocol.NewWriter(io.Discard, nil), log: slog.New(slog.DiscardHandler), now: time.Now}
	rd.qcond = sync.NewCond(&rd.qmu)
	st := &Stream{Name: "users", RecordsAt: "users"}
	r := &run{st: st, selected: true, prefix: protocol.RecordPrefix(st.Name), parentDone: true, state: cursorState{Partitions: map[string]time.Time{}}}
	for i := range children {
		cst := &Stream{Name: "child" + string(rune('a'+i)), Parent: "users", Path: "/users/{user_id}/things" + string(rune('a'+i)),
			RecordsAt: "things", Params: []Param{{Name: "user_id", Field: "id", Add: true, AsString: true}}}
		c := &run{st: cst, selected: true, parent: r, depth: 1, prefix: protocol.RecordPrefix(cst.Name), state: cursorState{Partitions: map[string]time.Time{}}}
		r.children = append(r.children, c)
	}
	b.Cleanup(func() { _ = rd.out.Close() })
	return rd, &task{r: r}
}

// parentFields are the fields a child of a past meeting gets from its
// parent (as past_meeting_participants has).
const parentFields = `,"meeting_id":85746065432,"meeting_uuid":"4444AAAiAAAAAiAiAiiAii==","meeting_start_time":"2026-11-02T15:00:00Z"`

func reportRecords(b *testing.B, records int) {
	b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkHandlePage: page bytes to RECORD lines.
//
//	leaf:   select the 300 records, splice 3 parent fields, AppendRecord,
//	        WriteLines (what every child stream does).
//	parent: the same without parent fields, plus the partitions of 4 child
//	        streams per record (what users does).
//	valid:  leaf plus the validity check http.go makes on every body,
//	        i.e. the whole per-page CPU cost after the body is read.
func BenchmarkHandlePage(b *testing.B) {
	body := usersPage(b)
	pg := &Page{URL: &url.URL{Scheme: "https", Host: "api.zoom.us", Path: "/v2/users"}, Body: body}
	b.Run("leaf", func(b *testing.B) {
		rd, t := benchReader(b, 0)
		t.extra = []byte(parentFields)
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if n, _, err := rd.handlePage(t, pg, 0, 0); err != nil || n != benchPageSize {
				b.Fatal(n, err)
			}
		}
		reportRecords(b, benchPageSize)
	})
	b.Run("parent", func(b *testing.B) {
		rd, t := benchReader(b, 4)
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if n, _, err := rd.handlePage(t, pg, 0, 0); err != nil || n != benchPageSize {
				b.Fatal(n, err)
			}
			rd.queues = rd.queues[:0] // drop the queued child partitions
			for _, c := range t.r.children {
				c.pending = 0
			}
		}
		reportRecords(b, benchPageSize)
	})
	b.Run("valid", func(b *testing.B) {
		rd, t := benchReader(b, 0)
		t.extra = []byte(parentFields)
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if !validJSON(body) {
				b.Fatal("invalid")
			}
			if n, _, err := rd.handlePage(t, pg, 0, 0); err != nil || n != benchPageSize {
				b.Fatal(n, err)
			}
		}
		reportRecords(b, benchPageSize)
	})
}

// BenchmarkNaivePage is the way to compare with: decode the page into
// []map[string]any, add the parent fields to each map, encode each RECORD
// message with encoding/json and write it through a 1 MiB buffer.
func BenchmarkNaivePage(b *testing.B) {
	body := usersPage(b)
	var extra map[string]any
	if err := json.Unmarshal([]byte("{"+parentFields[1:]+"}"), &extra); err != nil {
		b.Fatal(err)
	}
	bw := bufio.NewWriterSize(io.Discard, protocol.BufferSize)
	enc := json.NewEncoder(bw)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var page struct {
			Users []map[string]any `json:"users"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			b.Fatal(err)
		}
		now := time.Now().UnixMilli()
		for _, u := range page.Users {
			for k, v := range extra {
				u[k] = v
			}
			data, err := json.Marshal(u)
			if err != nil {
				b.Fatal(err)
			}
			if err := enc.Encode(&protocol.Message{Type: protocol.TypeRecord, Record: &protocol.Record{Stream: "users", Data: data, EmittedAt: now}}); err != nil {
				b.Fatal(err)
			}
		}
		if len(page.Users) != benchPageSize {
			b.Fatal(len(page.Users))
		}
	}
	_ = bw.Flush()
	reportRecords(b, benchPageSize)
}

// BenchmarkValidate compares the check made on every response body before
// (encoding/json.Valid) and after (validJSON) the optimisation, in the same
// run.
func BenchmarkValidate(b *testing.B) {
	body := usersPage(b)
	for _, v := range []struct {
		name string
		fn   func([]byte) bool
	}{{"encoding-json", json.Valid}, {"validJSON", validJSON}} {
		b.Run(v.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if !v.fn(body) {
					b.Fatal("invalid")
				}
			}
			reportRecords(b, benchPageSize)
		})
	}
}

// BenchmarkSelect compares finding and walking the 300 records before (path
// finds the end of the array, then eachElement walks it again) and after
// (pathHead stops at the start of the array).
func BenchmarkSelect(b *testing.B) {
	body := usersPage(b)
	keys := []string{"users"}
	for _, v := range []struct {
		name string
		fn   func([]byte, []string) ([]byte, bool)
	}{{"path", path}, {"pathHead", pathHead}} {
		b.Run(v.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				arr, ok := v.fn(body, keys)
				if !ok {
					b.Fatal("no users")
				}
				n := 0
				if err := eachElement(arr, func([]byte) error { n++; return nil }); err != nil || n != benchPageSize {
					b.Fatal(n, err)
				}
			}
			reportRecords(b, benchPageSize)
		})
	}
}

// The tests below guard the optimisations the benchmarks above measure;
// they live here because this file belongs to the benchmark work.

// validCases are inputs on which validJSON and json.Valid must agree.
var validCases = []string{
	``, ` `, `{}`, `[]`, `""`, `0`, `-0`, `1.5`, `-1.5e+10`, `1E-2`, `1e5`, `true`, `false`, `null`,
	` {"a" : [1, 2, {"b": null}], "c": "d"} `, "\t\n\r[1]\r\n\t", `{"a":1,}`, `[1,]`, `[,1]`, `{,}`, `{"a"}`,
	`{"a":}`, `{"a" 1}`, `{1:2}`, `[1 2]`, `01`, `-`, `-a`, `1.`, `.5`, `1e`, `1e+`, `+1`, `1.5e3.2`, `0x10`,
	`tru`, `truee`, `nul`, `nulll`, `fals`, `True`, `NaN`, `Infinity`, `"abc`, `"a\"`, `"\u00e9"`, `"\u00G9"`,
	`"\u00e"`, `"\x"`, `"\'"`, `"\/\b\f\n\r\t\\\""`, "\"tab\there\"", "\"nl\nhere\"", "\"del\x7f\"",
	"\"bad utf8 \xff\xfe\"", "\xff", `"é 🎉 東京"`, `[1]x`, `{} {}`, `"a" "b"`, `[[[[]]]]`, `[[[[]]]`, `{"a":{"b":{"c":[]}}}`,
	`{"a":[}`, `[{]}`, `{"a":"b"]`, `["a":1]`, `"\u12345"`, `"12345678\"12345678"`, `"1234567\\12345678"`,
	`"0123456789abcdef0123456789abcdef"`, "\"0123456789\x01abcdef\"", `-01`, `-0.0e-0`, `1e0001`, "[1,\n2]",
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000),
	strings.Repeat(`{"a":`, 10001) + "1" + strings.Repeat("}", 10001),
}

func TestValidJSONMatchesEncodingJSON(t *testing.T) {
	for _, in := range validCases {
		if got, want := validJSON([]byte(in)), json.Valid([]byte(in)); got != want {
			t.Errorf("validJSON(%.80q) = %v, json.Valid = %v", in, got, want)
		}
	}
	// Every endpoint of the fake server, then every prefix and many one-byte
	// changes of a few records.
	srv := fakezoom.New(fakezoom.Options{Seed: 7, Users: 6})
	var samples [][]byte
	exp := srv.Expected()
	for _, stream := range fakezoom.Streams() {
		recs := exp[stream]
		for i, r := range recs {
			if !validJSON(r) || !json.Valid(r) {
				t.Fatalf("%s[%d]: a valid record is refused", stream, i)
			}
			if i == 0 {
				samples = append(samples, r)
			}
		}
	}
	page := usersPageT(t)
	if !validJSON(page) {
		t.Fatal("users page refused")
	}
	subst := []byte{'"', '\\', '}', ']', ',', ':', '0', '.', 'e', 'u', 0x1f, 0xff}
	for _, r := range samples[:3] {
		for n := 0; n <= len(r); n++ {
			if got, want := validJSON(r[:n]), json.Valid(r[:n]); got != want {
				t.Fatalf("prefix %q: validJSON %v, json.Valid %v", r[:n], got, want)
			}
		}
		m := make([]byte, len(r))
		for i := range r {
			for _, c := range subst {
				copy(m, r)
				m[i] = c
				if got, want := validJSON(m), json.Valid(m); got != want {
					t.Fatalf("%q: validJSON %v, json.Valid %v", m, got, want)
				}
			}
		}
	}
}

func FuzzValidJSON(f *testing.F) {
	for _, in := range validCases[:len(validCases)-4] {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid = %v", b, got, want)
		}
	})
}

// TestPathHeadMatchesPath: pathHead finds the value path finds, and
// eachElement over it sees the same elements.
func TestPathHeadMatchesPath(t *testing.T) {
	page := usersPageT(t)
	docs := [][]byte{page, []byte(`{"a":{"b":[1,{"c":"]"},3]},"d":null}`), []byte(` { "x" : 1 , "y" : [ ] } `), []byte(`{"a":1}`), []byte(`[1]`), []byte(`{}`)}
	for _, doc := range docs {
		for _, keys := range [][]string{{"users"}, {"next_page_token"}, {"total_records"}, {"a"}, {"a", "b"}, {"d"}, {"x"}, {"y"}, {"missing"}, {"a", "missing"}} {
			want, wok := path(doc, keys)
			head, hok := pathHead(doc, keys)
			if wok != hok || (hok && string(head[:skipValue(head, 0)]) != string(want)) {
				t.Errorf("pathHead(%.40q, %v) = %.40q %v, path = %.40q %v", doc, keys, head, hok, want, wok)
				continue
			}
			if !hok || len(want) == 0 || want[0] != '[' {
				continue
			}
			var a, b []string
			_ = eachElement(want, func(e []byte) error { a = append(a, string(e)); return nil })
			_ = eachElement(head, func(e []byte) error { b = append(b, string(e)); return nil })
			if !slices.Equal(a, b) {
				t.Errorf("%v: elements differ: %d vs %d", keys, len(a), len(b))
			}
		}
	}
}

func usersPageT(t *testing.T) []byte {
	t.Helper()
	var body []byte
	testing.Benchmark(func(b *testing.B) { body = usersPage(b) })
	if body == nil {
		t.Fatal("no users page")
	}
	return body
}
