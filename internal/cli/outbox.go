package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gobusdev/gobus/runtime/outbox"
)

// newOutboxCommand is gobus outbox: the outbox's database schema, for DBAs
// who apply migrations themselves.
func newOutboxCommand(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "outbox",
		Short: "The outbox's database schema",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newOutboxSchemaCommand(o))
	return cmd
}

func newOutboxSchemaCommand(o *options) *cobra.Command {
	var dialect string
	names := make([]string, 0, len(outbox.Dialects))
	for name := range outbox.Dialects {
		names = append(names, name)
	}
	slices.Sort(names)
	cmd := &cobra.Command{
		Use:   "schema --dialect " + strings.Join(names, "|"),
		Short: "Print the SQL that creates the outbox's tables",
		Long: fmt.Sprintf(`gobus outbox schema prints the SQL that creates the tables of the outbox and
the inbox (%s, %s) and the table that records the schema's version (%s),
version %d. outbox.New creates or migrates them itself on start when it may;
apply this instead where the service's database user may not create tables,
and outbox.New finds the schema at its version and leaves it alone.`,
			outbox.OutboxTable, outbox.InboxTable, outbox.VersionTable, outbox.SchemaVersion),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, ok := outbox.Dialects[dialect]
			if !ok {
				return fmt.Errorf("--dialect %q: want one of %s", dialect, strings.Join(names, ", "))
			}
			if o.jsonOut {
				return printJSON(o.out, map[string]any{"dialect": d.Name, "version": outbox.SchemaVersion, "sql": outbox.Schema(d)})
			}
			_, err := fmt.Fprint(o.out, outbox.Schema(d))
			return err
		},
	}
	cmd.Flags().StringVar(&dialect, "dialect", "", "the database: "+strings.Join(names, " or "))
	_ = cmd.MarkFlagRequired("dialect")
	return cmd
}
