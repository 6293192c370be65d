package streams

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/source-zoom/source-zoom/connector"
	"github.com/source-zoom/source-zoom/protocol"
)

const minimal = `"account_id":"acct","client_id":"cid","client_secret":"secret-value"`

func TestParseConfigDefaults(t *testing.T) {
	c, err := ParseConfig(json.RawMessage(`{` + minimal + `}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.AccountID != "acct" || c.ClientID != "cid" || c.ClientSecret != "secret-value" {
		t.Errorf("credentials: %+v", c)
	}
	if DefaultTokenURL != "https://zoom.us/oauth/token" || DefaultAPIBaseURL != "https://api.zoom.us/v2" {
		t.Errorf("defaults changed: %s %s", DefaultTokenURL, DefaultAPIBaseURL)
	}
	if c.AuthorizationEndpoint != DefaultTokenURL {
		t.Errorf("authorization_endpoint default %q", c.AuthorizationEndpoint)
	}
	if c.APIBaseURL != DefaultAPIBaseURL {
		t.Errorf("api_base_url default %q", c.APIBaseURL)
	}
	if c.Concurrency != DefaultConcurrency || c.RequestTimeoutSeconds != 60 {
		t.Errorf("concurrency %d, timeout %d", c.Concurrency, c.RequestTimeoutSeconds)
	}
	if c.StartDate != "" || c.LookbackWindowDays != nil || c.RateLimits != nil {
		t.Errorf("optional fields set: %+v", c)
	}
}

func TestParseConfigValues(t *testing.T) {
	c, err := ParseConfig(json.RawMessage(`{` + minimal + `,
		"authorization_endpoint":"https://zoomgov.com/oauth/token","api_base_url":"https://api.zoomgov.com/v2/",
		"start_date":"2026-01-02","lookback_window_days":0,"concurrency":3,"request_timeout_seconds":9,
		"rate_limits":{"light_per_second":80,"medium_per_second":60,"heavy_per_second":40,"heavy_per_day":60000},
		"unknown":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.AuthorizationEndpoint != "https://zoomgov.com/oauth/token" || c.APIBaseURL != "https://api.zoomgov.com/v2/" ||
		c.StartDate != "2026-01-02" || c.LookbackWindowDays == nil || *c.LookbackWindowDays != 0 ||
		c.Concurrency != 3 || c.RequestTimeoutSeconds != 9 {
		t.Errorf("config: %+v", c)
	}
	if rl := c.RateLimits; rl == nil || rl.Light != 80 || rl.Medium != 60 || rl.Heavy != 40 || rl.Daily != 60000 {
		t.Errorf("rate limits: %+v", c.RateLimits)
	}
}

func TestParseConfigURLs(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://zoom.us/oauth/token", true},
		{"https://api.zoom.us:443/v2", true},
		{"http://127.0.0.1:8080/oauth/token", true},
		{"http://127.0.0.1/v2", true},
		{"http://127.1.2.3:9/v2", true}, // all of 127/8 is loopback
		{"http://localhost:1234/v2", true},
		{"http://LOCALHOST:1234/v2", true},
		{"http://[::1]:9/v2", true},
		{"http://[::1]/v2", true},
		{"http://example.com/token", false},
		{"http://api.zoom.us/v2", false},
		{"http://10.0.0.1/v2", false},
		{"http://0.0.0.0:80/v2", false},
		{"http://127.0.0.1.nip.io/v2", false},
		{"http://localhost.example.com/v2", false},
		{"http://[::2]/v2", false},
		{"not a url", false},
		{"api.zoom.us/v2", false},
		{"//api.zoom.us/v2", false},
		{"https://", false},
		{"ftp://api.zoom.us/v2", false},
		{"file:///etc/passwd", false},
		{"https://user:pw@api.zoom.us/v2", false},
		{"https://%zz", false},
	} {
		for _, field := range []string{"authorization_endpoint", "api_base_url"} {
			raw, _ := json.Marshal(map[string]string{"account_id": "a", "client_id": "b", "client_secret": "c", field: tc.url})
			_, err := ParseConfig(raw)
			if tc.ok {
				if err != nil {
					t.Errorf("%s %q: %v", field, tc.url, err)
				}
				continue
			}
			var ce *connector.ConfigError
			if err == nil || !errors.As(err, &ce) || !strings.Contains(err.Error(), `"`+field+`"`) {
				t.Errorf("%s %q: error %v, want a ConfigError naming the field", field, tc.url, err)
			}
			if err != nil && strings.HasPrefix(tc.url, "http://") && strings.Contains(tc.url, ".") && !strings.Contains(err.Error(), "http") {
				t.Errorf("%s %q: error %q does not explain the http refusal", field, tc.url, err)
			}
		}
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, tc := range []struct{ config, field string }{
		{`{"client_id":"b","client_secret":"c"}`, "account_id"},
		{`{"account_id":"a","client_secret":"c"}`, "client_id"},
		{`{"account_id":"a","client_id":"b"}`, "client_secret"},
		{`{"account_id":" ","client_id":"b","client_secret":"c"}`, "account_id"},
		{`{"account_id":"a","client_id":"\t\n","client_secret":"c"}`, "client_id"},
		{`{"account_id":"a","client_id":"b","client_secret":""}`, "client_secret"},
		{`{` + minimal + `,"start_date":"yesterday"}`, "start_date"},
		{`{` + minimal + `,"start_date":"2026-13-01"}`, "start_date"},
		{`{` + minimal + `,"start_date":"2026-02-30"}`, "start_date"},
		{`{` + minimal + `,"client_id":123}`, "client_id"},
		{`{` + minimal + `,"concurrency":"4"}`, "concurrency"},
		{`[]`, "config"},
		{`{`, "config"},
	} {
		_, err := ParseConfig(json.RawMessage(tc.config))
		var ce *connector.ConfigError
		if err == nil || !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("ParseConfig(%s) = %v, want a ConfigError naming %q", tc.config, err, tc.field)
		}
	}
	for _, ok := range []string{"2026-01-02", "2026-01-02T03:04:05Z", "2026-01-02T03:04:05+02:00", "2026-01-02T03:04:05.123Z", "2026-01-02T03:04:05"} {
		if _, err := ParseConfig(json.RawMessage(`{` + minimal + `,"start_date":"` + ok + `"}`)); err != nil {
			t.Errorf("start_date %q: %v", ok, err)
		}
	}
}

// The defaults in spec.json are the ones the code applies.
func TestSpecDefaultsMatchCode(t *testing.T) {
	b, err := os.ReadFile("../spec.json")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		CS struct {
			Properties map[string]struct {
				Default json.RawMessage `json:"default"`
			} `json:"properties"`
		} `json:"connectionSpecification"`
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"authorization_endpoint":  `"` + DefaultTokenURL + `"`,
		"api_base_url":            `"` + DefaultAPIBaseURL + `"`,
		"concurrency":             "16",
		"request_timeout_seconds": "60",
		"lookback_window_days":    "1",
	}
	for k, v := range want {
		if got := string(spec.CS.Properties[k].Default); got != v {
			t.Errorf("spec default of %s = %s, code uses %s", k, got, v)
		}
	}
	src := openTest(t, `{`+minimal+`}`)
	if src.Lookback != 24*time.Hour || src.Concurrency != DefaultConcurrency || src.Timeout != 60*time.Second {
		t.Errorf("source defaults: lookback %s, concurrency %d, timeout %s", src.Lookback, src.Concurrency, src.Timeout)
	}
}

func openTest(t *testing.T, config string) *connector.Source {
	t.Helper()
	w := protocol.NewWriter(io.Discard, nil)
	t.Cleanup(func() { w.Close() })
	env := connector.Env{Log: slog.New(protocol.NewLogHandler(w, nil)), Redact: &protocol.Redactor{}}
	src, err := open(context.Background(), json.RawMessage(config), env, "test")
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestOpen(t *testing.T) {
	red := &protocol.Redactor{}
	w := protocol.NewWriter(io.Discard, nil)
	defer w.Close()
	env := connector.Env{Log: slog.New(protocol.NewLogHandler(w, nil)), Redact: red}
	src, err := open(context.Background(), json.RawMessage(`{`+minimal+`,"api_base_url":"https://api.zoomgov.com/v2/","start_date":"2026-01-02",
		"lookback_window_days":3,"concurrency":5,"request_timeout_seconds":7,"rate_limits":{"light_per_second":8,"heavy_per_day":100}}`), env, "1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	if src.BaseURL != "https://api.zoomgov.com/v2" {
		t.Errorf("BaseURL %q (trailing slash kept?)", src.BaseURL)
	}
	if src.Lookback != 72*time.Hour || src.Concurrency != 5 || src.Timeout != 7*time.Second || src.PageSize != PageSize {
		t.Errorf("source: lookback %s, concurrency %d, timeout %s, page size %d", src.Lookback, src.Concurrency, src.Timeout, src.PageSize)
	}
	if !src.StartDate.Equal(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("StartDate %s", src.StartDate)
	}
	if l := src.Limits[light]; l.PerSecond != 8 {
		t.Errorf("light limit %+v", l)
	}
	if l := src.Limits[heavy]; l.PerDay != 100 || l.PerSecond != 0 {
		t.Errorf("heavy limit %+v", l)
	}
	if ua := src.Header.Get("User-Agent"); !strings.Contains(ua, "1.2.3") {
		t.Errorf("User-Agent %q does not carry the version", ua)
	}
	if got := red.Redact("x secret-value y"); got != "x **** y" {
		t.Errorf("client_secret not registered with the redactor: %q", got)
	}
	if err := src.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, st := range src.Streams {
		if !st.Hidden && len(st.Schema) == 0 {
			t.Errorf("stream %s opened without its schema", st.Name)
		}
	}
	if n := len(src.Catalog().Streams); n != 23 {
		t.Errorf("discover lists %d streams, want 23", n)
	}
	src = openTest(t, `{`+minimal+`,"lookback_window_days":0}`)
	if src.Lookback != 0 {
		t.Errorf("lookback_window_days 0 gives %s", src.Lookback)
	}
	if _, err := open(context.Background(), json.RawMessage(`{"account_id":""}`), env, "x"); err == nil {
		t.Errorf("open with a bad config: no error")
	}
}

func TestEncodeUUID(t *testing.T) {
	for _, tc := range []struct{ uuid, want string }{
		{"aDYlohsHRtCd4ii1uC2xhA", "aDYlohsHRtCd4ii1uC2xhA"},
		{"4444AAAiAAAAAiAiAiiAii==", "4444AAAiAAAAAiAiAiiAii=="},         // "=" is fine in a path segment
		{"KDcu+GIm1QgePTO8WbOq=", "KDcu+GIm1QgePTO8WbOq="},               // "+" too
		{"ab/cdEF12==", "ab%2FcdEF12=="},                                 // one "/" inside: encoded once
		{"a/b/c", "a%2Fb%2Fc"},                                           // several single slashes: once
		{"/ajXp112QmuoKj4854875==", "%252FajXp112QmuoKj4854875=="},       // begins with "/": twice
		{"ajXp112//QmuoKj4854875==", "ajXp112%252F%252FQmuoKj4854875=="}, // contains "//": twice
		{"/a+b=c//d", "%252Fa+b=c%252F%252Fd"},                           // everything at once
		{"a b?c#d", "a%20b%3Fc%23d"},                                     // other reserved characters
		{"/", "%252F"},
		{"", ""},
	} {
		if got := encodeUUID(tc.uuid); got != tc.want {
			t.Errorf("encodeUUID(%q) = %q, want %q", tc.uuid, got, tc.want)
		}
	}
}
