package natstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
)

// The servers these helpers configure are started with [RunServerWith]:
//
//	ns := natstest.RunServerWith(t, natstest.RequireToken("s3cret"))

// CertServerName is the DNS name that the server certificate of
// [NewCerts] carries besides the IP address 127.0.0.1.
const CertServerName = "nats.gobus.test"

// Certs are PEM files in a test's temporary directory: a certificate
// authority, and a server and a client certificate it signed.
type Certs struct {
	// CAFile is the authority's certificate.
	CAFile string
	// ServerCertFile and ServerKeyFile are valid for 127.0.0.1 and
	// [CertServerName].
	ServerCertFile, ServerKeyFile string
	// ClientCertFile and ClientKeyFile are a client certificate.
	ClientCertFile, ClientKeyFile string
}

// NewCerts makes a new authority with a server and a client certificate.
// Two calls make two authorities that do not trust each other.
func NewCerts(t testing.TB) *Certs {
	t.Helper()
	dir := t.TempDir()
	caKey := newKey(t)
	caTemplate := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "gobus test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatalf("natstest: CA certificate: %v", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatalf("natstest: CA certificate: %v", err)
	}
	c := &Certs{CAFile: filepath.Join(dir, "ca.pem")}
	writePEM(t, c.CAFile, "CERTIFICATE", caDER)
	c.ServerCertFile, c.ServerKeyFile = issue(t, dir, "server", ca, caKey, &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: CertServerName},
		DNSNames:     []string{CertServerName},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	c.ClientCertFile, c.ClientKeyFile = issue(t, dir, "client", ca, caKey, &x509.Certificate{
		SerialNumber: big.NewInt(3),
		Subject:      pkix.Name{CommonName: "gobus test client"},
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	return c
}

// issue signs template with the CA and writes the certificate and its key
// as name.pem and name-key.pem.
func issue(t testing.TB, dir, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, template *x509.Certificate) (certFile, keyFile string) {
	t.Helper()
	key := newKey(t)
	template.NotBefore = time.Now().Add(-time.Hour)
	template.NotAfter = time.Now().Add(24 * time.Hour)
	template.KeyUsage = x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, template, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatalf("natstest: %s certificate: %v", name, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("natstest: %s key: %v", name, err)
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "PRIVATE KEY", keyDER)
	return certFile, keyFile
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("natstest: key: %v", err)
	}
	return key
}

func writePEM(t testing.TB, path, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatalf("natstest: %v", err)
	}
}

// RequireTLS makes the server require TLS with the server certificate of
// c, and, if verifyClients is set, a client certificate that c's
// authority signed.
func (c *Certs) RequireTLS(t testing.TB, verifyClients bool) func(*server.Options) {
	t.Helper()
	tc, err := server.GenTLSConfig(&server.TLSConfigOpts{
		CertFile: c.ServerCertFile,
		KeyFile:  c.ServerKeyFile,
		CaFile:   c.CAFile,
		Verify:   verifyClients,
	})
	if err != nil {
		t.Fatalf("natstest: server TLS: %v", err)
	}
	return func(o *server.Options) {
		o.TLS = true
		o.TLSConfig = tc
		o.TLSVerify = verifyClients
		o.TLSTimeout = 5
	}
}

// RequireUserPassword makes the server accept only user with password.
func RequireUserPassword(user, password string) func(*server.Options) {
	return func(o *server.Options) {
		o.Username = user
		o.Password = password
	}
}

// RequireToken makes the server accept only clients with token.
func RequireToken(token string) func(*server.Options) {
	return func(o *server.Options) { o.Authorization = token }
}

// NewNKeyUser makes a user NKey, writes its seed to a file in a temporary
// directory, and returns the file and the public key.
func NewNKeyUser(t testing.TB) (seedFile, publicKey string) {
	t.Helper()
	kp := newNKey(t, nkeys.CreateUser)
	seed, _ := kp.Seed()
	publicKey, _ = kp.PublicKey()
	seedFile = filepath.Join(t.TempDir(), "user.nk")
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		t.Fatalf("natstest: %v", err)
	}
	return seedFile, publicKey
}

// RequireNKey makes the server accept only the user with publicKey.
func RequireNKey(publicKey string) func(*server.Options) {
	return func(o *server.Options) { o.Nkeys = []*server.NkeyUser{{Nkey: publicKey}} }
}

// Operator is a NATS operator with a system account and one account that
// may use JetStream, for servers in operator (decentralised JWT) mode.
type Operator struct {
	claims   *jwt.OperatorClaims
	account  nkeys.KeyPair
	accounts map[string]string // public key → JWT
}

// NewOperator makes an operator and its accounts.
func NewOperator(t testing.TB) *Operator {
	t.Helper()
	okp := newNKey(t, nkeys.CreateOperator)
	opub, _ := okp.PublicKey()
	op := &Operator{account: newNKey(t, nkeys.CreateAccount), accounts: map[string]string{}}
	// JetStream needs the system account for its internal subscriptions.
	sysPub := op.addAccount(t, okp, newNKey(t, nkeys.CreateAccount), nil)
	op.addAccount(t, okp, op.account, &jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1})
	oc := jwt.NewOperatorClaims(opub)
	oc.SystemAccount = sysPub
	ojwt, err := oc.Encode(okp)
	if err != nil {
		t.Fatalf("natstest: operator JWT: %v", err)
	}
	if op.claims, err = jwt.DecodeOperatorClaims(ojwt); err != nil {
		t.Fatalf("natstest: operator JWT: %v", err)
	}
	return op
}

// addAccount signs the JWT of account with the operator's key and returns
// the account's public key.
func (op *Operator) addAccount(t testing.TB, operator, account nkeys.KeyPair, js *jwt.JetStreamLimits) string {
	t.Helper()
	pub, _ := account.PublicKey()
	ac := jwt.NewAccountClaims(pub)
	if js != nil {
		ac.Limits.JetStreamLimits = *js
	}
	token, err := ac.Encode(operator)
	if err != nil {
		t.Fatalf("natstest: account JWT: %v", err)
	}
	op.accounts[pub] = token
	return pub
}

// Require makes the server trust only the operator and know its accounts.
func (op *Operator) Require(o *server.Options) {
	resolver := &server.MemAccResolver{}
	for pub, token := range op.accounts {
		_ = resolver.Store(pub, token)
	}
	o.TrustedOperators = []*jwt.OperatorClaims{op.claims}
	o.SystemAccount = op.claims.SystemAccount
	o.AccountResolver = resolver
}

// UserCredentials makes a user of the operator's account and writes its
// credentials file (JWT and NKey seed) in a temporary directory.
func (op *Operator) UserCredentials(t testing.TB) string {
	t.Helper()
	ukp := newNKey(t, nkeys.CreateUser)
	upub, _ := ukp.PublicKey()
	ujwt, err := jwt.NewUserClaims(upub).Encode(op.account)
	if err != nil {
		t.Fatalf("natstest: user JWT: %v", err)
	}
	seed, _ := ukp.Seed()
	creds, err := jwt.FormatUserConfig(ujwt, seed)
	if err != nil {
		t.Fatalf("natstest: credentials: %v", err)
	}
	path := filepath.Join(t.TempDir(), "user.creds")
	if err := os.WriteFile(path, creds, 0o600); err != nil {
		t.Fatalf("natstest: %v", err)
	}
	return path
}

func newNKey(t testing.TB, create func() (nkeys.KeyPair, error)) nkeys.KeyPair {
	t.Helper()
	kp, err := create()
	if err != nil {
		t.Fatalf("natstest: %v", err)
	}
	return kp
}
