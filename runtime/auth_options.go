package gobus

import (
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/gobusdev/gobus/internal/natsauth"
)

// TLS secures the connection to the NATS server; see [WithTLS]. File names
// are read when the client connects and again whenever it reconnects, so
// that renewed certificates take effect without a restart.
type TLS struct {
	// CAFile is a PEM file with the certificates of the authorities that
	// sign the server's certificate. Empty uses the system's roots.
	CAFile string
	// CertFile and KeyFile are PEM files with the client's certificate and
	// its private key, for servers that verify their clients. Give both or
	// neither.
	CertFile string
	KeyFile  string
	// ServerName is the name the server's certificate must carry, when it
	// differs from the host in the URL (such as a server reached by IP).
	ServerName string
}

// authConfig is how the client authenticates and secures its connection.
type authConfig struct {
	natsauth.Config
	// errs are mistakes found when the options were applied.
	errs []error
	// options are the resolved NATS options, set by validate.
	options []nats.Option
}

// WithUserPassword authenticates to the NATS server as user with password.
//
// Only one of [WithUserPassword], [WithToken], [WithNKeyFile] and
// [WithCredentialsFile] may be given. A user and password or a token in
// the URL (nats://user:password@host) take the place of WithUserPassword
// and WithToken. Errors and logs never show the password, nor credentials
// in the URL.
func WithUserPassword(user, password string) Option {
	return clientOptionFunc(func(c *clientConfig) {
		c.auth.User, c.auth.Password = user, password
		if user == "" || password == "" {
			c.auth.errs = append(c.auth.errs, invalidf("WithUserPassword needs a user and a password"))
		}
	})
}

// WithToken authenticates to the NATS server with a token. Errors and logs
// never show it.
func WithToken(token string) Option {
	return clientOptionFunc(func(c *clientConfig) {
		c.auth.Token = token
		if token == "" {
			c.auth.errs = append(c.auth.errs, invalidf("WithToken: the token is empty"))
		}
	})
}

// WithNKeyFile authenticates to the NATS server with the user NKey seed
// ("SU…") in the file at path, signing the server's challenge; the seed
// never leaves the process, and is read only while signing. Connect fails
// if the file is missing or holds no user seed.
func WithNKeyFile(path string) Option {
	return clientOptionFunc(func(c *clientConfig) {
		c.auth.NKeyFile = path
		if path == "" {
			c.auth.errs = append(c.auth.errs, invalidf("WithNKeyFile: the path is empty"))
		}
	})
}

// WithCredentialsFile authenticates to a NATS server in operator mode with
// the credentials file at path, as nsc writes it: a user JWT and that
// user's NKey seed. Connect fails if the file is missing, or lacks either
// part, or its seed is not the key of its JWT's user.
func WithCredentialsFile(path string) Option {
	return clientOptionFunc(func(c *clientConfig) {
		c.auth.CredentialsFile = path
		if path == "" {
			c.auth.errs = append(c.auth.errs, invalidf("WithCredentialsFile: the path is empty"))
		}
	})
}

// WithTLS requires TLS on the connection to the NATS server, with the
// authorities, client certificate and server name in t. WithTLS(TLS{})
// requires TLS and verifies the server against the system's roots, as a
// tls:// URL does. Connect fails if a file is missing or does not parse.
// It combines with any way to authenticate.
func WithTLS(t TLS) Option {
	return clientOptionFunc(func(c *clientConfig) {
		c.auth.TLS = &natsauth.TLS{CAFile: t.CAFile, CertFile: t.CertFile, KeyFile: t.KeyFile, ServerName: t.ServerName}
	})
}

// validateAuth checks the authentication and TLS options and resolves
// them into NATS options, which come before those of [WithNATSOptions].
func (c *clientConfig) validateAuth() error {
	if len(c.auth.errs) > 0 {
		return c.auth.errs[0]
	}
	if c.auth.IsZero() {
		return nil
	}
	switch {
	case c.embedded != nil:
		return invalidf("WithUserPassword, WithToken, WithNKeyFile, WithCredentialsFile and WithTLS secure the connection to a NATS server; WithEmbeddedServer connects in process and needs none")
	case c.conn != nil:
		return invalidf("WithUserPassword, WithToken, WithNKeyFile, WithCredentialsFile and WithTLS have no effect with WithConn: secure the connection where it is made")
	}
	opts, err := c.auth.Options()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	c.auth.options = opts
	return nil
}
