// Package sqlite is the outbox store on SQLite (modernc.org/sqlite, pure
// Go, no cgo): the embedded default for development and tests.
package sqlite
