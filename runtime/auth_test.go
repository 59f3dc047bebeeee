package gobus_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/gobusdev/gobus/internal/natstest"
	gobustestv1 "github.com/gobusdev/gobus/internal/testproto/gobustest/v1"
	gobus "github.com/gobusdev/gobus/runtime"
)

// Secrets the tests hand out; distinctive, so that finding one in an error
// or a log cannot be a coincidence.
const (
	testPassword  = "pw-Zq81-do-not-print"
	wrongPassword = "pw-Wr0ng-do-not-print"
	testToken     = "tok-Jx47-do-not-print"
	wrongToken    = "tok-Wr0ng-do-not-print"
)

// logBuffer collects what a logger writes, safe for the connection's
// goroutines to write while the test reads.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// capturingLogger logs everything, debug included, into a buffer.
func capturingLogger() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// seedIn is the NKey seed in a seed or credentials file.
func seedIn(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if line = strings.TrimSpace(line); strings.HasPrefix(line, "SU") {
			return line
		}
	}
	t.Fatalf("no seed in %s", path)
	return ""
}

// both merges server configurations.
func both(fs ...func(*server.Options)) func(*server.Options) {
	return func(o *server.Options) {
		for _, f := range fs {
			f(o)
		}
	}
}

// errTLSRefused stands for the server refusing the client after the TLS
// handshake; see tlsRefused.
var errTLSRefused = errors.New("TLS refused")

// tlsRefused reports whether err is the server refusing the TLS client:
// nats.go's ErrTLS, or the server's alert ("remote error: tls: …").
func tlsRefused(err error) bool {
	var op *net.OpError
	return errors.Is(err, nats.ErrTLS) || errors.As(err, &op) && op.Op == "remote error"
}

// A server that requires one way to authenticate, or TLS, accepts a client
// configured for it, and a message goes through an endpoint.
func TestConnectWithEachAuthMethod(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		setup func(t *testing.T) (url string, opts []gobus.Option)
	}{
		{"user and password", func(t *testing.T) (string, []gobus.Option) {
			ns := natstest.RunServerWith(t, natstest.RequireUserPassword("orders", testPassword))
			return ns.ClientURL(), []gobus.Option{gobus.WithUserPassword("orders", testPassword)}
		}},
		{"token", func(t *testing.T) (string, []gobus.Option) {
			ns := natstest.RunServerWith(t, natstest.RequireToken(testToken))
			return ns.ClientURL(), []gobus.Option{gobus.WithToken(testToken)}
		}},
		{"NKey", func(t *testing.T) (string, []gobus.Option) {
			seedFile, publicKey := natstest.NewNKeyUser(t)
			ns := natstest.RunServerWith(t, natstest.RequireNKey(publicKey))
			return ns.ClientURL(), []gobus.Option{gobus.WithNKeyFile(seedFile)}
		}},
		{"credentials file in operator mode", func(t *testing.T) (string, []gobus.Option) {
			op := natstest.NewOperator(t)
			ns := natstest.RunServerWith(t, op.Require)
			return ns.ClientURL(), []gobus.Option{gobus.WithCredentialsFile(op.UserCredentials(t))}
		}},
		{"TLS with a client certificate", func(t *testing.T) (string, []gobus.Option) {
			certs := natstest.NewCerts(t)
			ns := natstest.RunServerWith(t, certs.RequireTLS(t, true))
			return ns.ClientURL(), []gobus.Option{gobus.WithTLS(gobus.TLS{CAFile: certs.CAFile, CertFile: certs.ClientCertFile, KeyFile: certs.ClientKeyFile})}
		}},
		{"TLS with a server name, and a password", func(t *testing.T) (string, []gobus.Option) {
			certs := natstest.NewCerts(t)
			ns := natstest.RunServerWith(t, both(certs.RequireTLS(t, false), natstest.RequireUserPassword("orders", testPassword)))
			return ns.ClientURL(), []gobus.Option{
				gobus.WithTLS(gobus.TLS{CAFile: certs.CAFile, ServerName: natstest.CertServerName}),
				gobus.WithUserPassword("orders", testPassword),
			}
		}},
		{"TLS from WithNATSOptions", func(t *testing.T) (string, []gobus.Option) {
			certs := natstest.NewCerts(t)
			ns := natstest.RunServerWith(t, certs.RequireTLS(t, true))
			return ns.ClientURL(), []gobus.Option{gobus.WithNATSOptions(nats.RootCAs(certs.CAFile), nats.ClientCert(certs.ClientCertFile, certs.ClientKeyFile))}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url, opts := tc.setup(t)
			c := connect(t, url, opts...)
			got := make(chan string, 1)
			startEndpoint(t, c, gobustestv1.WorkEndpoint, func(ep *gobus.Endpoint) error {
				return gobustestv1.RegisterWorkHandler(ep, workerFunc(func(ctx context.Context, mc *gobus.MessageContext, w *gobustestv1.Work) error {
					got <- w.GetId()
					return nil
				}))
			})
			if err := gobustestv1.SendWork(context.Background(), c, &gobustestv1.Work{Id: "through"}); err != nil {
				t.Fatalf("SendWork: %v", err)
			}
			if id := receive(t, got, "the work handled"); id != "through" {
				t.Errorf("handled %q, want %q", id, "through")
			}
		})
	}
}

// Wrong or missing credentials, and TLS that does not match the server,
// fail at Connect with the server's reason. Neither the error nor the log
// shows a secret, not even the wrong one.
func TestConnectRejectsWrongCredentials(t *testing.T) {
	t.Parallel()
	userServer := natstest.RunServerWith(t, natstest.RequireUserPassword("orders", testPassword))
	tokenServer := natstest.RunServerWith(t, natstest.RequireToken(testToken))
	_, publicKey := natstest.NewNKeyUser(t)
	nkeyServer := natstest.RunServerWith(t, natstest.RequireNKey(publicKey))
	strangerSeed, _ := natstest.NewNKeyUser(t)
	operatorServer := natstest.RunServerWith(t, natstest.NewOperator(t).Require)
	strangerCreds := natstest.NewOperator(t).UserCredentials(t)
	certs, otherCerts := natstest.NewCerts(t), natstest.NewCerts(t)
	tlsServer := natstest.RunServerWith(t, certs.RequireTLS(t, true))
	clientCert := gobus.TLS{CAFile: certs.CAFile, CertFile: certs.ClientCertFile, KeyFile: certs.ClientKeyFile}
	secrets := []string{testPassword, wrongPassword, testToken, wrongToken, seedIn(t, strangerSeed), seedIn(t, strangerCreds)}
	withURLPassword := strings.Replace(userServer.ClientURL(), "nats://", "nats://orders:"+wrongPassword+"@", 1)

	cases := []struct {
		name string
		url  string
		opts []gobus.Option
		is   error
		want string
	}{
		{"wrong password", userServer.ClientURL(), []gobus.Option{gobus.WithUserPassword("orders", wrongPassword)}, nats.ErrAuthorization, "Authorization Violation"},
		{"wrong password in the URL", withURLPassword, nil, nats.ErrAuthorization, "nats://[REDACTED]@127.0.0.1"},
		{"no password", userServer.ClientURL(), nil, nats.ErrAuthorization, "Authorization Violation"},
		{"wrong token", tokenServer.ClientURL(), []gobus.Option{gobus.WithToken(wrongToken)}, nats.ErrAuthorization, "Authorization Violation"},
		{"a password where a token is wanted", tokenServer.ClientURL(), []gobus.Option{gobus.WithUserPassword("orders", testPassword)}, nats.ErrAuthorization, "Authorization Violation"},
		{"unknown NKey", nkeyServer.ClientURL(), []gobus.Option{gobus.WithNKeyFile(strangerSeed)}, nats.ErrAuthorization, "Authorization Violation"},
		{"credentials of another operator", operatorServer.ClientURL(), []gobus.Option{gobus.WithCredentialsFile(strangerCreds)}, nats.ErrAuthorization, "Authorization Violation"},
		// The server asks for TLS, and the client verifies it against the
		// system's roots.
		{"no TLS options", tlsServer.ClientURL(), nil, nats.ErrTLS, "certificate signed by unknown authority"},
		// With TLS 1.3 the server refuses a client certificate after the
		// handshake: the client reads its alert, or finds the connection
		// closed, depending on timing.
		{"TLS without a client certificate", tlsServer.ClientURL(), []gobus.Option{gobus.WithTLS(gobus.TLS{CAFile: certs.CAFile})}, errTLSRefused, "tls"},
		{"TLS with a client certificate of another authority", tlsServer.ClientURL(), []gobus.Option{gobus.WithTLS(gobus.TLS{CAFile: certs.CAFile, CertFile: otherCerts.ClientCertFile, KeyFile: otherCerts.ClientKeyFile})}, errTLSRefused, "tls"},
		{"TLS trusting another authority", tlsServer.ClientURL(), []gobus.Option{gobus.WithTLS(gobus.TLS{CAFile: otherCerts.CAFile, CertFile: certs.ClientCertFile, KeyFile: certs.ClientKeyFile})}, nats.ErrTLS, "certificate signed by unknown authority"},
		{"TLS with the wrong server name", tlsServer.ClientURL(), []gobus.Option{gobus.WithTLS(gobus.TLS{CAFile: clientCert.CAFile, CertFile: clientCert.CertFile, KeyFile: clientCert.KeyFile, ServerName: "other.gobus.test"})}, nats.ErrTLS, "not other.gobus.test"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			logger, logs := capturingLogger()
			opts := append([]gobus.Option{gobus.WithURL(tc.url), gobus.WithLogger(logger)}, tc.opts...)
			c, err := gobus.Connect(context.Background(), opts...)
			if err == nil {
				_ = c.Close(context.Background())
				t.Fatal("Connect succeeded, want an error")
			}
			is := errors.Is(err, tc.is) || tc.is == errTLSRefused && tlsRefused(err)
			if errors.Is(err, gobus.ErrInvalidOption) || !is || !strings.Contains(err.Error(), "gobus: connecting to NATS at ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Connect error %q: want a connection error, %q, mentioning %q", err, tc.is, tc.want)
			}
			for _, s := range secrets {
				if strings.Contains(err.Error(), s) || strings.Contains(logs.String(), s) {
					t.Errorf("a secret shows in the error %q or the log:\n%s", err, logs)
				}
			}
		})
	}
}

// Credentials in the URL do not show in the reconnect log: nats.go's own
// redaction hides passwords but not a token in the URL.
func TestReconnectLogHidesURLCredentials(t *testing.T) {
	t.Parallel()
	tokenServer := natstest.RunServerWith(t, natstest.RequireToken(testToken))
	userServer := natstest.RunServerWith(t, natstest.RequireUserPassword("orders", testPassword))
	cases := map[string]string{
		"token":    strings.Replace(tokenServer.ClientURL(), "nats://", "nats://"+testToken+"@", 1),
		"password": strings.Replace(userServer.ClientURL(), "nats://", "nats://orders:"+testPassword+"@", 1),
	}
	for name, url := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			logger, logs := capturingLogger()
			c := connect(t, url, gobus.WithLogger(logger))
			if err := c.Conn().ForceReconnect(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the reconnect logged", func() bool { return strings.Contains(logs.String(), "reconnected to NATS") })
			if got := logs.String(); strings.Contains(got, testToken) || strings.Contains(got, testPassword) || !strings.Contains(got, "[REDACTED]@127.0.0.1") {
				t.Errorf("the log shows a secret, or not the redacted server:\n%s", got)
			}
		})
	}
}

// Mistakes in the authentication and TLS options fail at Connect with
// ErrInvalidOption, before anything connects, without showing secrets.
func TestAuthOptionMistakes(t *testing.T) {
	t.Parallel()
	url := newServerURL(t)
	dir := t.TempDir()
	certs := natstest.NewCerts(t)
	notASeed := filepath.Join(dir, "not-a-seed")
	if err := os.WriteFile(notASeed, []byte(testToken), 0o600); err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	cases := []struct {
		name     string
		opts     []gobus.Option
		want     string
		notExist bool
	}{
		{"two ways to authenticate", []gobus.Option{gobus.WithURL(url), gobus.WithToken(testToken), gobus.WithUserPassword("orders", testPassword)}, "authenticate one way, not with a user and password and a token", false},
		{"empty token", []gobus.Option{gobus.WithURL(url), gobus.WithToken("")}, "WithToken: the token is empty", false},
		{"user without a password", []gobus.Option{gobus.WithURL(url), gobus.WithUserPassword("orders", "")}, "WithUserPassword needs a user and a password", false},
		{"empty NKey path", []gobus.Option{gobus.WithURL(url), gobus.WithNKeyFile("")}, "WithNKeyFile: the path is empty", false},
		{"empty credentials path", []gobus.Option{gobus.WithURL(url), gobus.WithCredentialsFile("")}, "WithCredentialsFile: the path is empty", false},
		{"missing NKey file", []gobus.Option{gobus.WithURL(url), gobus.WithNKeyFile(filepath.Join(dir, "missing.nk"))}, "NKey seed file: open ", true},
		{"NKey file without a seed", []gobus.Option{gobus.WithURL(url), gobus.WithNKeyFile(notASeed)}, "holds no user NKey seed", false},
		{"missing credentials file", []gobus.Option{gobus.WithURL(url), gobus.WithCredentialsFile(filepath.Join(dir, "missing.creds"))}, "credentials file: open ", true},
		{"credentials file without a JWT", []gobus.Option{gobus.WithURL(url), gobus.WithCredentialsFile(notASeed)}, "holds no valid user JWT", false},
		{"certificate without a key", []gobus.Option{gobus.WithURL(url), gobus.WithTLS(gobus.TLS{CertFile: certs.ClientCertFile})}, "needs both a certificate file and a key file", false},
		{"CA file without a certificate", []gobus.Option{gobus.WithURL(url), gobus.WithTLS(gobus.TLS{CAFile: notASeed})}, "holds no PEM certificate", false},
		{"embedded server with a token", []gobus.Option{gobus.WithEmbeddedServer(gobus.EmbeddedServer{StoreDir: t.TempDir()}), gobus.WithToken(testToken)}, "WithEmbeddedServer connects in process and needs none", false},
		{"embedded server with TLS", []gobus.Option{gobus.WithEmbeddedServer(gobus.EmbeddedServer{StoreDir: t.TempDir()}), gobus.WithTLS(gobus.TLS{})}, "WithEmbeddedServer connects in process", false},
		{"a connection with a password", []gobus.Option{gobus.WithConn(nc), gobus.WithUserPassword("orders", testPassword)}, "no effect with WithConn", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			logger, logs := capturingLogger()
			c, err := gobus.Connect(context.Background(), append(tc.opts, gobus.WithLogger(logger))...)
			if err == nil {
				_ = c.Close(context.Background())
				t.Fatal("Connect succeeded, want an error")
			}
			if !errors.Is(err, gobus.ErrInvalidOption) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Connect error %q: want ErrInvalidOption mentioning %q", err, tc.want)
			}
			if errors.Is(err, fs.ErrNotExist) != tc.notExist {
				t.Errorf("Connect error %q: errors.Is(fs.ErrNotExist) = %v, want %v", err, !tc.notExist, tc.notExist)
			}
			for _, s := range []string{testPassword, testToken} {
				if strings.Contains(err.Error(), s) || strings.Contains(logs.String(), s) {
					t.Errorf("a secret shows in the error %q or the log:\n%s", err, logs)
				}
			}
		})
	}
}
