package natsauth_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/gobusdev/gobus/internal/natsauth"
	"github.com/gobusdev/gobus/internal/natstest"
)

const (
	password = "pw-Zq81-do-not-print"
	token    = "tok-Jx47-do-not-print"
)

// apply runs opts on nats.go's defaults, as a connection would.
func apply(t *testing.T, opts []nats.Option) nats.Options {
	t.Helper()
	o := nats.GetDefaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			t.Fatalf("applying an option: %v", err)
		}
	}
	return o
}

// Each way to authenticate becomes the nats.go option that carries it, and
// TLS goes with any of them.
func TestOptions(t *testing.T) {
	t.Parallel()
	certs := natstest.NewCerts(t)
	seedFile, publicKey := natstest.NewNKeyUser(t)
	creds := natstest.NewOperator(t).UserCredentials(t)

	if opts, err := (natsauth.Config{}).Options(); err != nil || len(opts) != 0 {
		t.Errorf("zero Config: %d options, %v; want none", len(opts), err)
	}

	o := apply(t, mustOptions(t, natsauth.Config{User: "orders", Password: password}))
	if o.User != "orders" || o.Password != password || o.Secure {
		t.Errorf("user and password: user %q, secure %v", o.User, o.Secure)
	}
	if o := apply(t, mustOptions(t, natsauth.Config{Token: token})); o.Token != token {
		t.Error("token not set")
	}
	if o := apply(t, mustOptions(t, natsauth.Config{NKeyFile: seedFile})); o.Nkey != publicKey || o.SignatureCB == nil {
		t.Errorf("NKey: public key %q, want %q, and a signature callback", o.Nkey, publicKey)
	}
	if o := apply(t, mustOptions(t, natsauth.Config{CredentialsFile: creds})); o.UserJWT == nil || o.SignatureCB == nil {
		t.Error("credentials: no JWT or signature callback")
	}

	o = apply(t, mustOptions(t, natsauth.Config{Token: token, TLS: &natsauth.TLS{
		CAFile: certs.CAFile, CertFile: certs.ClientCertFile, KeyFile: certs.ClientKeyFile, ServerName: natstest.CertServerName,
	}}))
	if !o.Secure || o.TLSConfig.ServerName != natstest.CertServerName || o.RootCAsCB == nil || o.TLSCertCB == nil || o.Token != token {
		t.Errorf("TLS with a token: secure %v, server name %q, CA %v, client cert %v", o.Secure, o.TLSConfig.ServerName, o.RootCAsCB != nil, o.TLSCertCB != nil)
	}
	if o := apply(t, mustOptions(t, natsauth.Config{TLS: &natsauth.TLS{}})); !o.Secure || o.RootCAsCB != nil || o.TLSCertCB != nil {
		t.Error("zero TLS: want TLS with the system's roots and no client certificate")
	}
}

func mustOptions(t *testing.T, c natsauth.Config) []nats.Option {
	t.Helper()
	opts, err := c.Options()
	if err != nil {
		t.Fatalf("Options: %v", err)
	}
	return opts
}

// Mistakes fail before connecting, say what is wrong with which file, and
// never show a password, token, seed or JWT.
func TestOptionsRejectMistakes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certs := natstest.NewCerts(t)
	other := natstest.NewCerts(t)
	seedFile, _ := natstest.NewNKeyUser(t)
	seed := readFile(t, seedFile)
	creds := natstest.NewOperator(t).UserCredentials(t)
	accountSeed := newSeed(t, nkeys.CreateAccount)
	mixedCreds := mixedCredentials(t, creds)
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	missing := filepath.Join(dir, "missing")
	secrets := []string{password, token, string(seed), string(accountSeed), jwtOf(t, creds)}

	cases := []struct {
		name     string
		cfg      natsauth.Config
		want     string
		notExist bool
	}{
		{"two ways", natsauth.Config{Token: token, User: "orders", Password: password}, "authenticate one way, not with a user and password and a token", false},
		{"three ways", natsauth.Config{Token: token, NKeyFile: seedFile, CredentialsFile: creds}, "not with a token and an NKey seed file and a credentials file", false},
		{"user without a password", natsauth.Config{User: "orders"}, "the user needs a password", false},
		{"password without a user", natsauth.Config{Password: password}, "the password needs a user", false},
		{"missing NKey file", natsauth.Config{NKeyFile: missing}, "NKey seed file: open " + missing, true},
		{"NKey file with a token", natsauth.Config{NKeyFile: write("token.nk", []byte(token))}, "holds no user NKey seed", false},
		{"NKey file with an account seed", natsauth.Config{NKeyFile: write("account.nk", accountSeed)}, "holds no user NKey seed (one starting with SU)", false},
		{"missing credentials file", natsauth.Config{CredentialsFile: missing}, "credentials file: open " + missing, true},
		{"credentials file with only a seed", natsauth.Config{CredentialsFile: seedFile}, "credentials file " + seedFile + " holds no valid user JWT", false},
		{"credentials file of two users", natsauth.Config{CredentialsFile: write("mixed.creds", mixedCreds)}, "its NKey seed is not the key of the user its JWT names", false},
		{"missing CA file", natsauth.Config{TLS: &natsauth.TLS{CAFile: missing}}, "TLS CA file: open " + missing, true},
		{"CA file without a certificate", natsauth.Config{TLS: &natsauth.TLS{CAFile: write("ca.pem", []byte(token))}}, "holds no PEM certificate", false},
		{"certificate without a key", natsauth.Config{TLS: &natsauth.TLS{CertFile: certs.ClientCertFile}}, "needs both a certificate file and a key file", false},
		{"key without a certificate", natsauth.Config{TLS: &natsauth.TLS{KeyFile: certs.ClientKeyFile}}, "needs both a certificate file and a key file", false},
		{"key of another certificate", natsauth.Config{TLS: &natsauth.TLS{CertFile: certs.ClientCertFile, KeyFile: other.ClientKeyFile}}, "private key does not match public key", false},
		{"missing certificate file", natsauth.Config{TLS: &natsauth.TLS{CertFile: missing, KeyFile: certs.ClientKeyFile}}, "TLS client certificate " + missing, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := tc.cfg.Options()
			if err == nil {
				t.Fatal("Options succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
			if errors.Is(err, fs.ErrNotExist) != tc.notExist {
				t.Errorf("error %q: errors.Is(fs.ErrNotExist) = %v, want %v", err, !tc.notExist, tc.notExist)
			}
			for _, s := range secrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q shows a secret", err)
				}
			}
		})
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSpace(data)
}

func newSeed(t *testing.T, create func() (nkeys.KeyPair, error)) []byte {
	t.Helper()
	kp, err := create()
	if err != nil {
		t.Fatal(err)
	}
	seed, err := kp.Seed()
	if err != nil {
		t.Fatal(err)
	}
	return seed
}

func jwtOf(t *testing.T, creds string) string {
	t.Helper()
	token, err := jwt.ParseDecoratedJWT(readFile(t, creds))
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// mixedCredentials is a credentials file with the JWT of creds and the
// seed of another user.
func mixedCredentials(t *testing.T, creds string) []byte {
	t.Helper()
	kp, err := nkeys.ParseDecoratedUserNKey(readFile(t, creds))
	if err != nil {
		t.Fatal(err)
	}
	seed, err := kp.Seed()
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Replace(readFile(t, creds), seed, newSeed(t, nkeys.CreateUser), 1)
}
