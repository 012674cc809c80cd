package sqldb

import (
	"errors"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
)

// A database that cannot take the request now (no primary reachable, the
// server read-only while a replica is promoted, the server shutting down)
// is a 503 with Retry-After for the client, not a 500: it is expected
// during a failover and the client should try again shortly.
func init() {
	errs.RegisterClassifier(func(err error) (*errs.Error, bool) {
		if !IsUnavailable(err) {
			return nil, false
		}
		return errs.Unavailable(err, "the database cannot take this request right now; try again shortly", 2*time.Second), true
	})
}

// IsUnavailable reports whether err says the database is unreachable,
// read-only or shutting down, rather than that the query was wrong.
func IsUnavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "25006": // read_only_sql_transaction: a replica, before its promotion
			return true
		case strings.HasPrefix(pgErr.Code, "08"): // connection exceptions
			return true
		case strings.HasPrefix(pgErr.Code, "57P"): // admin_shutdown, crash_shutdown, cannot_connect_now
			return true
		}
		return false
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	// The server closed the connection under the statement: it stopped,
	// or Patroni restarted it as a standby.
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	return pgconn.SafeToRetry(err) || strings.Contains(err.Error(), "failed to connect")
}
