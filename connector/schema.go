package connector

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Schema is a compiled JSON Schema (draft-07 unless the schema says
// otherwise). It is safe for concurrent use.
type Schema struct{ s *jsonschema.Schema }

// CompileSchema compiles a JSON schema document.
func CompileSchema(name string, doc []byte) (*Schema, error) {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", name, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	loc := "mem:///" + name + ".json"
	if err := c.AddResource(loc, v); err != nil {
		return nil, fmt.Errorf("schema %s: %w", name, err)
	}
	s, err := c.Compile(loc)
	if err != nil {
		return nil, fmt.Errorf("schema %s: %w", name, err)
	}
	return &Schema{s: s}, nil
}

// Validate checks one JSON document. Its error lists each problem as
// "field: problem", with the field as a JSON pointer without the leading
// slash ("" for the document itself).
func (s *Schema) Validate(doc []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("invalid JSON: %w", err)
	}
	err = s.s.Validate(v)
	if err == nil {
		return nil
	}
	ve, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return err
	}
	var msgs []string
	seen := map[string]bool{}
	for _, u := range ve.BasicOutput().Errors {
		if u.Error == nil {
			continue
		}
		m := u.Error.String()
		if strings.HasPrefix(m, "validation failed") || strings.HasPrefix(m, "doesn't validate with") {
			continue
		}
		field := strings.TrimPrefix(u.InstanceLocation, "/")
		line := m
		if field != "" {
			line = fmt.Sprintf("%q: %s", field, m)
		}
		if !seen[line] {
			seen[line] = true
			msgs = append(msgs, line)
		}
	}
	if len(msgs) == 0 {
		return fmt.Errorf("%v", ve)
	}
	sort.Strings(msgs)
	return fmt.Errorf("%s", strings.Join(msgs, "; "))
}
