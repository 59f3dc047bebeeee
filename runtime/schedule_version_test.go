package gobus_test

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	gobus "github.com/gobusdev/gobus/runtime"
)

// Connect fails at start-up, naming the version, on a server older than
// nats-server 2.12, which cannot hold messages back: the installer would
// allow schedules on streams that the server then ignores. The server is a
// stand-in that speaks just enough of the NATS protocol to announce its
// version.
func TestConnectFailsOnServerOlderThan212(t *testing.T) {
	url := oldServer(t, "2.11.4")
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c, err := gobus.Connect(ctx, gobus.WithURL(url), gobus.WithLogger(testLogger()))
	if err == nil {
		_ = c.Close(ctx)
		t.Fatal("Connect succeeded on a 2.11 server")
	}
	t.Log(err)
	for _, part := range []string{"needs nats-server 2.12.0 or later", "the server is version 2.11.4", "upgrade the server"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q lacks %q", err, part)
		}
	}
}

// oldServer listens on loopback as a NATS server of version that answers
// CONNECT and PING, and nothing else, and returns its URL.
func oldServer(t *testing.T, version string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go serveOld(conn, version)
		}
	}()
	return "nats://" + ln.Addr().String()
}

func serveOld(conn net.Conn, version string) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(waitTimeout))
	info := `INFO {"server_id":"OLD","server_name":"old","version":"` + version + `","proto":1,"headers":true,"max_payload":1048576,"jetstream":true}` + "\r\n"
	if _, err := conn.Write([]byte(info)); err != nil {
		return
	}
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if strings.HasPrefix(line, "PING") {
			if _, err := conn.Write([]byte("PONG\r\n")); err != nil {
				return
			}
		}
	}
}
