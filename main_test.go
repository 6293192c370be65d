package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/source-zoom/source-zoom/connector"
	"github.com/source-zoom/source-zoom/protocol/protocoltest"
)

// binary is the connector built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "source-zoom-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "source-zoom")
	if runtime.GOOS == "windows" {
		binary += ".exe"
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	build := exec.Command(gobin, "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "building the connector: %v\n", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Secrets that must never appear in any output.
const (
	clientSecret = "zoom-client-secret-9f8e7d6c"
	accessToken  = "tok-123456"
	accountID    = "acct-42"
	clientID     = "client-abc"
)

type result struct {
	stdout, stderr []byte
	code           int
}

// run runs the connector in a fresh temporary directory (not the repo).
func run(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run %q: %v", args, err)
	}
	res := result{stdout: stdout.Bytes(), stderr: stderr.Bytes(), code: code}
	noSecrets(t, res)
	if bytes.Contains(res.stderr, []byte("goroutine ")) || bytes.Contains(res.stderr, []byte("panic:")) {
		t.Errorf("run %q: stderr shows a panic:\n%s", args, res.stderr)
	}
	return res
}

func noSecrets(t *testing.T, r result) {
	t.Helper()
	for _, s := range []string{clientSecret, accessToken} {
		if bytes.Contains(r.stdout, []byte(s)) {
			t.Errorf("secret %q in stdout:\n%s", s, r.stdout)
		}
		if bytes.Contains(r.stderr, []byte(s)) {
			t.Errorf("secret %q in stderr:\n%s", s, r.stderr)
		}
	}
}

// writeFile writes content to a new file in a temp dir and returns its path.
func writeFile(t *testing.T, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeJSON(t *testing.T, name string, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, name, b)
}

// closedURL is a loopback address nobody listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	return u
}

// baseConfig is a valid config whose endpoints point at base (a loopback
// URL).
func baseConfig(base string) map[string]any {
	return map[string]any{
		"account_id":              accountID,
		"client_id":               clientID,
		"client_secret":           clientSecret,
		"authorization_endpoint":  base + "/oauth/token",
		"api_base_url":            base + "/v2",
		"request_timeout_seconds": 5,
	}
}

func catalogFor(stream, mode string) map[string]any {
	return map[string]any{"streams": []any{map[string]any{
		"stream": map[string]any{
			"name": stream, "json_schema": map[string]any{"type": "object"},
			"supported_sync_modes": []string{"full_refresh", "incremental"},
		},
		"sync_mode": mode, "destination_sync_mode": "overwrite",
	}}}
}

// usageLines checks a usage error: exit 2, stdout empty, a first stderr
// line naming the problem, then the usage.
func usageError(t *testing.T, r result, want string) {
	t.Helper()
	if r.code != 2 {
		t.Errorf("exit code %d, want 2", r.code)
	}
	if len(r.stdout) != 0 {
		t.Errorf("stdout not empty:\n%s", r.stdout)
	}
	lines := strings.Split(strings.TrimSuffix(string(r.stderr), "\n"), "\n")
	if len(lines) < 2 {
		t.Fatalf("stderr %q: want an error line and the usage", r.stderr)
	}
	if !strings.HasPrefix(lines[0], "source-zoom: ") || !strings.Contains(lines[0], want) {
		t.Errorf("stderr first line %q does not name %q", lines[0], want)
	}
	if lines[1] != "usage:" || !strings.Contains(string(r.stderr), "source-zoom read --config FILE --catalog FILE") {
		t.Errorf("stderr has no usage after the error line:\n%s", r.stderr)
	}
}

func TestSpec(t *testing.T) {
	r := run(t, "spec")
	if r.code != 0 || len(r.stderr) != 0 {
		t.Fatalf("spec: exit %d, stderr %q", r.code, r.stderr)
	}
	msgs := protocoltest.CheckOutput(t, r.stdout)
	if len(msgs) != 1 || msgs[0].Type != "SPEC" {
		t.Fatalf("spec printed %d messages:\n%s", len(msgs), r.stdout)
	}
	var spec struct {
		ProtocolVersion         string          `json:"protocol_version"`
		SupportsIncremental     bool            `json:"supportsIncremental"`
		ConnectionSpecification json.RawMessage `json:"connectionSpecification"`
	}
	if err := json.Unmarshal(msgs[0].Spec, &spec); err != nil {
		t.Fatal(err)
	}
	if spec.ProtocolVersion != "0.2.0" {
		t.Errorf("protocol_version %q, want 0.2.0", spec.ProtocolVersion)
	}
	if !spec.SupportsIncremental {
		t.Errorf("supportsIncremental is not true")
	}
	var cs struct {
		Schema     string   `json:"$schema"`
		Required   []string `json:"required"`
		Properties map[string]struct {
			Type   string `json:"type"`
			Secret *bool  `json:"airbyte_secret"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(spec.ConnectionSpecification, &cs); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cs.Schema, "draft-07") {
		t.Errorf("connectionSpecification $schema %q is not draft-07", cs.Schema)
	}
	sch, err := connector.CompileSchema("connectionSpecification", spec.ConnectionSpecification)
	if err != nil {
		t.Fatalf("connectionSpecification does not compile: %v", err)
	}
	if err := sch.Validate([]byte(`{"account_id":"a","client_id":"b","client_secret":"c"}`)); err != nil {
		t.Errorf("a minimal config does not validate: %v", err)
	}
	req := slices.Clone(cs.Required)
	slices.Sort(req)
	if !slices.Equal(req, []string{"account_id", "client_id", "client_secret"}) {
		t.Errorf("required = %q", cs.Required)
	}
	if p := cs.Properties["client_secret"]; p.Secret == nil || !*p.Secret {
		t.Errorf("client_secret is not airbyte_secret")
	}
	for name, p := range cs.Properties {
		if name != "client_secret" && p.Secret != nil && *p.Secret {
			t.Errorf("%s is marked airbyte_secret", name)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"check", "--help"}} {
		r := run(t, args...)
		if r.code != 0 {
			t.Errorf("%q: exit %d, want 0", args, r.code)
		}
		if len(r.stdout) != 0 {
			t.Errorf("%q: stdout not empty: %s", args, r.stdout)
		}
		if !strings.Contains(string(r.stderr), "usage:") {
			t.Errorf("%q: no usage on stderr: %q", args, r.stderr)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	cfg := writeJSON(t, "config.json", baseConfig(closedURL(t)))
	cat := writeJSON(t, "catalog.json", catalogFor("users", "full_refresh"))
	missing := filepath.Join(t.TempDir(), "nope.json")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "missing command"},
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown flag", []string{"check", "--config", cfg, "--bogus"}, "bogus"},
		{"unknown flag before command", []string{"--verbose"}, `"--verbose"`},
		{"missing --config for check", []string{"check"}, "missing --config"},
		{"missing --config for discover", []string{"discover"}, "missing --config"},
		{"missing --config for read", []string{"read", "--catalog", cat}, "missing --config"},
		{"missing --catalog", []string{"read", "--config", cfg}, "missing --catalog"},
		{"flag without value", []string{"check", "--config"}, "config"},
		{"missing config file", []string{"check", "--config", missing}, missing},
		{"missing catalog file", []string{"read", "--config", cfg, "--catalog", missing}, "--catalog"},
		{"missing state file", []string{"read", "--config", cfg, "--catalog", cat, "--state", missing}, "--state"},
		{"config is a directory", []string{"check", "--config", t.TempDir()}, "--config"},
		{"extra argument", []string{"check", "--config", cfg, "extra"}, `unexpected argument "extra"`},
		{"extra argument to spec", []string{"spec", "now"}, `"now"`},
		{"flag not used by the command", []string{"spec", "--config", cfg}, "--config is not used by spec"},
		{"catalog for check", []string{"check", "--config", cfg, "--catalog", cat}, "--catalog is not used by check"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			usageError(t, run(t, tc.args...), tc.want)
		})
	}
}

// badConfigs are configs that fail validation, with the field each error
// must name. Their endpoints point at a closed port, so nothing is ever
// reached.
func badConfigs(t *testing.T) []struct {
	name  string
	cfg   any
	field string
} {
	closed := closedURL(t)
	with := func(k string, v any) map[string]any {
		c := baseConfig(closed)
		c[k] = v
		return c
	}
	without := func(k string) map[string]any {
		c := baseConfig(closed)
		delete(c, k)
		return c
	}
	return []struct {
		name  string
		cfg   any
		field string
	}{
		{"missing account_id", without("account_id"), "account_id"},
		{"missing client_id", without("client_id"), "client_id"},
		{"missing client_secret", without("client_secret"), "client_secret"},
		{"client_id is a number", with("client_id", 123), "client_id"},
		{"client_secret is null", with("client_secret", nil), "client_secret"},
		{"empty account_id", with("account_id", ""), "account_id"},
		{"empty client_id", with("client_id", ""), "client_id"},
		{"blank client_secret", with("client_secret", "    "), "client_secret"},
		{"api_base_url not a URL", with("api_base_url", "not a url"), "api_base_url"},
		{"api_base_url ftp", with("api_base_url", "ftp://api.zoom.us/v2"), "api_base_url"},
		{"api_base_url with credentials", with("api_base_url", "https://user:pw@api.zoom.us/v2"), "api_base_url"},
		{"authorization_endpoint plain http", with("authorization_endpoint", "http://example.com/token"), "authorization_endpoint"},
		{"api_base_url plain http", with("api_base_url", "http://api.zoom.us/v2"), "api_base_url"},
		{"start_date yesterday", with("start_date", "yesterday"), "start_date"},
		{"start_date impossible date", with("start_date", "2026-13-45"), "start_date"},
		{"lookback_window_days negative", with("lookback_window_days", -1), "lookback_window_days"},
		{"concurrency a string", with("concurrency", "16"), "concurrency"},
		{"request_timeout_seconds too big", with("request_timeout_seconds", 100000), "request_timeout_seconds"},
		{"rate limit zero", with("rate_limits", map[string]any{"light_per_second": 0}), "light_per_second"},
		{"rate limit unknown key", with("rate_limits", map[string]any{"ultra_per_second": 1}), "ultra_per_second"},
		{"config is an array", []any{1}, "config"},
		{"config is null", nil, "config"},
	}
}

func TestCheckBadConfig(t *testing.T) {
	for _, tc := range badConfigs(t) {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, "check", "--config", writeJSON(t, "config.json", tc.cfg))
			if r.code != 0 || len(r.stderr) != 0 {
				t.Errorf("exit %d, stderr %q; want 0 and nothing", r.code, r.stderr)
			}
			msgs := protocoltest.CheckOutput(t, r.stdout)
			if len(msgs) != 1 || msgs[0].Type != "CONNECTION_STATUS" {
				t.Fatalf("want one CONNECTION_STATUS, got:\n%s", r.stdout)
			}
			st, msg := msgs[0].ConnStatus()
			if st != "FAILED" || !strings.Contains(msg, tc.field) {
				t.Errorf("status %s %q; want FAILED naming %q", st, msg, tc.field)
			}
		})
	}
}

func TestDiscoverBadConfig(t *testing.T) {
	for _, tc := range badConfigs(t) {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, "discover", "--config", writeJSON(t, "config.json", tc.cfg))
			configError(t, r, tc.field)
		})
	}
}

// configError checks a failed run: exit 1, nothing on stderr, and a
// config_error TRACE naming want as the last message.
func configError(t *testing.T, r result, want ...string) {
	t.Helper()
	if r.code != 1 {
		t.Errorf("exit %d, want 1", r.code)
	}
	if len(r.stderr) != 0 {
		t.Errorf("stderr: %s", r.stderr)
	}
	msgs := protocoltest.CheckOutput(t, r.stdout)
	errs := protocoltest.Errors(msgs)
	if len(errs) != 1 {
		t.Fatalf("%d error traces, want 1:\n%s", len(errs), r.stdout)
	}
	e := errs[0]
	if e.FailureType() != "config_error" {
		t.Errorf("failure_type %q, want config_error: %s", e.FailureType(), e.ErrorMessage())
	}
	for _, w := range want {
		if !strings.Contains(e.ErrorMessage(), w) {
			t.Errorf("error %q does not name %q", e.ErrorMessage(), w)
		}
	}
	if len(protocoltest.Records(msgs, "")) != 0 {
		t.Errorf("records emitted despite the error")
	}
}

func TestReadBadInput(t *testing.T) {
	closed := closedURL(t)
	goodCfg := writeJSON(t, "config.json", baseConfig(closed))
	goodCat := writeJSON(t, "catalog.json", catalogFor("users", "full_refresh"))
	for _, tc := range []struct {
		name                  string
		config, catalog, stat string // file contents; "" keeps the good ones, no state
		want                  []string
	}{
		{name: "malformed config", config: "{\n  \"account_id\": \"a\",\n  \"client_id\" \"b\"\n}", want: []string{"config", "line 3, column 15"}},
		{name: "truncated config", config: `{"account_id":`, want: []string{"config", "line 1, column 15"}},
		{name: "empty config", config: " ", want: []string{"config"}},
		{name: "malformed catalog", catalog: `{"streams": [}`, want: []string{"catalog", "line 1, column 14"}},
		{name: "catalog with trailing garbage", catalog: "{\"streams\": []}\n}", want: []string{"catalog", "line 2, column 1"}},
		{name: "malformed state", stat: "[\n{\"type\": \"STREAM\",,}]", want: []string{"state", "line 2, column 19"}},
		{name: "catalog not an object", catalog: `[1,2]`, want: []string{"catalog"}},
		{name: "catalog with no streams", catalog: `{"streams":[]}`, want: []string{"catalog", "no streams"}},
		{name: "unknown stream", catalog: mustJSON(catalogFor("no_such_stream", "full_refresh")), want: []string{"no_such_stream"}},
		{name: "hidden stream", catalog: mustJSON(catalogFor("user_meetings", "full_refresh")), want: []string{"user_meetings"}},
		{name: "incremental users", catalog: mustJSON(catalogFor("users", "incremental")), want: []string{"users", "incremental"}},
		{name: "unknown sync mode", catalog: mustJSON(catalogFor("users", "sideways")), want: []string{"sideways"}},
		{name: "state with unknown key", catalog: mustJSON(catalogFor("past_meeting_instances", "incremental")),
			stat: `[{"type":"STREAM","stream":{"stream_descriptor":{"name":"past_meeting_instances"},"stream_state":{"updated_at":"2026-01-01T00:00:00Z"}}}]`,
			want: []string{"past_meeting_instances", "updated_at"}},
		{name: "state with a bad cursor", catalog: mustJSON(catalogFor("past_meeting_instances", "incremental")),
			stat: `{"past_meeting_instances":{"start_time":"last week"}}`, want: []string{"past_meeting_instances", "last week"}},
		{name: "state of unknown type", stat: `[{"type":"PER_STREAM"}]`, want: []string{"state", "PER_STREAM"}},
		{name: "state a number", stat: `42`, want: []string{"state"}},
		{name: "config invalid for the spec", config: `{"account_id":"a"}`, want: []string{"client_id"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, cat := goodCfg, goodCat
			if tc.config != "" {
				cfg = writeFile(t, "config.json", []byte(tc.config))
			}
			if tc.catalog != "" {
				cat = writeFile(t, "catalog.json", []byte(tc.catalog))
			}
			args := []string{"read", "--config", cfg, "--catalog", cat}
			if tc.stat != "" {
				args = append(args, "--state", writeFile(t, "state.json", []byte(tc.stat)))
			}
			configError(t, run(t, args...), tc.want...)
		})
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestHugeStateFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "state.json")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(64<<20 + 1); err != nil { // sparse: cheap
		t.Fatal(err)
	}
	f.Close()
	cfg := writeJSON(t, "config.json", baseConfig(closedURL(t)))
	cat := writeJSON(t, "catalog.json", catalogFor("users", "full_refresh"))
	r := run(t, "read", "--config", cfg, "--catalog", cat, "--state", p)
	usageError(t, r, "--state")
	if !strings.Contains(string(r.stderr), "larger than 64 MiB") {
		t.Errorf("stderr does not say the file is too large:\n%s", r.stderr)
	}
}

// fakeZoom answers the token endpoint and GET /v2/users with one page of
// two users, and checks what the connector sends.
type fakeZoom struct {
	t          *testing.T
	tokenBody  string // non-empty: answer the token request with 400 and this
	hangUsers  bool
	usersCalls chan struct{}
	release    chan struct{}

	mu     sync.Mutex
	tokens int
	users  int
}

func newFakeZoom(t *testing.T, configure func(*fakeZoom)) (*fakeZoom, *httptest.Server) {
	f := &fakeZoom{t: t, usersCalls: make(chan struct{}, 100), release: make(chan struct{})}
	if configure != nil {
		configure(f)
	}
	srv := httptest.NewServer(f)
	t.Cleanup(func() {
		close(f.release)
		srv.Close()
	})
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("fake server at %s, want http://127.0.0.1", srv.URL)
	}
	return f, srv
}

// counts returns the token and users requests served so far.
func (f *fakeZoom) counts() (tokens, users int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokens, f.users
}

func (f *fakeZoom) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/oauth/token":
		f.mu.Lock()
		f.tokens++
		f.mu.Unlock()
		want := "Basic " + base64.StdEncoding.EncodeToString([]byte(clientID+":"+clientSecret))
		if got := r.Header.Get("Authorization"); got != want {
			f.t.Errorf("token request Authorization %q, want Basic client_id:client_secret", got)
		}
		if err := r.ParseForm(); err != nil {
			f.t.Errorf("token request form: %v", err)
		}
		if g, a := r.PostForm.Get("grant_type"), r.PostForm.Get("account_id"); g != "account_credentials" || a != accountID {
			f.t.Errorf("token request grant_type=%q account_id=%q", g, a)
		}
		if f.tokenBody != "" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, f.tokenBody)
			return
		}
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"bearer","expires_in":3600}`, accessToken)
	case r.Method == http.MethodGet && r.URL.Path == "/v2/users":
		f.mu.Lock()
		f.users++
		f.mu.Unlock()
		f.usersCalls <- struct{}{}
		if got := r.Header.Get("Authorization"); got != "Bearer "+accessToken {
			f.t.Errorf("GET /v2/users Authorization %q", got)
		}
		if f.hangUsers {
			select {
			case <-r.Context().Done():
			case <-f.release:
			}
			return
		}
		if ps := r.URL.Query().Get("page_size"); ps != "300" && ps != "1" {
			f.t.Errorf("GET /v2/users page_size=%q", ps)
		}
		fmt.Fprint(w, `{"page_size":300,"total_records":2,"next_page_token":"","users":[`+
			`{"id":"KDcuGIm1QgePTO8WbOqwIQ","first_name":"Jill","last_name":"Chill","email":"jchill@example.com","type":1,"status":"active","created_at":"2019-06-01T07:58:03Z"},`+
			`{"id":"z8yCXSc1QIu9EO8q7MBcIA","first_name":"Bo","last_name":"Li","email":"bli@example.com","type":2,"status":"active","created_at":"2020-01-15T10:00:00Z"}]}`)
	default:
		f.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"code":404,"message":"not found"}`)
	}
}

func TestCheckSucceeds(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(map[string]any)
	}{
		{"plain", nil},
		{"unknown extra field tolerated", func(c map[string]any) { c["extra_field"] = map[string]any{"x": 1} }},
		{"all options", func(c map[string]any) {
			c["start_date"] = "2026-01-01"
			c["lookback_window_days"] = 3
			c["concurrency"] = 4
			c["rate_limits"] = map[string]any{"light_per_second": 10, "medium_per_second": 5, "heavy_per_second": 1, "heavy_per_day": 100}
		}},
		{"localhost", func(c map[string]any) {
			for _, k := range []string{"authorization_endpoint", "api_base_url"} {
				c[k] = strings.Replace(c[k].(string), "127.0.0.1", "localhost", 1)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, srv := newFakeZoom(t, nil)
			cfg := baseConfig(srv.URL)
			if tc.mod != nil {
				tc.mod(cfg)
			}
			r := run(t, "check", "--config", writeJSON(t, "config.json", cfg))
			if r.code != 0 || len(r.stderr) != 0 {
				t.Errorf("exit %d, stderr %q", r.code, r.stderr)
			}
			msgs := protocoltest.CheckOutput(t, r.stdout)
			st := protocoltest.OfType(msgs, "CONNECTION_STATUS")
			if len(st) != 1 {
				t.Fatalf("want one CONNECTION_STATUS:\n%s", r.stdout)
			}
			if s, m := st[0].ConnStatus(); s != "SUCCEEDED" {
				t.Fatalf("check: %s %q", s, m)
			}
			if tokens, users := f.counts(); tokens != 1 || users < 1 {
				t.Errorf("check made %d token and %d users requests", tokens, users)
			}
		})
	}
}

func TestCheckTokenRefused(t *testing.T) {
	for _, tc := range []struct{ name, body string }{
		{"invalid client", `{"reason":"Invalid client_id or client_secret","error":"invalid_client"}`},
		{"endpoint echoes the secret", `{"reason":"Invalid client_secret ` + clientSecret + `","error":"invalid_client"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, srv := newFakeZoom(t, func(f *fakeZoom) { f.tokenBody = tc.body })
			cfg := writeJSON(t, "config.json", baseConfig(srv.URL))
			r := run(t, "check", "--config", cfg)
			if r.code != 0 || len(r.stderr) != 0 {
				t.Errorf("exit %d, stderr %q", r.code, r.stderr)
			}
			msgs := protocoltest.CheckOutput(t, r.stdout)
			if len(msgs) != 1 {
				t.Fatalf("want one message:\n%s", r.stdout)
			}
			s, m := msgs[0].ConnStatus()
			if s != "FAILED" || !strings.Contains(m, "credentials") || !strings.Contains(m, "client_secret") {
				t.Errorf("check: %s %q; want FAILED saying the credentials are wrong", s, m)
			}
			if _, users := f.counts(); users != 0 {
				t.Errorf("the API was called without a token")
			}
			// discover does not need the API; read fails with a config_error.
			cat := writeJSON(t, "catalog.json", catalogFor("users", "full_refresh"))
			r = run(t, "read", "--config", cfg, "--catalog", cat)
			if r.code != 1 {
				t.Errorf("read: exit %d, want 1", r.code)
			}
			msgs = protocoltest.CheckOutput(t, r.stdout)
			errs := protocoltest.Errors(msgs)
			if len(errs) == 0 || errs[0].FailureType() != "config_error" || !strings.Contains(errs[0].ErrorMessage(), "credentials") {
				t.Errorf("read: want a config_error about the credentials:\n%s", r.stdout)
			}
		})
	}
}

func TestDiscover(t *testing.T) {
	_, srv := newFakeZoom(t, nil)
	r := run(t, "discover", "--config", writeJSON(t, "config.json", baseConfig(srv.URL)))
	if r.code != 0 || len(r.stderr) != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	msgs := protocoltest.CheckOutput(t, r.stdout)
	cats := protocoltest.OfType(msgs, "CATALOG")
	if len(cats) != 1 || len(msgs) != 1 {
		t.Fatalf("want exactly one CATALOG message:\n%.2000s", r.stdout)
	}
	var cat struct {
		Streams []struct {
			Name                    string          `json:"name"`
			Namespace               *string         `json:"namespace"`
			JSONSchema              json.RawMessage `json:"json_schema"`
			SupportedSyncModes      []string        `json:"supported_sync_modes"`
			SourceDefinedCursor     bool            `json:"source_defined_cursor"`
			DefaultCursorField      []string        `json:"default_cursor_field"`
			SourceDefinedPrimaryKey [][]string      `json:"source_defined_primary_key"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(cats[0].Catalog, &cat); err != nil {
		t.Fatal(err)
	}
	if len(cat.Streams) != 23 {
		t.Errorf("%d streams, want 23", len(cat.Streams))
	}
	seen := map[string]bool{}
	incremental := 0
	for _, s := range cat.Streams {
		if seen[s.Name] {
			t.Errorf("stream %q listed twice", s.Name)
		}
		seen[s.Name] = true
		if s.Namespace != nil {
			t.Errorf("%s: namespace set", s.Name)
		}
		var schema struct {
			Type       any                        `json:"type"`
			Properties map[string]json.RawMessage `json:"properties"`
		}
		if err := json.Unmarshal(s.JSONSchema, &schema); err != nil || len(schema.Properties) == 0 {
			t.Errorf("%s: json_schema without properties (%v)", s.Name, err)
			continue
		}
		if _, err := connector.CompileSchema(s.Name, s.JSONSchema); err != nil {
			t.Errorf("%s: json_schema does not compile: %v", s.Name, err)
		}
		if len(s.SupportedSyncModes) == 0 || s.SupportedSyncModes[0] != "full_refresh" {
			t.Errorf("%s: supported_sync_modes %q", s.Name, s.SupportedSyncModes)
		}
		if len(s.SourceDefinedPrimaryKey) == 0 {
			t.Errorf("%s: no source_defined_primary_key", s.Name)
		}
		for _, k := range s.SourceDefinedPrimaryKey {
			if len(k) != 1 || schema.Properties[k[0]] == nil {
				t.Errorf("%s: primary key %q is not a property of the schema", s.Name, k)
			}
		}
		if slices.Contains(s.SupportedSyncModes, "incremental") {
			incremental++
			if !s.SourceDefinedCursor {
				t.Errorf("%s: incremental without source_defined_cursor", s.Name)
			}
			if len(s.DefaultCursorField) != 1 || schema.Properties[s.DefaultCursorField[0]] == nil {
				t.Errorf("%s: default_cursor_field %q is not a property of the schema", s.Name, s.DefaultCursorField)
			}
		} else if s.SourceDefinedCursor || len(s.DefaultCursorField) > 0 {
			t.Errorf("%s: cursor fields on a full-refresh-only stream", s.Name)
		}
	}
	if !seen["users"] || seen["user_meetings"] {
		t.Errorf("users missing or hidden stream listed: %v", seen)
	}
	if incremental == 0 {
		t.Errorf("no incremental stream")
	}
}

func TestReadUsers(t *testing.T) {
	f, srv := newFakeZoom(t, nil)
	cfg := writeJSON(t, "config.json", baseConfig(srv.URL))
	cat := writeJSON(t, "catalog.json", catalogFor("users", "full_refresh"))
	for _, state := range []string{"", "[]", `{"users":{}}`} {
		t.Run("state "+state, func(t *testing.T) {
			args := []string{"read", "--config", cfg, "--catalog", cat}
			if state != "" {
				args = append(args, "--state", writeFile(t, "state.json", []byte(state)))
			}
			r := run(t, args...)
			if r.code != 0 || len(r.stderr) != 0 {
				t.Fatalf("exit %d, stderr %q\n%s", r.code, r.stderr, r.stdout)
			}
			msgs := protocoltest.CheckOutput(t, r.stdout)
			recs := protocoltest.Records(msgs, "")
			if len(recs) != 2 {
				t.Fatalf("%d records, want 2:\n%s", len(recs), r.stdout)
			}
			for i, id := range []string{"KDcuGIm1QgePTO8WbOqwIQ", "z8yCXSc1QIu9EO8q7MBcIA"} {
				if recs[i].RecordStream() != "users" || recs[i].RecordFields()["id"] != id {
					t.Errorf("record %d: %s", i, recs[i].Raw)
				}
			}
			if got := protocoltest.Statuses(msgs, "users"); !slices.Equal(got, []string{"STARTED", "RUNNING", "COMPLETE"}) {
				t.Errorf("stream statuses %q, want STARTED RUNNING COMPLETE", got)
			}
			states := protocoltest.OfType(msgs, "STATE")
			var total float64
			for _, s := range states {
				if s.StateStream() != "users" || s.StateType() != "STREAM" {
					t.Errorf("state: %s", s.Raw)
				}
				n, ok := s.StateCount()
				if !ok {
					t.Errorf("state without sourceStats.recordCount: %s", s.Raw)
				}
				total += n
			}
			if len(states) == 0 || total != 2 {
				t.Errorf("%d states counting %v records, want a STATE with recordCount 2", len(states), total)
			}
			if last := states[len(states)-1]; last.Line > recs[len(recs)-1].Line {
				if n, _ := last.StateCount(); n != 2 {
					t.Errorf("final state counts %v records, want 2", n)
				}
			} else {
				t.Errorf("no STATE after the last record")
			}
			if errs := protocoltest.Errors(msgs); len(errs) != 0 {
				t.Errorf("error traces: %s", errs[0].Raw)
			}
		})
	}
	if tokens, _ := f.counts(); tokens != 3 {
		t.Errorf("%d token requests for 3 runs", tokens)
	}
}

func TestSIGTERMDuringRead(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGTERM on windows")
	}
	f, srv := newFakeZoom(t, func(f *fakeZoom) { f.hangUsers = true })
	cfg := writeJSON(t, "config.json", baseConfig(srv.URL))
	cat := writeJSON(t, "catalog.json", catalogFor("users", "full_refresh"))
	cmd := exec.Command(binary, "read", "--config", cfg, "--catalog", cat)
	cmd.Dir = t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-f.usersCalls:
	case err := <-done:
		t.Fatalf("read ended before reaching the API: %v\n%s\n%s", err, stdout.Bytes(), stderr.Bytes())
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatal("read never reached GET /v2/users")
	}
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("still running 5 s after SIGTERM\n%s", stdout.Bytes())
	}
	t.Logf("exited %s after SIGTERM: %v", time.Since(sent).Round(time.Millisecond), err)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Errorf("exit: %v; want a non-zero exit code", err)
	}
	r := result{stdout: stdout.Bytes(), stderr: stderr.Bytes()}
	noSecrets(t, r)
	msgs := protocoltest.CheckOutput(t, r.stdout)
	if len(msgs) < 3 {
		t.Fatalf("output:\n%s", r.stdout)
	}
	tail := msgs[max(0, len(msgs)-4):]
	var state, incomplete, traceErr bool
	for _, m := range tail {
		switch {
		case m.Type == "STATE" && m.StateStream() == "users":
			state = true
		case m.Type == "TRACE" && m.TraceType() == "STREAM_STATUS":
			if s, st := m.StreamStatus(); s == "users" && st == "INCOMPLETE" {
				incomplete = true
			}
		case m.Type == "TRACE" && m.TraceType() == "ERROR":
			traceErr = true
		}
	}
	if !state || !incomplete || !traceErr {
		t.Errorf("last lines lack STATE (%v), INCOMPLETE (%v) or an error TRACE (%v):\n%s", state, incomplete, traceErr, r.stdout)
	}
	if got := protocoltest.Statuses(msgs, "users"); slices.Contains(got, "COMPLETE") {
		t.Errorf("an interrupted stream reported COMPLETE: %q", got)
	}
	if len(protocoltest.Records(msgs, "")) != 0 {
		t.Errorf("records from a hanging API")
	}
}
