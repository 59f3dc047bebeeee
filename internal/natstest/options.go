package natstest

import (
	"testing"

	"github.com/nats-io/nats-server/v2/server"
)

// RunServerWith starts a JetStream server like [RunServer], on 127.0.0.1
// with a random port and a store under t.TempDir, after configure has
// changed its options: a small MaxPayload, say. It is shut down when the
// test ends.
func RunServerWith(t testing.TB, configure func(*server.Options)) *server.Server {
	t.Helper()
	opts := &server.Options{
		Host:      "127.0.0.1",
		Port:      server.RANDOM_PORT,
		JetStream: true,
		StoreDir:  t.TempDir(),
		NoSigs:    true,
		NoLog:     true,
	}
	configure(opts)
	return start(t, opts)
}
