// Command bench measures the source-zoom connector end to end against the
// fake Zoom server, per scenario:
//
//	go run ./integration_tests/cmd/bench -scenario all
//	go run ./integration_tests/cmd/bench -scenario rate -bin /tmp/sz
//
// Each scenario starts the fake server in this process with its knobs
// (sizes, latency, rate limits), runs the real connector binary's discover
// and then read with every stream selected in full_refresh, drains its
// stdout (counting RECORD lines per stream and decoding a sample), and
// prints records/s, requests/s, CPU-seconds per million records, peak RSS,
// 429s, tokens issued, wall time and the targets with PASS or FAIL.
//
// Scenarios: rate-known, rate-discover (both: rate), latency, cpu,
// memory-small, memory-large (both: memory), all. Without -bin the
// connector is built into a temporary directory first. -rate sets the
// per-second limits of the rate scenarios (default 20 per category), -v
// lists the requests per endpoint, -json writes every figure to a file.
// The exit code is 1 when a target failed. BENCHMARKS.md has the figures.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

func main() {
	scenario := flag.String("scenario", "all", "rate|rate-known|rate-discover|latency|cpu|memory|memory-small|memory-large|all (comma-separated list allowed)")
	bin := flag.String("bin", "", "connector binary (default: build github.com/source-zoom/source-zoom into a temporary directory)")
	jsonOut := flag.String("json", "", "also write the results as JSON to this file")
	verbose := flag.Bool("v", false, "list the requests per endpoint, and copy the connector's stderr to this stderr")
	timeout := flag.Duration("timeout", 3*time.Minute, "give up on a scenario after this long")
	flag.Func("rate", "per-second limits of the rate scenarios, R or Light=R1,Medium=R2,Heavy=R3 (default 20)", parseRate)
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	code, err := run(ctx, *scenario, *bin, *jsonOut, *verbose, *timeout, os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	os.Exit(code)
}

// parseRate sets RateLimits from "R" or "Light=R1,Medium=R2,Heavy=R3".
func parseRate(v string) error {
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		for _, c := range categories {
			RateLimits[c] = n
		}
		return nil
	}
	for _, part := range strings.Split(v, ",") {
		k, n, ok := strings.Cut(strings.TrimSpace(part), "=")
		r, err := strconv.Atoi(n)
		if !ok || err != nil || r <= 0 {
			return fmt.Errorf("want R or Category=R,…, got %q", part)
		}
		if _, known := RateLimits[k]; !known {
			return fmt.Errorf("unknown category %q (Light, Medium, Heavy)", k)
		}
		RateLimits[k] = r
	}
	return nil
}

// run runs the scenarios and prints the report; the exit code is 1 when a
// target failed.
func run(ctx context.Context, spec, bin, jsonOut string, verbose bool, timeout time.Duration, stdout, stderr io.Writer) (int, error) {
	scs, err := Select(spec)
	if err != nil {
		return 0, err
	}
	if bin == "" {
		dir, err := os.MkdirTemp("", "sz-bench-bin-")
		if err != nil {
			return 0, err
		}
		defer os.RemoveAll(dir)
		if bin, err = Build(ctx, dir); err != nil {
			return 0, err
		}
	}
	o := RunOptions{Bin: bin, Log: stderr, Timeout: timeout}
	if verbose {
		o.Stderr = stderr
	}
	var results []*Result
	code := 0
	for _, sc := range scs {
		r, err := Run(ctx, sc, o)
		if err != nil {
			if r != nil && r.StderrTail != "" {
				fmt.Fprintf(stderr, "connector stderr (tail):\n%s\n", r.StderrTail)
			}
			return 0, fmt.Errorf("scenario %s: %w", sc.Name, err)
		}
		PrintResult(stdout, sc, r, verbose)
		results = append(results, r)
		if !r.Passed() {
			code = 1
		}
	}
	PrintTable(stdout, results)
	if jsonOut != "" {
		b, err := json.MarshalIndent(results, "", "  ")
		if err != nil {
			return 0, err
		}
		if err := os.WriteFile(jsonOut, b, 0o644); err != nil {
			return 0, err
		}
	}
	return code, nil
}

// Build compiles the connector into dir and returns the binary's path. It
// runs the go command in the current directory, which must be inside the
// module.
func Build(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "source-zoom")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/source-zoom/source-zoom")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %w: %s", err, out)
	}
	return bin, nil
}

// Passed reports whether every check passed.
func (r *Result) Passed() bool {
	for _, c := range r.Checks {
		if !c.Pass {
			return false
		}
	}
	return len(r.Checks) > 0
}

// PrintResult prints one scenario's figures and checks.
// With verbose it lists the requests per endpoint (and per status).
func PrintResult(w io.Writer, sc Scenario, r *Result, verbose bool) {
	fmt.Fprintf(w, "\n== %s: %s\n", sc.Name, sc.About)
	fmt.Fprintf(w, "  records          %d in %d streams (%.0f records/s, %.1f MB of output)\n", r.Records, len(r.ByStream), r.RecordsPerSecond(), float64(r.OutBytes)/1e6)
	var cats []string
	for _, c := range categories {
		cats = append(cats, fmt.Sprintf("%s %d", c, r.Audit.Accepted[c]))
	}
	fmt.Fprintf(w, "  API requests     %d (%.1f req/s; %s; max %d in flight)\n", r.Requests(), r.RequestsPerSecond(), strings.Join(cats, ", "), r.Fake.MaxConcurrent)
	fmt.Fprintf(w, "  429 answers      %d (%.2f %%)\n", r.Fake.RateLimited, r.ThrottledShare()*100)
	fmt.Fprintf(w, "  tokens issued    %d\n", r.Fake.TokensIssued)
	fmt.Fprintf(w, "  wall             %.2f s (first API request to last response %.2f s)\n", r.Wall.Seconds(), r.Audit.APISpan.Seconds())
	fmt.Fprintf(w, "  CPU              %.2f s (user %.2f, sys %.2f) = %.2f CPU-s per million records\n", r.CPU.Seconds(), r.UserCPU.Seconds(), r.SysCPU.Seconds(), r.CPUPerMillion())
	fmt.Fprintf(w, "  harness CPU      %.2f s (fake server + output drain, this process); with the connector's, %.0f %% of %d cores\n",
		r.HarnessCPU.Seconds(), (r.HarnessCPU+r.CPU).Seconds()/(float64(runtime.NumCPU())*r.Wall.Seconds())*100, runtime.NumCPU())
	fmt.Fprintf(w, "  peak RSS         %.1f MiB\n", float64(r.MaxRSSKiB)/1024)
	fmt.Fprintf(w, "  validated        %d records decoded in full, %d STATE messages\n", r.Sampled, r.States)
	if verbose {
		var eps []string
		for ep := range r.Fake.ByEndpoint {
			eps = append(eps, ep)
		}
		sort.Strings(eps)
		for _, ep := range eps {
			fmt.Fprintf(w, "  %-52s %6d  by status %v\n", ep, r.Fake.ByEndpoint[ep], r.Fake.ByEndpointStatus[ep])
		}
	}
	for _, p := range r.Problems {
		fmt.Fprintf(w, "  problem          %s\n", p)
	}
	for _, c := range r.Checks {
		v := "PASS"
		if !c.Pass {
			v = "FAIL"
		}
		fmt.Fprintf(w, "  %s  %s: %s (target %s)\n", v, c.Name, c.Value, c.Want)
	}
}

// PrintTable prints a Markdown summary of the results.
func PrintTable(w io.Writer, rs []*Result) {
	if len(rs) == 0 {
		return
	}
	fmt.Fprintf(w, "\n| scenario | records | records/s | API req | req/s | 429s | tokens | wall s | CPU s | CPU-s/M rec | peak RSS MiB | targets |\n")
	fmt.Fprintf(w, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range rs {
		var failed []string
		for _, c := range r.Checks {
			if !c.Pass {
				failed = append(failed, c.Name)
			}
		}
		verdict := fmt.Sprintf("all %d PASS", len(r.Checks))
		if len(failed) > 0 {
			sort.Strings(failed)
			verdict = "FAIL: " + strings.Join(failed, "; ")
		}
		fmt.Fprintf(w, "| %s | %d | %.0f | %d | %.1f | %d | %d | %.2f | %.2f | %.2f | %.1f | %s |\n",
			r.Scenario, r.Records, r.RecordsPerSecond(), r.Requests(), r.RequestsPerSecond(), r.Fake.RateLimited,
			r.Fake.TokensIssued, r.Wall.Seconds(), r.CPU.Seconds(), r.CPUPerMillion(), float64(r.MaxRSSKiB)/1024, verdict)
	}
}
