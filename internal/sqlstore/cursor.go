package sqlstore

import (
	"encoding/binary"
	"math/big"
	"strings"

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
