package protocol

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/source-zoom/source-zoom/protocol/protocoltest"
)

func TestRecordPrefix(t *testing.T) {
	for _, tc := range []struct{ stream, want string }{
		{"users", `{"type":"RECORD","record":{"stream":"users","emitted_at":`},
		{"", `{"type":"RECORD","record":{"stream":"","emitted_at":`},
		{`a"b\c`, `{"type":"RECORD","record":{"stream":"a\"b\\c","emitted_at":`},
		{"<&>", `{"type":"RECORD","record":{"stream":"\u003c\u0026\u003e","emitted_at":`},
		{"zoom\nline", `{"type":"RECORD","record":{"stream":"zoom\nline","emitted_at":`},
		{"réunions", `{"type":"RECORD","record":{"stream":"réunions","emitted_at":`},
	} {
		if got := string(RecordPrefix(tc.stream)); got != tc.want {
			t.Errorf("RecordPrefix(%q) =\n%s\nwant\n%s", tc.stream, got, tc.want)
		}
	}
}

func TestAppendRecordGolden(t *testing.T) {
	const head = `{"type":"RECORD","record":{"stream":"users","emitted_at":1714575600000,"data":`
	for _, tc := range []struct {
		name, data, extra, want string
	}{
		{"plain", `{"id":1}`, ``, `{"id":1}`},
		{"plain keeps spacing", `{ "id" : 1 }`, ``, `{ "id" : 1 }`},
		{"extra", `{"id":1}`, `,"meeting_id":5`, `{"id":1,"meeting_id":5}`},
		{"two extras", `{"id":"a"}`, `,"meeting_id":5,"meeting_uuid":"x/y=="`, `{"id":"a","meeting_id":5,"meeting_uuid":"x/y=="}`},
		{"empty object", `{}`, `,"meeting_id":5`, `{"meeting_id":5}`},
		{"empty object with space", `{ }`, `,"meeting_id":5`, `{ "meeting_id":5}`},
		{"empty object with tabs", "{\t\t}", `,"a":1`, "{\t\t\"a\":1}"},
		{"trailing spaces", `{"id":1}   `, `,"meeting_id":5`, `{"id":1,"meeting_id":5}`},
		{"trailing white space", "{\"id\":1}\t \r\n", `,"m":5`, `{"id":1,"m":5}`},
		{"space before brace", `{"id":1 }`, `,"m":5`, `{"id":1 ,"m":5}`},
		{"leading space", `  {"id":1}`, `,"m":5`, `  {"id":1,"m":5}`},
		{"nested objects", `{"a":{"b":{}}}`, `,"m":5`, `{"a":{"b":{}},"m":5}`},
		{"brace in string", `{"a":"}"}`, `,"m":5`, `{"a":"}","m":5}`},
		{"brace and space in string", `{"a":"{ "}`, `,"m":5`, `{"a":"{ ","m":5}`},
		{"pretty printed", "{\n  \"id\": 1,\n  \"n\": [\n    2\n  ]\n}", ``, `{   "id": 1,   "n": [     2   ] }`},
		{"pretty printed with extra", "{\r\n  \"id\": 1\r\n}\r\n", `,"m":5`, `{    "id": 1  ,"m":5}`},
		{"pretty empty object", "{\n}", `,"m":5`, `{ "m":5}`},
		{"escaped newline kept", `{"a":"x\ny"}`, ``, `{"a":"x\ny"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var extra []byte
			if tc.extra != "" {
				extra = []byte(tc.extra)
			}
			data := []byte(tc.data)
			orig := bytes.Clone(data)
			got := AppendRecord(nil, RecordPrefix("users"), 1714575600000, data, extra)
			want := head + tc.want + "}}\n"
			if string(got) != want {
				t.Fatalf("AppendRecord =\n%q\nwant\n%q", got, want)
			}
			if !bytes.Equal(data, orig) {
				t.Fatalf("AppendRecord modified data: %q", data)
			}
			if err := mustValidator(t).Line(got); err != nil && tc.want != `{}` {
				t.Fatalf("line does not validate: %v", err)
			}
		})
	}
}

func TestAppendRecordAppends(t *testing.T) {
	p := RecordPrefix("s")
	dst := []byte("existing\n")
	dst = AppendRecord(dst, p, 0, []byte(`{"a":1}`), nil)
	dst = AppendRecord(dst, p, -5, []byte(`{"b":2}`), []byte(`,"c":3`))
	want := "existing\n" +
		`{"type":"RECORD","record":{"stream":"s","emitted_at":0,"data":{"a":1}}}` + "\n" +
		`{"type":"RECORD","record":{"stream":"s","emitted_at":-5,"data":{"b":2,"c":3}}}` + "\n"
	if string(dst) != want {
		t.Fatalf("got\n%s\nwant\n%s", dst, want)
	}
}

func TestAppendRecordAllocs(t *testing.T) {
	p := RecordPrefix("users")
	data := []byte(`{"id":"KDcuGIm1QgePTO8WbOqwIQ","email":"jchill@example.com"}`)
	extra := []byte(`,"meeting_id":5`)
	buf := make([]byte, 0, 4096)
	n := testing.AllocsPerRun(100, func() {
		buf = AppendRecord(buf[:0], p, 1714575600000, data, extra)
	})
	if n != 0 {
		t.Errorf("AppendRecord allocates %v times with room in dst", n)
	}
}

func mustValidator(t testing.TB) *protocoltest.Validator {
	t.Helper()
	v, err := protocoltest.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// isObject reports whether b is one valid JSON object (with white space).
func isObject(b []byte) bool {
	t := bytes.TrimLeft(b, " \t\r\n")
	return len(t) > 0 && t[0] == '{' && json.Valid(b)
}

func decodeMap(t *testing.T, b []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return m
}

func FuzzAppendRecord(f *testing.F) {
	f.Add("users", []byte(`{"id":1}`), "", []byte(nil), int64(1714575600000))
	f.Add("meeting_polls", []byte(`{}`), "meeting_id", []byte(`5`), int64(0))
	f.Add("s", []byte("{ }  "), "k", []byte(`"v"`), int64(-1))
	f.Add("s", []byte("{\n \"a\" : [1,{\"b\":\"}\"}]\n}\n"), "k", []byte("{\n\"x\":null}"), int64(42))
	f.Add("a\"b", []byte(`{"a":"x\ny","k":1}`), "k", []byte(`2`), int64(1))
	f.Add("\xff", []byte(`{"\u2028":"\xfe"}`), "\x00", []byte(`[]`), int64(9))
	f.Fuzz(func(t *testing.T, stream string, data []byte, key string, val []byte, emittedAt int64) {
		if !isObject(data) {
			t.Skip()
		}
		var extra []byte
		if len(val) > 0 {
			if !json.Valid(val) {
				t.Skip()
			}
			k, _ := json.Marshal(key)
			extra = append(append(append([]byte{','}, k...), ':'), val...)
		}
		orig := bytes.Clone(data)
		line := AppendRecord(nil, RecordPrefix(stream), emittedAt, data, extra)
		if !bytes.Equal(data, orig) {
			t.Fatalf("data modified")
		}
		if !bytes.HasSuffix(line, []byte("}}\n")) {
			t.Fatalf("line does not end with }}\\n: %q", line)
		}
		body := line[:len(line)-1]
		if bytes.ContainsAny(body, "\r\n") {
			t.Fatalf("line break inside the line: %q", line)
		}
		if !json.Valid(body) {
			t.Fatalf("invalid JSON: %q", line)
		}
		var msg struct {
			Type   string
			Record struct {
				Stream    string
				EmittedAt json.Number `json:"emitted_at"`
				Data      json.RawMessage
			}
		}
		if err := json.Unmarshal(body, &msg); err != nil {
			t.Fatal(err)
		}
		var wantStream string
		sb, _ := json.Marshal(stream)
		_ = json.Unmarshal(sb, &wantStream)
		if msg.Type != TypeRecord || msg.Record.Stream != wantStream || msg.Record.EmittedAt.String() != jsonInt(emittedAt) {
			t.Fatalf("envelope: %+v", msg)
		}
		want := decodeMap(t, data)
		if extra != nil {
			var v any
			d := json.NewDecoder(bytes.NewReader(val))
			d.UseNumber()
			if err := d.Decode(&v); err != nil {
				t.Fatal(err)
			}
			want[key] = v
			// A key JSON cannot round-trip (invalid UTF-8) decodes to its
			// replacement: compare through a round trip.
			kb, _ := json.Marshal(key)
			var rk string
			_ = json.Unmarshal(kb, &rk)
			if rk != key {
				delete(want, key)
				want[rk] = v
			}
		}
		got := decodeMap(t, msg.Record.Data)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("data =\n%v\nwant\n%v\n(line %q)", got, want, line)
		}
		if len(got) > 0 {
			if err := mustValidator(t).Line(line); err != nil {
				t.Fatalf("line does not validate: %v\n%q", err, line)
			}
		}
	})
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return strings.TrimSpace(string(b))
}
