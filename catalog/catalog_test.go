package catalog

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const draft07 = "http://json-schema.org/draft-07/schema#"

var (
	nullInt = []string{"null", "integer"}
	nullNum = []string{"null", "number"}
	nullStr = []string{"null", "string"}
)

// streamSpec is the part of the stream table (/tmp/plan/streamtable.md) that
// the schemas must honour.
type streamSpec struct {
	primaryKey []string
	cursor     string              // "" for full-refresh-only streams
	added      map[string][]string // fields the connector adds -> exact JSON types
}

var streams = map[string]streamSpec{
	"users":                          {primaryKey: []string{"id"}},
	"meetings":                       {primaryKey: []string{"id"}},
	"meeting_registrants":            {primaryKey: []string{"meeting_id", "id"}, added: map[string][]string{"meeting_id": nullNum}},
	"meeting_polls":                  {primaryKey: []string{"meeting_id", "id"}, added: map[string][]string{"meeting_id": nullNum}},
	"meeting_registration_questions": {primaryKey: []string{"meeting_id"}, added: map[string][]string{"meeting_id": nullInt}},
	"past_meeting_instances":         {primaryKey: []string{"uuid"}, cursor: "start_time", added: map[string][]string{"meeting_id": nullInt}},
	"report_meetings":                {primaryKey: []string{"uuid"}, cursor: "start_time", added: map[string][]string{"meeting_uuid": nullStr}},
	"report_meeting_participants": {primaryKey: []string{"meeting_uuid", "user_id", "join_time"}, cursor: "meeting_start_time",
		added: map[string][]string{"meeting_id": nullInt, "meeting_uuid": nullStr, "meeting_start_time": nullStr}},
	"past_meeting_participants": {primaryKey: []string{"meeting_uuid", "id", "name", "join_time"}, cursor: "meeting_start_time",
		added: map[string][]string{"meeting_id": nullInt, "meeting_uuid": nullStr, "meeting_start_time": nullStr}},
	"meeting_poll_results": {primaryKey: []string{"meeting_uuid", "email", "name"}, cursor: "meeting_start_time",
		added: map[string][]string{"meeting_id": nullInt, "meeting_uuid": nullStr, "meeting_start_time": nullStr}},
	"webinars":                       {primaryKey: []string{"id"}},
	"webinar_panelists":              {primaryKey: []string{"webinar_id", "id"}, added: map[string][]string{"webinar_id": nullNum}},
	"webinar_registrants":            {primaryKey: []string{"webinar_id", "id"}, added: map[string][]string{"webinar_id": nullStr}},
	"webinar_polls":                  {primaryKey: []string{"webinar_id", "id"}, added: map[string][]string{"webinar_id": nullStr}},
	"webinar_registration_questions": {primaryKey: []string{"webinar_id"}, added: map[string][]string{"webinar_id": nullStr}},
	"webinar_tracking_sources":       {primaryKey: []string{"webinar_id", "id"}, added: map[string][]string{"webinar_id": nullStr}},
	"webinar_absentees": {primaryKey: []string{"webinar_uuid", "id"}, cursor: "webinar_start_time",
		added: map[string][]string{"webinar_uuid": nullStr, "webinar_start_time": nullStr}},
	"webinar_poll_results": {primaryKey: []string{"webinar_uuid", "email", "name"}, cursor: "webinar_start_time",
		added: map[string][]string{"webinar_uuid": nullStr, "webinar_start_time": nullStr}},
	"webinar_qna_results": {primaryKey: []string{"webinar_uuid", "email", "name"}, cursor: "webinar_start_time",
		added: map[string][]string{"webinar_uuid": nullStr, "webinar_start_time": nullStr}},
	"report_webinars": {primaryKey: []string{"uuid"}, cursor: "start_time", added: map[string][]string{"webinar_uuid": nullStr}},
	"report_webinar_participants": {primaryKey: []string{"webinar_uuid", "user_id", "join_time"}, cursor: "webinar_start_time",
		added: map[string][]string{"webinar_uuid": nullStr, "webinar_start_time": nullStr}},
	"report_user_meetings": {primaryKey: []string{"uuid"}, cursor: "start_time", added: map[string][]string{"user_id": nullStr}},
	"recordings":           {primaryKey: []string{"uuid"}, cursor: "start_time", added: map[string][]string{"user_id": nullStr}},
}

// hiddenParents are read by the connector but never emitted.
var hiddenParents = []string{"user_meetings", "user_webinars", "past_webinar_instances"}

// schemaDoc returns a stream's schema decoded into generic JSON values.
func schemaDoc(t *testing.T, stream string) map[string]any {
	t.Helper()
	raw, ok := Schema(stream)
	if !ok {
		t.Fatalf("Schema(%q): not found", stream)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("Schema(%q): %v", stream, err)
	}
	return doc
}

// compileAll compiles every schema with a single draft-07 compiler.
func compileAll(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	url := func(name string) string {
		return "https://github.com/source-zoom/source-zoom/catalog/schemas/" + name + ".json"
	}
	for _, name := range Names() {
		raw, _ := Schema(name)
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := c.AddResource(url(name), doc); err != nil {
			t.Fatalf("%s: AddResource: %v", name, err)
		}
	}
	out := make(map[string]*jsonschema.Schema)
	for _, name := range Names() {
		s, err := c.Compile(url(name))
		if err != nil {
			t.Fatalf("%s: compile: %v", name, err)
		}
		out[name] = s
	}
	return out
}

func typeSet(node map[string]any) []string {
	switch v := node["type"].(type) {
	case string:
		return []string{v}
	case []any:
		var ts []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				ts = append(ts, s)
			}
		}
		return ts
	}
	return nil
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestNames(t *testing.T) {
	names := Names()
	want := make([]string, 0, len(streams))
	for name := range streams {
		want = append(want, name)
	}
	sort.Strings(want)
	if !slices.Equal(names, want) {
		t.Fatalf("Names() = %v\nwant %v", names, want)
	}
	names[0] = "mutated"
	if Names()[0] == "mutated" {
		t.Error("Names() returns shared storage")
	}
	for _, name := range append([]string{"", "nope", "users.json"}, hiddenParents...) {
		if _, ok := Schema(name); ok {
			t.Errorf("Schema(%q) found, want not found", name)
		}
	}
}

func TestSchemaReturnsCopy(t *testing.T) {
	a, _ := Schema("users")
	b, _ := Schema("users")
	if !bytes.Equal(a, b) {
		t.Fatal("Schema not deterministic")
	}
	a[0] = 'X'
	if c, _ := Schema("users"); c[0] != '{' {
		t.Error("Schema returns shared storage")
	}
	if !json.Valid(b) {
		t.Error("Schema returns invalid JSON")
	}
}

func TestSchemasCompileAsDraft07(t *testing.T) {
	compiled := compileAll(t)
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			if got := compiled[name].DraftVersion; got != 7 {
				t.Errorf("draft version %d, want 7", got)
			}
			doc := schemaDoc(t, name)
			if doc["$schema"] != draft07 {
				t.Errorf("$schema = %v, want %s", doc["$schema"], draft07)
			}
			if doc["type"] != "object" {
				t.Errorf("root type = %v, want \"object\"", doc["type"])
			}
			checkShape(t, name, doc, true)
		})
	}
}

// checkShape enforces the structural rules at every level: nullable
// properties and items, open objects, nothing required.
func checkShape(t *testing.T, path string, node map[string]any, root bool) {
	t.Helper()
	types := typeSet(node)
	if !root && len(types) > 0 && !slices.Contains(types, "null") {
		t.Errorf("%s: type %v is not nullable", path, types)
	}
	if _, ok := node["required"]; ok {
		t.Errorf("%s: has \"required\"", path)
	}
	if slices.Contains(types, "object") {
		if node["additionalProperties"] != true {
			t.Errorf("%s: additionalProperties = %v, want true", path, node["additionalProperties"])
		}
	}
	props := asMap(node["properties"])
	for _, k := range sortedKeys(props) {
		checkShape(t, path+"."+k, asMap(props[k]), false)
	}
	if items := asMap(node["items"]); items != nil {
		checkShape(t, path+"[]", items, false)
	}
}

// referenceDir finds shared/reference/airbyte-source-zoom-schemas beside the
// working directory or one of its parents.
func referenceDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		cand := filepath.Join(dir, "shared", "reference", "airbyte-source-zoom-schemas")
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("shared/reference/airbyte-source-zoom-schemas not found beside the working directory or any parent")
		}
		dir = parent
	}
}

func TestCoversReferenceSchemas(t *testing.T) {
	dir := referenceDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no reference schemas in %s", dir)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var ref map[string]any
			if err := json.Unmarshal(raw, &ref); err != nil {
				t.Fatal(err)
			}
			if _, ok := Schema(name); !ok {
				t.Fatalf("reference stream %q has no schema", name)
			}
			checkCovers(t, name, schemaDoc(t, name), ref)
		})
	}
}

// checkCovers fails if ours lacks a property of ref (at any depth, including
// array items) or does not accept one of ref's non-null types.
func checkCovers(t *testing.T, path string, ours, ref map[string]any) {
	t.Helper()
	if ours == nil {
		t.Errorf("%s: missing", path)
		return
	}
	ourTypes := typeSet(ours)
	for _, rt := range typeSet(ref) {
		if rt == "null" {
			continue
		}
		if !slices.Contains(ourTypes, rt) && !(rt == "integer" && slices.Contains(ourTypes, "number")) {
			t.Errorf("%s: type %v does not accept reference type %q", path, ourTypes, rt)
		}
	}
	refProps := asMap(ref["properties"])
	ourProps := asMap(ours["properties"])
	for _, k := range sortedKeys(refProps) {
		checkCovers(t, path+"."+k, asMap(ourProps[k]), asMap(refProps[k]))
	}
	if refItems := asMap(ref["items"]); refItems != nil {
		checkCovers(t, path+"[]", asMap(ours["items"]), refItems)
	}
}

func TestKeysAndAddedFields(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			spec, ok := streams[name]
			if !ok {
				t.Fatalf("stream %q not in the expected stream table", name)
			}
			props := asMap(schemaDoc(t, name)["properties"])
			fields := slices.Clone(spec.primaryKey)
			if spec.cursor != "" {
				fields = append(fields, spec.cursor)
			}
			for _, f := range fields {
				if props[f] == nil {
					t.Errorf("key/cursor field %q is not a top-level property", f)
				}
			}
			for f, want := range spec.added {
				p := asMap(props[f])
				if p == nil {
					t.Errorf("added field %q missing", f)
					continue
				}
				if got := typeSet(p); !slices.Equal(got, want) {
					t.Errorf("added field %q: type %v, want %v", f, got, want)
				}
			}
		})
	}
}

func loadRecord(t *testing.T, name string) any {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rec, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("testdata/%s.json: %v", name, err)
	}
	return rec
}

func TestSampleRecords(t *testing.T) {
	compiled := compileAll(t)
	dir := referenceDir(t)
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			sch := compiled[name]
			rec := loadRecord(t, name)
			if err := sch.Validate(rec); err != nil {
				t.Fatalf("sample record does not validate: %v", err)
			}
			recMap := rec.(map[string]any)
			for _, f := range streams[name].primaryKey {
				if _, ok := recMap[f]; !ok {
					t.Errorf("sample record lacks primary-key field %q", f)
				}
			}

			// Wrong-typed values must fail: every non-object field of the
			// reference schema, plus the key, cursor and added fields.
			fields := map[string]bool{}
			if raw, err := os.ReadFile(filepath.Join(dir, name+".json")); err == nil {
				var ref map[string]any
				if err := json.Unmarshal(raw, &ref); err != nil {
					t.Fatal(err)
				}
				refProps := asMap(ref["properties"])
				for k, v := range refProps {
					if !slices.Contains(typeSet(asMap(v)), "object") {
						fields[k] = true
					}
				}
			}
			spec := streams[name]
			for _, f := range spec.primaryKey {
				fields[f] = true
			}
			if spec.cursor != "" {
				fields[spec.cursor] = true
			}
			for f := range spec.added {
				fields[f] = true
			}
			if len(fields) == 0 {
				t.Fatal("no field to mistype")
			}
			for f := range fields {
				bad := make(map[string]any, len(recMap))
				for k, v := range recMap {
					bad[k] = v
				}
				bad[f] = map[string]any{}
				if err := sch.Validate(bad); err == nil {
					t.Errorf("record with %q: {} validates, want failure", f)
				}
			}
		})
	}
}

func TestNestedWrongTypesFail(t *testing.T) {
	compiled := compileAll(t)
	tests := []struct {
		stream string
		record string
	}{
		{"meetings", `{"id": 97763643886, "settings": {"approval_type": "automatic"}}`},
		{"meetings", `{"id": 97763643886, "recurrence": {"type": "daily"}}`},
		{"users", `{"id": "KDcuGIm1QgePTO8WbOqwIQ", "group_ids": [7]}`},
		{"meeting_polls", `{"id": "QalIoKWLTJehBJ8e1xRrbQ", "questions": [{"answers": "Yes"}]}`},
		{"webinar_poll_results", `{"email": "a@example.com", "question_details": [{"answer": 1}]}`},
		{"recordings", `{"uuid": "BOKXuumlTAGXuqwr3bLyuQ==", "recording_files": [{"file_size": "big"}]}`},
		{"users", `{"id": 42}`},
	}
	for _, tc := range tests {
		t.Run(tc.stream, func(t *testing.T) {
			rec, err := jsonschema.UnmarshalJSON(strings.NewReader(tc.record))
			if err != nil {
				t.Fatal(err)
			}
			if err := compiled[tc.stream].Validate(rec); err == nil {
				t.Errorf("%s validates, want failure", tc.record)
			}
		})
	}
}

func TestNullsAndUnknownFieldsValidate(t *testing.T) {
	compiled := compileAll(t)
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			props := asMap(schemaDoc(t, name)["properties"])
			rec := map[string]any{"a_field_zoom_adds_later": map[string]any{"x": []any{1, "y"}}}
			for k := range props {
				rec[k] = nil
			}
			if err := compiled[name].Validate(rec); err != nil {
				t.Errorf("all-null record does not validate: %v", err)
			}
		})
	}
}
