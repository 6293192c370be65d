package connector

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"

	"github.com/source-zoom/source-zoom/protocol"
)

// maxInputFile bounds --config, --catalog and --state files.
const maxInputFile = 64 << 20

// Connector is what the runner needs from a concrete source.
type Connector struct {
	// Name is the program name used in usage and messages.
	Name string
	// Spec is the ConnectorSpecification printed by spec; its
	// connectionSpecification validates every config.
	Spec json.RawMessage
	// Open builds the Source from a config already validated against the
	// spec. Errors about the config should be ConfigErrors naming the field.
	Open func(ctx context.Context, config json.RawMessage, env Env) (*Source, error)
	// Check verifies credentials and access with an opened Source. Nil means
	// fetching the first page of the first stream.
	Check func(ctx context.Context, src *Source, env Env) error
}

// Env is what a run gives a source: its logger and the redactor that every
// secret must be registered with.
type Env struct {
	Log    *slog.Logger
	Redact *protocol.Redactor
}

// Spec prints the SPEC message.
func (c *Connector) RunSpec(w *protocol.Writer) error {
	return w.Send(&protocol.Message{Type: protocol.TypeSpec, Spec: c.Spec})
}

// config validates raw config against the spec and opens the Source.
func (c *Connector) open(ctx context.Context, raw []byte, env Env) (*Source, error) {
	if !json.Valid(raw) {
		return nil, &ConfigError{Err: fmt.Errorf("config: %w", jsonSyntaxError(raw))}
	}
	var spec struct {
		ConnectionSpecification json.RawMessage `json:"connectionSpecification"`
	}
	if err := json.Unmarshal(c.Spec, &spec); err != nil {
		return nil, fmt.Errorf("connector spec: %w", err)
	}
	sch, err := CompileSchema("connectionSpecification", spec.ConnectionSpecification)
	if err != nil {
		return nil, fmt.Errorf("connector spec: %w", err)
	}
	if err := sch.Validate(raw); err != nil {
		return nil, Configf("config: %v", err)
	}
	src, err := c.Open(ctx, raw, env)
	if err != nil {
		return nil, err
	}
	return src, nil
}

// RunCheck prints CONNECTION_STATUS: SUCCEEDED, or FAILED with the reason.
// Only a failure to write is returned: a failed check is a valid answer.
func (c *Connector) RunCheck(ctx context.Context, w *protocol.Writer, env Env, config []byte) error {
	err := func() error {
		src, err := c.open(ctx, config, env)
		if err != nil {
			return err
		}
		if c.Check != nil {
			return c.Check(ctx, src, env)
		}
		return defaultCheck(ctx, src, env)
	}()
	st := &protocol.ConnectionStatus{Status: "SUCCEEDED"}
	if err != nil {
		st = &protocol.ConnectionStatus{Status: "FAILED", Message: err.Error()}
	}
	return w.Send(&protocol.Message{Type: protocol.TypeConnectionStatus, ConnectionStatus: st})
}

func defaultCheck(ctx context.Context, src *Source, env Env) error {
	for i := range src.Streams {
		if src.Streams[i].Parent == "" {
			return Probe(ctx, src, src.Streams[i].Name, env)
		}
	}
	return errors.New("no stream to check with")
}

// Probe fetches one small page of the root stream name, with the Source's
// auth, retries and error rules.
func Probe(ctx context.Context, src *Source, name string, env Env) error {
	st := src.stream(name)
	if st == nil || st.Parent != "" {
		return fmt.Errorf("probe: %q is not a root stream", name)
	}
	rd := &reader{src: src, log: env.Log, now: src.Now}
	u, err := rd.resolve(st, nil)
	if err != nil {
		return err
	}
	p := st.Paginator
	if p == nil {
		p = src.Paginator
	}
	if p != nil {
		p.Begin(1).Apply(u)
	}
	_, err = newRequester(src, env.Log, nil).get(ctx, st, u)
	return err
}

// RunDiscover prints the CATALOG.
func (c *Connector) RunDiscover(ctx context.Context, w *protocol.Writer, env Env, config []byte) error {
	src, err := c.open(ctx, config, env)
	if err != nil {
		return err
	}
	return w.Send(&protocol.Message{Type: protocol.TypeCatalog, Catalog: src.Catalog()})
}

// Catalog describes the visible streams for discover.
func (s *Source) Catalog() *protocol.Catalog {
	cat := &protocol.Catalog{Streams: []protocol.Stream{}}
	for i := range s.Streams {
		st := &s.Streams[i]
		if st.Hidden {
			continue
		}
		schema := st.Schema
		if len(schema) == 0 {
			schema = json.RawMessage(`{"type":"object","additionalProperties":true}`)
		}
		as := protocol.Stream{
			Name:                    st.Name,
			JSONSchema:              schema,
			SupportedSyncModes:      []string{protocol.FullRefresh},
			SourceDefinedPrimaryKey: st.PrimaryKey,
		}
		if st.Incremental != nil {
			as.SupportedSyncModes = append(as.SupportedSyncModes, protocol.Incremental)
			as.SourceDefinedCursor = true
			as.DefaultCursorField = []string{st.Incremental.CursorField}
		}
		cat.Streams = append(cat.Streams, as)
	}
	return cat
}

// RunRead runs read with the contents of the config, catalog and state files.
func (c *Connector) RunRead(ctx context.Context, w *protocol.Writer, env Env, config, catalog, state []byte) error {
	src, err := c.open(ctx, config, env)
	if err != nil {
		return err
	}
	if !json.Valid(catalog) {
		return &ConfigError{Err: fmt.Errorf("catalog: %w", jsonSyntaxError(catalog))}
	}
	var cat protocol.ConfiguredCatalog
	if err := json.Unmarshal(catalog, &cat); err != nil {
		return Configf("catalog: not a ConfiguredAirbyteCatalog: %v", err)
	}
	st, err := ParseState(state)
	if err != nil {
		return Configf("state: %v", err)
	}
	return src.Read(ctx, w, env.Log, &cat, st)
}

// Run is the command line: spec, check, discover and read as the Airbyte
// platform calls them. It returns the process exit code: 0 on success, 1
// when the command failed (reported on stdout as a TRACE error), 2 for
// usage errors (reported on stderr).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, c *Connector) (code int) {
	usage := func() {
		fmt.Fprintf(stderr, `usage:
  %[1]s spec
  %[1]s check --config FILE
  %[1]s discover --config FILE
  %[1]s read --config FILE --catalog FILE [--state FILE]
`, c.Name)
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "%s: %s\n", c.Name, fmt.Sprintf(format, a...))
		usage()
		return 2
	}
	if len(args) == 0 {
		return usageErr("missing command")
	}
	cmd := args[0]
	if cmd == "-h" || cmd == "--help" || cmd == "help" {
		usage()
		return 0
	}
	fs := flag.NewFlagSet(c.Name+" "+cmd, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	configPath := fs.String("config", "", "config file (JSON)")
	catalogPath := fs.String("catalog", "", "configured catalog file (JSON)")
	statePath := fs.String("state", "", "state file (JSON)")
	debugLog := fs.Bool("debug", false, "log at DEBUG level")
	switch cmd {
	case "spec", "check", "discover", "read":
	default:
		return usageErr("unknown command %q", cmd)
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage()
			return 0
		}
		return usageErr("%s: %v", cmd, err)
	}
	if fs.NArg() > 0 {
		return usageErr("%s: unexpected argument %q", cmd, fs.Arg(0))
	}
	need := map[string][]string{"check": {"config"}, "discover": {"config"}, "read": {"config", "catalog"}}
	paths := map[string]*string{"config": configPath, "catalog": catalogPath, "state": statePath}
	files := map[string][]byte{}
	for _, name := range need[cmd] {
		if *paths[name] == "" {
			return usageErr("%s: missing --%s FILE", cmd, name)
		}
	}
	for _, name := range []string{"config", "catalog", "state"} {
		p := *paths[name]
		if p == "" {
			continue
		}
		if !slicesContains(need[cmd], name) && !(cmd == "read" && name == "state") {
			return usageErr("%s: --%s is not used by %s", cmd, name, cmd)
		}
		b, err := readFile(p)
		if err != nil {
			return usageErr("%s: --%s: %v", cmd, name, err)
		}
		files[name] = b
	}

	redact := &protocol.Redactor{}
	w := protocol.NewWriter(stdout, redact)
	level := slog.LevelInfo
	if *debugLog {
		level = slog.LevelDebug
	}
	env := Env{Log: slog.New(protocol.NewLogHandler(w, level)), Redact: redact}
	defer func() {
		if p := recover(); p != nil {
			msg := fmt.Sprintf("internal error: %v", p)
			_ = w.Send(&protocol.Message{Type: protocol.TypeTrace, Trace: &protocol.Trace{
				Type: protocol.TraceError, EmittedAt: nowMillis(),
				Error: &protocol.TraceErr{Message: msg, InternalMessage: msg, StackTrace: string(debug.Stack()), FailureType: protocol.SystemError},
			}})
			code = 1
		}
		if err := w.Close(); err != nil && code == 0 {
			fmt.Fprintf(stderr, "%s: %v\n", c.Name, err)
			code = 1
		}
	}()
	if secret := redactConfigSecrets(c.Spec, files["config"]); len(secret) > 0 {
		for _, s := range secret {
			redact.Add(s)
		}
	}

	var err error
	switch cmd {
	case "spec":
		err = c.RunSpec(w)
	case "check":
		err = c.RunCheck(ctx, w, env, files["config"])
	case "discover":
		err = c.RunDiscover(ctx, w, env, files["config"])
	case "read":
		err = c.RunRead(ctx, w, env, files["config"], files["catalog"], files["state"])
	}
	if err == nil {
		return 0
	}
	var reported *ReportedError
	if !errors.As(err, &reported) {
		msg := err.Error()
		_ = w.Send(&protocol.Message{Type: protocol.TypeTrace, Trace: &protocol.Trace{
			Type: protocol.TraceError, EmittedAt: nowMillis(),
			Error: &protocol.TraceErr{Message: msg, InternalMessage: msg, FailureType: FailureType(err)},
		}})
	}
	return 1
}

func slicesContains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func readFile(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxInputFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxInputFile {
		return nil, fmt.Errorf("%s is larger than %d MiB", p, maxInputFile>>20)
	}
	return b, nil
}

// redactConfigSecrets returns the values of config fields the spec marks
// airbyte_secret, at the top level.
func redactConfigSecrets(spec json.RawMessage, config []byte) []string {
	var s struct {
		CS struct {
			Properties map[string]struct {
				Secret bool `json:"airbyte_secret"`
			} `json:"properties"`
		} `json:"connectionSpecification"`
	}
	var cfg map[string]json.RawMessage
	if json.Unmarshal(spec, &s) != nil || json.Unmarshal(config, &cfg) != nil {
		return nil
	}
	var out []string
	for k, p := range s.CS.Properties {
		if !p.Secret {
			continue
		}
		var v string
		if json.Unmarshal(cfg[k], &v) == nil && strings.TrimSpace(v) != "" {
			out = append(out, v)
		}
	}
	return out
}
