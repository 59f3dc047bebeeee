// Package cli is the gobus command line: init sets up a module for gobus;
// status and errors operate endpoints and the error stream (list, show,
// retry, delete) without writing code. cmd/gobus is its thin main.
package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/gobusdev/gobus/internal/natsauth"
	"github.com/gobusdev/gobus/internal/natsurl"
	"github.com/gobusdev/gobus/internal/topology"
)

// options are the global flags, also read from the environment.
type options struct {
	server   string
	user     string
	password string
	token    string
	nkey     string
	creds    string
	tlsCA    string
	tlsCert  string
	tlsKey   string
	prefix   string
	jsonOut  bool
	timeout  time.Duration
	out      io.Writer
}

// session is a connection to the server for one command.
type session struct {
	opts  *options
	nc    *nats.Conn
	js    jetstream.JetStream
	names topology.Names
}

// Main runs the command line with args and returns the exit code. An
// error goes to stderr, as {"error": "..."} with --json.
func Main(args []string, stdout, stderr io.Writer) int {
	cmd := NewCommand(stdout, stderr)
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		if wantsJSON(cmd, args) {
			_ = printJSON(stderr, struct {
				Error string `json:"error"`
			}{err.Error()})
		} else {
			fmt.Fprintln(stderr, "gobus:", err)
		}
		return 1
	}
	return 0
}

// wantsJSON reports whether --json was given, also when the error came
// before the flags were parsed.
func wantsJSON(root *cobra.Command, args []string) bool {
	if f := root.PersistentFlags().Lookup("json"); f != nil && f.Value.String() == "true" {
		return true
	}
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "--json" || a == "--json=true" {
			return true
		}
	}
	return false
}

// NewCommand returns the root command, writing to stdout and stderr.
func NewCommand(stdout, stderr io.Writer) *cobra.Command {
	o := &options{out: stdout}
	root := &cobra.Command{
		Use:   "gobus",
		Short: "Start gobus services and operate their endpoints",
		Long: `gobus init sets up a Go module for gobus: buf configuration, the gobus
options, an example contract and program, and the tools in go.mod.

gobus status and gobus errors show the state of gobus endpoints on a NATS
JetStream server and manage the messages in the error stream: list them,
show one, send them back to their endpoint once the bug is fixed, or delete
them.

Flags may also be set in the environment: GOBUS_URL, GOBUS_USER,
GOBUS_PASSWORD, GOBUS_TOKEN, GOBUS_NKEY, GOBUS_CREDS, GOBUS_TLS_CA,
GOBUS_TLS_CERT, GOBUS_TLS_KEY, GOBUS_PREFIX. Authenticate one way: a user
and password, a token, an NKey seed file or a credentials file; TLS goes
with any of them. Give passwords and tokens in the environment rather than
as flags, which other users of the machine can see in the process list;
help and errors never show them.`,
		Version:       version(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("gobus {{.Version}}\n")
	root.SetOut(stdout)
	root.SetErr(stderr)
	f := root.PersistentFlags()
	f.StringVarP(&o.server, "server", "s", envOr("GOBUS_URL", nats.DefaultURL), "NATS server URL (env GOBUS_URL)")
	// The help shows defaults; a URL from the environment may hold a
	// password.
	f.Lookup("server").DefValue = natsurl.Redact(o.server)
	f.StringVar(&o.user, "user", os.Getenv("GOBUS_USER"), "user name, with --password (env GOBUS_USER)")
	// Secrets from the environment are read when connecting, not made
	// flag defaults, which the help would show.
	f.StringVar(&o.password, "password", "", "password of --user (env GOBUS_PASSWORD)")
	f.StringVar(&o.token, "token", "", "authentication token (env GOBUS_TOKEN)")
	f.StringVar(&o.nkey, "nkey", os.Getenv("GOBUS_NKEY"), "file with a user NKey seed (env GOBUS_NKEY)")
	f.StringVar(&o.creds, "creds", os.Getenv("GOBUS_CREDS"), "NATS credentials file (env GOBUS_CREDS)")
	f.StringVar(&o.tlsCA, "tlsca", os.Getenv("GOBUS_TLS_CA"), "PEM file with the authorities that sign the server's certificate; implies TLS (env GOBUS_TLS_CA)")
	f.StringVar(&o.tlsCert, "tlscert", os.Getenv("GOBUS_TLS_CERT"), "PEM file with the client certificate, with --tlskey; implies TLS (env GOBUS_TLS_CERT)")
	f.StringVar(&o.tlsKey, "tlskey", os.Getenv("GOBUS_TLS_KEY"), "PEM file with the client certificate's private key (env GOBUS_TLS_KEY)")
	f.StringVar(&o.prefix, "prefix", envOr("GOBUS_PREFIX", topology.DefaultPrefix), "subject and stream prefix of the gobus environment (env GOBUS_PREFIX)")
	f.BoolVar(&o.jsonOut, "json", false, "print JSON for scripts instead of tables, and errors as {\"error\": ...} on stderr")
	f.DurationVar(&o.timeout, "timeout", 30*time.Second, "how long a command may take")
	root.AddCommand(newInitCommand(o), newStatusCommand(o), newErrorsCommand(o))
	root.AddCommand(newOutboxCommand(o), newSagasCommand(o))
	root.AddCommand(newUICommand(o))
	return root
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

// connect opens a session; the caller closes it. extra options, such as
// reconnecting for a long-running command, come after the defaults.
func (o *options) connect(extra ...nats.Option) (*session, error) {
	if err := topology.CheckPrefix(o.prefix); err != nil {
		return nil, err
	}
	authOpts, err := o.auth().Options()
	if err != nil {
		return nil, fmt.Errorf("%w (see the connection flags in gobus --help)", err)
	}
	natsOpts := append([]nats.Option{nats.Name("gobus cli"), nats.Timeout(5 * time.Second), nats.MaxReconnects(0)}, extra...)
	nc, err := nats.Connect(o.server, append(natsOpts, authOpts...)...)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to NATS at %s: %w (%s)", natsurl.Redact(o.server), err, connectHint(err))
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return &session{opts: o, nc: nc, js: js, names: topology.Names{Prefix: o.prefix}}, nil
}

// auth is how the flags and the environment say to authenticate.
func (o *options) auth() natsauth.Config {
	cfg := natsauth.Config{
		User:            o.user,
		Password:        cmp.Or(o.password, os.Getenv("GOBUS_PASSWORD")),
		Token:           cmp.Or(o.token, os.Getenv("GOBUS_TOKEN")),
		NKeyFile:        o.nkey,
		CredentialsFile: o.creds,
	}
	if o.tlsCA != "" || o.tlsCert != "" || o.tlsKey != "" {
		cfg.TLS = &natsauth.TLS{CAFile: o.tlsCA, CertFile: o.tlsCert, KeyFile: o.tlsKey}
	}
	return cfg
}

// connectHint says which flags to check after a failed connection.
func connectHint(err error) string {
	switch {
	case errors.Is(err, nats.ErrAuthorization), errors.Is(err, nats.ErrAuthExpired), errors.Is(err, nats.ErrAuthRevoked):
		return "check --user and --password, --token, --nkey or --creds, or GOBUS_USER and GOBUS_PASSWORD, GOBUS_TOKEN, GOBUS_NKEY or GOBUS_CREDS"
	case errors.Is(err, nats.ErrTLS), errors.Is(err, nats.ErrSecureConnRequired), errors.Is(err, nats.ErrSecureConnWanted), isTLSAlert(err):
		return "check the server URL and --tlsca, --tlscert and --tlskey, or GOBUS_TLS_CA, GOBUS_TLS_CERT and GOBUS_TLS_KEY"
	}
	return "set --server or GOBUS_URL"
}

// isTLSAlert reports whether err is the server refusing the TLS
// handshake, such as for a missing client certificate: crypto/tls reports
// it as a "remote error".
func isTLSAlert(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "remote error"
}

func (s *session) close() { s.nc.Close() }

// context bounds a command by --timeout.
func (o *options) context(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, o.timeout)
}

// withSession runs fn with a session, bounded by --timeout, and closes it.
func (o *options) withSession(parent context.Context, fn func(context.Context, *session) error) error {
	ctx, cancel := o.context(parent)
	defer cancel()
	sess, err := o.connect()
	if err != nil {
		return err
	}
	defer sess.close()
	return fn(ctx, sess)
}

// withErrorsStream runs fn with a session and the error stream.
func (o *options) withErrorsStream(parent context.Context, fn func(context.Context, *session, jetstream.Stream) error) error {
	return o.withSession(parent, func(ctx context.Context, sess *session) error {
		st, err := sess.errorsStream(ctx)
		if err != nil {
			return err
		}
		return fn(ctx, sess, st)
	})
}

// errorsStream opens the error stream, with an error that says what to
// check when it is missing.
func (s *session) errorsStream(ctx context.Context) (jetstream.Stream, error) {
	name := s.names.ErrorsStream()
	st, err := s.js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("no error stream %s on %s: has a gobus client run there with prefix %q? (set --prefix or GOBUS_PREFIX)", name, natsurl.Redact(s.opts.server), s.opts.prefix)
	}
	if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
		return nil, fmt.Errorf("JetStream is not enabled on %s", natsurl.Redact(s.opts.server))
	}
	return st, err
}
