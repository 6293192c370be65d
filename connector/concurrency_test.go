package connector_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/source-zoom/source-zoom/connector"
)

// TestConcurrency: 200 partitions read by 16 workers: every record exactly
// once, never more than Concurrency requests in flight at the server, and
// more than one at a time; the pages of one listing stay sequential.
func TestConcurrency(t *testing.T) {
	const parents, workers, pages = 200, 16, 3
	f := newFake(t)
	var inflight, maxInflight atomic.Int32
	track := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			n := inflight.Add(1)
			defer inflight.Add(-1)
			for {
				m := maxInflight.Load()
				if n <= m || maxInflight.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(2 * time.Millisecond)
			h(w, r)
		}
	}
	// The parent listing: 200 records in pages of 50 (offset pagination).
	f.handle("/parents", track(func(w http.ResponseWriter, r *http.Request) {
		off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		if l := r.URL.Query().Get("limit"); l != "50" {
			t.Errorf("limit = %q", l)
		}
		writeJSON(w, 200, map[string]any{"parents": ids(off+1, min(off+50, parents))})
	}))
	// Each child listing has three pages, chained by a cursor; two pages of
	// one listing in flight at once is an error.
	var listing [parents + 1]atomic.Int32
	for i := 1; i <= parents; i++ {
		f.handle(fmt.Sprintf("/parents/%d/children", i), track(func(w http.ResponseWriter, r *http.Request) {
			if listing[i].Add(1) > 1 {
				t.Errorf("two pages of parent %d in flight at once", i)
			}
			defer listing[i].Add(-1)
			p, _ := strconv.Atoi(r.URL.Query().Get("next"))
			next := ""
			if p+1 < pages {
				next = strconv.Itoa(p + 1)
			}
			writeJSON(w, 200, fmt.Sprintf(`{"next":%q,"children":[{"k":"%d-%d"}]}`, next, i, p))
		}))
	}
	src := f.source(
		connector.Stream{Name: "parents"},
		connector.Stream{Name: "children", Parent: "parents", Path: "/parents/{id}/children", Params: []connector.Param{{Name: "id", Field: "id", Add: true}},
			Paginator: connector.Cursor{TokenField: "next"}},
	)
	src.Paginator = connector.Offset{OffsetParam: "offset", LimitParam: "limit"}
	src.PageSize = 50
	src.Concurrency = workers
	start := time.Now()
	out, err := runRead(t, src, frAll("parents", "children"), nil)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	t.Logf("%d requests in %s, at most %d in flight", f.totalHits(), time.Since(start), maxInflight.Load())
	if m := maxInflight.Load(); m > workers || m < 2 {
		t.Errorf("at most %d requests in flight, want 2..%d", m, workers)
	}
	if got := f.hit("/parents"); got != parents/50+1 {
		t.Errorf("parents listing: %d pages, want %d", got, parents/50+1)
	}
	seen := map[string]int{}
	for _, k := range out.field(t, "children", "k") {
		seen[k]++
	}
	for i := 1; i <= parents; i++ {
		for p := 0; p < pages; p++ {
			if k := fmt.Sprintf("%d-%d", i, p); seen[k] != 1 {
				t.Errorf("child %s emitted %d times", k, seen[k])
			}
		}
	}
	if len(seen) != parents*pages || len(out.records("children")) != parents*pages {
		t.Errorf("%d children (%d distinct), want %d", len(out.records("children")), len(seen), parents*pages)
	}
	// Each child record carries its own parent's id.
	for _, c := range out.objects(t, "children") {
		if !strings.HasPrefix(c["k"].(string), fmt.Sprint(c["id"])+"-") {
			t.Errorf("child %v has the wrong parent id", c)
		}
	}
	if got := len(out.records("parents")); got != parents {
		t.Errorf("%d parents", got)
	}
	out.checkStateCounts(t)
	f.noUnmatched(t)
}

// TestConcurrencyLimitOne: with Concurrency 1 requests never overlap.
func TestConcurrencyLimitOne(t *testing.T) {
	f := newFake(t)
	var inflight atomic.Int32
	var overlapped atomic.Bool
	h := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if inflight.Add(1) > 1 {
				overlapped.Store(true)
			}
			time.Sleep(time.Millisecond)
			inflight.Add(-1)
			writeJSON(w, 200, body)
		}
	}
	f.handle("/a", h(`{"a":[{"id":1},{"id":2},{"id":3}]}`))
	for i := 1; i <= 3; i++ {
		f.handle(fmt.Sprintf("/a/%d/b", i), h(`{"b":[{"x":1}]}`))
	}
	f.handle("/c", h(`{"c":[{"id":1}]}`))
	src := f.source(connector.Stream{Name: "a"}, connector.Stream{Name: "b", Parent: "a", Path: "/a/{id}/b", Params: []connector.Param{{Name: "id", Field: "id"}}}, connector.Stream{Name: "c"})
	src.Concurrency = 1
	if _, err := runRead(t, src, frAll("a", "b", "c"), nil); err != nil {
		t.Fatal(err)
	}
	if overlapped.Load() {
		t.Error("requests overlapped with Concurrency 1")
	}
}
