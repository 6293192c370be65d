package streams

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/source-zoom/source-zoom/catalog"
	"github.com/source-zoom/source-zoom/connector"
)

func TestTableValidates(t *testing.T) {
	if err := (&connector.Source{Streams: Table()}).Validate(); err != nil {
		t.Fatal(err)
	}
}

// schemaProps returns the property names of a stream's schema.
func schemaProps(t *testing.T, name string) map[string]json.RawMessage {
	t.Helper()
	s, ok := catalog.Schema(name)
	if !ok {
		t.Fatalf("stream %s has no schema in catalog", name)
	}
	var sch struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(s, &sch); err != nil {
		t.Fatalf("schema of %s: %v", name, err)
	}
	return sch.Properties
}

func TestTableSchemas(t *testing.T) {
	var visible []string
	for _, st := range Table() {
		if st.Hidden {
			if _, ok := catalog.Schema(st.Name); ok {
				t.Errorf("hidden stream %s has a public schema", st.Name)
			}
			continue
		}
		visible = append(visible, st.Name)
		props := schemaProps(t, st.Name)
		if len(props) == 0 {
			t.Errorf("%s: schema without properties", st.Name)
		}
		if len(st.PrimaryKey) == 0 {
			t.Errorf("%s: no primary key", st.Name)
		}
		for _, k := range st.PrimaryKey {
			if len(k) != 1 {
				t.Errorf("%s: nested primary key %q", st.Name, k)
				continue
			}
			if props[k[0]] == nil {
				t.Errorf("%s: primary key field %q is not in the schema", st.Name, k[0])
			}
		}
		if inc := st.Incremental; inc != nil && props[inc.CursorField] == nil {
			t.Errorf("%s: cursor field %q is not in the schema", st.Name, inc.CursorField)
		}
		for _, p := range st.Params {
			if p.Add && props[p.Name] == nil {
				t.Errorf("%s: added field %q is not in the schema", st.Name, p.Name)
			}
		}
		if _, err := connector.CompileSchema(st.Name, mustSchema(st.Name)); err != nil {
			t.Errorf("%s: %v", st.Name, err)
		}
	}
	if len(visible) != 23 {
		t.Errorf("%d visible streams, want 23", len(visible))
	}
	slices.Sort(visible)
	if names := catalog.Names(); !slices.Equal(visible, names) {
		t.Errorf("visible streams and catalog schemas differ:\nstreams %q\ncatalog %q", visible, names)
	}
}

func mustSchema(name string) []byte {
	s, _ := catalog.Schema(name)
	return s
}

func TestTableShape(t *testing.T) {
	byName := map[string]connector.Stream{}
	for _, st := range Table() {
		byName[st.Name] = st
	}
	for _, st := range Table() {
		if st.Parent == "" && st.Name != "users" {
			t.Errorf("%s is a root stream; only users should be", st.Name)
		}
		if st.Category != light && st.Category != medium && st.Category != heavy {
			t.Errorf("%s: rate-limit category %q", st.Name, st.Category)
		}
		if strings.HasPrefix(st.Name, "report_") && st.Category != heavy {
			t.Errorf("%s: report endpoints are Heavy, not %s", st.Name, st.Category)
		}
		if inc := st.Incremental; inc != nil && inc.PartitionCursor != "" {
			if !slices.ContainsFunc(st.Params, func(p connector.Param) bool { return p.Name == inc.PartitionCursor }) {
				t.Errorf("%s: partition cursor %q is not a param", st.Name, inc.PartitionCursor)
			}
		}
		for _, p := range st.Params {
			if strings.HasSuffix(p.Name, "_uuid") && p.Encode == nil {
				t.Errorf("%s: UUID param %s without encodeUUID", st.Name, p.Name)
			}
		}
	}
	if byName["users"].Incremental != nil {
		t.Errorf("users must stay full-refresh only")
	}
	// Table returns a fresh table: callers may fill in schemas.
	a, b := Table(), Table()
	a[0].Schema = json.RawMessage(`{}`)
	if b[0].Schema != nil {
		t.Errorf("Table shares its rows between calls")
	}
}
