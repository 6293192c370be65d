package integration_tests

// The container test: builds the image (or takes $SOURCE_ZOOM_IMAGE), checks
// what Airbyte checks about it (labels equal to metadata.yaml, the entrypoint
// variable, the user), and runs spec, check, discover and read the way the
// Airbyte platform does: `sh -c` evaluating $AIRBYTE_ENTRYPOINT, working
// directory /config or /source, files mounted read-only, uid 1000 with all
// capabilities dropped, stdout to a pipe. Also runs the plain
// `docker run IMAGE read --config ...` form. The Zoom API is the fake server
// in package fakezoom, reached over the host network.
//
// Without a Docker engine the test is skipped, unless CI=true: then it fails.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/source-zoom/source-zoom/integration_tests/fakezoom"
)

const (
	dockerDefaultImage = "source-zoom/source-zoom:dev"
	dockerMaxImageSize = 25_000_000 // bytes
	dockerRunTimeout   = 3 * time.Minute
	dockerBuildTimeout = 15 * time.Minute
)

// dockerPayloadKey maps an Airbyte message type to its payload key.
var dockerPayloadKey = map[string]string{
	"RECORD":            "record",
	"STATE":             "state",
	"LOG":               "log",
	"SPEC":              "spec",
	"CONNECTION_STATUS": "connectionStatus",
	"CATALOG":           "catalog",
	"TRACE":             "trace",
	"CONTROL":           "control",
}

// dockerPlatformScript is what Airbyte's launcher runs with `sh -c`: it
// evaluates $AIRBYTE_ENTRYPOINT followed by the operation and its arguments.
func dockerPlatformScript(op string) string {
	return `if [ -z "$AIRBYTE_ENTRYPOINT" ]; then echo "AIRBYTE_ENTRYPOINT is not set" >&2; exit 127; fi
eval "$AIRBYTE_ENTRYPOINT ` + op + `"`
}

type dockerMessage struct {
	Type string
	Raw  map[string]json.RawMessage
	Line string
}

type dockerResult struct {
	Args     []string
	ExitCode int
	Stdout   []byte
	Stderr   []byte
	Messages []dockerMessage
}

func (r *dockerResult) String() string {
	return fmt.Sprintf("docker %s\nexit code %d\nstderr:\n%s\nstdout (tail):\n%s",
		strings.Join(r.Args, " "), r.ExitCode, r.Stderr, dockerTail(r.Stdout, 2000))
}

func (r *dockerResult) ofType(typ string) []dockerMessage {
	var out []dockerMessage
	for _, m := range r.Messages {
		if m.Type == typ {
			out = append(out, m)
		}
	}
	return out
}

// records returns the RECORD data by stream.
func (r *dockerResult) records(t *testing.T) map[string][]json.RawMessage {
	t.Helper()
	out := map[string][]json.RawMessage{}
	for _, m := range r.ofType("RECORD") {
		var rec struct {
			Stream string          `json:"stream"`
			Data   json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(m.Raw["record"], &rec); err != nil {
			t.Fatalf("RECORD: %v: %s", err, m.Line)
		}
		out[rec.Stream] = append(out[rec.Stream], rec.Data)
	}
	return out
}

// lastStates returns the last STATE message of each stream as a JSON array,
// the shape the platform writes to /source/inputState.json.
func (r *dockerResult) lastStates(t *testing.T) []byte {
	t.Helper()
	last := map[string]json.RawMessage{}
	for _, m := range r.ofType("STATE") {
		var st struct {
			Type   string `json:"type"`
			Stream struct {
				Descriptor struct {
					Name string `json:"name"`
				} `json:"stream_descriptor"`
			} `json:"stream"`
		}
		if err := json.Unmarshal(m.Raw["state"], &st); err != nil {
			t.Fatalf("STATE: %v: %s", err, m.Line)
		}
		if st.Type != "STREAM" || st.Stream.Descriptor.Name == "" {
			t.Fatalf("STATE is not a per-stream state: %s", m.Line)
		}
		last[st.Stream.Descriptor.Name] = m.Raw["state"]
	}
	names := make([]string, 0, len(last))
	for n := range last {
		names = append(names, n)
	}
	sort.Strings(names)
	states := make([]json.RawMessage, 0, len(names))
	for _, n := range names {
		states = append(states, last[n])
	}
	b, err := json.Marshal(states)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dockerValidate checks that every stdout line is an Airbyte message: a JSON
// object with a known type and its payload object, RECORDs with a stream
// name, an object as data and no null namespace.
func dockerValidate(stdout []byte) ([]dockerMessage, error) {
	var msgs []dockerMessage
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &raw); err != nil {
			return nil, fmt.Errorf("stdout line %d is not a JSON object: %v: %s", n, err, dockerClip(line))
		}
		var typ string
		if err := json.Unmarshal(raw["type"], &typ); err != nil || typ == "" {
			return nil, fmt.Errorf("stdout line %d has no string type: %s", n, dockerClip(line))
		}
		key, ok := dockerPayloadKey[typ]
		if !ok {
			return nil, fmt.Errorf("stdout line %d has unknown type %q: %s", n, typ, dockerClip(line))
		}
		payload, ok := raw[key]
		if !ok || len(payload) == 0 || payload[0] != '{' {
			return nil, fmt.Errorf("stdout line %d: %s message without a %q object: %s", n, typ, key, dockerClip(line))
		}
		if typ == "RECORD" {
			var rec map[string]json.RawMessage
			if err := json.Unmarshal(payload, &rec); err != nil {
				return nil, fmt.Errorf("stdout line %d: %v", n, err)
			}
			var stream string
			if json.Unmarshal(rec["stream"], &stream) != nil || stream == "" {
				return nil, fmt.Errorf("stdout line %d: RECORD without a stream name: %s", n, dockerClip(line))
			}
			if d := rec["data"]; len(d) == 0 || d[0] != '{' {
				return nil, fmt.Errorf("stdout line %d: RECORD data is not an object: %s", n, dockerClip(line))
			}
			if ns, ok := rec["namespace"]; ok && string(ns) == "null" {
				return nil, fmt.Errorf("stdout line %d: RECORD with \"namespace\": null: %s", n, dockerClip(line))
			}
			if _, ok := rec["emitted_at"]; !ok {
				return nil, fmt.Errorf("stdout line %d: RECORD without emitted_at: %s", n, dockerClip(line))
			}
		}
		msgs = append(msgs, dockerMessage{Type: typ, Raw: raw, Line: line})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(stdout) > 0 && stdout[len(stdout)-1] != '\n' {
		return nil, errors.New("stdout does not end with a newline")
	}
	return msgs, nil
}

// dockerHealthy fails the test unless the run exited 0, printed nothing on
// stderr and only valid Airbyte messages on stdout, none of them an error.
func dockerHealthy(t *testing.T, r *dockerResult) {
	t.Helper()
	if r.ExitCode != 0 {
		t.Fatalf("exit code %d, want 0\n%s", r.ExitCode, r)
	}
	if len(bytes.TrimSpace(r.Stderr)) != 0 {
		t.Errorf("stderr is not empty in a healthy run\n%s", r)
	}
	for _, m := range r.Messages {
		switch m.Type {
		case "TRACE":
			var tr struct {
				Type string `json:"type"`
			}
			_ = json.Unmarshal(m.Raw["trace"], &tr)
			if tr.Type == "ERROR" {
				t.Errorf("error trace in a healthy run: %s", dockerClip(m.Line))
			}
		case "LOG":
			var lg struct {
				Level string `json:"level"`
			}
			_ = json.Unmarshal(m.Raw["log"], &lg)
			if lg.Level == "ERROR" || lg.Level == "FATAL" {
				t.Errorf("%s log in a healthy run: %s", lg.Level, dockerClip(m.Line))
			}
		}
	}
}

// dockerRun runs `docker args...` and validates stdout as Airbyte messages.
func dockerRun(t *testing.T, args ...string) *dockerResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), dockerRunTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	r := &dockerResult{Args: args, Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		r.ExitCode = exit.ExitCode()
	default:
		t.Fatalf("docker %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("timed out after %v\n%s", dockerRunTimeout, r)
	}
	msgs, verr := dockerValidate(r.Stdout)
	if verr != nil {
		t.Fatalf("invalid Airbyte output: %v\n%s", verr, r)
	}
	r.Messages = msgs
	return r
}

// dockerPlatformRun runs op the way the Airbyte platform does: workdir is
// /config or /source, dir is mounted there read-only.
func dockerPlatformRun(t *testing.T, image, dir, workdir, op string) *dockerResult {
	t.Helper()
	return dockerRun(t, "run", "--rm", "--network", "host",
		"--user", "1000:1000", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
		"--read-only",
		"-v", dir+":"+workdir+":ro", "-w", workdir,
		"--entrypoint", "sh", image, "-c", dockerPlatformScript(op))
}

// dockerEngine reports whether a Docker engine answers.
func dockerEngine() error {
	if _, err := exec.LookPath("docker"); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput()
	if err != nil {
		return fmt.Errorf("docker info: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

func dockerRepoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// dockerMetadata reads data.dockerRepository and data.dockerImageTag from
// metadata.yaml (flat keys under data:, so no YAML library is needed).
func dockerMetadata(t *testing.T, root string) (repo, tag string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "metadata.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	get := func(key string) string {
		m := regexp.MustCompile(`(?m)^  ` + key + `:[ \t]*["']?([^"'\s#]+)["']?[ \t]*(?:#.*)?$`).FindSubmatch(b)
		if m == nil {
			t.Fatalf("metadata.yaml: data.%s not found", key)
		}
		return string(m[1])
	}
	return get("dockerRepository"), get("dockerImageTag")
}

// dockerImage returns $SOURCE_ZOOM_IMAGE, or builds the image with
// .ci/base-images.sh and .ci/build-image.sh.
func dockerImage(t *testing.T, root string) string {
	t.Helper()
	if img := os.Getenv("SOURCE_ZOOM_IMAGE"); img != "" {
		t.Logf("using SOURCE_ZOOM_IMAGE=%s", img)
		return img
	}
	ctx, cancel := context.WithTimeout(context.Background(), dockerBuildTimeout)
	defer cancel()
	script := func(name string) {
		var out bytes.Buffer
		cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, ".ci", name))
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "IMAGE="+dockerDefaultImage)
		cmd.Stdout = &out
		cmd.Stderr = &out
		start := time.Now()
		if err := cmd.Run(); err != nil {
			t.Fatalf(".ci/%s: %v\n%s", name, err, dockerTail(out.Bytes(), 8000))
		}
		t.Logf(".ci/%s took %v", name, time.Since(start).Round(time.Second))
	}
	// Explicit GO_IMAGE/RUNTIME_IMAGE name images to build from as they are.
	if os.Getenv("GO_IMAGE") == "" && os.Getenv("RUNTIME_IMAGE") == "" {
		script("base-images.sh")
	}
	script("build-image.sh")
	return dockerDefaultImage
}

type dockerImageConfig struct {
	Size   int64 `json:"Size"`
	Config struct {
		User       string            `json:"User"`
		Env        []string          `json:"Env"`
		Entrypoint []string          `json:"Entrypoint"`
		Labels     map[string]string `json:"Labels"`
	} `json:"Config"`
}

func dockerInspect(t *testing.T, image string) dockerImageConfig {
	t.Helper()
	out, err := exec.Command("docker", "image", "inspect", image).Output()
	if err != nil {
		t.Fatalf("docker image inspect %s: %v", image, err)
	}
	var cfgs []dockerImageConfig
	if err := json.Unmarshal(out, &cfgs); err != nil || len(cfgs) != 1 {
		t.Fatalf("docker image inspect %s: %v: %s", image, err, dockerTail(out, 500))
	}
	return cfgs[0]
}

// dockerWriteFiles writes name → JSON value files into a new directory that
// uid 1000 in the container can read.
func dockerWriteFiles(t *testing.T, files map[string]any) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, v := range files {
		var b []byte
		switch v := v.(type) {
		case []byte:
			b = v
		default:
			var err error
			if b, err = json.Marshal(v); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// dockerCanonical returns the records as sorted canonical JSON strings.
func dockerCanonical(t *testing.T, recs []json.RawMessage) []string {
	t.Helper()
	out := make([]string, 0, len(recs))
	for _, r := range recs {
		var v any
		if err := json.Unmarshal(r, &v); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(v) // map keys sorted
		out = append(out, string(b))
	}
	sort.Strings(out)
	return out
}

// dockerUserAgents records the User-Agent of every request to h: API
// requests and token requests alike carry the stamped version.
type dockerUserAgents struct {
	mu   sync.Mutex
	seen map[string]int
}

func (u *dockerUserAgents) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		if u.seen == nil {
			u.seen = map[string]int{}
		}
		u.seen[r.UserAgent()]++
		u.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (u *dockerUserAgents) snapshot() map[string]int {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make(map[string]int, len(u.seen))
	for k, v := range u.seen {
		out[k] = v
	}
	return out
}

func dockerTail(b []byte, n int) string {
	if len(b) > n {
		return "…" + string(b[len(b)-n:])
	}
	return string(b)
}

func dockerClip(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

func TestDockerImage(t *testing.T) {
	if err := dockerEngine(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but no Docker engine is reachable: %v", err)
		}
		t.Skipf("\n%s\nSKIPPING THE CONTAINER TEST: no Docker engine is reachable (%v).\n"+
			"Run .ci/docker-setup.sh to install and start one. Under CI=true this is a failure.\n%s",
			strings.Repeat("!", 72), err, strings.Repeat("!", 72))
	}
	root := dockerRepoRoot(t)
	repo, tag := dockerMetadata(t, root)
	image := dockerImage(t, root)
	info := dockerInspect(t, image)

	t.Run("image", func(t *testing.T) {
		if got := info.Config.Labels["io.airbyte.name"]; got != repo {
			t.Errorf("label io.airbyte.name = %q, metadata.yaml dockerRepository = %q", got, repo)
		}
		if got := info.Config.Labels["io.airbyte.version"]; got != tag {
			t.Errorf("label io.airbyte.version = %q, metadata.yaml dockerImageTag = %q", got, tag)
		}
		if u := info.Config.User; u != "airbyte" && u != "1000" && u != "1000:1000" {
			t.Errorf("USER = %q, want airbyte (uid 1000)", u)
		}
		entry := ""
		for _, e := range info.Config.Env {
			if v, ok := strings.CutPrefix(e, "AIRBYTE_ENTRYPOINT="); ok {
				entry = v
			}
		}
		if entry == "" {
			t.Errorf("AIRBYTE_ENTRYPOINT is not set in the image: %q", info.Config.Env)
		}
		if joined := strings.Join(info.Config.Entrypoint, " "); entry != joined {
			t.Errorf("AIRBYTE_ENTRYPOINT = %q, ENTRYPOINT joined = %q: they must be equal", entry, joined)
		}
		if len(info.Config.Entrypoint) == 0 || !strings.HasPrefix(info.Config.Entrypoint[0], "/") {
			t.Errorf("ENTRYPOINT %q: want an absolute path", info.Config.Entrypoint)
		}
		t.Logf("image %s: %d bytes (%.1f MB)", image, info.Size, float64(info.Size)/1e6)
		if info.Size >= dockerMaxImageSize {
			t.Errorf("image is %d bytes, want < %d", info.Size, dockerMaxImageSize)
		}
		// What the default user really is, and what it owns.
		out, err := exec.Command("docker", "run", "--rm", "--network", "none", "--entrypoint", "sh", image,
			"-c", `id -u; id -g; stat -c %u:%g /airbyte; test -s /etc/ssl/certs/ca-certificates.crt && echo certs`).CombinedOutput()
		if err != nil {
			t.Fatalf("inspecting the user: %v: %s", err, out)
		}
		if got, want := strings.Fields(string(out)), []string{"1000", "1000", "1000:1000", "certs"}; strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("uid, gid, owner of /airbyte, CA certificates = %q, want %q", got, want)
		}
	})

	spec, err := os.ReadFile(filepath.Join(root, "spec.json"))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("spec", func(t *testing.T) {
		dir := dockerWriteFiles(t, nil)
		r := dockerPlatformRun(t, image, dir, "/config", "spec")
		dockerHealthy(t, r)
		specs := r.ofType("SPEC")
		if len(specs) != 1 {
			t.Fatalf("%d SPEC messages, want 1\n%s", len(specs), r)
		}
		var got, want any
		if err := json.Unmarshal(specs[0].Raw["spec"], &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(spec, &want); err != nil {
			t.Fatal(err)
		}
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if !bytes.Equal(g, w) {
			t.Errorf("the image's SPEC differs from spec.json (stale image?)\n got %s\nwant %s", dockerClip(string(g)), dockerClip(string(w)))
		}
	})

	fake := fakezoom.New(fakezoom.Options{Seed: 1, Users: 3, MeetingsPerUser: 2, WebinarsPerUser: 1,
		InstancesPerMeeting: 2, ParticipantsPerSession: 3, RegistrantsPerMeeting: 2, PollsPerMeeting: 1})
	// Served through httptest (on 127.0.0.1) to record User-Agent headers:
	// they carry the version stamped into the binary.
	var agents dockerUserAgents
	srv := httptest.NewServer(agents.wrap(fake.Handler()))
	t.Cleanup(func() { fake.Close(); srv.Close() })
	config := map[string]any{
		"account_id":             "fake-account",
		"client_id":              "fake-client",
		"client_secret":          "fake-secret",
		"authorization_endpoint": srv.URL + "/oauth/token",
		"api_base_url":           srv.URL + "/v2",
	}

	t.Run("check", func(t *testing.T) {
		dir := dockerWriteFiles(t, map[string]any{"connectionConfiguration.json": config})
		r := dockerPlatformRun(t, image, dir, "/config", "check --config /config/connectionConfiguration.json")
		dockerHealthy(t, r)
		st := r.ofType("CONNECTION_STATUS")
		if len(st) != 1 {
			t.Fatalf("%d CONNECTION_STATUS messages, want 1\n%s", len(st), r)
		}
		var cs struct {
			Status  string `json:"status"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(st[0].Raw["connectionStatus"], &cs)
		if cs.Status != "SUCCEEDED" {
			t.Errorf("connection status %q (%s), want SUCCEEDED", cs.Status, cs.Message)
		}
	})

	streams := map[string]json.RawMessage{}
	t.Run("discover", func(t *testing.T) {
		dir := dockerWriteFiles(t, map[string]any{"connectionConfiguration.json": config})
		r := dockerPlatformRun(t, image, dir, "/config", "discover --config /config/connectionConfiguration.json")
		dockerHealthy(t, r)
		cats := r.ofType("CATALOG")
		if len(cats) != 1 {
			t.Fatalf("%d CATALOG messages, want 1\n%s", len(cats), r)
		}
		var cat struct {
			Streams []json.RawMessage `json:"streams"`
		}
		if err := json.Unmarshal(cats[0].Raw["catalog"], &cat); err != nil {
			t.Fatal(err)
		}
		for _, s := range cat.Streams {
			var name struct {
				Name string `json:"name"`
			}
			_ = json.Unmarshal(s, &name)
			streams[name.Name] = s
		}
		for _, want := range []string{"users", "past_meeting_instances"} {
			if streams[want] == nil {
				t.Errorf("stream %s not discovered", want)
			}
		}
	})
	if streams["users"] == nil || streams["past_meeting_instances"] == nil {
		t.Fatal("discover did not return the streams the read needs")
	}

	// users (full refresh) and past_meeting_instances (incremental), so the
	// second read has a real input state.
	catalog := map[string]any{"streams": []any{
		map[string]any{"stream": streams["users"], "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"},
		map[string]any{"stream": streams["past_meeting_instances"], "sync_mode": "incremental",
			"destination_sync_mode": "append_dedup", "cursor_field": []string{"start_time"}, "primary_key": [][]string{{"uuid"}}},
	}}
	configured := map[string]bool{"users": true, "past_meeting_instances": true}
	wantUsers := dockerCanonical(t, fake.Expected()["users"])
	if len(wantUsers) == 0 {
		t.Fatal("fakezoom expects no users")
	}
	checkRead := func(t *testing.T, r *dockerResult, wantStates bool) {
		t.Helper()
		dockerHealthy(t, r)
		recs := r.records(t)
		for s := range recs {
			if !configured[s] {
				t.Errorf("RECORD for stream %q, which is not in the configured catalog", s)
			}
		}
		got := dockerCanonical(t, recs["users"])
		if strings.Join(got, "\n") != strings.Join(wantUsers, "\n") {
			t.Errorf("users: got %d records, want the fake server's %d\n got %s\nwant %s",
				len(got), len(wantUsers), dockerClip(strings.Join(got, " ")), dockerClip(strings.Join(wantUsers, " ")))
		}
		if wantStates && len(r.ofType("STATE")) == 0 {
			t.Errorf("read emitted no STATE message\n%s", r)
		}
	}

	var firstRead *dockerResult
	t.Run("read", func(t *testing.T) {
		dir := dockerWriteFiles(t, map[string]any{"connectorConfig.json": config, "catalog.json": catalog})
		r := dockerPlatformRun(t, image, dir, "/source",
			"read --config /source/connectorConfig.json --catalog /source/catalog.json")
		checkRead(t, r, true)
		firstRead = r
	})

	t.Run("read_with_state", func(t *testing.T) {
		if firstRead == nil {
			t.Skip("the first read failed")
		}
		dir := dockerWriteFiles(t, map[string]any{"connectorConfig.json": config, "catalog.json": catalog,
			"inputState.json": firstRead.lastStates(t)})
		r := dockerPlatformRun(t, image, dir, "/source",
			"read --config /source/connectorConfig.json --catalog /source/catalog.json --state /source/inputState.json")
		checkRead(t, r, true)
	})

	t.Run("plain_docker_run", func(t *testing.T) {
		dir := dockerWriteFiles(t, map[string]any{"config.json": config, "catalog.json": catalog})
		r := dockerRun(t, "run", "--rm", "--network", "host", "-v", dir+":/secrets:ro",
			image, "read", "--config", "/secrets/config.json", "--catalog", "/secrets/catalog.json")
		checkRead(t, r, true)
	})

	// A failing check still speaks the protocol: a wrong secret is a FAILED
	// connection status, a missing config file a failure exit code or FAILED;
	// in either case stdout holds only Airbyte messages (dockerRun checks).
	failedStatus := func(r *dockerResult) bool {
		for _, m := range r.ofType("CONNECTION_STATUS") {
			var cs struct {
				Status string `json:"status"`
			}
			_ = json.Unmarshal(m.Raw["connectionStatus"], &cs)
			if cs.Status == "FAILED" {
				return true
			}
		}
		return false
	}
	t.Run("check_wrong_secret", func(t *testing.T) {
		bad := map[string]any{}
		for k, v := range config {
			bad[k] = v
		}
		bad["client_secret"] = "not-the-secret"
		dir := dockerWriteFiles(t, map[string]any{"connectionConfiguration.json": bad})
		r := dockerPlatformRun(t, image, dir, "/config", "check --config /config/connectionConfiguration.json")
		if !failedStatus(r) {
			t.Errorf("check with a wrong secret: no FAILED connection status\n%s", r)
		}
	})
	t.Run("check_missing_config", func(t *testing.T) {
		dir := dockerWriteFiles(t, nil)
		r := dockerPlatformRun(t, image, dir, "/config", "check --config /config/connectionConfiguration.json")
		if r.ExitCode == 0 && !failedStatus(r) {
			t.Errorf("check without a config file exited 0 without a FAILED connection status\n%s", r)
		}
	})

	t.Run("user_agent", func(t *testing.T) {
		want := "source-zoom/" + tag
		seen := agents.snapshot()
		if len(seen) == 0 {
			t.Fatal("the fake Zoom server saw no API request")
		}
		for ua, n := range seen {
			if ua != want {
				t.Errorf("%d API requests with User-Agent %q, want %q (VERSION not stamped as dockerImageTag?)", n, ua, want)
			}
		}
	})
}

// TestDockerfileMatchesMetadata needs no Docker engine: the Dockerfile's
// defaults must agree with metadata.yaml, so that a plain `docker build .`
// (without the --build-arg VERSION that .ci/build-image.sh passes) gives
// labels Airbyte accepts.
func TestDockerfileMatchesMetadata(t *testing.T) {
	root := dockerRepoRoot(t)
	repo, tag := dockerMetadata(t, root)
	b, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	versions := regexp.MustCompile(`(?m)^ARG VERSION=(\S+)\s*$`).FindAllSubmatch(b, -1)
	if len(versions) == 0 {
		t.Error("Dockerfile: no ARG VERSION=<default>")
	}
	for _, v := range versions {
		if string(v[1]) != tag {
			t.Errorf("Dockerfile: ARG VERSION=%s, metadata.yaml dockerImageTag is %s", v[1], tag)
		}
	}
	name := regexp.MustCompile(`io\.airbyte\.name="?([^"\s]+)"?`).FindSubmatch(b)
	if name == nil || string(name[1]) != repo {
		t.Errorf("Dockerfile: LABEL io.airbyte.name=%q, metadata.yaml dockerRepository is %s", name, repo)
	}
	if !regexp.MustCompile(`(?m)^LABEL[^\n]*io\.airbyte\.version="?\$\{?VERSION\}?"?`).Match(b) &&
		!regexp.MustCompile(`(?m)^\s+io\.airbyte\.version="?\$\{?VERSION\}?"?`).Match(b) {
		t.Error("Dockerfile: io.airbyte.version is not set from ARG VERSION")
	}
	entry := regexp.MustCompile(`(?m)^ENTRYPOINT \["([^"]+)"\]`).FindSubmatch(b)
	env := regexp.MustCompile(`AIRBYTE_ENTRYPOINT="?([^"\s]+)"?`).FindSubmatch(b)
	if entry == nil || env == nil || string(entry[1]) != string(env[1]) {
		t.Errorf("Dockerfile: ENTRYPOINT %q and AIRBYTE_ENTRYPOINT %q must be equal", entry, env)
	}
}
