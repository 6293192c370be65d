package connector

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// WholeBody as a Stream's RecordsAt selects the whole response body as the
// single record (detail endpoints) or, when the body is a JSON array, each
// of its elements (APIs that answer lists with a bare array).
const WholeBody = "."

// Source is an API described as a table of streams plus the defaults they
// share. Fields left zero take the documented defaults; a Source is
// read-only once a read starts.
type Source struct {
	// BaseURL is prefixed to every stream path ("https://api.example.com/v2").
	BaseURL string
	// Auth supplies bearer tokens. If it also implements Invalidator, a
	// response matched by an ActionRefreshAuth rule invalidates the token and
	// the request is retried once with a new one.
	Auth oauth2.TokenSource
	// Transport carries requests (default http.DefaultTransport).
	Transport http.RoundTripper
	// Header is added to every request.
	Header http.Header
	// Paginator is the default for list streams (default: SinglePage).
	Paginator Paginator
	// PageSize is passed to paginators (default 100).
	PageSize int
	// Errors are the error rules tried after a stream's own rules.
	Errors []ErrorRule
	// Limits maps rate-limit category names to limits.
	Limits map[string]Limit
	// Category is the default rate-limit category.
	Category string
	// Concurrency is the number of requests in flight (default 8).
	Concurrency int
	// Timeout bounds each request, body included (default 60s).
	Timeout time.Duration
	// Retry tunes retries of 5xx, network errors and 429 (zero: defaults).
	Retry RetryPolicy
	// StartDate is the lower bound of incremental streams without state.
	StartDate time.Time
	// Lookback is subtracted from saved cursors (late-arriving data).
	Lookback time.Duration
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// Streams is the table. Order is the order of discover.
	Streams []Stream
}

// Stream is one row of the table. Only Name is required: by convention the
// path is "/"+Name, records sit under the key Name, the Source's paginator,
// category and error rules apply.
type Stream struct {
	Name string
	// Path, relative to BaseURL, with {placeholders} filled from Params.
	Path string
	// Query holds fixed query parameters; values may use {placeholders}.
	Query url.Values
	// RecordsAt is the key (dotted path) of the records array, or WholeBody.
	RecordsAt string
	// Paginator overrides the Source's (WholeBody streams default to SinglePage).
	Paginator Paginator
	// Category is the rate-limit category (default Source.Category).
	Category string
	// Errors are tried before the Source's rules.
	Errors []ErrorRule
	// PrimaryKey lists key paths, e.g. {{"meeting_id"}, {"id"}}.
	PrimaryKey [][]string
	// Schema is the stream's JSON schema (draft-07).
	Schema json.RawMessage
	// Hidden streams are read as parents only and never offered in discover.
	Hidden bool
	// Parent names the stream whose records make this stream's partitions.
	Parent string
	// Params resolve placeholders from each parent record.
	Params []Param
	// Incremental makes the stream support incremental sync.
	Incremental *Incremental
	// Estimate names a body field with the total record count (e.g.
	// "total_records"); root streams report it as an ESTIMATE trace.
	Estimate string
}

// Param takes one value from each parent record.
type Param struct {
	// Name is the placeholder name ({Name} in Path or Query) and the field
	// name added to records when Add is set.
	Name string
	// Field is the dotted path of the value in the parent record.
	Field string
	// Add adds the value to every record of the partition.
	Add bool
	// AsString adds the value as a JSON string even if it is a number.
	AsString bool
	// Encode encodes the value as a path segment (default url.PathEscape).
	Encode func(string) string
}

// Incremental describes a stream's datetime cursor.
type Incremental struct {
	// CursorField is the record field holding the cursor (RFC 3339).
	CursorField string
	// PartitionCursor, if set, names a Param whose value is the cursor of
	// the whole partition (a session's start time for the session's
	// children): partitions at or before the saved cursor are not fetched.
	// Otherwise records are filtered by their own CursorField.
	PartitionCursor string
	// Window, if set, reads each partition in date windows of this length,
	// passing the bounds as FromParam and ToParam in WindowLayout.
	Window             time.Duration
	FromParam, ToParam string
	WindowLayout       string
	// MaxAge is how far back the API serves data; older start dates are
	// clamped with a warning. Windowed streams without state or start date
	// start MaxAge ago (default 180 days).
	MaxAge time.Duration
}

// Limit is a rate limit of one category.
type Limit struct {
	PerSecond float64 // 0: no known per-second limit (discovered from 429s)
	PerDay    int     // 0: no known daily cap
}

// Invalidator is implemented by token sources that can drop a token the
// API rejected, so that the next Token call fetches a new one.
type Invalidator interface {
	Invalidate(token string)
}

// stream returns the named stream.
func (s *Source) stream(name string) *Stream {
	for i := range s.Streams {
		if s.Streams[i].Name == name {
			return &s.Streams[i]
		}
	}
	return nil
}

// Validate checks the table itself: unknown parents, cycles, placeholders
// without params, duplicate names. It is a programming error check run by
// tests and at start-up.
func (s *Source) Validate() error {
	seen := map[string]bool{}
	for i := range s.Streams {
		st := &s.Streams[i]
		if st.Name == "" {
			return fmt.Errorf("stream %d: empty name", i)
		}
		if seen[st.Name] {
			return fmt.Errorf("stream %q: declared twice", st.Name)
		}
		seen[st.Name] = true
	}
	for i := range s.Streams {
		st := &s.Streams[i]
		depth := 0
		for p := st; p.Parent != ""; depth++ {
			if depth > len(s.Streams) {
				return fmt.Errorf("stream %q: parent cycle", st.Name)
			}
			if p = s.stream(p.Parent); p == nil {
				return fmt.Errorf("stream %q: unknown parent", st.Name)
			}
		}
		names := map[string]bool{}
		for _, p := range st.Params {
			names[p.Name] = true
		}
		phs := placeholders(st.path())
		for _, vs := range st.Query {
			for _, v := range vs {
				phs = append(phs, placeholders(v)...)
			}
		}
		for _, ph := range phs {
			if !names[ph] {
				return fmt.Errorf("stream %q: placeholder {%s} has no param", st.Name, ph)
			}
		}
		if inc := st.Incremental; inc != nil {
			if inc.CursorField == "" {
				return fmt.Errorf("stream %q: incremental without cursor field", st.Name)
			}
			if inc.PartitionCursor != "" && !names[inc.PartitionCursor] {
				return fmt.Errorf("stream %q: partition cursor %q is not a param", st.Name, inc.PartitionCursor)
			}
			if inc.Window > 0 && (inc.FromParam == "" || inc.ToParam == "") {
				return fmt.Errorf("stream %q: window without from/to params", st.Name)
			}
		}
	}
	return nil
}

func (st *Stream) path() string {
	if st.Path != "" {
		return st.Path
	}
	return "/" + st.Name
}

func (st *Stream) usesPlaceholder(name string) bool {
	ph := "{" + name + "}"
	if strings.Contains(st.path(), ph) {
		return true
	}
	for _, vs := range st.Query {
		for _, v := range vs {
			if strings.Contains(v, ph) {
				return true
			}
		}
	}
	return false
}

func (st *Stream) recordsAt() string {
	if st.RecordsAt != "" {
		return st.RecordsAt
	}
	return st.Name
}

func placeholders(p string) []string {
	var out []string
	for {
		i := strings.IndexByte(p, '{')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(p[i:], '}')
		if j < 0 {
			return out
		}
		out = append(out, p[i+1:i+j])
		p = p[i+j+1:]
	}
}
