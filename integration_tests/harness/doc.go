// Package harness runs the source-zoom connector as a real process against
// the fake Zoom server, for the acceptance tests and the demo's test.
//
// A test typically does:
//
//	bin := harness.Binary(t)                         // go build, once per process
//	s := harness.StartFake(t, fakezoom.Options{Seed: 1, Users: 3})
//	cfg := harness.WriteConfig(t, s, nil)            // temp config.json for s
//	cat := harness.Discover(t, bin, cfg)             // the discovered catalog
//	catalog := harness.WriteCatalog(t, cat, nil, false)
//	r := harness.Run(t, bin, "read", "--config", cfg, "--catalog", catalog)
//	harness.SameRecords(t, s.Expected(), r.Records())
//
// Run checks every stdout line against the official Airbyte protocol
// schema (package protocoltest) and returns the parsed messages with
// accessors for records, states, stream statuses and errors. The process
// runs in a temporary working directory, never in the repository, and is
// killed after Timeout.
//
// Binary builds into a temporary directory; a test package that wants it
// removed at exit calls harness.Main from its TestMain. Set
// $SOURCE_ZOOM_BIN to test an already built binary instead.
package harness
