package connector

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
)

// The helpers below read raw JSON without decoding it into Go values. They
// assume valid JSON (callers check the page body once with json.Valid) and
// return sub-slices of their input, so records stay raw bytes end to end.

var errNotObject = errors.New("not a JSON object")

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the index just past the JSON value starting at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default:
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
			i++
		}
		return i
	}
}

// skipString returns the index just past the string starting at b[i] == '"'.
func skipString(b []byte, i int) int {
	i++
	// Eight bytes at a time while they hold no quote and no backslash.
	for i+8 <= len(b) && !hasQuoteOrBackslash(binary.LittleEndian.Uint64(b[i:])) {
		i += 8
	}
	for i < len(b) {
		switch b[i] {
		case '\\':
			i += 2
			continue
		case '"':
			return i + 1
		}
		i++
	}
	return i
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// hasByte reports whether one of the eight bytes of x is c (SWAR: a zero
// byte of x^c·lsb borrows its high bit).
func hasByte(x uint64, c byte) bool {
	y := x ^ (lsb * uint64(c))
	return (y-lsb)&^y&msb != 0
}

func hasQuoteOrBackslash(x uint64) bool { return hasByte(x, '"') || hasByte(x, '\\') }

// hasStringEnd reports whether one of the eight bytes of x may end a plain
// run of string bytes: a quote, a backslash or a control byte (< 0x20).
func hasStringEnd(x uint64) bool {
	return hasQuoteOrBackslash(x) || (x-lsb*0x20)&^x&msb != 0
}

// validJSON reports whether b is exactly one JSON value with optional white
// space around it. It accepts and rejects exactly what encoding/json.Valid
// does (nesting deeper than 10000 included; invalid UTF-8 in strings is
// accepted) in one pass without a state function per byte: every response
// body goes through it, and json.Valid was the largest item of the
// connector's CPU profile.
func validJSON(b []byte) bool {
	var stackBuf [32]byte
	stack := stackBuf[:0] // '{' or '[' per open container
	i := skipSpace(b, 0)
	for {
		// A value starts at b[i].
		if i >= len(b) {
			return false
		}
		ok := true
		switch c := b[i]; c {
		case '{', '[':
			if len(stack) >= maxNesting {
				return false
			}
			stack = append(stack, c)
			i = skipSpace(b, i+1)
			if i < len(b) && b[i] == c+2 { // '}' or ']'
				stack = stack[:len(stack)-1]
				i++
				break
			}
			if c == '{' {
				if i, ok = validKey(b, i); !ok {
					return false
				}
			}
			continue
		case '"':
			i, ok = validString(b, i)
		case 't':
			i, ok = literal(b, i, "true")
		case 'f':
			i, ok = literal(b, i, "false")
		case 'n':
			i, ok = literal(b, i, "null")
		default:
			i, ok = validNumber(b, i)
		}
		if !ok {
			return false
		}
		// After a value: close containers until a comma starts the next.
		for {
			i = skipSpace(b, i)
			if len(stack) == 0 {
				return i == len(b)
			}
			if i >= len(b) {
				return false
			}
			top := stack[len(stack)-1]
			if b[i] == top+2 {
				stack = stack[:len(stack)-1]
				i++
				continue
			}
			if b[i] != ',' {
				return false
			}
			i = skipSpace(b, i+1)
			if top == '{' {
				if i, ok = validKey(b, i); !ok {
					return false
				}
			}
			break
		}
	}
}

// maxNesting is encoding/json's limit of nested objects and arrays.
const maxNesting = 10000

// validKey checks an object key and its colon at b[i] and returns the index
// of the value after them.
func validKey(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return i, false
	}
	i, ok := validString(b, i)
	if !ok {
		return i, false
	}
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ':' {
		return i, false
	}
	return skipSpace(b, i+1), true
}

// validString checks the string starting at b[i] == '"' and returns the
// index past its closing quote.
func validString(b []byte, i int) (int, bool) {
	i++
	for {
		for i+8 <= len(b) && !hasStringEnd(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		if i >= len(b) {
			return i, false
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, true
		case c < 0x20:
			return i, false
		case c == '\\':
			if i+1 >= len(b) {
				return i, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return i, false
				}
				i += 6
			default:
				return i, false
			}
		default:
			i++
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// validNumber checks the number starting at b[i]:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return i, false
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return i, false
		}
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return i, false
		}
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	}
	return i, true
}

func literal(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}

// eachMember calls fn with the raw key (without quotes, still escaped) and
// raw value of every member of the object obj, until fn returns false.
func eachMember(obj []byte, fn func(key, val []byte) bool) error {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return errNotObject
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return nil
	}
	for i < len(obj) {
		if obj[i] != '"' {
			return errNotObject
		}
		ke := skipString(obj, i)
		key := obj[i+1 : ke-1]
		i = skipSpace(obj, ke)
		if i >= len(obj) || obj[i] != ':' {
			return errNotObject
		}
		i = skipSpace(obj, i+1)
		ve := skipValue(obj, i)
		if !fn(key, obj[i:ve]) {
			return nil
		}
		i = skipSpace(obj, ve)
		if i < len(obj) && obj[i] == ',' {
			i = skipSpace(obj, i+1)
			continue
		}
		return nil
	}
	return nil
}

// member returns the raw value of the top-level member key of obj.
func member(obj []byte, key string) ([]byte, bool) {
	var out []byte
	found := false
	_ = eachMember(obj, func(k, v []byte) bool {
		if string(k) == key {
			out, found = v, true
			return false
		}
		return true
	})
	return out, found
}

// memberHead is member without the scan to the end of the value: it
// returns obj from the first byte of the value of key to the end of obj.
func memberHead(obj []byte, key string) ([]byte, bool) {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return nil, false
	}
	i = skipSpace(obj, i+1)
	for i < len(obj) && obj[i] == '"' {
		ke := skipString(obj, i)
		if ke-1 < i+1 {
			return nil, false
		}
		k := obj[i+1 : ke-1]
		i = skipSpace(obj, ke)
		if i >= len(obj) || obj[i] != ':' {
			return nil, false
		}
		i = skipSpace(obj, i+1)
		if string(k) == key {
			return obj[i:], true
		}
		i = skipSpace(obj, skipValue(obj, i))
		if i >= len(obj) || obj[i] != ',' {
			return nil, false
		}
		i = skipSpace(obj, i+1)
	}
	return nil, false
}

// pathHead is path without the scan to the end of the value found: it
// returns obj from the first byte of that value to the end of obj. A caller
// that walks the value anyway (eachElement stops at the closing bracket)
// saves a pass over it.
func pathHead(obj []byte, keys []string) ([]byte, bool) {
	v := obj
	for _, k := range keys {
		var ok bool
		if v, ok = memberHead(v, k); !ok {
			return nil, false
		}
	}
	return v, true
}

// path returns the raw value at a dotted path ("settings.timezone") of obj.
func path(obj []byte, keys []string) ([]byte, bool) {
	v := obj
	for _, k := range keys {
		var ok bool
		if v, ok = member(v, k); !ok {
			return nil, false
		}
	}
	return v, true
}

// eachElement calls fn with every raw element of the JSON array arr.
func eachElement(arr []byte, fn func(elem []byte) error) error {
	i := skipSpace(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return errors.New("not a JSON array")
	}
	i = skipSpace(arr, i+1)
	if i < len(arr) && arr[i] == ']' {
		return nil
	}
	for i < len(arr) {
		e := skipValue(arr, i)
		if err := fn(arr[i:e]); err != nil {
			return err
		}
		i = skipSpace(arr, e)
		if i < len(arr) && arr[i] == ',' {
			i = skipSpace(arr, i+1)
			continue
		}
		return nil
	}
	return nil
}

// scalarString returns the text of a raw JSON scalar: a string unquoted (and
// unescaped), a number or boolean as written. null and composites give "".
func scalarString(v []byte) string {
	if len(v) == 0 {
		return ""
	}
	switch v[0] {
	case '"':
		if bytes.IndexByte(v, '\\') < 0 {
			return string(v[1 : len(v)-1])
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			return string(v[1 : len(v)-1])
		}
		return s
	case '{', '[', 'n':
		return ""
	}
	return string(v)
}
