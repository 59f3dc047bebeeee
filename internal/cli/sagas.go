package cli

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"github.com/gobusdev/gobus/internal/schemas"
	"github.com/gobusdev/gobus/internal/topology"
	gobusv1 "github.com/gobusdev/gobus/proto/gobus/v1"
)

// newSagasCommand is gobus sagas: the instances of the sagas on the bus.
func newSagasCommand(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sagas",
		Short: "List saga instances and show their state",
		Long: `sagas reads the key-value buckets that hold saga instances, one bucket per
saga ("<prefix>_saga_<state full name, '.' as '-'>"). A saga is named by its
state's full name (shop.shipping.v1.ShippingState) or by the last part of it
when that is unambiguous (ShippingState). States are decoded with the schema
registry, which endpoints fill when they start.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newSagasListCommand(o), newSagasShowCommand(o))
	return cmd
}

func newSagasListCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "list [saga]",
		Short: "List the sagas with their instance counts, or one saga's instances",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.withSession(cmd.Context(), func(ctx context.Context, sess *session) error {
				if len(args) == 0 {
					counts, err := sess.sagaCounts(ctx)
					if err != nil {
						return err
					}
					if o.jsonOut {
						return printJSON(o.out, counts)
					}
					return printSagaCounts(o, counts)
				}
				saga, err := sess.findSaga(ctx, args[0])
				if err != nil {
					return err
				}
				recs, err := sess.sagaRecords(ctx, saga)
				if err != nil {
					return err
				}
				if o.jsonOut {
					rows := make([]sagaInstanceRow, 0, len(recs))
					for _, r := range recs {
						rows = append(rows, instanceRow(r))
					}
					return printJSON(o.out, rows)
				}
				t := newTable(o.out, "KEY", "STATUS", "INSTANCE", "CREATED", "UPDATED", "TIMEOUTS")
				for _, r := range recs {
					row := instanceRow(r)
					t.row(row.Key, row.Status, row.Instance, row.Created, row.Updated, row.Timeouts)
				}
				return t.flush()
			})
		},
	}
}

func newSagasShowCommand(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "show <saga> <key>",
		Short: "Show one saga instance, its state decoded",
		Long: `show prints one instance of a saga: its metadata and its state, decoded as
JSON through the schema registry (hex when the registry does not know the
state's type). key is the instance's correlation value, as the messages
carry it (an order id, say).`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.withSession(cmd.Context(), func(ctx context.Context, sess *session) error {
				saga, err := sess.findSaga(ctx, args[0])
				if err != nil {
					return err
				}
				kv, err := sess.js.KeyValue(ctx, sess.names.SagaBucket(saga))
				if err != nil {
					return err
				}
				e, err := kv.Get(ctx, topology.SagaKey(args[1]))
				if err != nil {
					return fmt.Errorf("saga %s has no instance %q: %w", saga, args[1], err)
				}
				rec := &gobusv1.SagaRecord{}
				if err := proto.Unmarshal(e.Value(), rec); err != nil {
					return fmt.Errorf("the instance %q of saga %s is not a gobus.v1.SagaRecord: %w", args[1], saga, err)
				}
				row := instanceRow(rec)
				state, decoded := sess.decodeState(ctx, saga, rec.State)
				if o.jsonOut {
					var v any = hex.EncodeToString(rec.State)
					if decoded {
						v = json.RawMessage(state)
					}
					return printJSON(o.out, struct {
						sagaInstanceRow
						Saga     string `json:"saga"`
						Revision uint64 `json:"revision"`
						Applied  int    `json:"applied_kept"`
						Pending  int    `json:"pending"`
						State    any    `json:"state"`
					}{row, saga, e.Revision(), len(rec.Applied), len(rec.Pending), v})
				}
				fmt.Fprintf(o.out, "saga      %s\nkey       %s\nstatus    %s\ninstance  %s\ncreated   %s\nupdated   %s\nrevision  %d\ntimeouts  %d pending\napplied   the last %d message ids are kept\n",
					saga, row.Key, row.Status, row.Instance, row.Created, row.Updated, e.Revision(), row.Timeouts, len(rec.Applied))
				if len(rec.Pending) > 0 {
					fmt.Fprintf(o.out, "outgoing  %d messages written with the state, not yet confirmed sent (the next message of the instance sends them)\n", len(rec.Pending))
				}
				switch {
				case rec.Completed:
					fmt.Fprintln(o.out, "state     (none: the instance completed; this record expires)")
				case decoded:
					fmt.Fprintf(o.out, "state:\n%s\n", state)
				default:
					fmt.Fprintf(o.out, "state (%d bytes; %s unknown to the schema registry):\n%s", len(rec.State), saga, hex.Dump(rec.State))
				}
				return nil
			})
		},
	}
}

// sagaCount is one saga's row of gobus sagas list and gobus status.
type sagaCount struct {
	Saga      string `json:"saga"`
	Running   int    `json:"running"`
	Completed int    `json:"completed"`
}

func printSagaCounts(o *options, counts []sagaCount) error {
	t := newTable(o.out, "SAGA", "RUNNING", "COMPLETED")
	for _, c := range counts {
		t.row(c.Saga, c.Running, c.Completed)
	}
	return t.flush()
}

// sagaInstanceRow is one instance in gobus sagas list and show.
type sagaInstanceRow struct {
	Key      string `json:"key"`
	Status   string `json:"status"`
	Instance string `json:"instance"`
	Created  string `json:"created"`
	Updated  string `json:"updated"`
	Timeouts int    `json:"timeouts"`
}

func instanceRow(r *gobusv1.SagaRecord) sagaInstanceRow {
	status := "running"
	if r.Completed {
		status = "completed"
	}
	at := func(ts interface{ AsTime() time.Time }) string {
		if t := ts.AsTime(); !t.IsZero() && t.Unix() > 0 {
			return t.UTC().Format(time.RFC3339)
		}
		return ""
	}
	return sagaInstanceRow{Key: r.Key, Status: status, Instance: r.InstanceId, Created: at(r.GetCreated()), Updated: at(r.GetUpdated()), Timeouts: len(r.Timeouts)}
}

// sagaNames lists the sagas that have a bucket.
func (s *session) sagaNames(ctx context.Context) ([]string, error) {
	var out []string
	names := s.js.KeyValueStoreNames(ctx)
	for name := range names.Name() {
		if saga, ok := s.names.SagaTypeOfBucket(name); ok {
			out = append(out, saga)
		}
	}
	if err := names.Error(); err != nil {
		return nil, err
	}
	sort.Strings(out)
	return out, nil
}

// findSaga resolves name, a saga's full name or its last part.
func (s *session) findSaga(ctx context.Context, name string) (string, error) {
	sagas, err := s.sagaNames(ctx)
	if err != nil {
		return "", err
	}
	var matches []string
	for _, saga := range sagas {
		if saga == name {
			return saga, nil
		}
		if strings.HasSuffix(saga, "."+name) {
			matches = append(matches, saga)
		}
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		return "", fmt.Errorf("no saga %q on the bus (sagas: %s): name it by its state's full name, as gobus sagas list prints it", name, strings.Join(sagas, ", "))
	}
	return "", fmt.Errorf("saga %q is ambiguous: it could be %s; use the full name", name, strings.Join(matches, " or "))
}

// sagaRecords reads every instance of saga, ordered by key.
func (s *session) sagaRecords(ctx context.Context, saga string) ([]*gobusv1.SagaRecord, error) {
	kv, err := s.js.KeyValue(ctx, s.names.SagaBucket(saga))
	if err != nil {
		return nil, err
	}
	w, err := kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, err
	}
	defer func() { _ = w.Stop() }()
	var out []*gobusv1.SagaRecord
	for e := range w.Updates() {
		if e == nil {
			break // the initial values are all read
		}
		rec := &gobusv1.SagaRecord{}
		if err := proto.Unmarshal(e.Value(), rec); err != nil {
			return nil, fmt.Errorf("saga %s, key %s: not a gobus.v1.SagaRecord: %w", saga, e.Key(), err)
		}
		out = append(out, rec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// sagaCounts counts each saga's running and completed instances.
func (s *session) sagaCounts(ctx context.Context) ([]sagaCount, error) {
	sagas, err := s.sagaNames(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]sagaCount, 0, len(sagas))
	for _, saga := range sagas {
		recs, err := s.sagaRecords(ctx, saga)
		if err != nil {
			return nil, err
		}
		c := sagaCount{Saga: saga}
		for _, r := range recs {
			if r.Completed {
				c.Completed++
			} else {
				c.Running++
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// decodeState renders a saga's state as indented JSON through the schema
// registry.
func (s *session) decodeState(ctx context.Context, saga string, state []byte) ([]byte, bool) {
	reg, err := schemas.Open(ctx, s.js, s.names.Prefix)
	if err != nil {
		return nil, false
	}
	out, err := reg.ToJSON(ctx, saga, "application/protobuf", state)
	if err != nil {
		return nil, false
	}
	var pretty strings.Builder
	var v any
	if json.Unmarshal(out, &v) == nil {
		b, _ := json.MarshalIndent(v, "", "  ")
		pretty.Write(b)
		return []byte(pretty.String()), true
	}
	return out, true
}
