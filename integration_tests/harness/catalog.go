package harness

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/source-zoom/source-zoom/protocol"
)

// Discover runs discover with the config file cfg and returns the catalog.
// It fails t unless discover exits 0 with exactly one CATALOG message and
// nothing on stderr.
func Discover(t testing.TB, bin, cfg string) *protocol.Catalog {
	t.Helper()
	r := Run(t, bin, "discover", "--config", cfg)
	if r.Code != 0 || len(r.Stderr) > 0 {
		t.Fatalf("discover: exit %d\nstderr: %s\nstdout: %s", r.Code, tail(r.Stderr), tail(r.Stdout))
	}
	var cat *protocol.Catalog
	for _, m := range r.Msgs {
		if m.Type != "CATALOG" {
			continue
		}
		if cat != nil {
			t.Fatal("discover: more than one CATALOG message")
		}
		cat = new(protocol.Catalog)
		if err := json.Unmarshal(m.Catalog, cat); err != nil {
			t.Fatalf("discover: catalog: %v", err)
		}
	}
	if cat == nil {
		t.Fatalf("discover: no CATALOG message\nstdout: %s", tail(r.Stdout))
	}
	return cat
}

// Configure builds a configured catalog from a discovered one: the streams
// named (all when names is nil), in the catalog's order, each in
// incremental mode (source cursor, append) when incremental is true and
// the stream supports it, else full_refresh (overwrite).
func Configure(cat *protocol.Catalog, names []string, incremental bool) (*protocol.ConfiguredCatalog, error) {
	known := map[string]bool{}
	for _, s := range cat.Streams {
		known[s.Name] = true
	}
	for _, n := range names {
		if !known[n] {
			return nil, fmt.Errorf("harness: stream %q is not in the catalog", n)
		}
	}
	out := &protocol.ConfiguredCatalog{Streams: []protocol.ConfiguredStream{}}
	for _, s := range cat.Streams {
		if names != nil && !slices.Contains(names, s.Name) {
			continue
		}
		cs := protocol.ConfiguredStream{Stream: s, SyncMode: protocol.FullRefresh, DestinationSyncMode: "overwrite", PrimaryKey: s.SourceDefinedPrimaryKey}
		if incremental && slices.Contains(s.SupportedSyncModes, protocol.Incremental) {
			cs.SyncMode, cs.DestinationSyncMode, cs.CursorField = protocol.Incremental, "append", s.DefaultCursorField
		}
		out.Streams = append(out.Streams, cs)
	}
	return out, nil
}

// WriteCatalog writes Configure(cat, names, incremental) to a temporary
// file and returns its path.
func WriteCatalog(t testing.TB, cat *protocol.Catalog, names []string, incremental bool) string {
	t.Helper()
	cc, err := Configure(cat, names, incremental)
	if err != nil {
		t.Fatal(err)
	}
	return WriteJSON(t, "catalog.json", cc)
}

// Incremental returns the names of the streams of cat that support
// incremental sync, with their cursor field (default_cursor_field joined
// by ".").
func Incremental(cat *protocol.Catalog) map[string]string {
	out := map[string]string{}
	for _, s := range cat.Streams {
		if slices.Contains(s.SupportedSyncModes, protocol.Incremental) {
			c := ""
			for i, f := range s.DefaultCursorField {
				if i > 0 {
					c += "."
				}
				c += f
			}
			out[s.Name] = c
		}
	}
	return out
}
