package gobus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/gobusdev/gobus/internal/topology"
	gobusv1 "github.com/gobusdev/gobus/proto/gobus/v1"
)

// sagaAppliedKept is how many ids of applied messages an instance's
// record keeps, to recognise a redelivery of one of them.
const sagaAppliedKept = 64

// errSagaConflict is a write that lost to another handler's write of the
// same instance.
var errSagaConflict = errors.New("the instance changed since it was read")

// sagaStore reads and writes the instances of one saga in its bucket.
type sagaStore struct {
	kv        jetstream.KeyValue
	js        jetstream.JetStream
	bucket    string
	tombstone time.Duration // how long a completed instance's record stays
}

// openSagaStore opens (with the installer on, creates) the bucket of the
// saga named name.
func (c *Client) openSagaStore(ctx context.Context, name string, tombstone time.Duration) (*sagaStore, error) {
	bucket := c.names.SagaBucket(name)
	var kv jetstream.KeyValue
	var err error
	if c.cfg.install {
		kv, err = c.js.CreateOrUpdateKeyValue(ctx, topology.SagaBucketConfig(bucket, c.cfg.replicas))
	} else {
		kv, err = c.js.KeyValue(ctx, bucket)
	}
	if err != nil {
		return nil, fmt.Errorf("gobus: the bucket %s of saga %s: %w", bucket, name, err)
	}
	return &sagaStore{kv: kv, js: c.js, bucket: bucket, tombstone: tombstone}, nil
}

// load returns the record under key and its revision; a nil record and
// revision 0 when there is none.
func (st *sagaStore) load(ctx context.Context, key string) (*gobusv1.SagaRecord, uint64, error) {
	e, err := st.kv.Get(ctx, key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return nil, 0, nil
	case err != nil:
		return nil, 0, fmt.Errorf("gobus: reading saga instance %s from %s: %w", key, st.bucket, err)
	}
	rec := &gobusv1.SagaRecord{}
	if err := proto.Unmarshal(e.Value(), rec); err != nil {
		return nil, 0, Unrecoverable(fmt.Errorf("gobus: the saga instance %s in %s is not a gobus.v1.SagaRecord: %w", key, st.bucket, err))
	}
	return rec, e.Revision(), nil
}

// write stores rec under key if the key's revision is still rev (0: the
// key must not exist), and returns the new revision. A completed record
// expires after the store's tombstone time. It fails with
// errSagaConflict if another write came first.
func (st *sagaStore) write(ctx context.Context, key string, rev uint64, rec *gobusv1.SagaRecord) (uint64, error) {
	rec.Updated = timestamppb.Now()
	data, err := proto.Marshal(rec)
	if err != nil {
		return 0, fmt.Errorf("gobus: encoding saga instance %s: %w", key, err)
	}
	ttl := max(st.tombstone, time.Second)
	if rev == 0 {
		// Create also takes a key whose record expired or was deleted,
		// whose marker is its last sequence.
		var opts []jetstream.KVCreateOpt
		if rec.Completed {
			opts = append(opts, jetstream.KeyTTL(ttl))
		}
		n, err := st.kv.Create(ctx, key, data, opts...)
		switch {
		case errors.Is(err, jetstream.ErrKeyExists):
			return 0, errSagaConflict
		case err != nil:
			return 0, fmt.Errorf("gobus: writing saga instance %s to %s: %w", key, st.bucket, err)
		}
		return n, nil
	}
	msg := nats.NewMsg("$KV." + st.bucket + "." + key)
	msg.Data = data
	opts := []jetstream.PublishOpt{jetstream.WithExpectLastSequencePerSubject(rev)}
	if rec.Completed {
		opts = append(opts, jetstream.WithMsgTTL(ttl))
	}
	ack, err := st.js.PublishMsg(ctx, msg, opts...)
	if err != nil {
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
			return 0, errSagaConflict
		}
		return 0, fmt.Errorf("gobus: writing saga instance %s to %s: %w", key, st.bucket, err)
	}
	return ack.Sequence, nil
}
