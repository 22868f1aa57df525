package sqlstore

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"strings"
	"sync"
	"time"

	"banklink"
)

// Cursor keys. Every record's `key` comes from a sequence shared by all
// tenants, so handing it out as is let one tenant count everyone's
// records between two of its own. A key is instead the AES encryption of
// the sequence (and, for lists ordered by date, the day) under a key of
// the record's account and environment, derived from a secret the
// database keeps (so every replica and every restart agrees). A tenant
// sees 22 unrelated base58 characters; a key made for another tenant
// decrypts to garbage and is refused like any invalid cursor.
//
// The 16-byte block is: kind (1 byte), three zero bytes, the day as a
// signed 32-bit number (zero for sequence keys), the sequence (8 bytes).
// Decryption checks the kind and zero bytes, so a key from elsewhere
// passes by chance with odds of 2^-32 at most, and then only positions
// the cursor somewhere in the caller's own records.
//
// A transaction's key also carries its financial account's sequence, for
// the tenant-wide list, which runs account by account (cursorAccountDay):
// kind, one zero byte, the account's sequence (4 bytes), the day (4), the
// transaction's sequence (6 bytes, all ones for "beyond every record").
// The odds for a stray key fall to 2^-16, with the same consequence.
// Keys of the older form (cursorDay) stay valid wherever they were.

const (
	cursorKeyLen = 22 // base58 digits of 128 bits
	cursorSeq    = 1
	cursorDay    = 2
	// cursorAccountDay is a transaction's key: its account, day and seq.
	cursorAccountDay = 3
	cursorSecret     = "cursor-key"
	maxCursorCache   = 10000
)

const base58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// cursorKeys encrypts and decrypts cursor keys; one per DB.
type cursorKeys struct {
	secret []byte
	mu     sync.RWMutex
	blocks map[tenant]cipher.Block
}

type tenant struct{ account, env string }

// loadCursorKeys reads the database's cursor secret, creating it on first
// use (replicas racing agree on one).
func (db *DB) loadCursorKeys(ctx context.Context) error {
	fresh := make([]byte, 32)
	rand.Read(fresh)
	secret, err := db.EnsureSecret(ctx, cursorSecret, fresh)
	if err != nil {
		return fmt.Errorf("cursor key: %w", err)
	}
	db.keys = &cursorKeys{secret: secret, blocks: map[tenant]cipher.Block{}}
	return nil
}

func (k *cursorKeys) block(account, env string) cipher.Block {
	t := tenant{account, env}
	k.mu.RLock()
	b := k.blocks[t]
	k.mu.RUnlock()
	if b != nil {
		return b
	}
	key, err := hkdf.Key(sha256.New, k.secret, nil, "banklink cursor keys v1\x00"+account+"\x00"+env, 16)
	if err != nil {
		panic(err) // only for lengths hkdf cannot produce
	}
	b, err = aes.NewCipher(key)
	if err != nil {
		panic(err) // 16 bytes is a valid AES key
	}
	k.mu.Lock()
	if len(k.blocks) >= maxCursorCache {
		k.blocks = map[tenant]cipher.Block{}
	}
	k.blocks[t] = b
	k.mu.Unlock()
	return b
}

func (k *cursorKeys) encode(account, env string, kind byte, day, seq int64) string {
	if k == nil {
		return "" // records read only to build event payloads
	}
	var b [16]byte
	b[0] = kind
	binary.BigEndian.PutUint32(b[4:8], uint32(int32(day)))
	binary.BigEndian.PutUint64(b[8:], uint64(seq))
	k.block(account, env).Encrypt(b[:], b[:])
	return encode128(b)
}

func (k *cursorKeys) decode(scope banklink.Scope, param, key string, kind byte) (day, seq int64, err error) {
	b, ok := k.decrypt(scope, key)
	if ok {
		seq = int64(binary.BigEndian.Uint64(b[8:]))
		ok = b[0] == kind && b[1]|b[2]|b[3] == 0 && (kind == cursorDay || binary.BigEndian.Uint32(b[4:8]) == 0) && seq > 0
	}
	if !ok {
		return 0, 0, badCursor(param)
	}
	return int64(int32(binary.BigEndian.Uint32(b[4:8]))), seq, nil
}

func (k *cursorKeys) decrypt(scope banklink.Scope, key string) ([16]byte, bool) {
	b, ok := decode128(key)
	if ok {
		k.block(scope.AccountID, string(scope.Environment)).Decrypt(b[:], b[:])
	}
	return b, ok
}

func badCursor(param string) error {
	return banklink.FieldErrorf(param, "is not a valid cursor; pass the key of a record from a previous page")
}

// maxSeq48 is the largest sequence a transaction key carries; all ones
// stands for math.MaxInt64, "beyond every record".
const maxSeq48 = 1<<48 - 1

// txKey is a transaction's cursor key: its financial account's sequence,
// its day and its own sequence. An account sequence beyond 32 bits (never
// reached in practice) gives the older day key, which the tenant-wide
// list resolves by looking the row up.
func (k *cursorKeys) txKey(account, env string, accountSeq, day, seq int64) string {
	if k == nil {
		return ""
	}
	if accountSeq <= 0 || accountSeq > math.MaxUint32 || (seq >= maxSeq48 && seq != math.MaxInt64) {
		return k.dayKey(account, env, day, seq)
	}
	if seq == math.MaxInt64 {
		seq = maxSeq48
	}
	var b [16]byte
	b[0] = cursorAccountDay
	binary.BigEndian.PutUint32(b[2:6], uint32(accountSeq))
	binary.BigEndian.PutUint32(b[6:10], uint32(int32(day)))
	binary.BigEndian.PutUint16(b[10:12], uint16(seq>>32))
	binary.BigEndian.PutUint32(b[12:16], uint32(seq))
	k.block(account, env).Encrypt(b[:], b[:])
	return encode128(b)
}

// parseTx decodes a transaction key of either form. accountSeq is 0 for
// a key of the older form, which does not carry it.
func (k *cursorKeys) parseTx(scope banklink.Scope, param, key string) (accountSeq, day, seq int64, err error) {
	b, ok := k.decrypt(scope, key)
	if ok && b[0] == cursorAccountDay {
		accountSeq = int64(binary.BigEndian.Uint32(b[2:6]))
		seq = int64(binary.BigEndian.Uint16(b[10:12]))<<32 | int64(binary.BigEndian.Uint32(b[12:16]))
		if seq == maxSeq48 {
			seq = math.MaxInt64
		}
		if b[1] != 0 || accountSeq == 0 || seq == 0 {
			return 0, 0, 0, badCursor(param)
		}
		return accountSeq, int64(int32(binary.BigEndian.Uint32(b[6:10]))), seq, nil
	}
	day, seq, err = k.decode(scope, param, key, cursorDay)
	return 0, day, seq, err
}

// seqKey is the cursor key of a record ordered by its sequence.
func (k *cursorKeys) seqKey(account, env string, seq int64) string {
	return k.encode(account, env, cursorSeq, 0, seq)
}

// dayKey is the cursor key of a row ordered by (day, seq): it carries
// both, so newest-first pages need no lookup of the cursor row.
func (k *cursorKeys) dayKey(account, env string, day, seq int64) string {
	return k.encode(account, env, cursorDay, day, seq)
}

// parseSeq decodes a key made by seqKey for scope. Any other string is a
// BAD_REQUEST naming the parameter.
func (k *cursorKeys) parseSeq(scope banklink.Scope, param, key string) (int64, error) {
	if key == banklink.LatestCursor {
		return math.MaxInt64, nil // beyond every record, for newest-first views
	}
	_, seq, err := k.decode(scope, param, key, cursorSeq)
	return seq, err
}

// encode128 writes 16 bytes as exactly cursorKeyLen base58 digits.
func encode128(b [16]byte) string {
	hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	var out [cursorKeyLen]byte
	for i := cursorKeyLen - 1; i >= 0; i-- {
		var r uint64
		hi, r = hi/58, hi%58
		lo, r = bits.Div64(r, lo, 58)
		out[i] = base58[r]
	}
	return string(out[:])
}

// decode128 reads what encode128 wrote; anything else (wrong length, a
// character outside the alphabet, a value beyond 128 bits) fails.
func decode128(s string) (b [16]byte, ok bool) {
	if len(s) != cursorKeyLen {
		return b, false
	}
	var hi, lo uint64
	for i := 0; i < len(s); i++ {
		d := strings.IndexByte(base58, s[i])
		if d < 0 {
			return b, false
		}
		// (hi, lo) = (hi, lo) * 58 + d, refusing overflow.
		h1, l := bits.Mul64(lo, 58)
		h2, h := bits.Mul64(hi, 58)
		var c uint64
		lo, c = bits.Add64(l, uint64(d), 0)
		hi, c = bits.Add64(h, h1, c)
		if h2 != 0 || c != 0 {
			return b, false
		}
	}
	binary.BigEndian.PutUint64(b[:8], hi)
	binary.BigEndian.PutUint64(b[8:], lo)
	return b, true
}

func toDay(date string) (int64, bool) {
	t, err := time.Parse(time.DateOnly, date)
	if err != nil {
		return 0, false
	}
	return t.Unix() / 86400, true
}

func fromDay(day int64) string { return time.Unix(day*86400, 0).UTC().Format(time.DateOnly) }
