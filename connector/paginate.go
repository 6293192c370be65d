package connector

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Page is one API answer as paginators see it.
type Page struct {
	URL     *url.URL
	Header  http.Header
	Body    []byte // valid JSON
	Records int    // records selected from this page
}

// Paginator describes how a listing pages. It is stateless; Begin returns
// the state of one listing.
type Paginator interface {
	Begin(pageSize int) Pager
}

// Pager walks the pages of one listing. It is used by one goroutine.
type Pager interface {
	// Apply sets this page's parameters on the request URL.
	Apply(u *url.URL)
	// Advance reads the page just fetched and reports whether another follows.
	Advance(p *Page) (more bool, err error)
}

// SinglePage is a Paginator for endpoints that answer in one page.
type SinglePage struct{}

// Begin implements Paginator.
func (SinglePage) Begin(int) Pager { return singlePager{} }

type singlePager struct{}

func (singlePager) Apply(*url.URL)              {}
func (singlePager) Advance(*Page) (bool, error) { return false, nil }

// Cursor pages with a token taken from a body field and sent back as a
// query parameter, like Zoom's next_page_token. A token seen twice in one
// listing is an error, not an endless loop.
type Cursor struct {
	TokenField string // body field with the next token
	TokenParam string // query parameter carrying it (default TokenField)
	SizeParam  string // query parameter with the page size ("" : none)
}

// Begin implements Paginator.
func (c Cursor) Begin(size int) Pager { return &cursorPager{c: c, size: size, seen: map[string]bool{}} }

type cursorPager struct {
	c     Cursor
	size  int
	token string
	seen  map[string]bool
}

func (p *cursorPager) Apply(u *url.URL) {
	q := u.Query()
	if p.c.SizeParam != "" && p.size > 0 {
		q.Set(p.c.SizeParam, strconv.Itoa(p.size))
	}
	param := p.c.TokenParam
	if param == "" {
		param = p.c.TokenField
	}
	if p.token != "" {
		q.Set(param, p.token)
	} else {
		q.Del(param)
	}
	u.RawQuery = q.Encode()
}

func (p *cursorPager) Advance(pg *Page) (bool, error) {
	v, _ := path(pg.Body, strings.Split(p.c.TokenField, "."))
	tok := scalarString(v)
	if tok == "" {
		return false, nil
	}
	if p.seen[tok] {
		return false, fmt.Errorf("the API repeated page token %q: stopping instead of looping", truncate(tok, 40))
	}
	p.seen[tok] = true
	p.token = tok
	return true, nil
}

// Offset pages with offset and limit parameters; a short page ends the listing.
type Offset struct {
	OffsetParam, LimitParam string
}

// Begin implements Paginator.
func (o Offset) Begin(size int) Pager { return &offsetPager{o: o, size: size} }

type offsetPager struct {
	o            Offset
	size, offset int
}

func (p *offsetPager) Apply(u *url.URL) {
	q := u.Query()
	q.Set(p.o.OffsetParam, strconv.Itoa(p.offset))
	q.Set(p.o.LimitParam, strconv.Itoa(p.size))
	u.RawQuery = q.Encode()
}

func (p *offsetPager) Advance(pg *Page) (bool, error) {
	if pg.Records == 0 || pg.Records < p.size {
		return false, nil
	}
	p.offset += pg.Records
	return true, nil
}

// PageNumber pages with a page number (from Start, default 1); a short page
// ends the listing.
type PageNumber struct {
	PageParam, SizeParam string
	Start                int
}

// Begin implements Paginator.
func (n PageNumber) Begin(size int) Pager {
	start := n.Start
	if start == 0 {
		start = 1
	}
	return &pagePager{n: n, size: size, page: start}
}

type pagePager struct {
	n          PageNumber
	size, page int
}

func (p *pagePager) Apply(u *url.URL) {
	q := u.Query()
	q.Set(p.n.PageParam, strconv.Itoa(p.page))
	if p.n.SizeParam != "" {
		q.Set(p.n.SizeParam, strconv.Itoa(p.size))
	}
	u.RawQuery = q.Encode()
}

func (p *pagePager) Advance(pg *Page) (bool, error) {
	if pg.Records == 0 || pg.Records < p.size {
		return false, nil
	}
	p.page++
	return true, nil
}

// LinkHeader follows the rel="next" URL of the Link header (RFC 8288).
type LinkHeader struct {
	SizeParam string
}

// Begin implements Paginator.
func (l LinkHeader) Begin(size int) Pager {
	return &linkPager{l: l, size: size, seen: map[string]bool{}}
}

type linkPager struct {
	l    LinkHeader
	size int
	next *url.URL
	seen map[string]bool // next links followed, against cycles
}

func (p *linkPager) Apply(u *url.URL) {
	if p.next != nil {
		*u = *p.next
		return
	}
	if p.l.SizeParam != "" {
		q := u.Query()
		q.Set(p.l.SizeParam, strconv.Itoa(p.size))
		u.RawQuery = q.Encode()
	}
}

func (p *linkPager) Advance(pg *Page) (bool, error) {
	next := nextLink(pg.Header.Values("Link"))
	if next == "" {
		return false, nil
	}
	u, err := pg.URL.Parse(next)
	if err != nil {
		return false, fmt.Errorf("bad Link header URL %q: %w", truncate(next, 80), err)
	}
	if u.Host != pg.URL.Host {
		return false, fmt.Errorf("Link header points to another host %q", u.Host)
	}
	if p.seen[u.String()] {
		return false, fmt.Errorf("the API repeated next link %q", truncate(next, 80))
	}
	p.seen[u.String()] = true
	p.next = u
	return true, nil
}

func nextLink(values []string) string {
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			segs := strings.Split(part, ";")
			if len(segs) < 2 {
				continue
			}
			target := strings.TrimSpace(segs[0])
			if !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			for _, s := range segs[1:] {
				s = strings.TrimSpace(s)
				if s == `rel="next"` || s == "rel=next" {
					return target[1 : len(target)-1]
				}
			}
		}
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
