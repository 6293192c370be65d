package connector_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/source-zoom/source-zoom/connector"
	"github.com/source-zoom/source-zoom/protocol"
)

// A table of two streams: a one-line stream that follows the conventions,
// and a dependent stream read once per parent record.
func Example_table() {
	// A small API: GET /users and GET /users/{id}/meetings.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/users":
			fmt.Fprint(w, `{"users":[{"id":1,"name":"Ann"},{"id":2,"name":"Bob"}]}`)
		case "/users/1/meetings":
			fmt.Fprint(w, `{"meetings":[{"topic":"Standup"}]}`)
		case "/users/2/meetings":
			fmt.Fprint(w, `{"meetings":[{"topic":"Review"},{"topic":"Retro"}]}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer api.Close()

	src := &connector.Source{
		BaseURL:     api.URL,
		Concurrency: 1, // for a stable output order
		Streams: []connector.Stream{
			// GET /users, records under "users".
			{Name: "users"},
			// GET /users/{user_id}/meetings for every user, records under
			// "meetings", each with the user's id added as "user_id".
			{Name: "meetings", Parent: "users", Path: "/users/{user_id}/meetings",
				Params: []connector.Param{{Name: "user_id", Field: "id", Add: true}}},
		},
	}

	var out bytes.Buffer
	w := protocol.NewWriter(&out, nil)
	catalog := &protocol.ConfiguredCatalog{Streams: []protocol.ConfiguredStream{
		{Stream: protocol.Stream{Name: "users"}, SyncMode: protocol.FullRefresh},
		{Stream: protocol.Stream{Name: "meetings"}, SyncMode: protocol.FullRefresh},
	}}
	err := src.Read(context.Background(), w, slog.New(protocol.NewLogHandler(w, nil)), catalog, nil)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	// Print the records; the output also holds STATE and TRACE messages.
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m protocol.Message
		if json.Unmarshal([]byte(line), &m) == nil && m.Type == protocol.TypeRecord {
			fmt.Println(m.Record.Stream, string(m.Record.Data))
		}
	}
	// Output:
	// users {"id":1,"name":"Ann"}
	// users {"id":2,"name":"Bob"}
	// meetings {"topic":"Standup","user_id":1}
	// meetings {"topic":"Review","user_id":2}
	// meetings {"topic":"Retro","user_id":2}
}
