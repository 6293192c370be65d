package streams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/source-zoom/source-zoom/auth"
	"github.com/source-zoom/source-zoom/catalog"
	"github.com/source-zoom/source-zoom/connector"
)

// Config is the connector configuration (spec.json). Field names are those
// of Airbyte's own Zoom source, so its configs work unchanged.
type Config struct {
	AccountID             string      `json:"account_id"`
	ClientID              string      `json:"client_id"`
	ClientSecret          string      `json:"client_secret"`
	AuthorizationEndpoint string      `json:"authorization_endpoint"`
	APIBaseURL            string      `json:"api_base_url"`
	StartDate             string      `json:"start_date"`
	LookbackWindowDays    *int        `json:"lookback_window_days"`
	RateLimits            *RateLimits `json:"rate_limits"`
	Concurrency           int         `json:"concurrency"`
	RequestTimeoutSeconds int         `json:"request_timeout_seconds"`
}

// RateLimits are the account's limits per Zoom category.
type RateLimits struct {
	Light  float64 `json:"light_per_second"`
	Medium float64 `json:"medium_per_second"`
	Heavy  float64 `json:"heavy_per_second"`
	Daily  int     `json:"heavy_per_day"`
}

// Defaults.
const (
	DefaultTokenURL    = "https://zoom.us/oauth/token"
	DefaultAPIBaseURL  = "https://api.zoom.us/v2"
	DefaultConcurrency = 16
	PageSize           = 300 // Zoom's maximum
)

// Connector returns the Zoom connector; spec is spec.json, version goes
// into the User-Agent header.
func Connector(spec json.RawMessage, version string) *connector.Connector {
	return &connector.Connector{
		Name: "source-zoom",
		Spec: spec,
		Open: func(ctx context.Context, raw json.RawMessage, env connector.Env) (*connector.Source, error) {
			return open(ctx, raw, env, version)
		},
		Check: check,
	}
}

// ParseConfig decodes and checks a config already valid against the spec.
func ParseConfig(raw json.RawMessage) (*Config, error) {
	var c Config
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, connector.Configf("config: %v", err)
	}
	for _, f := range []struct{ name, val string }{{"account_id", c.AccountID}, {"client_id", c.ClientID}, {"client_secret", c.ClientSecret}} {
		if strings.TrimSpace(f.val) == "" {
			return nil, connector.Configf("config: %q is empty", f.name)
		}
	}
	if c.AuthorizationEndpoint == "" {
		c.AuthorizationEndpoint = DefaultTokenURL
	}
	if c.APIBaseURL == "" {
		c.APIBaseURL = DefaultAPIBaseURL
	}
	if err := checkURL("authorization_endpoint", c.AuthorizationEndpoint); err != nil {
		return nil, err
	}
	if err := checkURL("api_base_url", c.APIBaseURL); err != nil {
		return nil, err
	}
	if c.StartDate != "" {
		if _, err := connector.ParseTime(c.StartDate); err != nil {
			return nil, connector.Configf("config: \"start_date\": %v", err)
		}
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.RequestTimeoutSeconds <= 0 {
		c.RequestTimeoutSeconds = 60
	}
	return &c, nil
}

// checkURL accepts https URLs, and http only to loopback addresses:
// credentials never travel in clear.
func checkURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return connector.Configf("config: %q must be an absolute https URL, got %q", field, raw)
	}
	if u.User != nil {
		return connector.Configf("config: %q must not carry credentials in the URL", field)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return connector.Configf("config: %q: plain http:// is refused for %q (credentials would travel in clear); use https:// (http is allowed only to loopback addresses)", field, u.Hostname())
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") { // host names are case-insensitive
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func open(ctx context.Context, raw json.RawMessage, env connector.Env, version string) (*connector.Source, error) {
	c, err := ParseConfig(raw)
	if err != nil {
		return nil, err
	}
	timeout := time.Duration(c.RequestTimeoutSeconds) * time.Second
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = c.Concurrency + 4
	ts := auth.New(ctx, auth.Config{
		AccountID: c.AccountID, ClientID: c.ClientID, ClientSecret: c.ClientSecret,
		TokenURL:   c.AuthorizationEndpoint,
		HTTPClient: &http.Client{Timeout: timeout, Transport: userAgent{transport, "source-zoom/" + version}, CheckRedirect: noRedirect},
		Redact:     env.Redact,
	})
	src := &connector.Source{
		BaseURL:     strings.TrimRight(c.APIBaseURL, "/"),
		Auth:        ts,
		Transport:   transport,
		Header:      http.Header{"User-Agent": {"source-zoom/" + version}},
		Paginator:   connector.Cursor{TokenField: "next_page_token", SizeParam: "page_size"},
		PageSize:    PageSize,
		Errors:      zoomErrors,
		Category:    medium,
		Concurrency: c.Concurrency,
		Timeout:     timeout,
		Lookback:    24 * time.Hour,
		Streams:     Table(),
	}
	if c.LookbackWindowDays != nil {
		src.Lookback = time.Duration(*c.LookbackWindowDays) * 24 * time.Hour
	}
	if c.StartDate != "" {
		src.StartDate, _ = connector.ParseTime(c.StartDate)
	}
	if rl := c.RateLimits; rl != nil {
		src.Limits = map[string]connector.Limit{
			light:  {PerSecond: rl.Light},
			medium: {PerSecond: rl.Medium},
			heavy:  {PerSecond: rl.Heavy, PerDay: rl.Daily},
		}
	} else {
		src.Limits = map[string]connector.Limit{light: {}, medium: {}, heavy: {}}
	}
	for i := range src.Streams {
		if s, ok := catalog.Schema(src.Streams[i].Name); ok {
			src.Streams[i].Schema = s
		}
	}
	return src, nil
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// userAgent sets the User-Agent of token requests, which the oauth2
// package builds itself.
type userAgent struct {
	base http.RoundTripper
	ua   string
}

func (u userAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", u.ua)
	return u.base.RoundTrip(r)
}

// check fetches a token and reads one user, and says which of credentials,
// account, scope or network is wrong.
func check(ctx context.Context, src *connector.Source, env connector.Env) error {
	if _, err := src.Auth.Token(); err != nil {
		return err
	}
	err := connector.Probe(ctx, src, "users", env)
	if err == nil {
		return nil
	}
	var api *connector.APIError
	if errors.As(err, &api) {
		switch {
		case api.Code == 4711 || api.Code == 4700:
			return fmt.Errorf("the Zoom app lacks a scope: add user:read:admin (and the meeting, webinar, report and recording read scopes) in the App Marketplace: %w", err)
		case api.Status == http.StatusUnauthorized:
			return fmt.Errorf("Zoom rejected the access token for this account (credentials or account_id): %w", err)
		}
	}
	var te *connector.TransientError
	if errors.As(err, &te) {
		return fmt.Errorf("network: cannot reach the Zoom API at %s: %w", src.BaseURL, err)
	}
	return err
}
