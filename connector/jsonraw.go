package connector

import (
	"bytes"
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
