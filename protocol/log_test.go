package protocol

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/source-zoom/source-zoom/protocol/protocoltest"
)

// logged runs fn with a logger at level and returns the LOG messages.
func logged(t *testing.T, level slog.Leveler, red *Redactor, fn func(*slog.Logger)) []protocoltest.Message {
	t.Helper()
	rec := &recorder{}
	w := NewWriter(rec, red)
	fn(slog.New(NewLogHandler(w, level)))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	msgs := protocoltest.CheckOutput(t, rec.Bytes())
	for _, m := range msgs {
		if m.Type != TypeLog {
			t.Fatalf("line %d is %s, not LOG", m.Line, m.Type)
		}
	}
	return msgs
}

func TestLogHandlerLevels(t *testing.T) {
	msgs := logged(t, slog.Level(-8), nil, func(l *slog.Logger) {
		ctx := context.Background()
		l.Log(ctx, slog.Level(-8), "trace-ish")
		l.Debug("debug")
		l.Log(ctx, slog.LevelDebug+2, "debug+2")
		l.Info("info")
		l.Log(ctx, slog.LevelInfo+1, "info+1")
		l.Warn("warn")
		l.Log(ctx, slog.LevelWarn+2, "warn+2")
		l.Error("error")
		l.Log(ctx, slog.LevelError+4, "error+4")
	})
	want := [][2]string{
		{"DEBUG", "trace-ish"}, {"DEBUG", "debug"}, {"DEBUG", "debug+2"},
		{"INFO", "info"}, {"INFO", "info+1"}, {"WARN", "warn"}, {"WARN", "warn+2"},
		{"ERROR", "error"}, {"ERROR", "error+4"},
	}
	if len(msgs) != len(want) {
		t.Fatalf("%d messages, want %d", len(msgs), len(want))
	}
	for i, m := range msgs {
		if m.LogLevel() != want[i][0] || m.LogMessage() != want[i][1] {
			t.Errorf("message %d: %s %q, want %s %q", i, m.LogLevel(), m.LogMessage(), want[i][0], want[i][1])
		}
	}
}

func TestLogHandlerThreshold(t *testing.T) {
	for _, tc := range []struct {
		level slog.Leveler
		want  string
	}{
		{nil, "info,warn,error"},
		{slog.LevelDebug, "debug,info,warn,error"},
		{slog.LevelWarn, "warn,error"},
		{slog.LevelError, "error"},
	} {
		msgs := logged(t, tc.level, nil, func(l *slog.Logger) {
			l.Debug("debug")
			l.Info("info")
			l.Warn("warn")
			l.Error("error")
		})
		var got []string
		for _, m := range msgs {
			got = append(got, m.LogMessage())
		}
		if strings.Join(got, ",") != tc.want {
			t.Errorf("level %v: logged %q, want %q", tc.level, got, tc.want)
		}
	}
	// A LevelVar is honoured as it changes.
	var lv slog.LevelVar
	lv.Set(slog.LevelError)
	msgs := logged(t, &lv, nil, func(l *slog.Logger) {
		l.Info("hidden")
		lv.Set(slog.LevelInfo)
		l.Info("shown")
	})
	if len(msgs) != 1 || msgs[0].LogMessage() != "shown" {
		t.Errorf("LevelVar: %v", msgs)
	}
}

type lazy struct{}

func (lazy) LogValue() slog.Value { return slog.StringValue("resolved") }

func TestLogHandlerAttrs(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func(*slog.Logger)
		want string
	}{
		{"plain", func(l *slog.Logger) { l.Info("fetched page", "stream", "users", "n", 3, "ok", true) }, "fetched page stream=users n=3 ok=true"},
		{"quoted", func(l *slog.Logger) {
			l.Info("m", "space", "a b", "quote", `say "hi"`, "eq", "a=b", "empty", "")
		}, `m space="a b" quote="say \"hi\"" eq="a=b" empty=`},
		{"error and duration", func(l *slog.Logger) {
			l.Warn("retrying", "error", errors.New("HTTP 503"), "wait", 1500*time.Millisecond)
		}, `retrying error="HTTP 503" wait=1.5s`},
		{"LogValuer", func(l *slog.Logger) { l.Info("m", "v", lazy{}) }, "m v=resolved"},
		{"empty attr dropped", func(l *slog.Logger) { l.Info("m", slog.Attr{}, "a", 1) }, "m a=1"},
		{"WithAttrs", func(l *slog.Logger) { l.With("stream", "users").Info("m", "page", 2) }, "m stream=users page=2"},
		{"WithGroup", func(l *slog.Logger) { l.WithGroup("req").Info("m", "status", 429) }, "m req.status=429"},
		{"nested groups", func(l *slog.Logger) { l.WithGroup("a").WithGroup("b").Info("m", "k", 1) }, "m a.b.k=1"},
		{"attrs before group stay outside it", func(l *slog.Logger) {
			l.With("stream", "users").WithGroup("req").With("url", "/users").Info("m", "status", 200)
		}, "m stream=users req.url=/users req.status=200"},
		{"group attr", func(l *slog.Logger) {
			l.Info("m", slog.Group("req", slog.Int("status", 429), slog.String("category", "Heavy")))
		}, "m req.status=429 req.category=Heavy"},
		{"empty group dropped", func(l *slog.Logger) { l.Info("m", slog.Group("g"), "a", 1) }, "m a=1"},
		{"inline group", func(l *slog.Logger) { l.Info("m", slog.Group("", slog.Int("a", 1))) }, "m a=1"},
		{"WithGroup empty name", func(l *slog.Logger) { l.WithGroup("").Info("m", "a", 1) }, "m a=1"},
		{"multi-line message", func(l *slog.Logger) { l.Info("line1\nline2", "a", 1) }, "line1\nline2 a=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msgs := logged(t, nil, nil, tc.fn)
			if len(msgs) != 1 {
				t.Fatalf("%d messages", len(msgs))
			}
			if got := msgs[0].LogMessage(); got != tc.want {
				t.Errorf("message %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLogHandlerSharesNothing(t *testing.T) {
	msgs := logged(t, nil, nil, func(l *slog.Logger) {
		base := l.With("a", 1)
		x := base.With("x", 1)
		y := base.With("y", 2)
		x.Info("x")
		y.Info("y")
		base.Info("base")
	})
	want := []string{"x a=1 x=1", "y a=1 y=2", "base a=1"}
	for i, m := range msgs {
		if m.LogMessage() != want[i] {
			t.Errorf("message %d %q, want %q", i, m.LogMessage(), want[i])
		}
	}
}

func TestLogHandlerRedacts(t *testing.T) {
	red := &Redactor{}
	red.Add("tok-123456")
	msgs := logged(t, nil, red, func(l *slog.Logger) {
		l.Info("got token tok-123456", "auth", "Bearer tok-123456")
	})
	if got := msgs[0].LogMessage(); got != `got token **** auth="Bearer ****"` {
		t.Errorf("message %q", got)
	}
}
