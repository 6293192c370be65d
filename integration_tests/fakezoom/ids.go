package fakezoom

import (
	"encoding/base64"
	"encoding/binary"
	"math/bits"
	"strconv"
	"strings"
)

// Entity identifiers are derived from (seed, indexes) and decoded back to
// indexes, so the server never has to store a lookup table.

func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// h hashes the server seed with the given parts.
func (s *Server) h(parts ...uint64) uint64 {
	v := uint64(s.seed) ^ 0x9e3779b97f4a7c15
	for _, p := range parts {
		v = mix64(v ^ (p + 0x632be59bd9b4e019))
	}
	return v
}

// entity kinds used in hashes and UUIDs
const (
	kUser uint64 = iota + 1
	kMeeting
	kWebinar
	kSession
	kPart
	kReg
	kPoll
	kGuest
	kUUIDTag
	kUUIDClass
	kUserTag
	kPanel
	kTrack
	kIDB
	kRec
	kMisc
)

// meeting/webinar numeric ids: 11 digits, prefix 8 (meetings) or 9 (webinars),
// an affine bijection of the global index modulo 1e10.
const idMod = 10_000_000_000

const idMul = 6700417 // odd, not a multiple of 5: invertible modulo 1e10

func modInverse(a, m uint64) uint64 {
	// extended Euclid on int64 is enough for m = 1e10
	var t, newT int64 = 0, 1
	r, newR := int64(m), int64(a%m)
	for newR != 0 {
		q := r / newR
		t, newT = newT, t-q*newT
		r, newR = newR, r-q*newR
	}
	if t < 0 {
		t += int64(m)
	}
	return uint64(t)
}

func mulMod(a, b, m uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	_, rem := bits.Div64(hi%m, lo, m)
	return rem
}

func (s *Server) numID(kind uint64, g int) int64 {
	base, off := uint64(80_000_000_000), s.idBm
	if kind == kWebinar {
		base, off = 90_000_000_000, s.idBw
	}
	return int64(base + (mulMod(uint64(g), idMul, idMod)+off)%idMod)
}

// decodeNumID returns the global index of a meeting/webinar numeric id.
func (s *Server) decodeNumID(kind uint64, id int64) (int, bool) {
	base, off := int64(80_000_000_000), s.idBm
	if kind == kWebinar {
		base, off = 90_000_000_000, s.idBw
	}
	if id < base || id >= base+idMod {
		return 0, false
	}
	x := (uint64(id-base) + idMod - off) % idMod
	g := mulMod(x, s.idMulInv, idMod)
	if g > 1<<31 {
		return 0, false
	}
	return int(g), true
}

// user ids: 22 characters of unpadded base64url, like Zoom's.
func (s *Server) userID(u int) string {
	var b [16]byte
	binary.BigEndian.PutUint32(b[0:4], uint32(u)^uint32(s.h(kUserTag)))
	binary.BigEndian.PutUint64(b[4:12], s.h(kUserTag, uint64(u)))
	binary.BigEndian.PutUint32(b[12:16], uint32(s.h(kUserTag, uint64(u), 1)))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (s *Server) decodeUserID(id string) (int, bool) {
	if len(id) != 22 {
		return 0, false
	}
	b, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(b) != 16 {
		return 0, false
	}
	u := int(binary.BigEndian.Uint32(b[0:4]) ^ uint32(s.h(kUserTag)))
	if u < 0 || u >= s.nU || s.userID(u) != id {
		return 0, false
	}
	return u, true
}

// lookupUser resolves a userId path parameter: a user id, an email or "me".
func (s *Server) lookupUser(v string) (int, bool) {
	if v == "me" {
		return 0, s.nU > 0
	}
	if u, ok := s.decodeUserID(v); ok {
		return u, true
	}
	if at := strings.LastIndexByte(v, '@'); at > 0 {
		local := v[:at]
		if dot := strings.LastIndexByte(local, '.'); dot >= 0 {
			if u, err := strconv.Atoi(local[dot+1:]); err == nil && u >= 0 && u < s.nU && strings.EqualFold(s.user(u).email, v) {
				return u, true
			}
		}
	}
	return 0, false
}

// opaqueID returns a 22-character base64url id for any hashed entity.
func (s *Server) opaqueID(parts ...uint64) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[0:8], s.h(parts...))
	binary.BigEndian.PutUint64(b[8:16], s.h(append(parts, 0xabcdef)...))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Session UUIDs: 24 characters of padded standard base64 (16 bytes). Bytes
// 8..15 carry an invertible scramble of (kind, tweak, index, occurrence);
// bytes 0..7 are a keyed tag. About 5% of UUIDs begin with "/" and 5% contain
// "//"; the others are chosen (via the tweak) to contain neither.

const upcomingOcc = 0xFFFFFF // occurrence number of a meeting's own (next) uuid

const (
	uuidC1 = 0xff51afd7ed558ccd
	uuidC2 = 0xc4ceb9fe1a85ec53
)

func inv64(c uint64) uint64 {
	x := c
	for i := 0; i < 6; i++ {
		x *= 2 - c*x
	}
	return x
}

func scramble(x uint64) uint64 {
	x ^= x >> 33
	x *= uuidC1
	x ^= x >> 33
	x *= uuidC2
	x ^= x >> 33
	return x
}

func unscramble(x uint64) uint64 {
	x ^= x >> 33
	x *= inv64(uuidC2)
	x ^= x >> 33
	x *= inv64(uuidC1)
	x ^= x >> 33
	return x
}

// uuid classes
const (
	uuidPlain = iota
	uuidLeadingSlash
	uuidDoubleSlash
)

func (s *Server) uuidClass(kind uint64, g, occ int) int {
	if occ == upcomingOcc {
		return uuidPlain
	}
	switch s.h(kUUIDClass, kind, uint64(g), uint64(occ)) % 100 {
	case 0, 1, 2, 3, 4:
		return uuidLeadingSlash
	case 5, 6, 7, 8, 9:
		return uuidDoubleSlash
	}
	return uuidPlain
}

// NeedsDoubleEncoding reports whether Zoom requires a UUID to be URL-encoded
// twice in a request path.
func NeedsDoubleEncoding(uuid string) bool {
	return strings.HasPrefix(uuid, "/") || strings.Contains(uuid, "//")
}

func (s *Server) uuidWith(kind uint64, tweak uint64, g, occ int) string {
	p := (kind&3)<<62 | (tweak&63)<<56 | (uint64(g)&0xFFFFFFFF)<<24 | uint64(occ)&0xFFFFFF
	c := scramble(p ^ s.uuidKey)
	var b [16]byte
	binary.BigEndian.PutUint64(b[0:8], s.h(kUUIDTag, c))
	binary.BigEndian.PutUint64(b[8:16], c)
	switch s.uuidClass(kind, g, occ) {
	case uuidLeadingSlash:
		b[0] |= 0xFC
	case uuidDoubleSlash:
		b[0] &^= 0xFC // never also a leading slash
		b[3] = 0xFF
		b[4] |= 0xF0
	}
	return base64.StdEncoding.EncodeToString(b[:])
}

func (s *Server) uuid(kind uint64, g, occ int) string {
	if s.uuidClass(kind, g, occ) != uuidPlain {
		return s.uuidWith(kind, 0, g, occ)
	}
	for t := uint64(0); t < 64; t++ {
		u := s.uuidWith(kind, t, g, occ)
		if !NeedsDoubleEncoding(u) {
			return u
		}
	}
	return s.uuidWith(kind, 0, g, occ) // practically unreachable
}

// decodeUUID returns (kind, global index, occurrence) of a generated UUID.
func (s *Server) decodeUUID(v string) (kind uint64, g, occ int, ok bool) {
	if len(v) != 24 {
		return 0, 0, 0, false
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(b) != 16 {
		return 0, 0, 0, false
	}
	p := unscramble(binary.BigEndian.Uint64(b[8:16])) ^ s.uuidKey
	kind = p >> 62
	g = int((p >> 24) & 0xFFFFFFFF)
	occ = int(p & 0xFFFFFF)
	if kind != kMeeting && kind != kWebinar {
		return 0, 0, 0, false
	}
	if s.uuid(kind, g, occ) != v {
		return 0, 0, 0, false
	}
	return kind, g, occ, true
}
