package catalog

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
)

//go:embed schemas/*.json
var schemaFiles embed.FS

// index is the parsed form of the embedded schema files.
type index struct {
	names   []string                   // sorted stream names
	schemas map[string]json.RawMessage // stream name -> compact schema JSON
}

// loadIndex reads the embedded files once. The files are part of the build and
// are checked by the package tests, so a malformed one is a programming error.
var loadIndex = sync.OnceValue(func() index {
	files, err := fs.Glob(schemaFiles, "schemas/*.json")
	if err != nil {
		panic(fmt.Sprintf("catalog: listing embedded schemas: %v", err))
	}
	idx := index{schemas: make(map[string]json.RawMessage, len(files))}
	for _, file := range files {
		raw, err := schemaFiles.ReadFile(file)
		if err != nil {
			panic(fmt.Sprintf("catalog: reading embedded schema %s: %v", file, err))
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			panic(fmt.Sprintf("catalog: embedded schema %s is not valid JSON: %v", file, err))
		}
		name := strings.TrimSuffix(path.Base(file), ".json")
		idx.names = append(idx.names, name)
		idx.schemas[name] = json.RawMessage(buf.Bytes())
	}
	slices.Sort(idx.names)
	return idx
})

// Schema returns the JSON Schema (draft-07, compact JSON) of the public stream
// named stream, and whether such a stream exists. The returned slice is a copy
// owned by the caller.
func Schema(stream string) (json.RawMessage, bool) {
	s, ok := loadIndex().schemas[stream]
	if !ok {
		return nil, false
	}
	return bytes.Clone(s), true
}

// Names returns the names of all public streams, sorted, in a new slice.
func Names() []string {
	return slices.Clone(loadIndex().names)
}
