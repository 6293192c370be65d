package fakezoom

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// jw is a minimal append-only JSON writer. It keeps field order stable and
// avoids reflection so that large pages render quickly.
type jw struct {
	b    []byte
	need bool // a comma is needed before the next value
}

func (j *jw) sep() {
	if j.need {
		j.b = append(j.b, ',')
	}
	j.need = false
}

func (j *jw) key(k string) {
	j.sep()
	j.b = append(j.b, '"')
	j.b = append(j.b, k...)
	j.b = append(j.b, '"', ':')
}

func (j *jw) open()        { j.sep(); j.b = append(j.b, '{') }
func (j *jw) close()       { j.b = append(j.b, '}'); j.need = true }
func (j *jw) openArr()     { j.sep(); j.b = append(j.b, '[') }
func (j *jw) closeArr()    { j.b = append(j.b, ']'); j.need = true }
func (j *jw) obj(k string) { j.key(k); j.b = append(j.b, '{') }
func (j *jw) arr(k string) { j.key(k); j.b = append(j.b, '[') }

func (j *jw) str(k, v string) { j.key(k); j.b = appendJSONString(j.b, v); j.need = true }
func (j *jw) num(k string, v int64) {
	j.key(k)
	j.b = strconv.AppendInt(j.b, v, 10)
	j.need = true
}
func (j *jw) int(k string, v int) { j.num(k, int64(v)) }
func (j *jw) flt(k string, v float64) {
	j.key(k)
	j.b = strconv.AppendFloat(j.b, v, 'f', -1, 64)
	j.need = true
}
func (j *jw) bool(k string, v bool) {
	j.key(k)
	j.b = strconv.AppendBool(j.b, v)
	j.need = true
}
func (j *jw) time(k string, t time.Time) {
	j.key(k)
	j.b = append(j.b, '"')
	j.b = appendTime(j.b, t)
	j.b = append(j.b, '"')
	j.need = true
}

func append2(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

// appendTime appends t as "2006-01-02T15:04:05Z" (UTC, years 1000-9999).
func appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	b = append2(b, y/100)
	b = append2(b, y%100)
	b = append(b, '-')
	b = append2(b, int(mo))
	b = append(b, '-')
	b = append2(b, d)
	b = append(b, 'T')
	b = append2(b, h)
	b = append(b, ':')
	b = append2(b, mi)
	b = append(b, ':')
	b = append2(b, s)
	return append(b, 'Z')
}
func (j *jw) raw(k string, v []byte) { j.key(k); j.b = append(j.b, v...); j.need = true }

// elemStr appends a string element of an array.
func (j *jw) elemStr(v string) { j.sep(); j.b = appendJSONString(j.b, v); j.need = true }

// elemRaw appends a pre-rendered element of an array.
func (j *jw) elemRaw(v []byte) { j.sep(); j.b = append(j.b, v...); j.need = true }

// strArr writes "k":["a","b"].
func (j *jw) strArr(k string, vs ...string) {
	j.arr(k)
	j.need = false
	for _, v := range vs {
		j.elemStr(v)
	}
	j.closeArr()
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string. UTF-8 passes through; quotes,
// backslashes and control characters are escaped, invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"':
				b = append(b, '\\', '"')
			case '\\':
				b = append(b, '\\', '\\')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// addFields returns a copy of the JSON object rec with the given key/raw-value
// pairs appended (the fields a connector adds to a child record).
func addFields(rec []byte, kv ...string) []byte {
	out := make([]byte, 0, len(rec)+64)
	out = append(out, rec[:len(rec)-1]...)
	empty := len(rec) == 2
	for i := 0; i+1 < len(kv); i += 2 {
		if !empty {
			out = append(out, ',')
		}
		empty = false
		out = appendJSONString(out, kv[i])
		out = append(out, ':')
		out = append(out, kv[i+1]...)
	}
	return append(out, '}')
}

func jsonStr(s string) string { return string(appendJSONString(nil, s)) }
func jsonNum(n int64) string  { return strconv.FormatInt(n, 10) }
