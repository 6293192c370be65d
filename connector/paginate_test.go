package connector_test

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/source-zoom/source-zoom/connector"
)

// TestPaginators reads 7 records in pages of 3 with every paginator and
// checks the records (all, once, in order), the number of requests and the
// page size sent with each.
func TestPaginators(t *testing.T) {
	const total, size = 7, 3
	page := func(from int) []map[string]any { // records from..from+size-1, capped at total
		return ids(from+1, min(from+size, total))
	}
	tests := []struct {
		name      string
		paginator connector.Paginator // on the Source
		onStream  bool                // set on the stream instead
		total     int                 // records served (default 7)
		handler   func(t *testing.T, f *fake) http.HandlerFunc
		requests  int
		sizeParam string // query parameter that must carry the page size
	}{
		{
			name:      "cursor next_page_token",
			paginator: connector.Cursor{TokenField: "next_page_token", SizeParam: "page_size"},
			handler: func(t *testing.T, f *fake) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					from := 0
					if tok := r.URL.Query().Get("next_page_token"); tok != "" {
						from, _ = strconv.Atoi(strings.TrimPrefix(tok, "tok"))
					}
					next := ""
					if from+size < total {
						next = fmt.Sprintf("tok%d", from+size)
					}
					writeJSON(w, 200, map[string]any{"page_size": size, "next_page_token": next, "items": page(from)})
				}
			},
			requests: 3, sizeParam: "page_size",
		},
		{
			name:      "cursor dotted token field, own param, on the stream",
			paginator: connector.Cursor{TokenField: "meta.next", TokenParam: "cursor", SizeParam: "limit"},
			onStream:  true,
			handler: func(t *testing.T, f *fake) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Query().Has("meta.next") {
						t.Errorf("token sent under the body field name: %s", r.RequestURI)
					}
					from := 0
					if tok := r.URL.Query().Get("cursor"); tok != "" {
						from, _ = strconv.Atoi(tok)
					}
					meta := map[string]any{}
					if from+size < total {
						meta["next"] = strconv.Itoa(from + size)
					} else {
						meta["next"] = nil
					}
					writeJSON(w, 200, map[string]any{"meta": meta, "items": page(from)})
				}
			},
			requests: 3, sizeParam: "limit",
		},
		{
			name:      "offset",
			paginator: connector.Offset{OffsetParam: "offset", LimitParam: "limit"},
			handler: func(t *testing.T, f *fake) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					off, err := strconv.Atoi(r.URL.Query().Get("offset"))
					if err != nil {
						t.Errorf("no offset in %s", r.RequestURI)
					}
					var items []map[string]any
					if off < total {
						items = page(off)
					}
					writeJSON(w, 200, map[string]any{"items": items})
				}
			},
			requests: 3, sizeParam: "limit",
		},
		{
			name:      "offset, last page full",
			paginator: connector.Offset{OffsetParam: "offset", LimitParam: "limit"},
			total:     6,
			handler: func(t *testing.T, f *fake) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
					items := []map[string]any{}
					if off < 6 {
						items = ids(off+1, min(off+size, 6))
					}
					writeJSON(w, 200, map[string]any{"items": items})
				}
			},
			requests: 3, sizeParam: "limit", // 3, 3, then an empty page
		},
		{
			name:      "page number",
			paginator: connector.PageNumber{PageParam: "page", SizeParam: "per_page"},
			handler: func(t *testing.T, f *fake) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					p, err := strconv.Atoi(r.URL.Query().Get("page"))
					if err != nil || p < 1 {
						t.Errorf("bad page in %s", r.RequestURI)
						p = 1
					}
					var items []map[string]any
					if from := (p - 1) * size; from < total {
						items = page(from)
					}
					writeJSON(w, 200, map[string]any{"items": items})
				}
			},
			requests: 3, sizeParam: "per_page",
		},
		{
			name:      "page number from Start",
			paginator: connector.PageNumber{PageParam: "p", SizeParam: "n", Start: 5},
			handler: func(t *testing.T, f *fake) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					p, _ := strconv.Atoi(r.URL.Query().Get("p"))
					if p < 5 {
						t.Errorf("page %d before Start in %s", p, r.RequestURI)
					}
					var items []map[string]any
					if from := (p - 5) * size; from < total && p >= 5 {
						items = page(from)
					}
					writeJSON(w, 200, map[string]any{"items": items})
				}
			},
			requests: 3, sizeParam: "n",
		},
		{
			name:      "link header",
			paginator: connector.LinkHeader{SizeParam: "per_page"},
			handler: func(t *testing.T, f *fake) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					p, _ := strconv.Atoi(r.URL.Query().Get("page"))
					from := p * size
					links := []string{`<` + f.srv.URL + `/items?per_page=3>; rel="first"`}
					if from+size < total {
						next := fmt.Sprintf("/items?page=%d&per_page=%s", p+1, r.URL.Query().Get("per_page"))
						if p == 0 {
							next = f.srv.URL + next // absolute, then relative
						}
						links = append(links, `<`+next+`>; rel="next"`)
					}
					w.Header().Set("Link", strings.Join(links, ", "))
					writeJSON(w, 200, map[string]any{"items": page(from)})
				}
			},
			requests: 3, sizeParam: "per_page",
		},
		{
			name:      "single page",
			paginator: connector.SinglePage{},
			handler: func(t *testing.T, f *fake) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					if r.URL.RawQuery != "" {
						t.Errorf("single page sent a query: %s", r.RequestURI)
					}
					writeJSON(w, 200, map[string]any{"items": ids(1, total), "next_page_token": "ignored"})
				}
			},
			requests: 1,
		},
		{
			name:      "no paginator: single page",
			paginator: nil,
			handler: func(t *testing.T, f *fake) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					writeJSON(w, 200, map[string]any{"items": ids(1, total), "next_page_token": "ignored"})
				}
			},
			requests: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.total
			if n == 0 {
				n = total
			}
			f := newFake(t)
			f.handle("/items", tc.handler(t, f))
			st := connector.Stream{Name: "items"}
			src := f.source()
			if tc.onStream {
				st.Paginator = tc.paginator
				src.Paginator = connector.SinglePage{} // must be overridden
			} else {
				src.Paginator = tc.paginator
			}
			src.PageSize = size
			src.Streams = []connector.Stream{st}
			out, err := runRead(t, src, frAll("items"), nil)
			if err != nil {
				t.Fatalf("Read: %v\n%s", err, out)
			}
			var want []string
			for i := 1; i <= n; i++ {
				want = append(want, strconv.Itoa(i))
			}
			equalStrings(t, "ids", out.field(t, "items", "id"), want)
			if got := f.hit("/items"); got != tc.requests {
				t.Errorf("%d requests, want %d: %q", got, tc.requests, f.requestURIs())
			}
			if tc.sizeParam != "" {
				for _, u := range f.requestURIs() {
					if !strings.Contains(u, tc.sizeParam+"=3") {
						t.Errorf("request %s does not pass the page size as %s", u, tc.sizeParam)
					}
				}
			}
			out.checkStateCounts(t)
			f.noUnmatched(t)
		})
	}
}

// TestPaginatorLoopsFail: an API that repeats a page token or a next link,
// or links to another host, fails the stream after a bounded number of
// requests instead of looping or leaking the token.
func TestPaginatorLoopsFail(t *testing.T) {
	tests := []struct {
		name      string
		paginator connector.Paginator
		handler   func(f *fake) http.HandlerFunc
		requests  int
		message   string
	}{
		{
			name:      "repeated next_page_token",
			paginator: connector.Cursor{TokenField: "next_page_token", SizeParam: "page_size"},
			handler: func(f *fake) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					writeJSON(w, 200, map[string]any{"next_page_token": "same", "items": ids(1, 2)})
				}
			},
			requests: 2, message: `repeated page token "same"`,
		},
		{
			name:      "token cycle",
			paginator: connector.Cursor{TokenField: "next_page_token"},
			handler: func(f *fake) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					next := map[string]string{"": "a", "a": "b", "b": "a"}[r.URL.Query().Get("next_page_token")]
					writeJSON(w, 200, map[string]any{"next_page_token": next, "items": ids(1, 1)})
				}
			},
			requests: 3, message: `repeated page token "a"`,
		},
		{
			name:      "repeated next link",
			paginator: connector.LinkHeader{},
			handler: func(f *fake) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Link", `</items?page=2>; rel="next"`)
					writeJSON(w, 200, map[string]any{"items": ids(1, 1)})
				}
			},
			requests: 2, message: "repeated next link",
		},
		{
			name:      "next link cycle",
			paginator: connector.LinkHeader{SizeParam: "per_page"},
			handler: func(f *fake) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					next := map[string]string{"": "2", "2": "3", "3": "2"}[r.URL.Query().Get("page")]
					w.Header().Set("Link", `</items?per_page=100&page=`+next+`>; rel="next"`)
					writeJSON(w, 200, map[string]any{"items": ids(1, 1)})
				}
			},
			requests: 3, message: "repeated next link",
		},
		{
			name:      "next link to another host",
			paginator: connector.LinkHeader{},
			handler: func(f *fake) http.HandlerFunc {
				return func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Link", `<https://evil.example/items?page=2>; rel="next"`)
					writeJSON(w, 200, map[string]any{"items": ids(1, 1)})
				}
			},
			requests: 1, message: `another host "evil.example"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.handle("/items", tc.handler(f))
			src := f.source(connector.Stream{Name: "items"}, connector.Stream{Name: "other"})
			f.json("/other", map[string]any{"other": ids(1, 3)})
			src.Paginator = tc.paginator
			out, err := runRead(t, src, frAll("items", "other"), nil)
			var rep *connector.ReportedError
			if !errors.As(err, &rep) {
				t.Fatalf("Read error = %v, want a ReportedError", err)
			}
			if got := f.hit("/items"); got != tc.requests {
				t.Errorf("%d requests, want %d", got, tc.requests)
			}
			e := out.errorOf(t, "items")
			mustContain(t, "error", e.Message, tc.message)
			if e.FailureType != "system_error" {
				t.Errorf("failure_type = %q, want system_error", e.FailureType)
			}
			equalStrings(t, "statuses", out.statuses("items"), []string{"STARTED", "RUNNING", "INCOMPLETE"})
			// The records of the pages read are kept; the other stream is fine.
			if len(out.records("items")) == 0 {
				t.Error("records of the pages before the loop were dropped")
			}
			equalStrings(t, "other statuses", out.statuses("other"), []string{"STARTED", "RUNNING", "COMPLETE"})
			out.checkStateCounts(t)
		})
	}
}
