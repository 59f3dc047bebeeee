// Package natsauth turns how a client authenticates to NATS and secures its
// connection into nats.go options, after checking that the files exist and
// hold what they should. The runtime's connection options and the operator
// command line both use it, so that both accept and reject the same things.
//
// Errors name settings and files, never a password, a token, a JWT or a
// key, so that they can be logged and shown.
package natsauth

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// Config is how to authenticate and whether to use TLS. At most one way to
// authenticate may be set: a user and password, a token, an NKey seed file
// or a credentials file. TLS goes with any of them. The zero Config adds
// nothing to a connection.
type Config struct {
	// User and Password authenticate as a user the server knows by name.
	User, Password string
	// Token authenticates with a token the server knows.
	Token string
	// NKeyFile is a file holding a user's NKey seed ("SU…"); the server
	// knows the user by its public key.
	NKeyFile string
	// CredentialsFile is a credentials file, as nsc writes it: a user JWT
	// and the user's NKey seed, for servers in operator mode.
	CredentialsFile string
	// TLS, if not nil, requires TLS.
	TLS *TLS
}

// TLS secures the connection. The zero TLS requires TLS and verifies the
// server against the system's roots.
type TLS struct {
	// CAFile is a PEM file with the certificates of the authorities that
	// sign the server's certificate, instead of the system's roots.
	CAFile string
	// CertFile and KeyFile are PEM files with the client's certificate and
	// its private key, for servers that verify clients. Both or neither.
	CertFile, KeyFile string
	// ServerName is the name the server's certificate must carry, when it
	// differs from the host in the URL.
	ServerName string
}

// IsZero reports whether c adds nothing to a connection.
func (c Config) IsZero() bool { return c == Config{} }

// Options checks c and returns the nats.go options that apply it. Files are
// read and parsed now, so that a missing or wrong file fails before
// connecting; nats.go reads them again at every connection, so that rotated
// files take effect when the client reconnects.
func (c Config) Options() ([]nats.Option, error) {
	opts, err := c.authOptions()
	if err != nil {
		return nil, err
	}
	if c.TLS != nil {
		tlsOpts, err := c.TLS.options()
		if err != nil {
			return nil, err
		}
		opts = append(opts, tlsOpts...)
	}
	return opts, nil
}

// methods names the ways to authenticate that c sets.
func (c Config) methods() []string {
	var set []string
	if c.User != "" || c.Password != "" {
		set = append(set, "a user and password")
	}
	if c.Token != "" {
		set = append(set, "a token")
	}
	if c.NKeyFile != "" {
		set = append(set, "an NKey seed file")
	}
	if c.CredentialsFile != "" {
		set = append(set, "a credentials file")
	}
	return set
}

func (c Config) authOptions() ([]nats.Option, error) {
	set := c.methods()
	if len(set) > 1 {
		return nil, fmt.Errorf("authenticate one way, not with %s", strings.Join(set, " and "))
	}
	switch {
	case c.User != "" && c.Password == "":
		return nil, errors.New("the user needs a password")
	case c.User == "" && c.Password != "":
		return nil, errors.New("the password needs a user")
	case c.User != "":
		return []nats.Option{nats.UserInfo(c.User, c.Password)}, nil
	case c.Token != "":
		return []nats.Option{nats.Token(c.Token)}, nil
	case c.NKeyFile != "":
		return nkeyOptions(c.NKeyFile)
	case c.CredentialsFile != "":
		return credentialsOptions(c.CredentialsFile)
	}
	return nil, nil
}

func nkeyOptions(path string) ([]nats.Option, error) {
	if err := checkNKeyFile(path); err != nil {
		return nil, err
	}
	opt, err := nats.NkeyOptionFromSeed(path)
	if err != nil {
		// Checked above; a file changed under our feet.
		return nil, fmt.Errorf("NKey seed file %s: cannot be used", path)
	}
	return []nats.Option{opt}, nil
}

// checkNKeyFile checks that path holds a user's NKey seed.
func checkNKeyFile(path string) error {
	data, err := readSecret("NKey seed file", path)
	if err != nil {
		return err
	}
	defer wipe(data)
	kp, err := nkeys.ParseDecoratedUserNKey(data)
	if err != nil {
		return fmt.Errorf("NKey seed file %s holds no user NKey seed (one starting with SU)", path)
	}
	kp.Wipe()
	return nil
}

func credentialsOptions(path string) ([]nats.Option, error) {
	if err := checkCredentialsFile(path); err != nil {
		return nil, err
	}
	return []nats.Option{nats.UserCredentials(path)}, nil
}

// checkCredentialsFile checks that path holds a user JWT and the NKey seed
// of the same user.
func checkCredentialsFile(path string) error {
	data, err := readSecret("credentials file", path)
	if err != nil {
		return err
	}
	defer wipe(data)
	token, err := jwt.ParseDecoratedJWT(data)
	if err != nil {
		return fmt.Errorf("credentials file %s holds no user JWT", path)
	}
	claims, err := jwt.DecodeUserClaims(token)
	if err != nil {
		return fmt.Errorf("credentials file %s holds no valid user JWT", path)
	}
	kp, err := nkeys.ParseDecoratedUserNKey(data)
	if err != nil {
		return fmt.Errorf("credentials file %s holds no user NKey seed", path)
	}
	defer kp.Wipe()
	public, err := kp.PublicKey()
	if err != nil || public != claims.Subject {
		return fmt.Errorf("credentials file %s: its NKey seed is not the key of the user its JWT names", path)
	}
	return nil
}

func (t *TLS) options() ([]nats.Option, error) {
	// nats.go fills in the certificates at each handshake.
	opts := []nats.Option{nats.Secure(&tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName})}
	if t.CAFile != "" {
		if err := checkCAFile(t.CAFile); err != nil {
			return nil, err
		}
		opts = append(opts, nats.RootCAs(t.CAFile))
	}
	switch {
	case t.CertFile == "" && t.KeyFile == "":
	case t.CertFile == "" || t.KeyFile == "":
		return nil, errors.New("a TLS client certificate needs both a certificate file and a key file")
	default:
		if _, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile); err != nil {
			return nil, fmt.Errorf("TLS client certificate %s with key %s: %w", t.CertFile, t.KeyFile, err)
		}
		opts = append(opts, nats.ClientCert(t.CertFile, t.KeyFile))
	}
	return opts, nil
}

func checkCAFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("TLS CA file: %w", err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(data) {
		return fmt.Errorf("TLS CA file %s holds no PEM certificate", path)
	}
	return nil
}

// readSecret reads a file that holds a key; the caller wipes the bytes.
func readSecret(what, path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return bytes.TrimSpace(data), nil
}

// wipe overwrites key material that is no longer needed.
func wipe(b []byte) {
	for i := range b {
		b[i] = 'x'
	}
}
