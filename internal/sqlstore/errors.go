package sqlstore

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"

	"banklink"

	"github.com/jackc/pgx/v5/pgconn"
)

var _ banklink.ErrorClassifier = (*DB)(nil)

// ClassifyError implements banklink.ErrorClassifier. The HTTP edge
// refuses NUL and invalid UTF-8 before they reach a query; recognising
// PostgreSQL's refusal here too means any path that misses the check is
// still a 400. An unreachable database is a 503 the client can retry,
// not an internal error.
func (db *DB) ClassifyError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[*banklink.Error](err); ok {
		return err
	}
	switch {
	case badText(err):
		return &banklink.Error{Code: banklink.EBADREQUEST, Err: err,
			Message: "A value in the request holds a character the database cannot store (a NUL or invalid UTF-8)."}
	case unreachable(err):
		return &banklink.Error{Code: banklink.EUNAVAILABLE, Err: err,
			Message: "The database is unavailable; retry after the number of seconds in Retry-After."}
	}
	return err
}

// badText: PostgreSQL's character_not_in_repertoire (a NUL or invalid
// UTF-8 in text) and untranslatable_character.
func badText(err error) bool {
	pgErr, ok := errors.AsType[*pgconn.PgError](err)
	return ok && (pgErr.Code == "22021" || pgErr.Code == "22P05")
}

// unreachable tells the errors of a database that cannot be reached or
// went away mid-request from every other failure.
func unreachable(err error) bool {
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
		// Refused, timed out, or turned away at startup: too many
		// clients (53300), not accepting connections (55000), shutting
		// down (57P03).
		return true
	}
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), // connection exception
			strings.HasPrefix(pgErr.Code, "53"), // insufficient resources
			strings.HasPrefix(pgErr.Code, "57"), // operator intervention: terminated, shutting down, cancelled
			pgErr.Code == "25006":               // read-only transaction: a failover left us on a standby
			return true
		}
		return false
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) || pgconn.Timeout(err) {
		// A connection lost mid-query: pgx reports the broken read as
		// unexpected EOF.
		return true
	}
	if c, ok := errors.AsType[interface {
		error
		Code() int
	}](err); ok {
		// SQLITE_BUSY and SQLITE_LOCKED, after busy_timeout: another
		// process holds the file.
		return c.Code()&0xff == 5 || c.Code()&0xff == 6
	}
	return false
}
