package sqlite

import (
	// The pure-Go SQLite driver, registered as "sqlite".
	_ "modernc.org/sqlite"
)
