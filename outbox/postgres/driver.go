package postgres

import (
	// pgx v5 through database/sql, registered as "pgx".
	_ "github.com/jackc/pgx/v5/stdlib"
)
