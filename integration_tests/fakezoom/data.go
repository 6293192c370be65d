package fakezoom

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Everything below is a pure function of (seed, indexes, number of added
// sessions): responses and Expected() both call these functions.

// rnd is a small deterministic generator that lives on the caller's stack.
type rnd struct{ p rand.PCG }

func (s *Server) rng(parts ...uint64) rnd {
	return rnd{p: *rand.NewPCG(s.h(parts...), uint64(s.seed)^0x5851f42d4c957f2d)}
}

// IntN returns a number in [0, n) (n > 0); the modulo bias is irrelevant here.
func (r *rnd) IntN(n int) int { return int(r.p.Uint64() % uint64(n)) }

func (r *rnd) Int64N(n int64) int64 { return int64(r.p.Uint64() % uint64(n)) }

func pick[T any](r *rnd, xs []T) T { return xs[r.IntN(len(xs))] }

var (
	firstNames = []string{"José", "Zoë", "Łukasz", "Søren", "François", "Aïsha", "Björn", "Chloé", "Đorđe", "Émilie",
		"Günther", "Hélène", "Ingrid", "Jürgen", "Kateřina", "Li", "Mårten", "Nuño", "Oğuz", "Paweł", "Renée",
		"Siobhán", "Thảo", "Ursula", "Wojciech", "Xóchitl", "Yūki", "Анна", "Дмитрий", "太郎", "花子", "민준",
		"محمد", "Ana", "John", "Mary", "Ahmed", "Priya", "Jill", "Noah"}
	lastNames = []string{"Müller", "García", "Nowak", "Søndergaard", "Dubois", "O'Brien", "Núñez", "Şahin", "Nguyễn",
		"Kowalski", "Иванова", "山田", "佐藤", "김", "Smith", "Johnson", "Björkström", "Łęcki", "da Silva",
		"van der Berg", "Chill", "Okafor", "Fernández"}
	emojis       = []string{"🎉", "🚀", "☕", "🌍", "✨"}
	meetingTopic = []string{"Weekly sync 🚀", "会議 — 週次レビュー", "Revisión trimestral", "Équipe produit : point hebdo",
		"Standup <daily> & retro", "Customer \"QBR\" prep", "1:1 José / Zoë", "Планёрка", "All-hands 🎉",
		`Design review \ backlog`, "Sprint planning", "Onboarding 👋", "팀 회의", "Incident post-mortem",
		"Budget FY27 📊", "Café ☕ & chat"}
	webinarTopic = []string{"Product launch 🚀", "Webinar : données & IA", "ウェビナー: 新機能紹介", "Zoom API deep dive",
		"Customer stories 🌍", "Security best practices 🔐", "Quarterly roadmap", "Taller de análisis 📈"}
	agendas = []string{"Review last week's actions, then open questions.", "議題: 進捗確認とリスク",
		"Demo + Q&A 🎤", "Ordre du jour : bilan, priorités, divers", "", "Line one\nLine two\ttabbed"}
	timezones = []string{"America/Los_Angeles", "Europe/Paris", "Asia/Tokyo", "UTC", "America/New_York",
		"Europe/Berlin", "Asia/Kolkata", "Australia/Sydney", "America/Sao_Paulo"}
	depts      = []string{"Engineering", "Sales", "R&D", "Ventes & Marketing", "開発部", "Support", "Finance"}
	industries = []string{"Food", "Software", "Finance", "Éducation", "Healthcare", "Retail"}
	cities     = []string{"Mountain View", "München", "São Paulo", "東京", "Kraków", "Paris", "Lagos"}
	countries  = []string{"US", "DE", "BR", "JP", "PL", "FR", "NG"}
	states     = []string{"CA", "BY", "SP", "13", "MA", "IDF", "LA"}
	orgs       = []string{"Cooking Org", "Acme GmbH", "Société Générale des Tests", "株式会社サンプル", "Initech"}
	jobTitles  = []string{"Chef", "Engineer", "Directrice", "CTO", "Analyst", "マネージャー"}
	noEmp      = []string{"", "1-20", "21-50", "51-100", "101-250", "251-500", "501-1,000", "1,001-5,000", "5,001-10,000", "More than 10,000"}
	purchTF    = []string{"", "Within a month", "1-3 months", "4-6 months", "More than 6 months", "No timeframe"}
	rolePurch  = []string{"", "Decision Maker", "Evaluator/Recommender", "Influencer", "Not involved"}
	domains    = []string{"example.org", "example.net", "mail.example.com", "example.co.jp"}
	qaQuestion = []string{"Will the slides be shared?", "¿Habrá grabación?", "録画はありますか？", "Can we use the API for reports?", "What's the roadmap for Q3? 🤔"}
	qaAnswer   = []string{"Yes, after the session.", "Sí, la enviaremos por correo.", "はい、あります。", "live answered", "We'll follow up by email."}
	clientVers = []string{"5.17.5.31030(win)", "6.0.2.33403(mac)", "5.16.10.26186(android)", "6.1.0.35000(iphone)"}
)

var asciiFold = strings.NewReplacer("é", "e", "è", "e", "ë", "e", "ü", "u", "ö", "o", "ø", "o", "å", "a", "ä", "a",
	"á", "a", "à", "a", "ç", "c", "í", "i", "ï", "i", "ñ", "n", "ó", "o", "ł", "l", "ę", "e", "ş", "s", "ğ", "g",
	"ř", "r", "đ", "d", "ū", "u", "ú", "u", "ễ", "e", "ả", "a", "'", "")

var slugCache = func() map[string]string {
	m := map[string]string{}
	for _, n := range append(append([]string(nil), firstNames...), lastNames...) {
		m[n] = slugSlow(n)
	}
	return m
}()

// slug returns an ASCII e-mail fragment for a name.
func slug(s string) string {
	if v, ok := slugCache[s]; ok {
		return v
	}
	return slugSlow(s)
}

func slugSlow(s string) string {
	s = asciiFold.Replace(strings.ToLower(s))
	var b strings.Builder
	for _, c := range s {
		if c >= 'a' && c <= 'z' {
			b.WriteRune(c)
		}
	}
	if b.Len() == 0 {
		return "user"
	}
	return b.String()
}

// ---------------------------------------------------------------- users

type user struct {
	idx                  int
	id                   string
	first, last, display string
	email                string
	typ                  int // 1 basic, 2 licensed
	roleID               string
	pmi                  int64
	tz, dept, lang       string
	created, lastLogin   time.Time
	clientVer            string
	phone                string
	empID                string
}

// userNames draws the first values of a user's generator: names and email.
func (s *Server) userNames(r *rnd, u int) (first, last, email string) {
	first, last = pick(r, firstNames), pick(r, lastNames)
	return first, last, slug(first) + "." + slug(last) + "." + strconv.Itoa(u) + "@example.com"
}

func (s *Server) user(u int) user {
	r := s.rng(kUser, uint64(u))
	x := user{idx: u, id: s.userID(u)}
	x.first, x.last, x.email = s.userNames(&r, u)
	x.display = x.first + " " + x.last
	if r.IntN(4) == 0 {
		x.display += " " + pick(&r, emojis)
	}
	x.typ = 2
	if u == s.basicUser {
		x.typ = 1
	}
	x.roleID = "2"
	if u == 0 {
		x.roleID = "0"
	} else if u%7 == 1 {
		x.roleID = "1"
	}
	x.pmi = 2_000_000_000 + int64(u)*7919 + int64(s.h(kUser, uint64(u), 1)%7919)
	x.tz = pick(&r, timezones)
	x.dept = pick(&r, depts)
	x.lang = pick(&r, []string{"en-US", "fr-FR", "ja-JP", "de-DE", "es-ES"})
	x.created = s.now.Add(-time.Duration(200+r.IntN(800))*24*time.Hour - time.Duration(r.IntN(86400))*time.Second)
	x.lastLogin = s.now.Add(-time.Duration(r.IntN(30*86400)) * time.Second)
	x.clientVer = pick(&r, clientVers)
	x.phone = "+1 555010" + strconv.Itoa(1000+u%9000)
	x.empID = s.opaqueID(kUser, uint64(u), 2)
	return x
}

func (s *Server) renderUser(dst []byte, u int) []byte {
	x := s.user(u)
	j := jw{b: dst}
	j.open()
	j.str("id", x.id)
	j.str("first_name", x.first)
	j.str("last_name", x.last)
	j.str("display_name", x.display)
	j.str("email", x.email)
	j.int("type", x.typ)
	j.num("pmi", x.pmi)
	j.str("timezone", x.tz)
	j.int("verified", 1)
	j.str("dept", x.dept)
	j.time("created_at", x.created)
	j.time("user_created_at", x.created)
	j.time("last_login_time", x.lastLogin)
	j.str("last_client_version", x.clientVer)
	j.str("language", x.lang)
	j.str("phone_number", x.phone)
	j.str("status", "active")
	j.str("role_id", x.roleID)
	j.str("employee_unique_id", x.empID)
	if x.typ == 2 {
		j.str("plan_united_type", "1")
	} else {
		j.str("plan_united_type", "")
	}
	j.strArr("group_ids", s.opaqueID(kMisc, 1, uint64(u%3)))
	j.strArr("im_group_ids")
	j.arr("custom_attributes")
	j.open()
	j.str("key", "cbf_cywdkexrtqc73f97gd4w6g")
	j.str("name", "Cost center")
	j.str("value", "CC-"+strconv.Itoa(100+u%17))
	j.close()
	j.closeArr()
	j.close()
	return j.b
}

// ---------------------------------------------------------------- meetings & webinars

// mtg describes a meeting (kind kMeeting) or a webinar (kind kWebinar).
type mtg struct {
	kind     uint64
	g        int // global index
	u        int // host user
	id       int64
	typ      int
	reg      bool // registration required
	topic    string
	agenda   string
	duration int
	tz       string
	password string
	created  time.Time
	next     time.Time // next scheduled start (future)
	base     int       // past sessions before any AddSessions
	jitter   time.Duration
	start0   time.Time
	step     time.Duration
}

func (s *Server) perUser(kind uint64) int {
	if kind == kWebinar {
		return s.wpu
	}
	return s.mpu
}

// valid reports whether global index g exists for kind.
func (s *Server) validMtg(kind uint64, g int) bool {
	per := s.perUser(kind)
	if g < 0 || per == 0 || g >= s.nU*per {
		return false
	}
	u := g / per
	if kind == kMeeting && u == s.zeroUser {
		return false
	}
	if kind == kWebinar && u == s.basicUser {
		return false
	}
	return true
}

// mtgCount returns how many meetings (webinars) user u hosts.
func (s *Server) mtgCount(kind uint64, u int) int {
	if (kind == kMeeting && u == s.zeroUser) || (kind == kWebinar && u == s.basicUser) {
		return 0
	}
	return s.perUser(kind)
}

const day = 24 * time.Hour

func (s *Server) mtg(kind uint64, g int) mtg {
	r := s.rng(kind, uint64(g))
	m := mtg{kind: kind, g: g, u: g / s.perUser(kind), id: s.numID(kind, g)}
	recurring := g%2 == 0
	if kind == kMeeting {
		m.typ = 2
		if recurring {
			m.typ = 8
		}
		m.reg = g%4 != 3
		m.topic = pick(&r, meetingTopic)
	} else {
		m.typ = 5
		if recurring {
			m.typ = 9
		}
		m.reg = true
		m.topic = pick(&r, webinarTopic)
	}
	m.agenda = pick(&r, agendas)
	m.duration = []int{30, 45, 60, 90}[r.IntN(4)]
	m.tz = pick(&r, timezones)
	m.password = strconv.Itoa(100000 + r.IntN(900000))
	m.created = s.now.Add(-150*day - time.Duration(r.IntN(30*86400))*time.Second)
	m.next = s.now.Add(time.Duration(1+r.IntN(30)) * day).Truncate(time.Hour).Add(time.Duration(r.IntN(4)) * 15 * time.Minute)
	m.base = 1
	if recurring {
		m.base = s.inst
	}
	// base sessions: inside [now-150d, now-10d]
	const window = 140 * day
	if m.base > 0 {
		m.step = window / time.Duration(m.base)
		if m.step > 7*day {
			m.step = 7 * day
		}
		m.step = m.step.Truncate(time.Minute)
		if m.step < time.Minute {
			m.step = time.Minute
		}
		room := window - time.Duration(m.base-1)*m.step
		m.start0 = s.now.Add(-150 * day).Add(time.Duration(r.Int64N(int64(room)/int64(time.Minute))) * time.Minute)
	}
	m.jitter = time.Duration(r.IntN(20*60)) * time.Second
	return m
}

type session struct {
	m         *mtg
	occ       int
	uuid      string
	start     time.Time
	end       time.Time
	report    bool // false: the report endpoints answer 404 code 3001
	recording bool
}

func (s *Server) sessionCount(m *mtg, added int) int { return m.base + added }

func (s *Server) session(m *mtg, k int) session {
	ss := session{m: m, occ: k, uuid: s.uuid(m.kind, m.g, k)}
	hv := s.h(kSession, m.kind, uint64(m.g), uint64(k))
	if k < m.base {
		ss.start = m.start0.Add(time.Duration(k) * m.step).Add(time.Duration(hv%60) * time.Second)
	} else {
		j := k - m.base
		off := time.Duration(float64(6*day) * float64(j) / float64(j+24)).Truncate(time.Second)
		ss.start = s.now.Add(-7 * day).Add(off).Add(m.jitter)
	}
	durMin := 20 + int(hv>>8%71)
	ss.end = ss.start.Add(time.Duration(durMin)*time.Minute + time.Duration(hv>>16%60)*time.Second)
	ss.report = hv>>24%8 != 7
	ss.recording = m.kind == kMeeting && (m.g+k)%3 == 0
	return ss
}

// ---------------------------------------------------------------- participants

type person struct {
	internal    bool
	id          string // Zoom user id, "" for guests
	first, last string
	name        string
	email       string
}

func (s *Server) guestPool() int {
	g := 5000
	if 2*s.pps > g {
		g = 2 * s.pps
	}
	return g
}

func (s *Server) person(p int) person {
	if p < s.nU {
		r := s.rng(kUser, uint64(p))
		first, last, email := s.userNames(&r, p)
		return person{internal: true, id: s.userID(p), first: first, last: last, name: first + " " + last, email: email}
	}
	g := p - s.nU
	r := s.rng(kGuest, uint64(g))
	x := person{first: pick(&r, firstNames), last: pick(&r, lastNames)}
	x.name = x.first + " " + x.last
	if r.IntN(5) == 0 {
		x.name += " " + pick(&r, emojis)
	}
	x.email = slug(x.first) + "." + slug(x.last) + ".g" + strconv.Itoa(g) + "@" + pick(&r, domains)
	return x
}

type participant struct {
	e          int
	person     person
	rejoin     bool
	userID     string // per-session participant id (report user_id)
	join       time.Time
	leave      time.Time
	registrant string
	answered   bool // answered polls
	asked      bool // asked a Q&A question
}

// participants returns the participants of a session, in join order.
// Entry 0 is the host; every 4th entry is a re-join of the previous person.
func (s *Server) participants(ss *session) []participant {
	n := s.pps
	out := make([]participant, 0, n)
	pool := s.nU + s.guestPool()
	hv := s.h(kPart, ss.m.kind, uint64(ss.m.g), uint64(ss.occ))
	base := int(hv % uint64(pool))
	durSec := int(ss.end.Sub(ss.start) / time.Second)
	spacing := durSec / 2 / (n + 1)
	if spacing < 2 {
		spacing = 2
	}
	uidBase := 16778240 + int(hv>>20%1000)
	distinct := 0
	for e := 0; e < n; e++ {
		ph := s.h(kPart, ss.m.kind, uint64(ss.m.g), uint64(ss.occ), uint64(e))
		pt := participant{e: e}
		switch {
		case e == 0:
			pt.person = s.person(ss.m.u)
		case e%4 == 3:
			pt.person = out[e-1].person
			pt.rejoin = true
		default:
			// distinct persons, never the host
			c := (base + distinct) % (pool - 1)
			if c >= ss.m.u {
				c++
			}
			distinct++
			pt.person = s.person(c)
		}
		pt.userID = strconv.Itoa(uidBase + e*1025)
		pt.join = ss.start.Add(time.Duration(e*spacing+int(ph%uint64(spacing/2+1))) * time.Second)
		stay := 60 + int(ph>>12%uint64(durSec+1))
		pt.leave = pt.join.Add(time.Duration(stay) * time.Second)
		if pt.leave.After(ss.end) {
			pt.leave = ss.end
		}
		if !pt.leave.After(pt.join) {
			pt.leave = pt.join.Add(time.Second)
		}
		if ss.m.reg && !pt.person.internal && ph>>30%2 == 0 {
			pt.registrant = s.opaqueID(kReg, ss.m.kind, uint64(ss.m.g), 1<<20+uint64(e))
		}
		pt.answered = !pt.rejoin && e%3 != 2
		pt.asked = !pt.rejoin && e%3 == 1
		out = append(out, pt)
	}
	return out
}

func distinctCount(ps []participant) int {
	n := 0
	for _, p := range ps {
		if !p.rejoin {
			n++
		}
	}
	return n
}

// ---------------------------------------------------------------- polls

type pollQuestion struct {
	name    string
	typ     string
	answers []string
	right   []string
}

type poll struct {
	id        string
	title     string
	pollType  int
	questions []pollQuestion
}

func (s *Server) polls(m *mtg) []poll {
	out := make([]poll, s.ppm)
	for i := range out {
		r := s.rng(kPoll, m.kind, uint64(m.g), uint64(i))
		p := poll{id: s.opaqueID(kPoll, m.kind, uint64(m.g), uint64(i))}
		p.title = pick(&r, []string{"Learn something new", "Retour d'expérience", "満足度調査", "Quick pulse 📊", "Quiz time"})
		p.pollType = 1 + r.IntN(3)
		p.questions = []pollQuestion{
			{name: "How useful was this session?", typ: "single", answers: []string{"Very", "Somewhat", "Not at all 😬"}},
			{name: "Quels sujets vous intéressent ?", typ: "multiple", answers: []string{"API", "Reports", "Webhooks"}},
		}
		if p.pollType == 3 {
			p.questions[0].right = []string{"Very"}
		}
		out[i] = p
	}
	return out
}

func (s *Server) renderPoll(j *jw, p poll) {
	j.open()
	j.str("id", p.id)
	j.str("status", "ended")
	j.bool("anonymous", false)
	j.int("poll_type", p.pollType)
	j.str("title", p.title)
	j.arr("questions")
	for _, q := range p.questions {
		j.open()
		j.str("name", q.name)
		j.str("type", q.typ)
		j.bool("answer_required", false)
		j.strArr("answers", q.answers...)
		j.strArr("right_answers", q.right...)
		j.int("answer_max_character", 200)
		j.int("answer_min_character", 1)
		j.bool("case_sensitive", false)
		j.bool("show_as_dropdown", false)
		j.arr("prompts")
		j.open()
		j.str("prompt_question", q.name)
		j.strArr("prompt_right_answers", q.right...)
		j.close()
		j.closeArr()
		j.str("rating_max_label", "Extremely Likely")
		j.int("rating_max_value", 4)
		j.str("rating_min_label", "Not likely")
		j.int("rating_min_value", 0)
		j.close()
	}
	j.closeArr()
	j.close()
}

// ---------------------------------------------------------------- registrants

func (s *Server) regCount(m *mtg) int {
	if !m.reg {
		return 0
	}
	return s.rpm
}

func (s *Server) renderRegistrant(dst []byte, m *mtg, i int) []byte {
	r := s.rng(kReg, m.kind, uint64(m.g), uint64(i))
	pool := s.guestPool()
	p := s.person(s.nU + int(s.h(kReg, m.kind, uint64(m.g))%uint64(pool)+uint64(i))%pool)
	j := jw{b: dst}
	j.open()
	j.str("id", s.opaqueID(kReg, m.kind, uint64(m.g), uint64(i)))
	j.str("first_name", p.first)
	j.str("last_name", p.last)
	j.str("email", p.email)
	ci := r.IntN(len(cities))
	j.str("address", strconv.Itoa(1+r.IntN(999))+" "+pick(&r, []string{"Amphibious Blvd.", "Hauptstraße", "Rua Augusta", "rue de Rivoli"}))
	j.str("city", cities[ci])
	j.str("country", countries[ci])
	j.str("zip", strconv.Itoa(10000+r.IntN(89999)))
	j.str("state", states[ci])
	j.str("phone", "555"+strconv.Itoa(1000+r.IntN(9000)))
	j.str("industry", pick(&r, industries))
	j.str("org", pick(&r, orgs))
	j.str("job_title", pick(&r, jobTitles))
	j.str("purchasing_time_frame", pick(&r, purchTF))
	j.str("role_in_purchase_process", pick(&r, rolePurch))
	j.str("no_of_employees", pick(&r, noEmp))
	j.str("comments", pick(&r, []string{"Looking forward to the discussion.", "", "Hâte d'y être ! 🎉", "楽しみにしています"}))
	j.arr("custom_questions")
	j.open()
	j.str("title", "What do you hope to learn from this?")
	j.str("value", pick(&r, []string{"Look forward to learning how you come up with new recipes.", "Tout 😀", "APIの使い方"}))
	j.close()
	j.closeArr()
	j.str("status", "approved")
	j.time("create_time", m.created.Add(time.Duration(1+i)*time.Hour))
	j.str("join_url", "https://example.zoom.us/w/"+strconv.FormatInt(m.id, 10)+"?tk="+s.opaqueID(kReg, m.kind, uint64(m.g), uint64(i), 7))
	j.close()
	return j.b
}

func (s *Server) renderRegQuestions(dst []byte, m *mtg) []byte {
	j := jw{b: dst}
	j.open()
	j.arr("questions")
	for i, f := range []string{"last_name", "address", "city", "country", "zip", "state", "phone", "industry", "org", "job_title",
		"purchasing_time_frame", "role_in_purchase_process", "no_of_employees", "comments"} {
		if (i+m.g)%3 == 2 {
			continue
		}
		j.open()
		j.str("field_name", f)
		j.bool("required", i%2 == 0)
		j.close()
	}
	j.closeArr()
	j.arr("custom_questions")
	j.open()
	j.str("title", "What do you hope to learn from this?")
	j.str("type", "short")
	j.bool("required", true)
	j.strArr("answers")
	j.close()
	j.open()
	j.str("title", "Comment avez-vous connu l'événement ?")
	if m.kind == kWebinar {
		j.str("type", "single_radio")
	} else {
		j.str("type", "single")
	}
	j.bool("required", false)
	j.strArr("answers", "Email", "Réseaux sociaux", "口コミ")
	j.close()
	j.closeArr()
	j.close()
	return j.b
}
