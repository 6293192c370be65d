package main

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/source-zoom/source-zoom/integration_tests/fakezoom"
)

// Scenario is one benchmark: the fake server's knobs, the connector's
// config, and the targets the run is judged by.
type Scenario struct {
	Name  string
	About string
	Fake  fakezoom.Options
	// Concurrency is the connector's "concurrency" (0: its default).
	Concurrency int
	// ConfigLimits is the connector's "rate_limits" (nil: not configured).
	ConfigLimits *Limits
	// Expected compares the records per stream with the fake server's
	// Expected() (small sizes only).
	Expected bool
	Targets  []Target
}

// Target is one pass/fail criterion.
type Target func(sc Scenario, r *Result) CheckResult

// CheckResult is a target's verdict.
type CheckResult struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Want  string `json:"want"`
	Pass  bool   `json:"pass"`
}

const (
	latency50 = 50 * time.Millisecond
	mib       = 1024 // KiB
)

// RateLimits are the fake server's per-second limits in the rate scenarios
// (flag -rate); the connector's rate_limits match them in rate-known.
var RateLimits = map[string]int{catLight: 20, catMedium: 20, catHeavy: 20}

func describeLimits(m map[string]int) string {
	if m[catLight] == m[catMedium] && m[catMedium] == m[catHeavy] {
		return fmt.Sprintf("%d req/s per category", m[catLight])
	}
	return fmt.Sprintf("Light %d, Medium %d, Heavy %d req/s", m[catLight], m[catMedium], m[catHeavy])
}

// Scenarios returns every scenario, in the order "all" runs them.
func Scenarios() []Scenario {
	// Sizes are chosen so each run stays well under a minute on 2 shared
	// cores; see BENCHMARKS.md for how the record counts follow from them.
	rateSizes := fakezoom.Options{Seed: 1, Users: 18, MeetingsPerUser: 4, WebinarsPerUser: 2, InstancesPerMeeting: 3, ParticipantsPerSession: 40}
	withRate := func(o fakezoom.Options) fakezoom.Options {
		o.Latency = latency50
		o.RateLimits = map[string]int{}
		for k, v := range RateLimits {
			o.RateLimits[k] = v
		}
		return o
	}
	return []Scenario{
		{
			Name:         "rate-known",
			About:        fmt.Sprintf("fake: %s, 50 ms latency; connector rate_limits match", describeLimits(RateLimits)),
			Fake:         withRate(rateSizes),
			ConfigLimits: &Limits{Light: float64(RateLimits[catLight]), Medium: float64(RateLimits[catMedium]), Heavy: float64(RateLimits[catHeavy])},
			Targets:      append([]Target{rateTarget(0.90), zero429}, requestTargets...),
		},
		{
			Name:    "rate-discover",
			About:   fmt.Sprintf("fake: %s, 50 ms latency; connector rate_limits unset (429 back-off)", describeLimits(RateLimits)),
			Fake:    withRate(rateSizes),
			Targets: append([]Target{throttledBelow(0.01), rateTarget(0.90)}, requestTargets...),
		},
		{
			Name:  "latency",
			About: "fake: 50 ms latency, no rate limit, 12 s token lifetime; connector defaults",
			Fake: fakezoom.Options{Seed: 2, Users: 40, MeetingsPerUser: 4, WebinarsPerUser: 2, InstancesPerMeeting: 3, ParticipantsPerSession: 20,
				Latency: latency50, TokenLifetime: 12 * time.Second},
			Targets: append([]Target{latencyTarget(10)}, requestTargets...),
		},
		{
			Name:    "cpu",
			About:   "fake: zero latency, no rate limit; connector defaults",
			Fake:    fakezoom.Options{Seed: 3, Users: 120, MeetingsPerUser: 4, WebinarsPerUser: 2, InstancesPerMeeting: 3, ParticipantsPerSession: 300},
			Targets: append([]Target{cpuTarget(5), minRecords(800_000)}, requestTargets...),
		},
		{
			Name:     "memory-small",
			About:    "fake: zero latency, no rate limit; about 10 thousand records; counts checked against the fake's Expected()",
			Fake:     fakezoom.Options{Seed: 4, Users: 30, MeetingsPerUser: 4, WebinarsPerUser: 2, InstancesPerMeeting: 3, ParticipantsPerSession: 12},
			Expected: true,
			Targets:  append([]Target{rssTarget(64 * mib), minRecords(10_000)}, requestTargets...),
		},
		{
			Name:    "memory-large",
			About:   "fake: zero latency, no rate limit; over 2 million records",
			Fake:    fakezoom.Options{Seed: 5, Users: 300, MeetingsPerUser: 4, WebinarsPerUser: 2, InstancesPerMeeting: 3, ParticipantsPerSession: 300},
			Targets: append([]Target{rssTarget(64 * mib), minRecords(2_000_000), cpuTarget(5)}, requestTargets...),
		},
	}
}

// Select returns the scenarios a -scenario value names: a name, a prefix
// ("rate" is rate-known and rate-discover, "memory" both memory runs), a
// comma-separated list of those, or "all".
func Select(spec string) ([]Scenario, error) {
	all := Scenarios()
	if spec == "all" {
		return all, nil
	}
	var out []Scenario
	seen := map[string]bool{}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		found := false
		for _, s := range all {
			if s.Name == part || strings.HasPrefix(s.Name, part+"-") {
				found = true
				if !seen[s.Name] {
					seen[s.Name] = true
					out = append(out, s)
				}
			}
		}
		if !found {
			var names []string
			for _, s := range all {
				names = append(names, s.Name)
			}
			return nil, fmt.Errorf("unknown scenario %q (have %s, rate, memory, all)", part, strings.Join(names, ", "))
		}
	}
	return out, nil
}

func evaluate(sc Scenario, r *Result) []CheckResult {
	out := []CheckResult{{
		Name: "complete, valid output", Want: "exit 0, every stream COMPLETE, sample valid",
		Value: fmt.Sprintf("exit %d, %d/%d complete, %d problems", r.ExitCode, r.Complete, r.Selected, len(r.Problems)),
		Pass:  r.ExitCode == 0 && r.Complete == r.Selected && len(r.Problems) == 0,
	}}
	for _, t := range sc.Targets {
		out = append(out, t(sc, r))
	}
	return out
}

// ---------------------------------------------------------------- targets

func rateTarget(min float64) Target {
	return func(sc Scenario, r *Result) CheckResult {
		t, bind := MinTime(r.Audit.Accepted, sc.Fake.RateLimits)
		ratio := r.RateRatio(sc.Fake.RateLimits)
		return CheckResult{
			Name: "rate-bound: share of the allowed request rate",
			Want: fmt.Sprintf("≥ %.0f %%", min*100),
			Value: fmt.Sprintf("%.1f %% (limits allow %.1f s: %d %s req at %d/s; took %.1f s)",
				ratio*100, t.Seconds(), r.Audit.Accepted[bind], bind, sc.Fake.RateLimits[bind], r.Wall.Seconds()),
			Pass: ratio >= min,
		}
	}
}

func zero429(_ Scenario, r *Result) CheckResult {
	return CheckResult{Name: "429 answers (limits configured)", Want: "0",
		Value: fmt.Sprintf("%d", r.Fake.RateLimited), Pass: r.Fake.RateLimited == 0}
}

func throttledBelow(max float64) Target {
	return func(_ Scenario, r *Result) CheckResult {
		return CheckResult{Name: "429 answers (limits discovered)", Want: fmt.Sprintf("< %.0f %% of requests", max*100),
			Value: fmt.Sprintf("%.2f %% (%d of %d)", r.ThrottledShare()*100, r.Fake.RateLimited, r.Requests()),
			Pass:  r.ThrottledShare() < max}
	}
}

func latencyTarget(minSpeedup float64) Target {
	return func(sc Scenario, r *Result) CheckResult {
		serial := time.Duration(r.Requests()) * sc.Fake.Latency
		speedup := serial.Seconds() / r.Wall.Seconds()
		return CheckResult{Name: "latency-bound: requests × latency / wall", Want: fmt.Sprintf("≥ %.0f", minSpeedup),
			Value: fmt.Sprintf("%.1f (%d req × %s = %.1f s serial; took %.2f s)", speedup, r.Requests(), sc.Fake.Latency, serial.Seconds(), r.Wall.Seconds()),
			Pass:  speedup >= minSpeedup}
	}
}

func cpuTarget(maxPerMillion float64) Target {
	return func(_ Scenario, r *Result) CheckResult {
		return CheckResult{Name: "CPU-seconds per million records", Want: fmt.Sprintf("≤ %.0f", maxPerMillion),
			Value: fmt.Sprintf("%.2f (%.2f s for %d records; %.0f records/s)", r.CPUPerMillion(), r.CPU.Seconds(), r.Records, r.RecordsPerSecond()),
			Pass:  r.Records > 0 && r.CPUPerMillion() <= maxPerMillion}
	}
}

func rssTarget(maxKiB int64) Target {
	return func(_ Scenario, r *Result) CheckResult {
		return CheckResult{Name: "peak RSS of the connector", Want: fmt.Sprintf("< %d MiB", maxKiB/mib),
			Value: fmt.Sprintf("%.1f MiB (%d records)", float64(r.MaxRSSKiB)/mib, r.Records),
			Pass:  r.MaxRSSKiB > 0 && r.MaxRSSKiB < maxKiB}
	}
}

func minRecords(n int64) Target {
	return func(_ Scenario, r *Result) CheckResult {
		return CheckResult{Name: "records emitted", Want: fmt.Sprintf("≥ %d", n),
			Value: fmt.Sprintf("%d", r.Records), Pass: r.Records >= n}
	}
}

// requestTargets are target 4, checked in every scenario.
var requestTargets = []Target{pageSizeTarget, noRelistTarget, usersPagesTarget, perUserTarget, tokenTarget}

func pageSizeTarget(_ Scenario, r *Result) CheckResult {
	var parts []string
	ok := len(r.Audit.PageSizes) > 0
	for v, n := range r.Audit.PageSizes {
		if v != "300" {
			ok = false
		}
		if v == "" {
			v = "none"
		}
		parts = append(parts, fmt.Sprintf("page_size=%s ×%d", v, n))
	}
	sort.Strings(parts)
	return CheckResult{Name: "page size of listings", Want: "300 on every listing request", Value: strings.Join(parts, ", "), Pass: ok}
}

func noRelistTarget(_ Scenario, r *Result) CheckResult {
	v := "0"
	if r.Audit.Duplicates > 0 {
		v = fmt.Sprintf("%d (e.g. %s)", r.Audit.Duplicates, r.Audit.FirstDup)
	}
	return CheckResult{Name: "URLs fetched successfully twice (parent re-listed)", Want: "0", Value: v, Pass: r.Audit.Duplicates == 0}
}

// okCount is the number of requests to endpoint (a fakezoom Stats key) that
// were not answered 429 or 401: the requests the sync needed.
func okCount(r *Result, endpoint string) int64 {
	var n int64
	for status, c := range r.Fake.ByEndpointStatus[endpoint] {
		if status != 429 && status != 401 {
			n += c
		}
	}
	return n
}

func usersPagesTarget(_ Scenario, r *Result) CheckResult {
	want := int64((r.Users + 299) / 300)
	got := okCount(r, "GET /users")
	return CheckResult{Name: "GET /users (once per page of 300)", Want: fmt.Sprintf("%d", want),
		Value: fmt.Sprintf("%d", got), Pass: got == want}
}

func perUserTarget(_ Scenario, r *Result) CheckResult {
	m, w := okCount(r, "GET /users/{userId}/meetings"), okCount(r, "GET /users/{userId}/webinars")
	want := int64(r.Users)
	return CheckResult{Name: "GET /users/{id}/meetings, …/webinars (once per user)", Want: fmt.Sprintf("%d, %d", want, want),
		Value: fmt.Sprintf("%d, %d", m, w), Pass: m == want && w == want}
}

// tokenTarget: one token per lifetime. The connector refreshes a token
// early (a minute, or a third of lifetimes under two minutes) so no request
// carries an expired one; a token is good for lifetime − margin.
func tokenTarget(sc Scenario, r *Result) CheckResult {
	life := sc.Fake.TokenLifetime
	if life <= 0 {
		life = time.Hour
	}
	margin := time.Minute
	if life < 2*time.Minute {
		margin = life / 3
	}
	allowed := 1 + int64(r.Wall/(life-margin))
	unauth := r.Fake.ByStatus[401]
	return CheckResult{Name: "tokens issued (one per lifetime); 401 answers", Want: fmt.Sprintf("≤ %d; 0", allowed),
		Value: fmt.Sprintf("%d over %.1f lifetimes of %s; %d", r.Fake.TokensIssued, r.Wall.Seconds()/life.Seconds(), life, unauth),
		Pass:  r.Fake.TokensIssued >= 1 && r.Fake.TokensIssued <= allowed && unauth == 0}
}
