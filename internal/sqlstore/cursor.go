package sqlstore

import (
	"encoding/binary"
	"math/big"
	"strings"
	"time"

	"banklink"
)

const base58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// parseKey decodes a cursor key made by seqKey. Any other string is a
// BAD_REQUEST naming the parameter.
func parseKey(param, key string) (int64, error) {
	bad := banklink.FieldErrorf(param, "is not a valid cursor; pass the key of a record from a previous page")
	if len(key) != 11 || !banklink.IsBase58(key) {
		return 0, bad
	}
	n := new(big.Int)
	for i := 0; i < len(key); i++ {
		n.Mul(n, big.NewInt(58))
		n.Add(n, big.NewInt(int64(strings.IndexByte(base58, key[i]))))
	}
	if n.BitLen() > 63 {
		return 0, bad
	}
	seq := n.Int64()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(seq))
	if seqKey(seq) != key || seq <= 0 {
		return 0, bad
	}
	return seq, nil
}

// decodeBase58 decodes s into exactly n bytes, or fails.
func decodeBase58(s string, n int) ([]byte, bool) {
	if !banklink.IsBase58(s) {
		return nil, false
	}
	v := new(big.Int)
	for i := 0; i < len(s); i++ {
		v.Mul(v, big.NewInt(58))
		v.Add(v, big.NewInt(int64(strings.IndexByte(base58, s[i]))))
	}
	if v.BitLen() > 8*n {
		return nil, false
	}
	return v.FillBytes(make([]byte, n)), true
}

// dayKey is the cursor of a row ordered by (day, seq): it carries both, so
// newest-first pages need no lookup of the cursor row.
func dayKey(day, seq int64) string {
	var b [12]byte
	binary.BigEndian.PutUint32(b[:4], uint32(day))
	binary.BigEndian.PutUint64(b[4:], uint64(seq))
	return banklink.EncodeBase58(b[:], 17)
}

func parseDayKey(param, key string) (day, seq int64, err error) {
	b, ok := decodeBase58(key, 12)
	if !ok || len(key) != 17 {
		return 0, 0, banklink.FieldErrorf(param, "is not a valid cursor; pass the key of a record from a previous page")
	}
	day, seq = int64(binary.BigEndian.Uint32(b[:4])), int64(binary.BigEndian.Uint64(b[4:]))
	if dayKey(day, seq) != key {
		return 0, 0, banklink.FieldErrorf(param, "is not a valid cursor; pass the key of a record from a previous page")
	}
	return day, seq, nil
}

func toDay(date string) (int64, bool) {
	t, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return 0, false
	}
	return t.Unix() / 86400, true
}

func fromDay(day int64) string { return time.Unix(day*86400, 0).UTC().Format(time.DateOnly) }
