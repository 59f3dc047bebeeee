package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/gobusdev/gobus/internal/cli"
	"github.com/gobusdev/gobus/internal/natstest"
	gobus "github.com/gobusdev/gobus/runtime"
)

const (
	cliPassword = "pw-Cl1-do-not-print"
	cliToken    = "tok-Cl1-do-not-print"
)

// securedServer is a server that requires one way to authenticate or TLS,
// with the gobus streams installed, and the CLI flags that reach it.
type securedServer struct {
	url   string
	flags []string
}

// newSecuredServer starts a server configured by configure and installs
// the gobus streams with a client that uses opts, so that status has
// something to show.
func newSecuredServer(t *testing.T, configure func(*server.Options), opts []gobus.Option, flags ...string) securedServer {
	t.Helper()
	url := natstest.RunServerWith(t, configure).ClientURL()
	ctx := context.Background()
	c, err := gobus.Connect(ctx, append([]gobus.Option{gobus.WithURL(url)}, opts...)...)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return securedServer{url: url, flags: flags}
}

// The connection flags reach a server that requires each way to
// authenticate, and TLS with a client certificate.
func TestStatusWithConnectionFlags(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		setup func(t *testing.T) securedServer
	}{
		{"--user and --password", func(t *testing.T) securedServer {
			return newSecuredServer(t, natstest.RequireUserPassword("ops", cliPassword),
				[]gobus.Option{gobus.WithUserPassword("ops", cliPassword)},
				"--user", "ops", "--password", cliPassword)
		}},
		{"--token", func(t *testing.T) securedServer {
			return newSecuredServer(t, natstest.RequireToken(cliToken), []gobus.Option{gobus.WithToken(cliToken)}, "--token", cliToken)
		}},
		{"--nkey", func(t *testing.T) securedServer {
			seedFile, publicKey := natstest.NewNKeyUser(t)
			return newSecuredServer(t, natstest.RequireNKey(publicKey), []gobus.Option{gobus.WithNKeyFile(seedFile)}, "--nkey", seedFile)
		}},
		{"--creds", func(t *testing.T) securedServer {
			op := natstest.NewOperator(t)
			creds := op.UserCredentials(t)
			return newSecuredServer(t, op.Require, []gobus.Option{gobus.WithCredentialsFile(creds)}, "--creds", creds)
		}},
		{"--tlsca, --tlscert and --tlskey", func(t *testing.T) securedServer {
			certs := natstest.NewCerts(t)
			return newSecuredServer(t, certs.RequireTLS(t, true),
				[]gobus.Option{gobus.WithTLS(gobus.TLS{CAFile: certs.CAFile, CertFile: certs.ClientCertFile, KeyFile: certs.ClientKeyFile})},
				"--tlsca", certs.CAFile, "--tlscert", certs.ClientCertFile, "--tlskey", certs.ClientKeyFile)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := tc.setup(t)
			if out := mustCLI(t, s.url, append(s.flags, "status")...); !strings.Contains(out, "worker") {
				t.Errorf("status:\n%s", out)
			}
			if _, err := gobusCLI(t, s.url, "status"); err == nil {
				t.Error("status without the flags succeeded, want an error")
			}
		})
	}
}

// Wrong credentials and TLS mistakes fail with the server's reason and a
// hint at the flags to check, without showing the secret.
func TestConnectionFlagMistakes(t *testing.T) {
	t.Parallel()
	certs := natstest.NewCerts(t)
	userServer := newSecuredServer(t, natstest.RequireUserPassword("ops", cliPassword), []gobus.Option{gobus.WithUserPassword("ops", cliPassword)})
	tlsServer := newSecuredServer(t, certs.RequireTLS(t, true),
		[]gobus.Option{gobus.WithTLS(gobus.TLS{CAFile: certs.CAFile, CertFile: certs.ClientCertFile, KeyFile: certs.ClientKeyFile})})
	cases := []struct {
		name string
		url  string
		args []string
		want []string
	}{
		{"wrong password", userServer.url, []string{"--user", "ops", "--password", "wrong-" + cliPassword}, []string{"Authorization Violation", "check --user and --password"}},
		{"wrong password in the URL", strings.Replace(userServer.url, "nats://", "nats://ops:wrong-"+cliPassword+"@", 1), nil, []string{"nats://[REDACTED]@127.0.0.1", "Authorization Violation"}},
		{"a token where a password is wanted", userServer.url, []string{"--token", cliToken}, []string{"Authorization Violation", "GOBUS_TOKEN"}},
		{"user without a password", userServer.url, []string{"--user", "ops"}, []string{"the user needs a password", "connection flags"}},
		{"two ways", userServer.url, []string{"--user", "ops", "--password", cliPassword, "--token", cliToken}, []string{"authenticate one way, not with a user and password and a token"}},
		{"no client certificate", tlsServer.url, []string{"--tlsca", certs.CAFile}, []string{"tls", "check the server URL and --tlsca, --tlscert and --tlskey"}},
		{"no CA", tlsServer.url, []string{"--tlscert", certs.ClientCertFile, "--tlskey", certs.ClientKeyFile}, []string{"certificate signed by unknown authority", "--tlsca"}},
		{"certificate without a key", tlsServer.url, []string{"--tlsca", certs.CAFile, "--tlscert", certs.ClientCertFile}, []string{"needs both a certificate file and a key file"}},
		{"missing CA file", tlsServer.url, []string{"--tlsca", certs.CAFile + ".missing"}, []string{"TLS CA file: open " + certs.CAFile + ".missing"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			code := cli.Main(append([]string{"--server", tc.url}, append(tc.args, "status")...), &out, &errOut)
			got := errOut.String()
			if code == 0 {
				t.Fatalf("gobus status succeeded:\n%s", out.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("stderr %q lacks %q", got, w)
				}
			}
			if strings.Contains(got+out.String(), cliPassword) || strings.Contains(got+out.String(), cliToken) {
				t.Errorf("a secret shows in the output:\n%s%s", out.String(), got)
			}
		})
	}
}

// Passwords and tokens from the environment are used, and the help, which
// shows the defaults of the flags, shows neither them nor the password in
// GOBUS_URL. t.Setenv rules out t.Parallel.
func TestConnectionSecretsFromEnvironment(t *testing.T) {
	userServer := newSecuredServer(t, natstest.RequireUserPassword("ops", cliPassword), []gobus.Option{gobus.WithUserPassword("ops", cliPassword)})
	tokenServer := newSecuredServer(t, natstest.RequireToken(cliToken), []gobus.Option{gobus.WithToken(cliToken)})

	t.Setenv("GOBUS_URL", userServer.url)
	t.Setenv("GOBUS_USER", "ops")
	t.Setenv("GOBUS_PASSWORD", cliPassword)
	if out, code := runMain("status"); code != 0 || !strings.Contains(out, "worker") {
		t.Errorf("status with GOBUS_USER and GOBUS_PASSWORD: exit %d\n%s", code, out)
	}
	t.Setenv("GOBUS_USER", "")
	t.Setenv("GOBUS_PASSWORD", "")
	t.Setenv("GOBUS_URL", tokenServer.url)
	t.Setenv("GOBUS_TOKEN", cliToken)
	if out, code := runMain("status"); code != 0 || !strings.Contains(out, "worker") {
		t.Errorf("status with GOBUS_TOKEN: exit %d\n%s", code, out)
	}

	t.Setenv("GOBUS_URL", strings.Replace(userServer.url, "nats://", "nats://ops:"+cliPassword+"@", 1))
	t.Setenv("GOBUS_PASSWORD", cliPassword)
	help, code := runMain("--help")
	if code != 0 || !strings.Contains(help, "--password") || !strings.Contains(help, "GOBUS_TLS_CA") || !strings.Contains(help, "nats://[REDACTED]@127.0.0.1") {
		t.Errorf("help: exit %d\n%s", code, help)
	}
	if strings.Contains(help, cliPassword) || strings.Contains(help, cliToken) {
		t.Errorf("the help shows a secret:\n%s", help)
	}
}

// runMain runs the command line with args and returns its output, stdout
// and stderr, and exit code.
func runMain(args ...string) (string, int) {
	var out bytes.Buffer
	code := cli.Main(args, &out, &out)
	return out.String(), code
}
