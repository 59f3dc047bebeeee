package topology

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// SagaBucketPrefix starts the name of every saga bucket of a prefix.
func (n Names) SagaBucketPrefix() string { return n.Prefix + "_saga_" }

// SagaBucket is the key-value bucket that holds the instances of the saga
// whose state is the proto message sagaType: "<prefix>_saga_" and the full
// name with '.' written '-', which no proto identifier contains. Its
// stream is "KV_" and the bucket's name.
func (n Names) SagaBucket(sagaType string) string {
	return n.SagaBucketPrefix() + strings.ReplaceAll(sagaType, ".", "-")
}

// SagaTypeOfBucket is the saga type whose bucket is bucket, and whether
// bucket is a saga bucket of n's prefix.
func (n Names) SagaTypeOfBucket(bucket string) (string, bool) {
	rest, ok := strings.CutPrefix(bucket, n.SagaBucketPrefix())
	if !ok || rest == "" {
		return "", false
	}
	return strings.ReplaceAll(rest, "-", "."), true
}

// SagaTombstoneMarkerTTL is how long a saga bucket keeps the marker the
// server leaves when a completed instance's record expires.
const SagaTombstoneMarkerTTL = time.Minute

// SagaBucketConfig is the configuration of a saga bucket: one value per
// key (the instance's record; its revision is what concurrent handlers
// compare and set), and per-key TTLs, which remove the records of
// completed instances.
func SagaBucketConfig(bucket string, replicas int) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:         bucket,
		Description:    "gobus saga instances",
		History:        1,
		Replicas:       max(replicas, 1),
		Storage:        jetstream.FileStorage,
		LimitMarkerTTL: SagaTombstoneMarkerTTL,
	}
}

// SagaKey escapes a correlation value into a key-value key: letters,
// digits, '-' and '_' stay, every other byte becomes '=' and two
// upper-case hex digits. The result is never empty for a non-empty
// value, and has no '.', so it is one subject token.
func SagaKey(value string) string {
	var b strings.Builder
	for i := 0; i < len(value); i++ {
		c := value[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "=%02X", c)
		}
	}
	return b.String()
}

// SagaValue undoes [SagaKey].
func SagaValue(key string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		if key[i] != '=' {
			b.WriteByte(key[i])
			continue
		}
		if i+2 >= len(key) {
			return "", fmt.Errorf("saga key %q: '=' at %d is not followed by two hex digits", key, i)
		}
		c, err := hex.DecodeString(key[i+1 : i+3])
		if err != nil || strings.ToUpper(key[i+1:i+3]) != key[i+1:i+3] {
			return "", fmt.Errorf("saga key %q: '=' at %d is not followed by two upper-case hex digits", key, i)
		}
		b.WriteByte(c[0])
		i += 2
	}
	return b.String(), nil
}
