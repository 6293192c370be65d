package connector_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/source-zoom/source-zoom/connector"
)

// The engine is not Zoom's: these tests declare two other APIs in the same
// kind of table.

// TestGitHubLikeAPI: bare-array bodies, Link header pagination with a page
// size, two placeholders filled from a dotted parent field, an extra
// header, and an incremental child filtered on its own cursor.
func TestGitHubLikeAPI(t *testing.T) {
	f := newFake(t)
	repos := []map[string]any{
		{"name": "widgets", "full_name": "acme/widgets", "owner": map[string]any{"login": "acme"}},
		{"name": "gadgets", "full_name": "acme/gadgets", "owner": map[string]any{"login": "acme"}},
		{"name": "forked", "full_name": "octo cat/forked", "owner": map[string]any{"login": "octo cat"}},
	}
	// linked serves items in pages of per_page with GitHub's Link header.
	linked := func(items []map[string]any) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("X-GitHub-Api-Version") != "2022-11-28" || r.Header.Get("Authorization") != "Bearer ghp_test" {
				writeJSON(w, 401, `{"message":"Bad credentials"}`)
				return
			}
			per, _ := strconv.Atoi(r.URL.Query().Get("per_page"))
			page, _ := strconv.Atoi(r.URL.Query().Get("page"))
			if per == 0 {
				t.Errorf("no per_page in %s", r.RequestURI)
				per = 100
			}
			if page == 0 {
				page = 1
			}
			from := (page - 1) * per
			to := min(from+per, len(items))
			if to < len(items) {
				q := r.URL.Query()
				q.Set("page", strconv.Itoa(page+1))
				w.Header().Set("Link", fmt.Sprintf(`<%s%s?%s>; rel="next", <%s%s?page=1>; rel="first"`, f.srv.URL, r.URL.Path, q.Encode(), f.srv.URL, r.URL.Path))
			}
			page0 := items[from:to]
			if page0 == nil {
				page0 = []map[string]any{}
			}
			writeJSON(w, 200, page0)
		}
	}
	f.handle("/api/orgs/acme/repos", linked(repos))
	issues := map[string][]map[string]any{
		"/api/repos/acme/widgets/issues":      {{"number": 1, "updated_at": "2026-01-01T00:00:00Z"}, {"number": 2, "updated_at": "2026-02-01T00:00:00Z"}, {"number": 3, "updated_at": "2026-03-01T00:00:00Z"}},
		"/api/repos/acme/gadgets/issues":      {},
		"/api/repos/octo%20cat/forked/issues": {{"number": 7, "updated_at": "2026-02-15T00:00:00Z"}},
	}
	for p, is := range issues {
		f.handle(p, linked(is))
	}
	gh := connector.LinkHeader{SizeParam: "per_page"}
	src := &connector.Source{
		BaseURL:   f.srv.URL + "/api/",
		Transport: f.srv.Client().Transport,
		Auth:      staticToken("ghp_test"),
		Header:    http.Header{"X-GitHub-Api-Version": {"2022-11-28"}},
		PageSize:  2,
		Retry:     fastRetry,
		Streams: []connector.Stream{
			{Name: "repositories", Path: "/orgs/acme/repos", RecordsAt: connector.WholeBody, Paginator: gh, PrimaryKey: [][]string{{"full_name"}}},
			{Name: "issues", Parent: "repositories", Path: "/repos/{owner}/{repo}/issues", RecordsAt: connector.WholeBody, Paginator: gh,
				Params: []connector.Param{
					{Name: "owner", Field: "owner.login"},
					{Name: "repo", Field: "name"},
					{Name: "repository", Field: "full_name", Add: true},
				},
				PrimaryKey:  [][]string{{"repository"}, {"number"}},
				Incremental: &connector.Incremental{CursorField: "updated_at"}},
		},
	}
	if err := src.Validate(); err != nil {
		t.Fatal(err)
	}
	state := map[string]json.RawMessage{"issues": json.RawMessage(`{"updated_at":"2026-01-15T00:00:00Z"}`)}
	out, err := runRead(t, src, cat(fr("repositories"), inc("issues")), state)
	if err != nil {
		t.Fatalf("Read: %v\n%s", err, out)
	}
	equalStrings(t, "repositories", out.field(t, "repositories", "full_name"), []string{"acme/widgets", "acme/gadgets", "octo cat/forked"})
	if got := f.hit("/api/orgs/acme/repos"); got != 2 {
		t.Errorf("repos: %d pages, want 2", got)
	}
	if got := f.hit("/api/repos/acme/widgets/issues"); got != 2 {
		t.Errorf("widgets issues: %d pages, want 2", got)
	}
	var got []string
	for _, is := range out.objects(t, "issues") {
		got = append(got, fmt.Sprintf("%s#%s", is["repository"], is["number"]))
	}
	equalStrings(t, "issues", sortedCopy(got), []string{"acme/widgets#2", "acme/widgets#3", "octo cat/forked#7"})
	if s := string(out.lastState("issues")); s != `{"updated_at":"2026-03-01T00:00:00Z"}` {
		t.Errorf("issues state = %s", s)
	}
	out.checkStateCounts(t)
	f.noUnmatched(t)
	// The catalog the table gives.
	c := src.Catalog()
	if len(c.Streams) != 2 || c.Streams[1].Name != "issues" || !c.Streams[1].SourceDefinedCursor || c.Streams[1].DefaultCursorField[0] != "updated_at" {
		t.Errorf("catalog = %+v", c)
	}
}

// TestBlogAPI: one-line streams by convention (path "/"+name, records
// under the name, the Source's offset paginator) and a comments stream per
// post; a deleted post (410 with code) is skipped by a Source-wide rule.
func TestBlogAPI(t *testing.T) {
	f := newFake(t)
	posts := make([]map[string]any, 0, 5)
	for i := 1; i <= 5; i++ {
		posts = append(posts, map[string]any{"id": i, "slug": fmt.Sprintf("post-%d", i)})
	}
	offsetList := func(key string, items []map[string]any) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			off, _ := strconv.Atoi(r.URL.Query().Get("skip"))
			n, _ := strconv.Atoi(r.URL.Query().Get("take"))
			end := min(off+n, len(items))
			page := []map[string]any{}
			if off < end {
				page = items[off:end]
			}
			writeJSON(w, 200, map[string]any{key: page, "total": len(items)})
		}
	}
	f.handle("/posts", offsetList("posts", posts))
	f.handle("/authors", offsetList("authors", []map[string]any{{"name": "Ann"}}))
	for i := 1; i <= 5; i++ {
		if i == 4 {
			f.handle("/posts/4/comments", func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 410, `{"code":"gone","error":"post deleted"}`)
			})
			continue
		}
		var cs []map[string]any
		for k := 0; k < i; k++ {
			cs = append(cs, map[string]any{"text": fmt.Sprintf("c%d.%d", i, k), "at": time.Date(2026, 1, i, k, 0, 0, 0, time.UTC)})
		}
		f.handle(fmt.Sprintf("/posts/%d/comments", i), offsetList("comments", cs))
	}
	src := f.source(
		connector.Stream{Name: "posts", Estimate: "total"},
		connector.Stream{Name: "authors"},
		connector.Stream{Name: "comments", Parent: "posts", Path: "/posts/{post_id}/comments", Params: []connector.Param{{Name: "post_id", Field: "id", Add: true}}},
	)
	src.Paginator = connector.Offset{OffsetParam: "skip", LimitParam: "take"}
	src.PageSize = 2
	src.Errors = []connector.ErrorRule{{Status: []int{410}, Action: connector.ActionSkip, Reason: "post deleted"}}
	out, err := runRead(t, src, frAll("posts", "authors", "comments"), nil)
	if err != nil {
		t.Fatalf("Read: %v\n%s", err, out)
	}
	equalStrings(t, "posts", out.field(t, "posts", "slug"), []string{"post-1", "post-2", "post-3", "post-4", "post-5"})
	equalStrings(t, "authors", out.field(t, "authors", "name"), []string{"Ann"})
	if got := len(out.records("comments")); got != 1+2+3+5 {
		t.Errorf("%d comments, want 11", got)
	}
	if got := f.hit("/posts"); got != 3 {
		t.Errorf("posts: %d pages, want 3", got)
	}
	for _, c := range out.objects(t, "comments") {
		if !strings.HasPrefix(c["text"].(string), fmt.Sprintf("c%s.", c["post_id"])) {
			t.Errorf("comment %v has the wrong post_id", c)
		}
	}
	mustContain(t, "skip log", strings.Join(out.logs("INFO"), "\n"), "skipping partition: post deleted", "partition=4")
	out.checkStateCounts(t)
	f.noUnmatched(t)
}

type staticToken string

func (s staticToken) Token() (*oauth2.Token, error) {
	return &oauth2.Token{AccessToken: string(s)}, nil
}
