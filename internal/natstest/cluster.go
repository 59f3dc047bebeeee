package natstest

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// clusterReadyTimeout bounds the wait for a cluster's JetStream meta
// leader.
const clusterReadyTimeout = 30 * time.Second

// RunCluster starts a JetStream cluster of n servers on 127.0.0.1, each
// with a random client port, its own name ("n1", "n2", …) and its own
// store under t.TempDir, routed to each other, and waits until JetStream
// has a meta leader that sees every server. It returns the servers, in
// name order, and a URL listing all of their client addresses, which
// clients use to fail over. The servers are shut down when the test ends;
// a test may shut one down earlier.
func RunCluster(t testing.TB, n int) ([]*server.Server, string) {
	t.Helper()
	if n < 1 {
		t.Fatalf("natstest: RunCluster(%d): need at least one server", n)
	}
	// Every route must be known before the servers start; the servers
	// cannot pick random route ports, so pick free ones now.
	ports := freePorts(t, n)
	servers := make([]*server.Server, n)
	for i := range n {
		var routes []string
		for j, p := range ports {
			if j != i {
				routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", p))
			}
		}
		ns, err := server.NewServer(&server.Options{
			ServerName: fmt.Sprintf("n%d", i+1),
			Host:       "127.0.0.1",
			Port:       server.RANDOM_PORT,
			JetStream:  true,
			StoreDir:   t.TempDir(),
			Cluster: server.ClusterOpts{
				Name: "gobus-test",
				Host: "127.0.0.1",
				Port: ports[i],
			},
			Routes: server.RoutesFromStr(strings.Join(routes, ",")),
			NoSigs: true,
			NoLog:  true,
		})
		if err != nil {
			t.Fatalf("natstest: server n%d: %v", i+1, err)
		}
		servers[i] = ns
		t.Cleanup(func() {
			ns.Shutdown()
			ns.WaitForShutdown()
		})
		go ns.Start()
	}
	urls := make([]string, n)
	for i, ns := range servers {
		if !ns.ReadyForConnections(clusterReadyTimeout) {
			t.Fatalf("natstest: server %s not ready within %s", ns.Name(), clusterReadyTimeout)
		}
		urls[i] = ns.ClientURL()
	}
	WaitForMetaLeader(t, servers, n)
	return servers, strings.Join(urls, ",")
}

// WaitForMetaLeader waits until one of servers leads JetStream's meta
// group, sees peers servers online, and every running server in servers
// is current with it: until streams can be created. It fails the test
// after 30s.
func WaitForMetaLeader(t testing.TB, servers []*server.Server, peers int) *server.Server {
	t.Helper()
	deadline := time.Now().Add(clusterReadyTimeout)
	for {
		var leader *server.Server
		current := true
		for _, ns := range servers {
			if !ns.Running() {
				continue
			}
			if ns.JetStreamIsLeader() {
				leader = ns
			}
			current = current && ns.JetStreamIsCurrent()
		}
		if leader != nil && current && len(leader.JetStreamClusterPeers()) >= peers {
			return leader
		}
		if time.Now().After(deadline) {
			t.Fatalf("natstest: no JetStream meta leader seeing %d servers within %s", peers, clusterReadyTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// freePorts returns n distinct TCP ports that were free on 127.0.0.1. They
// are held open together, then released, so another process could take
// one before it is used; on a test machine that is rare.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("natstest: finding a free port: %v", err)
		}
		defer l.Close()
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports
}
