package harness

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
)

// Canonical returns doc re-encoded with sorted object keys and no
// insignificant space; numbers keep their literal text.
func Canonical(doc []byte) (string, error) {
	d := json.NewDecoder(bytes.NewReader(doc))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return "", err
	}
	var buf bytes.Buffer
	e := json.NewEncoder(&buf)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// Multiset counts records by their canonical JSON.
type Multiset map[string]int

// Count returns the multiset of recs (an unparsable record counts as its
// raw text).
func Count(recs []json.RawMessage) Multiset {
	m := Multiset{}
	for _, r := range recs {
		c, err := Canonical(r)
		if err != nil {
			c = string(r)
		}
		m[c]++
	}
	return m
}

// Minus returns the records of a not in b (with multiplicity), sorted.
func (a Multiset) Minus(b Multiset) []string {
	var out []string
	for k, n := range a {
		for i := b[k]; i < n; i++ {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// Diff compares want and got per stream as multisets of canonical JSON
// (key order and spacing ignored). It returns "" when they are equal, else
// one paragraph per differing stream: the counts and the first missing
// and first extra record.
func Diff(want, got map[string][]json.RawMessage) string {
	names := map[string]bool{}
	for s := range want {
		names[s] = true
	}
	for s := range got {
		names[s] = true
	}
	sorted := make([]string, 0, len(names))
	for s := range names {
		sorted = append(sorted, s)
	}
	sort.Strings(sorted)
	var b strings.Builder
	for _, s := range sorted {
		w, g := Count(want[s]), Count(got[s])
		missing, extra := w.Minus(g), g.Minus(w)
		if len(missing) == 0 && len(extra) == 0 {
			continue
		}
		fmt.Fprintf(&b, "stream %s: want %d records, got %d: %d missing, %d extra\n", s, len(want[s]), len(got[s]), len(missing), len(extra))
		if len(missing) > 0 {
			fmt.Fprintf(&b, "  first missing: %s\n", clip(missing[0]))
		}
		if len(extra) > 0 {
			fmt.Fprintf(&b, "  first extra:   %s\n", clip(extra[0]))
		}
	}
	return b.String()
}

// SameRecords fails t unless want and got hold the same records per stream
// (see Diff). It reports whether they do.
func SameRecords(t testing.TB, want, got map[string][]json.RawMessage) bool {
	t.Helper()
	if d := Diff(want, got); d != "" {
		t.Errorf("records differ (want vs got):\n%s", d)
		return false
	}
	return true
}

func clip(s string) string {
	const n = 600
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
