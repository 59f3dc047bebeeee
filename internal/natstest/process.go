package natstest

import (
	"bytes"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// ProcessCluster is a JetStream cluster whose servers each run in an OS
// process of their own, so that a test can kill one with SIGKILL, as a
// crash or an OOM kill would, and start it again on the same store. The
// servers are nats-server itself, built from the module's dependency with
// go build, on 127.0.0.1.
type ProcessCluster struct {
	// Nodes are the servers, named "n1", "n2", … in order.
	Nodes []*ProcessNode
}

// ProcessNode is one server of a [ProcessCluster].
type ProcessNode struct {
	// Name is the server's name, as JetStream's cluster information
	// (a stream's leader and replicas) gives it.
	Name string
	// Port is the client port; it stays the same across restarts.
	Port int
	// StoreDir is the JetStream store; it stays the same across restarts.
	StoreDir string

	bin, monitor string
	args         []string
	cmd          *exec.Cmd
	exited       chan struct{}
	output       *LockedBuffer
}

// RunProcessCluster builds nats-server and starts a JetStream cluster of n
// of them, each in its own process with its own store under t.TempDir and
// ports that were free on 127.0.0.1, and waits until every one reports
// healthy. The processes are killed when the test ends.
func RunProcessCluster(t testing.TB, n int) *ProcessCluster {
	t.Helper()
	bin := buildNATSServer(t)
	ports := freePorts(t, 3*n) // client, route and monitoring ports
	var routes []string
	for i := range n {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", ports[3*i+1]))
	}
	pc := &ProcessCluster{}
	for i := range n {
		node := &ProcessNode{
			Name:     fmt.Sprintf("n%d", i+1),
			Port:     ports[3*i],
			StoreDir: t.TempDir(),
			bin:      bin,
			monitor:  fmt.Sprintf("http://127.0.0.1:%d/healthz", ports[3*i+2]),
		}
		node.args = []string{
			"-n", node.Name, "-a", "127.0.0.1", "-p", fmt.Sprint(node.Port),
			"-m", fmt.Sprint(ports[3*i+2]), "-js", "-sd", node.StoreDir,
			"--cluster_name", "gobus-test", "--cluster", routes[i], "--routes", strings.Join(routes, ","),
		}
		node.Start(t)
		pc.Nodes = append(pc.Nodes, node)
	}
	for _, node := range pc.Nodes {
		node.WaitHealthy(t, clusterReadyTimeout)
	}
	return pc
}

// URL lists every server's client address, for clients to fail over.
func (pc *ProcessCluster) URL() string {
	urls := make([]string, len(pc.Nodes))
	for i, node := range pc.Nodes {
		urls[i] = node.URL()
	}
	return strings.Join(urls, ",")
}

// Node returns the server named name, or nil.
func (pc *ProcessCluster) Node(name string) *ProcessNode {
	for _, node := range pc.Nodes {
		if node.Name == name {
			return node
		}
	}
	return nil
}

// URL is the server's client address.
func (node *ProcessNode) URL() string { return fmt.Sprintf("nats://127.0.0.1:%d", node.Port) }

// Start starts the server's process, on its ports and store; a killed
// server starts again as after a crash. It does not wait until the server
// is healthy: see [ProcessNode.WaitHealthy].
func (node *ProcessNode) Start(t testing.TB) {
	t.Helper()
	node.cmd = exec.Command(node.bin, node.args...)
	node.output = &LockedBuffer{}
	node.cmd.Stdout, node.cmd.Stderr = node.output, node.output
	node.exited = make(chan struct{})
	if err := node.cmd.Start(); err != nil {
		t.Fatalf("natstest: starting server %s: %v", node.Name, err)
	}
	cmd, exited := node.cmd, node.exited
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
}

// Kill kills the server's process with SIGKILL and waits until it is gone.
func (node *ProcessNode) Kill(t testing.TB) {
	t.Helper()
	if err := node.cmd.Process.Kill(); err != nil {
		t.Fatalf("natstest: killing server %s: %v", node.Name, err)
	}
	select {
	case <-node.exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("natstest: server %s did not exit within 10s of SIGKILL", node.Name)
	}
}

// WaitHealthy waits until the server's /healthz says it is healthy: it
// takes connections, and its JetStream is current with the cluster's meta
// group and with every stream and consumer it holds.
func (node *ProcessNode) WaitHealthy(t testing.TB, timeout time.Duration) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-node.exited:
			t.Fatalf("natstest: server %s exited:\n%s", node.Name, node.output.String())
		default:
		}
		resp, err := client.Get(node.monitor)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("natstest: server %s not healthy within %s (last: %v)\n%s", node.Name, timeout, healthText(resp, err), node.output.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func healthText(resp *http.Response, err error) string {
	if err != nil {
		return err.Error()
	}
	return resp.Status
}

// buildNATSServer builds the nats-server of the module's dependency into
// a temporary directory.
func buildNATSServer(t testing.TB) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("natstest: building nats-server needs the go command: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "nats-server")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	if out, err := exec.Command(goTool, "build", "-o", bin, "github.com/nats-io/nats-server/v2").CombinedOutput(); err != nil {
		t.Fatalf("natstest: go build nats-server: %v\n%s", err, out)
	}
	return bin
}

// LockedBuffer is a bytes.Buffer safe for concurrent use, for a process's
// output or a logger's.
type LockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *LockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written.
func (b *LockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
