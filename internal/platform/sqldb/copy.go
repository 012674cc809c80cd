package sqldb

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// PgxTx runs fn in a transaction of a pgx connection of the read-write
// pool, for what database/sql cannot say: COPY (pgx.Tx.CopyFrom), the
// bulk path of loading many rows. It commits when fn returns nil. Only on
// PostgreSQL.
func (db *DB) PgxTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	if db.Dialect != Postgres {
		return errors.New("sqldb: PgxTx needs PostgreSQL")
	}
	conn, err := db.writer().Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(driverConn any) error {
		c, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("sqldb: the PostgreSQL driver connection is a %T", driverConn)
		}
		return pgx.BeginFunc(ctx, c.Conn(), fn)
	})
}
