// Package postgres is the outbox store on PostgreSQL through pgx v5.
package postgres
