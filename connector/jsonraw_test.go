package connector

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/source-zoom/source-zoom/protocol"
)

func TestSkipValue(t *testing.T) {
	tests := []struct {
		in   string
		at   int
		want string // the value skipped
	}{
		{`"abc"`, 0, `"abc"`},
		{`"a\"b\\"rest`, 0, `"a\"b\\"`},
		{`"\\\\"x`, 0, `"\\\\"`},
		{`{"a":"}"}, 1`, 0, `{"a":"}"}`},
		{`[1,[2,{"x":"]"}],3] ,`, 0, `[1,[2,{"x":"]"}],3]`},
		{`123.5e-7,`, 0, `123.5e-7`},
		{`-1}`, 0, `-1`},
		{`true ]`, 0, `true`},
		{`null`, 0, `null`},
		{`[[],{}]`, 1, `[]`},
		{`{"k":{"nested":[{"deep":"\"}"}]}}`, 5, `{"nested":[{"deep":"\"}"}]}`},
		{`"emoji 🎉 and é"`, 0, `"emoji 🎉 and é"`},
	}
	for _, tc := range tests {
		if got := tc.in[tc.at:skipValue([]byte(tc.in), tc.at)]; got != tc.want {
			t.Errorf("skipValue(%q, %d) skipped %q, want %q", tc.in, tc.at, got, tc.want)
		}
	}
	if got := skipValue([]byte("x"), 5); got != 5 {
		t.Errorf("skipValue past the end = %d", got)
	}
}

func TestEachMember(t *testing.T) {
	tests := []struct {
		in      string
		want    []string // key=value
		wantErr bool
	}{
		{`{}`, nil, false},
		{` { } `, nil, false},
		{`{"a":1}`, []string{"a=1"}, false},
		{"{ \"a\" :\n 1 ,\t\"b\":[1, 2] , \"c\":{\"d\":\"}\"}}", []string{"a=1", "b=[1, 2]", `c={"d":"}"}`}, false},
		{`{"q\"k":"v\"","":null}`, []string{`q\"k="v\""`, `=null`}, false},
		{`{"a":1,"a":2}`, []string{"a=1", "a=2"}, false},
		{`[1]`, nil, true},
		{`"s"`, nil, true},
		{``, nil, true},
	}
	for _, tc := range tests {
		var got []string
		err := eachMember([]byte(tc.in), func(k, v []byte) bool {
			got = append(got, string(k)+"="+string(v))
			return true
		})
		if (err != nil) != tc.wantErr {
			t.Errorf("eachMember(%q) error = %v", tc.in, err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("eachMember(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// Stops when told to.
	n := 0
	_ = eachMember([]byte(`{"a":1,"b":2,"c":3}`), func(k, v []byte) bool { n++; return n < 2 })
	if n != 2 {
		t.Errorf("eachMember went on after false: %d calls", n)
	}
}

func TestMemberAndPath(t *testing.T) {
	obj := []byte(`{"id":85746065432,"uuid":"/ab==","settings":{"tz":"UTC","inner":{"x":[1]}},"a.b":5,"dup":1,"dup":2,"n":null}`)
	tests := []struct {
		path  string
		want  string
		found bool
	}{
		{"id", "85746065432", true},
		{"uuid", `"/ab=="`, true},
		{"settings.tz", `"UTC"`, true},
		{"settings.inner.x", "[1]", true},
		{"settings.inner", `{"x":[1]}`, true},
		{"settings.none", "", false},
		{"id.deeper", "", false},
		{"a.b", "", false}, // dotted paths cannot name a key with a dot
		{"dup", "1", true}, // the first of duplicates
		{"n", "null", true},
		{"missing", "", false},
	}
	for _, tc := range tests {
		got, ok := path(obj, strings.Split(tc.path, "."))
		if ok != tc.found || string(got) != tc.want {
			t.Errorf("path(%q) = %q, %v; want %q, %v", tc.path, got, ok, tc.want, tc.found)
		}
	}
	if v, ok := member([]byte(`[{"a":1}]`), "a"); ok {
		t.Errorf("member of an array = %q", v)
	}
}

func TestEachElement(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{`[]`, nil, false},
		{` [ ] `, nil, false},
		{`[1]`, []string{"1"}, false},
		{"[ {\"a\":\"]\"} ,\n[1,2],\"x,y\", null ,true,-2.5e3]", []string{`{"a":"]"}`, "[1,2]", `"x,y"`, "null", "true", "-2.5e3"}, false},
		{`{"a":1}`, nil, true},
		{`1`, nil, true},
		{``, nil, true},
	}
	for _, tc := range tests {
		var got []string
		err := eachElement([]byte(tc.in), func(e []byte) error { got = append(got, string(e)); return nil })
		if (err != nil) != tc.wantErr {
			t.Errorf("eachElement(%q) error = %v", tc.in, err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("eachElement(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	stop := errors.New("stop")
	n := 0
	if err := eachElement([]byte(`[1,2,3]`), func([]byte) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("eachElement did not stop on an error: %v after %d", err, n)
	}
}

func TestScalarString(t *testing.T) {
	tests := []struct{ in, want string }{
		{`"plain"`, "plain"},
		{`"a\"b\\c\u00e9\/"`, `a"b\cé/`},
		{`"🎉"`, "🎉"},
		{`85746065432`, "85746065432"},
		{`1.50`, "1.50"},
		{`true`, "true"},
		{`false`, "false"},
		{`null`, ""},
		{`{"a":1}`, ""},
		{`[1]`, ""},
		{``, ""},
		{`""`, ""},
	}
	for _, tc := range tests {
		if got := scalarString([]byte(tc.in)); got != tc.want {
			t.Errorf("scalarString(%s) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// spliceLine builds the RECORD line of record data for a child whose
// params add fields from parent, the way a read does.
func spliceLine(data, parent []byte, params []Param) []byte {
	rd := &reader{src: &Source{BaseURL: "http://api.test"}}
	c := &run{st: &Stream{Name: "c", Path: "/c", Params: params}, state: cursorState{Partitions: map[string]time.Time{}}}
	ct := rd.childTask(c, &task{vals: map[string][]byte{}}, parent)
	return protocol.AppendRecord(nil, protocol.RecordPrefix("c"), 1, data, ct.extra)
}

func decodeNumbers(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func TestSplice(t *testing.T) {
	parent := []byte(`{"id":42,"uuid":"/a==","start":"2026-01-01T00:00:00Z","obj":{"x":[1,2]},"n":null,"f":1.50}`)
	params := []Param{
		{Name: "meeting_id", Field: "id", Add: true},
		{Name: "meeting_id_s", Field: "id", Add: true, AsString: true},
		{Name: "uuid", Field: "uuid", Add: true, AsString: true},
		{Name: "obj", Field: "obj", Add: true},
		{Name: "obj_s", Field: "obj", Add: true, AsString: true},
		{Name: "n", Field: "n", Add: true, AsString: true},
		{Name: "f", Field: "f", Add: true, AsString: true},
		{Name: "gone", Field: "missing", Add: true},
		{Name: "not_added", Field: "id"},
		{Name: `we"ird`, Field: "id", Add: true},
	}
	extra := `"meeting_id":42,"meeting_id_s":"42","uuid":"/a==","obj":{"x":[1,2]},"obj_s":"{\"x\":[1,2]}","n":null,"f":"1.50","gone":null,"we\"ird":42`
	tests := []struct{ data, want string }{
		{`{"a":1}`, `{"a":1,` + extra + `}`},
		{`{}`, `{` + extra + `}`},
		{`{ }`, `{ ` + extra + `}`},
		{`{"emoji":"🎉","esc":"\u00e9\"}"}`, `{"emoji":"🎉","esc":"\u00e9\"}",` + extra + `}`},
		{`{"a":{"b":{}}}`, `{"a":{"b":{}},` + extra + `}`},
	}
	for _, tc := range tests {
		line := spliceLine([]byte(tc.data), parent, params)
		var m struct {
			Record struct{ Data json.RawMessage }
		}
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("%s: line %s: %v", tc.data, line, err)
		}
		if got := string(m.Record.Data); got != tc.want {
			t.Errorf("splice(%s)\n got %s\nwant %s", tc.data, got, tc.want)
		}
	}
}

// FuzzSplice: for any JSON object and any JSON value taken from a parent
// record, the RECORD line is one valid JSON line whose data decodes to the
// object plus the added field.
func FuzzSplice(f *testing.F) {
	for _, s := range []struct {
		data, value, name string
		asString          bool
	}{
		{`{"a":1}`, `42`, "meeting_id", false},
		{`{}`, `"x"`, "k", true},
		{` { "a" : [ 1 , {} ] } `, `{"o":[1,2]}`, "obj", true},
		{"{\n  \"a\": \"é🎉\\n\"\n}\n", "[\n1\n]", "arr", false},
		{`{"k":1,"k":2}`, `null`, "k", true},
		{`{"\u006b":1}`, `1.50e+3`, "k", true},
		{`{"a":"\ud83d\ude00"}`, `"\/\"\\"`, "we\"ird\n", false},
	} {
		f.Add([]byte(s.data), []byte(s.value), s.name, s.asString)
	}
	f.Fuzz(func(t *testing.T, data, value []byte, name string, asString bool) {
		if !json.Valid(data) || !json.Valid(value) {
			t.Skip()
		}
		orig, err := decodeNumbers(data)
		if err != nil {
			t.Fatalf("decode valid %q: %v", data, err)
		}
		obj, ok := orig.(map[string]any)
		if !ok {
			t.Skip()
		}
		parent := append(append([]byte(`{"v":`), value...), '}')
		line := spliceLine(data, parent, []Param{{Name: name, Field: "v", Add: true, AsString: asString}})
		if !bytes.HasSuffix(line, []byte("}}\n")) || bytes.IndexByte(line, '\n') != len(line)-1 || bytes.IndexByte(line, '\r') >= 0 {
			t.Fatalf("not one line: %q", line)
		}
		if !json.Valid(line) {
			t.Fatalf("invalid line %q", line)
		}
		var m struct {
			Record struct{ Data json.RawMessage }
		}
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatal(err)
		}
		got, err := decodeNumbers(m.Record.Data)
		if err != nil {
			t.Fatalf("data %q: %v", m.Record.Data, err)
		}
		// The expected field: its name and value as JSON would carry them.
		kb, _ := json.Marshal(name)
		var key string
		_ = json.Unmarshal(kb, &key)
		raw := bytes.Trim(value, " \t\r\n")
		var want any
		switch {
		case string(raw) == "null":
			want = nil
		case asString && raw[0] != '"':
			sb, _ := json.Marshal(string(raw))
			want, _ = decodeNumbers(sb)
		default:
			want, _ = decodeNumbers(raw)
		}
		obj[key] = want
		if !reflect.DeepEqual(got, any(obj)) {
			t.Fatalf("splice of %q with %s=%q (as string %v)\n got %#v\nwant %#v", data, name, value, asString, got, obj)
		}
	})
}

// FuzzEachElement: for any valid JSON, eachElement gives exactly the
// elements of an array, each a valid JSON value without surrounding space
// that decodes like the element, and an error for anything else.
func FuzzEachElement(f *testing.F) {
	for _, s := range []string{`[]`, `[1,"a",null]`, ` [ {"a":[1,{"b":"]"}]} , [ ] ] `, `{"a":1}`, `"x"`, `[[[]]]`, "[\"\\\"\",\"\\\\\"]", `[1e5,-0.5,true,false]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, arr []byte) {
		if !json.Valid(arr) {
			t.Skip()
		}
		whole, err := decodeNumbers(arr)
		if err != nil {
			t.Fatal(err)
		}
		var elems [][]byte
		err = eachElement(arr, func(e []byte) error { elems = append(elems, e); return nil })
		want, isArray := whole.([]any)
		if !isArray {
			if err == nil {
				t.Fatalf("eachElement(%q) = %q, no error for a non-array", arr, elems)
			}
			return
		}
		if err != nil {
			t.Fatalf("eachElement(%q): %v", arr, err)
		}
		if len(elems) != len(want) {
			t.Fatalf("eachElement(%q) gave %d elements, want %d: %q", arr, len(elems), len(want), elems)
		}
		for i, e := range elems {
			if !json.Valid(e) || len(bytes.TrimSpace(e)) != len(e) {
				t.Fatalf("element %d of %q is %q", i, arr, e)
			}
			got, _ := decodeNumbers(e)
			if !reflect.DeepEqual(got, want[i]) {
				t.Fatalf("element %d of %q = %#v, want %#v", i, arr, got, want[i])
			}
		}
	})
}

// FuzzEachMember: for any valid JSON object, eachMember gives its members
// in order, keys still escaped and values valid JSON, and member finds the
// first of each key.
func FuzzEachMember(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1,"b":[1,{"c":"}"}]}`, `{"q\"k":"v","a":1,"a":2}`, ` { "x" : null } `, `[1]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, obj []byte) {
		if !json.Valid(obj) {
			t.Skip()
		}
		whole, err := decodeNumbers(obj)
		if err != nil {
			t.Fatal(err)
		}
		want, isObject := whole.(map[string]any)
		got := map[string]any{}
		first := map[string][]byte{}
		var rawKeys [][]byte
		err = eachMember(obj, func(k, v []byte) bool {
			if !json.Valid(v) {
				t.Fatalf("member %q of %q has value %q", k, obj, v)
			}
			var key string
			if err := json.Unmarshal(append(append([]byte{'"'}, k...), '"'), &key); err != nil {
				t.Fatalf("member key %q of %q: %v", k, obj, err)
			}
			got[key], _ = decodeNumbers(v)
			if _, ok := first[string(k)]; !ok {
				first[string(k)] = v
				rawKeys = append(rawKeys, k)
			}
			return true
		})
		if !isObject {
			if err == nil {
				t.Fatalf("eachMember(%q): no error for a non-object", obj)
			}
			return
		}
		if err != nil {
			t.Fatalf("eachMember(%q): %v", obj, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("eachMember(%q) = %#v, want %#v", obj, got, want)
		}
		for _, k := range rawKeys {
			v, ok := member(obj, string(k))
			if !ok || !bytes.Equal(v, first[string(k)]) {
				t.Fatalf("member(%q, %q) = %q, %v; want %q", obj, k, v, ok, first[string(k)])
			}
		}
	})
}
