// Package cli is the gobus operator command line: endpoint status and the
// error stream (list, show, retry, delete), without writing code.
// cmd/gobus is its thin main.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/gobusdev/gobus/internal/natsurl"
	"github.com/gobusdev/gobus/internal/topology"
)

// options are the global flags, also read from the environment.
type options struct {
	server  string
	creds   string
	prefix  string
	jsonOut bool
	timeout time.Duration
	out     io.Writer
}

// session is a connection to the server for one command.
type session struct {
	opts  *options
	nc    *nats.Conn
	js    jetstream.JetStream
	names topology.Names
}

// Main runs the command line with args and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	cmd := NewCommand(stdout, stderr)
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		fmt.Fprintln(stderr, "gobus:", err)
		return 1
	}
	return 0
}

// NewCommand returns the root command, writing to stdout and stderr.
func NewCommand(stdout, stderr io.Writer) *cobra.Command {
	o := &options{out: stdout}
	root := &cobra.Command{
		Use:   "gobus",
		Short: "Operate gobus endpoints: status and the error stream",
		Long: `gobus shows the state of gobus endpoints on a NATS JetStream server and
manages the messages in the error stream: list them, show one, send them
back to their endpoint once the bug is fixed, or delete them.

Flags may also be set in the environment: GOBUS_URL, GOBUS_CREDS,
GOBUS_PREFIX.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	f := root.PersistentFlags()
	f.StringVarP(&o.server, "server", "s", envOr("GOBUS_URL", nats.DefaultURL), "NATS server URL (env GOBUS_URL)")
	f.StringVar(&o.creds, "creds", os.Getenv("GOBUS_CREDS"), "NATS credentials file (env GOBUS_CREDS)")
	f.StringVar(&o.prefix, "prefix", envOr("GOBUS_PREFIX", topology.DefaultPrefix), "subject and stream prefix of the gobus environment (env GOBUS_PREFIX)")
	f.BoolVar(&o.jsonOut, "json", false, "print JSON for scripts instead of tables")
	f.DurationVar(&o.timeout, "timeout", 30*time.Second, "how long a command may take")
	root.AddCommand(newStatusCommand(o), newErrorsCommand(o))
	return root
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

// connect opens a session; the caller closes it.
func (o *options) connect() (*session, error) {
	if err := topology.CheckToken("prefix", o.prefix); err != nil {
		return nil, err
	}
	natsOpts := []nats.Option{nats.Name("gobus cli"), nats.Timeout(5 * time.Second), nats.MaxReconnects(0)}
	if o.creds != "" {
		natsOpts = append(natsOpts, nats.UserCredentials(o.creds))
	}
	nc, err := nats.Connect(o.server, natsOpts...)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to NATS at %s: %w (set --server or GOBUS_URL)", natsurl.Redact(o.server), err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return &session{opts: o, nc: nc, js: js, names: topology.Names{Prefix: o.prefix}}, nil
}

func (s *session) close() { s.nc.Close() }

// context bounds a command by --timeout.
func (o *options) context(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, o.timeout)
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
