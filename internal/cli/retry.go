package cli

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"

	"github.com/gobusdev/gobus/internal/errorstream"
)

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
			return o.apply(cmd.Context(), args, s, "retried", (*errorstream.Stream).Retry)
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
			return o.apply(cmd.Context(), args, s, "deleted", (*errorstream.Stream).Delete)
		},
	}
	addSelectorFlags(cmd, &s, true)
	return cmd
}

// apply runs action on every failed message the arguments choose and
// reports what it did.
func (o *options) apply(parent context.Context, args []string, s selector, verb string,
	action func(*errorstream.Stream, context.Context, *failed) error) error {
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
		es := sess.errorStream(st)
		found, err := es.Find(ctx, s.shared())
		if err != nil {
			return err
		}
		return o.report(verb, found, errorstream.Apply(ctx, found, func(ctx context.Context, f *failed) error { return action(es, ctx, f) }))
	})
}

// report prints what an operation on the found messages did.
func (o *options) report(verb string, found []*failed, res errorstream.Outcome) error {
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
