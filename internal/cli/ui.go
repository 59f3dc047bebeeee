package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"

	"github.com/gobusdev/gobus/internal/natsurl"
	"github.com/gobusdev/gobus/internal/ui"
)

// uiOptions are the flags of gobus ui.
type uiOptions struct {
	listen   string
	token    string
	user     string
	password string
	interval time.Duration
}

func newUICommand(o *options) *cobra.Command {
	u := &uiOptions{}
	cmd := &cobra.Command{
		Use:   "ui",
		Short: "Serve the operations web page: endpoints, failed messages, conversations",
		Long: `ui serves a web page for operators: each endpoint's queue, in-flight and
redelivered messages, handling rate, and processing and critical time
(for endpoints with auditing on), live; the failed messages grouped by
endpoint, type and error, to retry or delete one, a selection, a group or
all, as gobus errors does; and the conversation of a correlation id as a
sequence diagram, from the audit stream.

It listens on 127.0.0.1 unless told otherwise. Any other address needs a
token (--ui-token or GOBUS_UI_TOKEN; open the page once with ?token=...,
or send Authorization: Bearer ...) or basic auth (--ui-user and
--ui-password, or GOBUS_UI_USER and GOBUS_UI_PASSWORD). Give the secrets in
the environment rather than as flags.`,
		Example: `  gobus ui
  gobus ui --listen 127.0.0.1:8080
  GOBUS_UI_TOKEN=$(openssl rand -hex 16) gobus ui --listen 0.0.0.0:8080`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return o.serveUI(ctx, u)
		},
	}
	f := cmd.Flags()
	f.StringVar(&u.listen, "listen", envOr("GOBUS_UI_LISTEN", "127.0.0.1:8222"), "host:port to serve the page on (env GOBUS_UI_LISTEN)")
	f.StringVar(&u.token, "ui-token", "", "token the page asks for (env GOBUS_UI_TOKEN)")
	f.StringVar(&u.user, "ui-user", os.Getenv("GOBUS_UI_USER"), "user name of the page's basic auth, with --ui-password (env GOBUS_UI_USER)")
	f.StringVar(&u.password, "ui-password", "", "password of --ui-user (env GOBUS_UI_PASSWORD)")
	f.DurationVar(&u.interval, "interval", 2*time.Second, "how often the page samples the endpoints")
	return cmd
}

// auth is the page's authentication, from the flags and the environment.
func (u *uiOptions) auth() ui.Auth {
	return ui.Auth{
		Token:    cmp.Or(u.token, os.Getenv("GOBUS_UI_TOKEN")),
		User:     u.user,
		Password: cmp.Or(u.password, os.Getenv("GOBUS_UI_PASSWORD")),
	}
}

// serveUI checks the configuration, connects, listens and serves until
// ctx ends.
func (o *options) serveUI(ctx context.Context, u *uiOptions) error {
	auth := u.auth()
	if err := ui.CheckExposure(u.listen, auth); err != nil {
		return err
	}
	if u.interval < 100*time.Millisecond {
		return fmt.Errorf("--interval %s: sample at most ten times a second", u.interval)
	}
	sess, err := o.connect(nats.MaxReconnects(-1), nats.ReconnectWait(time.Second))
	if err != nil {
		return err
	}
	defer sess.close()
	ln, err := net.Listen("tcp", u.listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w (set --listen or GOBUS_UI_LISTEN)", u.listen, err)
	}
	addr := ln.Addr().String()
	loopback := ui.IsLoopback(addr)
	if err := ui.CheckExposure(addr, auth); err != nil { // a name that resolved off loopback
		ln.Close()
		return err
	}
	reg, err := o.schemas(ctx, sess)
	if err != nil {
		ln.Close()
		return fmt.Errorf("opening the schema registry: %w", err)
	}
	page, err := ui.New(ui.Config{
		JS: sess.js, Prefix: o.prefix, Auth: auth, Loopback: loopback,
		Interval: u.interval, Server: natsurl.Redact(o.server), Schemas: reg,
	})
	if err != nil {
		ln.Close()
		return err
	}
	fmt.Fprintln(o.out, uiBanner(addr, loopback, auth))
	return serve(ctx, ln, page)
}

// uiBanner says where the page is and who may open it, never the secrets.
func uiBanner(addr string, loopback bool, auth ui.Auth) string {
	where := "on loopback only"
	if !loopback {
		where = "reachable from other machines"
	}
	msg := fmt.Sprintf("gobus ui: serving http://%s/ (%s; requests need %s)", addr, where, auth.Describe())
	if auth.Token != "" {
		msg += "; open http://" + addr + "/?token=<your token> once"
	}
	return msg
}

// serve runs page on ln until ctx ends, then shuts the server down.
func serve(ctx context.Context, ln net.Listener, page *ui.Server) error {
	srv := &http.Server{Handler: page, ReadHeaderTimeout: 10 * time.Second}
	go page.Run(ctx)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
