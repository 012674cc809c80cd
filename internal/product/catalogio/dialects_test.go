package catalogio_test

import (
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb"
	"github.com/vitrine-dev/vitrine/internal/platform/sqldb/sqltest"
)

func dialects() []string {
	out := make([]string, len(sqltest.Dialects))
	for i, d := range sqltest.Dialects {
		out[i] = string(d)
	}
	return out
}

func dialect(d string) sqldb.Dialect { return sqldb.Dialect(d) }
