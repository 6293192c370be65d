package fakezoom

import (
	"sort"
	"time"
)

// listing is a collection served page by page (or whole) and enumerated by
// Expected(): both go through item().
type listing struct {
	n    int
	item func(dst []byte, i int) []byte
}

func (s *Server) lsUsers() listing {
	return listing{n: s.nU, item: func(dst []byte, i int) []byte { return s.renderUser(dst, i) }}
}

func (s *Server) lsUserMtgs(kind uint64, u int) listing {
	per := s.perUser(kind)
	return listing{n: s.mtgCount(kind, u), item: func(dst []byte, i int) []byte {
		m := s.mtg(kind, u*per+i)
		return s.renderMtgListItem(dst, &m)
	}}
}

func (s *Server) lsRegistrants(m *mtg) listing {
	return listing{n: s.regCount(m), item: func(dst []byte, i int) []byte { return s.renderRegistrant(dst, m, i) }}
}

func (s *Server) lsPanelists(m *mtg) listing {
	return listing{n: s.panelistCount(m), item: func(dst []byte, i int) []byte { return s.renderPanelist(dst, m, i) }}
}

func (s *Server) lsTracking(m *mtg) listing {
	return listing{n: s.trackingCount(m), item: func(dst []byte, i int) []byte { return s.renderTrackingSource(dst, m, i) }}
}

func (s *Server) pollItems(m *mtg) [][]byte {
	ps := s.polls(m)
	out := make([][]byte, len(ps))
	for i, p := range ps {
		j := jw{}
		s.renderPoll(&j, p)
		out[i] = j.b
	}
	return out
}

func (s *Server) instanceItems(m *mtg, added int) [][]byte {
	n := s.sessionCount(m, added)
	out := make([][]byte, n)
	for k := 0; k < n; k++ {
		ss := s.session(m, k)
		out[k] = renderInstance(nil, &ss)
	}
	return out
}

func (s *Server) lsPastParticipants(ss *session) listing {
	ps := s.participants(ss)
	return listing{n: len(ps), item: func(dst []byte, i int) []byte { return s.renderPastParticipant(dst, ss, &ps[i]) }}
}

func (s *Server) lsReportParticipants(ss *session) listing {
	ps := s.participants(ss)
	return listing{n: len(ps), item: func(dst []byte, i int) []byte { return s.renderReportParticipant(dst, ss, &ps[i]) }}
}

func (s *Server) lsAbsentees(ss *session) listing {
	ab := s.absentees(ss)
	return listing{n: len(ab), item: func(dst []byte, i int) []byte { return s.renderRegistrant(dst, ss.m, ab[i]) }}
}

// userSessions returns user u's meeting sessions starting in [from, to),
// sorted by start time, filtered by keep.
func (s *Server) userSessions(u int, from, to time.Time, added int, keep func(*session) bool) []session {
	var out []session
	per := s.perUser(kMeeting)
	for i := 0; i < s.mtgCount(kMeeting, u); i++ {
		m := s.mtg(kMeeting, u*per+i)
		mp := &m
		for k := 0; k < s.sessionCount(mp, added); k++ {
			ss := s.session(mp, k)
			if ss.start.Before(from) || !ss.start.Before(to) || !keep(&ss) {
				continue
			}
			out = append(out, ss)
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].start.Before(out[b].start) })
	return out
}

// distinctParticipants is the number of distinct persons in every session.
func (s *Server) distinctParticipants() int {
	n := 0
	for e := 0; e < s.pps; e++ {
		if e == 0 || e%4 != 3 {
			n++
		}
	}
	return n
}

// lsUserReport lists /report/users/{userId}/meetings: sessions that have a
// report and at least two distinct participants.
func (s *Server) lsUserReport(u int, from, to time.Time, added int) listing {
	ok := s.distinctParticipants() >= 2
	ss := s.userSessions(u, from, to, added, func(x *session) bool { return ok && x.report })
	return listing{n: len(ss), item: func(dst []byte, i int) []byte { return s.renderUserReportMeeting(dst, &ss[i]) }}
}

// lsRecordings lists /users/{userId}/recordings.
func (s *Server) lsRecordings(u int, from, to time.Time, added int) listing {
	ss := s.userSessions(u, from, to, added, func(x *session) bool { return x.recording })
	return listing{n: len(ss), item: func(dst []byte, i int) []byte { return s.renderRecording(dst, &ss[i]) }}
}
