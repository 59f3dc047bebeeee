package cli

import (
	"context"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
)

func newErrorsCommand(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "errors",
		Short: "List, show, retry and delete the messages in the error stream",
		Long: `A message that failed for good (its retries spent, or a failure retrying
cannot fix) waits in the error stream with the reason it failed. Its id is
its sequence number in the error stream.`,
	}
	cmd.AddCommand(newListCommand(o), newShowCommand(o), newRetryCommand(o), newDeleteCommand(o))
	return cmd
}

// addSelectorFlags adds the flags that choose failed messages.
func addSelectorFlags(cmd *cobra.Command, s *selector, withAll bool) {
	f := cmd.Flags()
	f.StringVar(&s.endpoint, "endpoint", "", "only messages that failed in this endpoint")
	f.StringVar(&s.typ, "type", "", "only messages of this type (proto full name)")
	f.StringVar(&s.contains, "contains", "", "only messages whose error contains this text (case-insensitive)")
	if withAll {
		f.BoolVar(&s.all, "all", false, "every message in the error stream; with --endpoint, --type or --contains, every matching one")
	}
}

// oneID is the argument rule of a command that takes one failed-message
// id, with errors that say what is missing.
func oneID(cmd *cobra.Command, args []string) error {
	switch len(args) {
	case 0:
		return fmt.Errorf("give the id of a failed message, as in %s 12 (gobus errors list shows the ids)", cmd.CommandPath())
	case 1:
		return nil
	}
	return fmt.Errorf("%s takes one failed-message id, not %d", cmd.CommandPath(), len(args))
}

// parseIDs reads failed-message ids from the arguments.
func parseIDs(args []string) ([]uint64, error) {
	ids := make([]uint64, 0, len(args))
	for _, a := range args {
		id, err := strconv.ParseUint(a, 10, 64)
		if err != nil || id == 0 {
			return nil, fmt.Errorf("%q is not a failed-message id: ids are the numbers gobus errors list shows", a)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func newListCommand(o *options) *cobra.Command {
	var s selector
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List failed messages, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.withErrorsStream(cmd.Context(), func(ctx context.Context, sess *session, st jetstream.Stream) error {
				found, err := sess.find(ctx, st, s)
				if err != nil {
					return err
				}
				if o.jsonOut {
					for _, f := range found {
						f.Headers, f.Stack = nil, ""
					}
					return printJSON(o.out, found)
				}
				t := newTable(o.out, "ID", "FAILED AT", "ENDPOINT", "TYPE", "ATTEMPTS", "KIND", "ERROR")
				for _, f := range found {
					t.row(f.ID, f.FailedAt.Format("2006-01-02 15:04:05"), f.Endpoint, f.Type, f.Attempts, f.Kind, oneLine(f.Error, 60))
				}
				return t.flush()
			})
		},
	}
	addSelectorFlags(cmd, &s, false)
	return cmd
}
