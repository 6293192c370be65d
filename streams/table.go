package streams

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/source-zoom/source-zoom/connector"
)

// Zoom's rate-limit categories (Zoom API reference, "Rate Limit Label").
const (
	light  = "Light"
	medium = "Medium"
	heavy  = "Heavy"
)

// encodeUUID encodes a meeting or webinar UUID as a path segment. Zoom
// wants a UUID that begins with "/" or contains "//" encoded twice.
func encodeUUID(uuid string) string {
	if strings.HasPrefix(uuid, "/") || strings.Contains(uuid, "//") {
		return url.PathEscape(url.PathEscape(uuid))
	}
	return url.PathEscape(uuid)
}

// Error rules shared by the table (Zoom's answers: {"code": N, "message": ...}).
var (
	// skipGone: the meeting, webinar or user went away between listing and
	// reading it.
	skipGone = []connector.ErrorRule{
		{Codes: []int{3001}, Action: connector.ActionSkip, Reason: "meeting or webinar deleted or expired"},
		{Codes: []int{1001}, Action: connector.ActionSkip, Reason: "user does not exist"},
	}
	// skipPast: past and report endpoints answer 404 for sessions that never
	// ran and 12702 for sessions older than Zoom keeps.
	skipPast = append([]connector.ErrorRule{
		{Status: []int{http.StatusNotFound}, Action: connector.ActionSkip, Reason: "no data for this session (it never ran or its report is gone)"},
		{Codes: []int{12702}, Action: connector.ActionSkip, Reason: "session older than Zoom keeps reports"},
	}, skipGone...)
	// skipNoRegistration: registrant endpoints of meetings without registration.
	skipNoRegistration = append([]connector.ErrorRule{
		{Status: []int{http.StatusBadRequest}, Codes: []int{300}, Message: "registration", Action: connector.ActionSkip, Reason: "registration is not enabled"},
	}, skipGone...)
	// skipNoWebinarPlan: users without a webinar licence.
	skipNoWebinarPlan = append([]connector.ErrorRule{
		{Codes: []int{200}, Action: connector.ActionSkip, Reason: "user has no webinar plan"},
	}, skipGone...)
	// skipNoMeetings: users who may not host meetings.
	skipNoMeetings = append([]connector.ErrorRule{
		{Codes: []int{3161}, Action: connector.ActionSkip, Reason: "user may not host meetings"},
	}, skipGone...)
)

// zoomErrors apply to every stream, after its own rules.
var zoomErrors = []connector.ErrorRule{
	// Zoom's daily cap (Heavy and Resource-intensive requests): 429 with
	// X-RateLimit-Type: Daily-limit and Retry-After at 00:00 UTC.
	{Status: []int{http.StatusTooManyRequests}, Header: "X-RateLimit-Type", HeaderValue: "daily", Action: connector.ActionQuota, Reason: "Zoom's daily request limit"},
	{Status: []int{http.StatusTooManyRequests}, Message: "daily rate limit", Action: connector.ActionQuota, Reason: "Zoom's daily request limit"},
	{Status: []int{http.StatusUnauthorized}, Codes: []int{124}, Action: connector.ActionRefreshAuth, Reason: "access token rejected"},
	{Codes: []int{4711, 4700}, Action: connector.ActionConfigError, Reason: "the Zoom app lacks a scope this stream needs (add it in the App Marketplace)"},
	{Status: []int{http.StatusBadRequest}, Codes: []int{300}, Message: "next page token", Action: connector.ActionRestart, Reason: "page token expired"},
}

// Parent fields, written once.
var (
	fromUser    = []connector.Param{{Name: "user_id", Field: "id"}}
	fromMeeting = func(idType string) []connector.Param {
		return []connector.Param{{Name: "meeting_id", Field: "id", Add: idType != "", AsString: idType == "s"}}
	}
	fromWebinar = func(idType string) []connector.Param {
		return []connector.Param{{Name: "webinar_id", Field: "id", Add: idType != "", AsString: idType == "s"}}
	}
	// A past meeting occurrence (from past_meeting_instances).
	fromMeetingInstance = []connector.Param{
		{Name: "meeting_id", Field: "meeting_id", Add: true},
		{Name: "meeting_uuid", Field: "uuid", Add: true, AsString: true, Encode: encodeUUID},
		{Name: "meeting_start_time", Field: "start_time", Add: true, AsString: true},
	}
	fromWebinarInstance = []connector.Param{
		{Name: "webinar_uuid", Field: "uuid", Add: true, AsString: true, Encode: encodeUUID},
		{Name: "webinar_start_time", Field: "start_time", Add: true, AsString: true},
	}
)

// reportMeetingParams adds only the UUID: the report body carries its own
// id and start time.
func uuidOnly(params []connector.Param, name string) []connector.Param {
	var out []connector.Param
	for _, p := range params {
		switch {
		case p.Name == name:
			out = append(out, p)
		case strings.HasSuffix(p.Name, "_start_time"):
			p.Add = false
			out = append(out, p)
		}
	}
	return out
}

// sessionCursor makes a child of a past session incremental through the
// session's start time.
func sessionCursor(field, param string) *connector.Incremental {
	return &connector.Incremental{CursorField: field, PartitionCursor: param}
}

// dateWindows reads a per-user listing in windows of at most a month.
func dateWindows(maxAge time.Duration) *connector.Incremental {
	return &connector.Incremental{
		CursorField: "start_time", Window: 30 * 24 * time.Hour,
		FromParam: "from", ToParam: "to", WindowLayout: "2006-01-02", MaxAge: maxAge,
	}
}

func key(fields ...string) [][]string {
	out := make([][]string, len(fields))
	for i, f := range fields {
		out[i] = []string{f}
	}
	return out
}

// reportMaxAge is how far back Zoom serves reports (6 months), less a day
// of margin for time zones.
const reportMaxAge = 181 * 24 * time.Hour

// Table returns Zoom's streams. Schemas are filled in by the caller.
func Table() []connector.Stream {
	return []connector.Stream{
		{Name: "users", Category: medium, PrimaryKey: key("id"), Estimate: "total_records"},

		// Hidden parents: each user's meetings and webinars, and the past
		// occurrences of each webinar.
		{Name: "user_meetings", Hidden: true, Parent: "users", Params: fromUser, Path: "/users/{user_id}/meetings", RecordsAt: "meetings", Category: medium, Errors: skipNoMeetings},
		{Name: "user_webinars", Hidden: true, Parent: "users", Params: fromUser, Path: "/users/{user_id}/webinars", RecordsAt: "webinars", Category: medium, Errors: skipNoWebinarPlan},

		{Name: "meetings", Parent: "user_meetings", Params: fromMeeting(""), Path: "/meetings/{meeting_id}", RecordsAt: connector.WholeBody, Category: light, PrimaryKey: key("id"), Errors: skipGone},
		{Name: "meeting_registrants", Parent: "user_meetings", Params: fromMeeting("n"), Path: "/meetings/{meeting_id}/registrants", RecordsAt: "registrants", Category: medium, PrimaryKey: key("meeting_id", "id"), Errors: skipNoRegistration},
		{Name: "meeting_polls", Parent: "user_meetings", Params: fromMeeting("n"), Path: "/meetings/{meeting_id}/polls", RecordsAt: "polls", Category: light, PrimaryKey: key("meeting_id", "id"), Errors: skipGone},
		{Name: "meeting_registration_questions", Parent: "user_meetings", Params: fromMeeting("n"), Path: "/meetings/{meeting_id}/registrants/questions", RecordsAt: connector.WholeBody, Category: light, PrimaryKey: key("meeting_id"), Errors: skipNoRegistration},

		// Every past occurrence of every meeting: report and poll streams
		// read each occurrence by UUID, not only the latest.
		{Name: "past_meeting_instances", Parent: "user_meetings", Params: fromMeeting("n"), Path: "/past_meetings/{meeting_id}/instances", RecordsAt: "meetings", Category: medium, PrimaryKey: key("uuid"),
			Incremental: &connector.Incremental{CursorField: "start_time"}, Errors: skipPast},
		{Name: "report_meetings", Parent: "past_meeting_instances", Params: uuidOnly(fromMeetingInstance, "meeting_uuid"), Path: "/report/meetings/{meeting_uuid}", RecordsAt: connector.WholeBody, Category: heavy,
			PrimaryKey: key("uuid"), Incremental: sessionCursor("start_time", "meeting_start_time"), Errors: skipPast},
		// Zoom lists a participant once per join: its user_id is per join
		// and empty-free, and join_time tells re-joins apart, so
		// (meeting_uuid, user_id, join_time) is unique where the reference
		// key id (empty for guests) is not.
		{Name: "report_meeting_participants", Parent: "past_meeting_instances", Params: fromMeetingInstance, Path: "/report/meetings/{meeting_uuid}/participants", RecordsAt: "participants", Category: heavy,
			PrimaryKey: key("meeting_uuid", "user_id", "join_time"), Incremental: sessionCursor("meeting_start_time", "meeting_start_time"), Errors: skipPast},
		// The Medium-category twin of the report above: id is empty for
		// guests, so name and join_time complete the key.
		{Name: "past_meeting_participants", Parent: "past_meeting_instances", Params: fromMeetingInstance, Path: "/past_meetings/{meeting_uuid}/participants", RecordsAt: "participants", Category: medium,
			PrimaryKey: key("meeting_uuid", "id", "name", "join_time"), Incremental: sessionCursor("meeting_start_time", "meeting_start_time"), Errors: skipPast},
		// One record per participant who answered: (email, name) per session.
		{Name: "meeting_poll_results", Parent: "past_meeting_instances", Params: fromMeetingInstance, Path: "/past_meetings/{meeting_uuid}/polls", RecordsAt: "questions", Category: medium,
			PrimaryKey: key("meeting_uuid", "email", "name"), Incremental: sessionCursor("meeting_start_time", "meeting_start_time"), Errors: skipPast},

		{Name: "webinars", Parent: "user_webinars", Params: fromWebinar(""), Path: "/webinars/{webinar_id}", RecordsAt: connector.WholeBody, Category: light, PrimaryKey: key("id"), Errors: skipGone},
		{Name: "webinar_panelists", Parent: "user_webinars", Params: fromWebinar("n"), Path: "/webinars/{webinar_id}/panelists", RecordsAt: "panelists", Category: medium, PrimaryKey: key("webinar_id", "id"), Errors: skipGone},
		{Name: "webinar_registrants", Parent: "user_webinars", Params: fromWebinar("s"), Path: "/webinars/{webinar_id}/registrants", RecordsAt: "registrants", Category: medium, PrimaryKey: key("webinar_id", "id"), Errors: skipNoRegistration},
		{Name: "webinar_polls", Parent: "user_webinars", Params: fromWebinar("s"), Path: "/webinars/{webinar_id}/polls", RecordsAt: "polls", Category: light, PrimaryKey: key("webinar_id", "id"), Errors: skipGone},
		{Name: "webinar_registration_questions", Parent: "user_webinars", Params: fromWebinar("s"), Path: "/webinars/{webinar_id}/registrants/questions", RecordsAt: connector.WholeBody, Category: light, PrimaryKey: key("webinar_id"), Errors: skipNoRegistration},
		{Name: "webinar_tracking_sources", Parent: "user_webinars", Params: fromWebinar("s"), Path: "/webinars/{webinar_id}/tracking_sources", RecordsAt: "tracking_sources", Category: light, PrimaryKey: key("webinar_id", "id"), Errors: skipGone},

		{Name: "past_webinar_instances", Hidden: true, Parent: "user_webinars", Params: fromWebinar("n"), Path: "/past_webinars/{webinar_id}/instances", RecordsAt: "webinars", Category: medium, Errors: skipPast},
		{Name: "webinar_absentees", Parent: "past_webinar_instances", Params: fromWebinarInstance, Path: "/past_webinars/{webinar_uuid}/absentees", RecordsAt: "registrants", Category: medium,
			PrimaryKey: key("webinar_uuid", "id"), Incremental: sessionCursor("webinar_start_time", "webinar_start_time"), Errors: slices.Concat(skipNoRegistration, skipPast)},
		{Name: "webinar_poll_results", Parent: "past_webinar_instances", Params: fromWebinarInstance, Path: "/past_webinars/{webinar_uuid}/polls", RecordsAt: "questions", Category: medium,
			PrimaryKey: key("webinar_uuid", "email", "name"), Incremental: sessionCursor("webinar_start_time", "webinar_start_time"), Errors: skipPast},
		{Name: "webinar_qna_results", Parent: "past_webinar_instances", Params: fromWebinarInstance, Path: "/past_webinars/{webinar_uuid}/qa", RecordsAt: "questions", Category: medium,
			PrimaryKey: key("webinar_uuid", "email", "name"), Incremental: sessionCursor("webinar_start_time", "webinar_start_time"), Errors: skipPast},
		{Name: "report_webinars", Parent: "past_webinar_instances", Params: uuidOnly(fromWebinarInstance, "webinar_uuid"), Path: "/report/webinars/{webinar_uuid}", RecordsAt: connector.WholeBody, Category: heavy,
			PrimaryKey: key("uuid"), Incremental: sessionCursor("start_time", "webinar_start_time"), Errors: skipPast},
		{Name: "report_webinar_participants", Parent: "past_webinar_instances", Params: fromWebinarInstance, Path: "/report/webinars/{webinar_uuid}/participants", RecordsAt: "participants", Category: heavy,
			PrimaryKey: key("webinar_uuid", "user_id", "join_time"), Incremental: sessionCursor("webinar_start_time", "webinar_start_time"), Errors: skipPast},

		// Per-user date-window listings.
		{Name: "report_user_meetings", Parent: "users", Params: []connector.Param{{Name: "user_id", Field: "id", Add: true, AsString: true}}, Path: "/report/users/{user_id}/meetings", RecordsAt: "meetings", Category: heavy,
			PrimaryKey: key("uuid"), Incremental: dateWindows(reportMaxAge), Errors: skipPast},
		{Name: "recordings", Parent: "users", Params: []connector.Param{{Name: "user_id", Field: "id", Add: true, AsString: true}}, Path: "/users/{user_id}/recordings", RecordsAt: "meetings", Category: medium,
			PrimaryKey: key("uuid"), Incremental: dateWindows(0), Errors: skipNoMeetings},
	}
}
