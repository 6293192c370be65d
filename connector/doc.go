// Package connector is a declarative engine for Airbyte sources that read
// JSON over HTTP. A concrete source is a table of streams; the engine does
// the requests, pagination, error handling, retries, rate limiting,
// concurrency, incremental state and the Airbyte protocol output. Nothing
// in it is specific to one API.
//
// # Sources and streams
//
// A [Source] is an API: a base URL, an [oauth2.TokenSource] for bearer
// tokens, defaults shared by its streams (paginator, page size, error
// rules, rate-limit category), and the table, Source.Streams. A [Stream] is
// one row of the table: an endpoint whose answers hold records. A stream
// with a Parent is read once per record of its parent stream (one
// partition per parent record). [Source.Read] reads the streams of a
// configured catalog and writes RECORD, STATE, LOG and TRACE messages to a
// [protocol.Writer]; [Run] is the whole command line (spec, check,
// discover, read) around a [Connector].
//
// # Convention over configuration
//
// Only Name is required. By convention a stream's path is "/"+Name, its
// records are the array under the key Name, and it uses the Source's
// paginator, rate-limit category and error rules. A list endpoint that
// follows the convention is one line:
//
//	{Name: "users"} // GET {BaseURL}/users → {"users": [...], ...}
//
// RecordsAt names another key, or a dotted path ("data.items"). The value
// [WholeBody] makes the whole answer one record (a detail endpoint), or
// each element one record when the answer is a bare JSON array. A missing
// or null records key is an empty page; anything that is not an array of
// objects fails the stream with a message naming the URL and what was
// found. Records are never decoded: their bytes reach the output as the
// API sent them.
//
// # Dependent streams
//
// A dependent stream names its Parent and declares [Param]s: each takes a
// value from the parent record (a dotted Field; a field the parent record
// lacks is looked up among the parent's own params, so a grandchild can use
// its grandparent's values) and fills the {Name} placeholders of Path and
// Query. Path values are escaped with url.PathEscape or with the param's
// Encode function. With Add the value is also added to every record of the
// partition under Name (AsString adds numbers as strings):
//
//	{Name: "meeting_registrants", Parent: "user_meetings",
//		Path: "/meetings/{meeting_id}/registrants", RecordsAt: "registrants",
//		Params: []connector.Param{{Name: "meeting_id", Field: "id", Add: true}}}
//
// A parent is read once per read however many of its children are
// selected, and also when it is not selected itself, in which case its
// records are not emitted. Hidden streams are parents only: they are
// neither in the catalog nor selectable. A parent record without a value
// for a placeholder fails the child stream (and its children).
//
// # Pagination
//
// A [Paginator] describes how a listing pages; Source.PageSize (default
// 100) is passed to it. The paginators are:
//
//   - [SinglePage]: one request (the default, and the default of WholeBody
//     streams).
//   - [Cursor]: a token from a body field (dotted), sent back as a query
//     parameter, until the token is empty. A token seen twice in one listing
//     fails the stream instead of looping.
//   - [Offset]: offset and limit parameters; a short page ends the listing.
//   - [PageNumber]: a page number from Start (default 1) and a page size; a
//     short page ends the listing.
//   - [LinkHeader]: the rel="next" URL of the Link header, same host only;
//     a repeated link fails the stream.
//
// # Error rules
//
// An answer outside 2xx is matched against the stream's Errors, then the
// Source's, then the defaults. An [ErrorRule] matches when every criterion
// it sets matches: HTTP Status, the API's error Codes (from a body like
// {"code": 124, "message": "..."}) and a Message substring
// (case-insensitive). Its [Action]:
//
//   - ActionSkip: the partition is skipped with a LOG line naming the
//     stream, partition and reason; the stream goes on.
//   - ActionRetry: retried like a 5xx.
//   - ActionFail: the stream fails with the API's message (system_error).
//   - ActionConfigError: the stream fails with a config_error.
//   - ActionFailSync: every stream stops.
//   - ActionRefreshAuth: the rejected token is passed to the token source's
//     Invalidate (see [Invalidator]) and the request is retried once with a
//     new token; a second rejection is a config_error.
//   - ActionRestart: the listing starts again from its first page (an
//     expired page token); records already emitted are not emitted again.
//     At most three restarts per listing.
//
// Defaults: 429, 408 and 5xx are retried; 401 and 403 are config errors;
// other 4xx fail the stream. A failed stream does not stop the others.
//
// # Retries
//
// 5xx answers, network errors and 200 answers whose body is not valid JSON
// are retried with exponential back-off and jitter (RetryPolicy Initial,
// default 500ms, up to Max, default 30s) for at most MaxTries attempts
// (default 8); then the stream fails with a transient_error. A Retry-After
// header, in seconds or as an HTTP date, is waited for instead; one longer
// than MaxWait (default 5m) fails the stream at once with a transient
// error. Cancelling the context ends every wait at once.
//
// # Rate limits
//
// Each stream has a rate-limit category (Stream.Category, default
// Source.Category); Source.Limits maps categories to a [Limit]. A known
// PerSecond limit paces the category just below it. A category without
// one is not paced until the API answers 429; then it is paced from the
// rate the API accepted, and every further 429 slows it down. While a
// stream waits on a 429 it reports a RUNNING stream status with a
// RATE_LIMITED reason. An answer matched by an ActionQuota rule (Zoom's
// daily-limit 429, say) exhausts the category until its Retry-After or the
// next 00:00 UTC: the streams of that category stop with a transient_error
// naming the reset time, the other categories go on. A known PerDay cap is counted
// locally, so the category stops after that many requests without spending
// requests on 429s.
//
// # Concurrency
//
// Partitions run concurrently, at most Source.Concurrency (default 8)
// requests in flight; the pages (and date windows) of one partition are
// fetched in order, one at a time. Deeper streams are served first, so
// memory stays bounded by the listings in progress. The output is
// consistent per stream: a STATE message of a stream follows every record
// it accounts for, its sourceStats.recordCount is the number of RECORD
// messages of that stream since its previous STATE, and a partition enters
// the state only after all its records were written.
//
// # Incremental sync and state
//
// A stream with Incremental supports incremental sync on a datetime cursor
// (RFC 3339, or a date). Its state is
//
//	{"<cursor_field>": "2026-11-30T10:00:00Z", "partitions": {"<key>": "2026-11-29T09:00:00Z"}}
//
// The cursor is the high-water mark of the last complete sync. The lower
// bound of a sync is the cursor minus Source.Lookback (exclusive), or
// Source.StartDate (inclusive) when there is no state or the start date is
// later. MaxAge is how far back the API serves data: an older start date is
// clamped to it with a WARN log.
//
// With PartitionCursor set, the cursor is a param of the partition (a
// session's start time for the session's children): partitions that are
// not past the lower bound are not fetched at all. Otherwise each record
// is compared by its own CursorField and only newer ones are emitted;
// records without a readable cursor are kept. With Window set, each partition is read in windows of that length
// from the lower bound (or MaxAge ago, 180 days by default) to now, passed
// as FromParam and ToParam in WindowLayout; a date-only layout gives
// inclusive, non-overlapping days.
//
// Partitions lists the partitions a sync in progress has finished, keyed
// by the values of the params its path and query use, joined by "|" (""
// for a root stream), each with the highest cursor it held. A resumed sync
// does not read them again, except to give their children partitions (then
// their records are not emitted again). A sync that completes folds the
// partitions into the cursor and empties them; an interrupted or failed
// stream keeps them, so the next sync resumes where this one stopped. A
// state with another key, or of the wrong type, is a config error; a state
// far in the future reads nothing new. [ParseState] reads the --state file in
// every shape the platform writes.
//
// # Status and errors
//
// Every selected stream reports STARTED, RUNNING with its first record, and
// after its final STATE either COMPLETE or INCOMPLETE. A root stream with
// Estimate reports the count found in that body field of its first page as
// an ESTIMATE trace. Each failed stream gets one TRACE error with its
// stream_descriptor and failure_type (config_error, transient_error or
// system_error), and Read returns a [ReportedError]. A cancelled read
// returns a [TransientError]; the last STATE of each stream marks where the
// next sync resumes.
package connector
