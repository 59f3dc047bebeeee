package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// benchServer is the JetStream server in a child process.
type benchServer struct {
	url    string
	cmd    *exec.Cmd
	store  string
	stdout *bufio.Reader // the child's: its URL, then a line each settledRSS
}

// startServer runs this program again as a server on a random loopback
// port with file storage, and reads its URL; with nodes > 1, as a cluster
// of that many servers in one child process.
func startServer(nodes int) (*benchServer, error) {
	store, err := os.MkdirTemp("", "gobus-bench-")
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-serve", store)
	if nodes > 1 {
		cmd = exec.Command(self, "-serve-cluster", strconv.Itoa(nodes), store)
	}
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	r := bufio.NewReader(stdout)
	line, err := r.ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("the server did not start: %w", err)
	}
	return &benchServer{url: strings.TrimSpace(line), cmd: cmd, store: store, stdout: r}, nil
}

// settledRSS is the server's resident set once it has collected its
// garbage and returned the free memory to the OS: what it holds, rather
// than what earlier workloads left for its collector. The child does it
// on SIGUSR1 and answers with a line.
func (s *benchServer) settledRSS() (int64, error) {
	if err := s.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		return 0, err
	}
	if _, err := s.stdout.ReadString('\n'); err != nil {
		return 0, fmt.Errorf("the server did not settle its memory: %w", err)
	}
	return rss(s.cmd.Process.Pid), nil
}

// settleOnSignal makes a server child collect its garbage and return free
// memory to the OS on each SIGUSR1, then print a line (see settledRSS).
func settleOnSignal() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	go func() {
		for range sig {
			debug.FreeOSMemory()
			fmt.Println("settled")
		}
	}()
}

func (s *benchServer) stop() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	_ = os.RemoveAll(s.store)
}

// serve runs the server until the parent kills it.
func serve(store string) {
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: store,
		NoSigs: true, NoLog: true, MaxPayload: 8 << 20,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench server:", err)
		os.Exit(1)
	}
	go ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		fmt.Fprintln(os.Stderr, "bench server: not ready")
		os.Exit(1)
	}
	settleOnSignal()
	profileOnSignal(store)
	fmt.Println(ns.ClientURL())
	select {}
}
