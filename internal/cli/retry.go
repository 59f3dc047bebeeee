package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/gobusdev/gobus/internal/wire"
)

// outcome is what a retry or delete did, for --json.
type outcome struct {
	Done   []uint64          `json:"done"`
	Failed map[uint64]string `json:"failed,omitempty"`
}

func newRetryCommand(o *options) *cobra.Command {
	var s selector
	cmd := &cobra.Command{
		Use:   "retry [ID...]",
		Short: "Send failed messages back to the endpoint that failed them",
		Long: `retry sends each chosen message back to the endpoint that failed it, with
its original headers and body and a fresh JetStream de-duplication id. A
command goes back to its original subject; an event goes to the failing
endpoint's retry subject, so other subscribers do not see it twice. The
message leaves the error stream only after JetStream stored the copy: a
crash in between can duplicate it, never lose it.

Choose messages by id, by --endpoint, --type and --contains (a message
must match each one given), or every message with --all.`,
		Example: `  gobus errors retry 12 13
  gobus errors retry --endpoint billing
  gobus errors retry --all`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.apply(cmd.Context(), args, s, "retried", (*session).retry)
		},
	}
	addSelectorFlags(cmd, &s, true)
	return cmd
}

func newDeleteCommand(o *options) *cobra.Command {
	var s selector
	cmd := &cobra.Command{
		Use:   "delete [ID...]",
		Short: "Delete failed messages from the error stream",
		Long: `delete removes the chosen messages from the error stream for good.
Choose messages by id, by --endpoint, --type and --contains (a message
must match each one given), or every message with --all.`,
		Example: `  gobus errors delete 12
  gobus errors delete --type shop.sales.v1.PlaceOrder --contains "card declined"`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.apply(cmd.Context(), args, s, "deleted", func(sess *session, ctx context.Context, st jetstream.Stream, f *failed) error {
				return st.DeleteMsg(ctx, f.ID)
			})
		},
	}
	addSelectorFlags(cmd, &s, true)
	return cmd
}

// apply runs action on every failed message the arguments choose and
// reports what it did.
func (o *options) apply(parent context.Context, args []string, s selector, verb string,
	action func(*session, context.Context, jetstream.Stream, *failed) error) error {
	ids, err := parseIDs(args)
	if err != nil {
		return err
	}
	s.ids = ids
	if s.empty() {
		return fmt.Errorf("choose messages: give ids, or --all, --endpoint, --type or --contains")
	}
	if len(ids) > 0 && s.all {
		return fmt.Errorf("give ids or --all, not both")
	}
	return o.withErrorsStream(parent, func(ctx context.Context, sess *session, st jetstream.Stream) error {
		found, err := sess.find(ctx, st, s)
		if err != nil {
			return err
		}
		return o.report(verb, found, func(f *failed) error { return action(sess, ctx, st, f) })
	})
}

// report applies do to each found message and prints what it did.
func (o *options) report(verb string, found []*failed, do func(*failed) error) error {
	res := outcome{Done: []uint64{}, Failed: map[uint64]string{}}
	for _, f := range found {
		if err := do(f); err != nil {
			res.Failed[f.ID] = err.Error()
			continue
		}
		res.Done = append(res.Done, f.ID)
	}
	if o.jsonOut {
		if err := printJSON(o.out, res); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(o.out, "%s %d of %d failed messages\n", verb, len(res.Done), len(found))
		for id, msg := range res.Failed {
			fmt.Fprintf(o.out, "  %d: %s\n", id, msg)
		}
	}
	if len(res.Failed) > 0 {
		return fmt.Errorf("%d of %d messages could not be %s", len(res.Failed), len(found), verb)
	}
	return nil
}

// retry republishes f to its endpoint and, once stored, removes it from
// the error stream.
func (s *session) retry(ctx context.Context, st jetstream.Stream, f *failed) error {
	if f.Endpoint == "" || f.Subject == "" {
		return errors.New("the message has no gobus failure headers, so its endpoint is unknown")
	}
	msg := &nats.Msg{Subject: s.retrySubject(f), Header: nats.Header{}, Data: f.Body}
	for k, vs := range f.Headers {
		if isFailureHeader(k) || strings.HasPrefix(k, "Nats-") {
			continue
		}
		msg.Header[k] = vs
	}
	msg.Header.Set(nats.MsgIdHdr, uuid.NewString())
	if _, err := s.js.PublishMsg(ctx, msg); err != nil {
		if errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) {
			return fmt.Errorf("no stream takes %s: has endpoint %s been removed or renamed?", msg.Subject, f.Endpoint)
		}
		return err
	}
	return st.DeleteMsg(ctx, f.ID)
}

// retrySubject is where a retried message goes: a command back to its
// subject, anything else to the failing endpoint's retry subject.
func (s *session) retrySubject(f *failed) string {
	if strings.HasPrefix(f.Subject, s.names.CommandSubject(f.Endpoint, "")) {
		return f.Subject
	}
	return s.names.RetrySubject(f.Endpoint)
}

func isFailureHeader(k string) bool {
	for _, h := range wire.FailureHeaders {
		if strings.EqualFold(k, h) {
			return true
		}
	}
	return false
}
