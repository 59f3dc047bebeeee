// Package natstest starts NATS servers with JetStream for tests: on
// 127.0.0.1 with a random port and a temporary store, shut down by
// t.Cleanup.
package natstest

import (
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// RunServer starts a JetStream server on 127.0.0.1 with a random port and a
// store under t.TempDir. It is shut down when the test ends.
func RunServer(t testing.TB) *server.Server {
	t.Helper()
	return RunServerWithStore(t, t.TempDir())
}

// RunServerWithStore starts a JetStream server on 127.0.0.1 with a random
// port and its store in dir, so that a test can restart it on the same
// store.
func RunServerWithStore(t testing.TB, dir string) *server.Server {
	t.Helper()
	return runServer(t, dir, server.RANDOM_PORT)
}

// Restart shuts ns down and starts a server on the same port with the
// same store, as after a crash or an upgrade; clients reconnect to it.
func Restart(t testing.TB, ns *server.Server) *server.Server {
	t.Helper()
	port := ns.Addr().(*net.TCPAddr).Port
	dir := ns.JetStreamConfig().StoreDir
	ns.Shutdown()
	ns.WaitForShutdown()
	return runServer(t, dir, port)
}

func runServer(t testing.TB, dir string, port int) *server.Server {
	t.Helper()
	return start(t, &server.Options{
		Host:      "127.0.0.1",
		Port:      port,
		JetStream: true,
		StoreDir:  dir,
		NoSigs:    true,
		NoLog:     true,
	})
}

// start starts a server with opts, waits until it takes connections and
// shuts it down when the test ends.
func start(t testing.TB, opts *server.Options) *server.Server {
	t.Helper()
	ns, err := server.NewServer(opts)
	if err != nil {
		t.Fatalf("natstest: %v", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		t.Fatal("natstest: server not ready within 30s")
	}
	t.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	return ns
}
