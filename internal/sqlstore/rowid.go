package sqlstore

import (
	"crypto/rand"
	"encoding/binary"
	"time"

	"banklink"
)

// rowID returns an id for a row written in bulk (an aggregation's
// transactions): banklink's id shape, 22 base58 characters, whose first
// 48 bits are the time in milliseconds and the other 80 random. Fixed-width
// base58 sorts as the number it encodes, so such ids sort by time and one
// aggregation's rows land together at the end of the id index. With
// entirely random ids (banklink.NewID) each of an aggregation's 1,200 rows
// went to a different page of that index, and every page touched is
// written to the WAL at commit and again at the checkpoint.
func rowID() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(time.Now().UnixMilli())<<16)
	if _, err := rand.Read(b[6:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return banklink.EncodeBase58(b[:], banklink.IDLength)
}
