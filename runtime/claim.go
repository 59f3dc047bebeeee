package gobus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/gobusdev/gobus/internal/wire"
)

// The headers of a message whose body was sent by claim check. ce-dataref
// is the CloudEvents dataref extension (the claim check pattern of the
// CloudEvents spec): "<bucket>/<object>" of a JetStream Object Store
// bucket; the other two let a receiver check what it fetched.
const (
	headerDataRef    = "ce-dataref"
	headerDataSize   = "ce-gobusdatasize"
	headerDataDigest = "ce-gobusdatadigest"
)

// sealTimeout bounds the upload of a claimed body when the dispatch chain
// is ended by middleware that calls [OutgoingMessage.Seal], which takes
// no context.
const sealTimeout = 2 * time.Minute

// claimConfig is the claim check of a client: off, or the threshold
// above which a body goes to the claims bucket (0 for the default).
type claimConfig struct {
	off       bool
	threshold int
}

// WithClaimCheck sends bodies longer than threshold bytes by claim check:
// the body goes to the JetStream Object Store bucket "<prefix>_claims"
// and the message carries a reference to it (the ce-dataref header) and
// no body; receiving endpoints fetch the body before decoding, and remove
// a command's once it is handled. Claim check is on by default, with the
// threshold at the server's max payload less 64 KiB for headers, so that
// a body that could not travel inline travels by reference; a threshold
// above that is lowered to it. docs/wire.md describes the headers for
// other languages.
func WithClaimCheck(threshold int) Option {
	return clientOptionFunc(func(c *clientConfig) { c.claims = claimConfig{threshold: threshold} })
}

// WithoutClaimCheck sends every body inline: a message larger than the
// server's max payload fails with [ErrTooLarge]. Receiving endpoints
// still follow a ce-dataref that another sender wrote.
func WithoutClaimCheck() Option {
	return clientOptionFunc(func(c *clientConfig) { c.claims = claimConfig{off: true} })
}

func (c claimConfig) validate() error {
	if c.threshold < 0 {
		return invalidf("WithClaimCheck(%d): the threshold is a body size in bytes; use a positive one, or WithoutClaimCheck", c.threshold)
	}
	return nil
}

// limitFor is the longest body sent inline to a server with max payload
// maxPayload: longer ones go by claim check.
func (c claimConfig) limitFor(maxPayload int64) int {
	if c.off || maxPayload <= 0 {
		return math.MaxInt
	}
	inline := max(int(maxPayload)-maxHeaderBlock, int(maxPayload)/2)
	if c.threshold > 0 && c.threshold < inline {
		return c.threshold
	}
	return inline
}

// claims is a client's side of claim check: the inline limit and the
// claims bucket, opened on first use.
type claims struct {
	limit int

	mu  sync.Mutex
	obs jetstream.ObjectStore
}

// claimsBucket opens the claims bucket, creating it unless the installer
// is off.
func (c *Client) claimsBucket(ctx context.Context) (jetstream.ObjectStore, error) {
	c.claims.mu.Lock()
	defer c.claims.mu.Unlock()
	if c.claims.obs != nil {
		return c.claims.obs, nil
	}
	open := c.installer.ClaimsBucket
	if !c.cfg.install {
		open = c.installer.LookUpClaimsBucket
	}
	obs, err := open(ctx)
	if err != nil {
		return nil, err
	}
	c.claims.obs = obs
	return obs, nil
}

// claimName is the object that holds the body of message id of type
// typ: the same for a message sent again with its id, as a retried
// handler does, and different for messages of different types.
func claimName(typ, id string) string {
	sum := sha256.Sum256([]byte(typ + "\x00" + id))
	return hex.EncodeToString(sum[:])
}

// claimCheck moves m's body to the claims bucket and leaves the reference
// in its headers. Callers check first that the body is over the client's
// limit, a length comparison. Replies are sent inline: a waiting
// requester does not follow references.
func (m *OutgoingMessage) claimCheck(ctx context.Context) error {
	if m.Route.Kind == KindReply {
		return nil
	}
	c := m.client
	obs, err := c.claimsBucket(ctx)
	if err != nil {
		return fmt.Errorf("gobus: %s %s: its body of %d bytes goes by claim check: %w", verb(m.Route.Kind), m.Route.Type, len(m.Msg.Data), err)
	}
	name := claimName(m.Route.Type, m.ID)
	info, err := obs.PutBytes(ctx, name, m.Msg.Data)
	if err != nil {
		return fmt.Errorf("gobus: %s %s: storing its body of %d bytes by claim check: %w", verb(m.Route.Kind), m.Route.Type, len(m.Msg.Data), err)
	}
	m.Msg.Header.Set(headerDataRef, c.names.ClaimsBucket()+"/"+name)
	m.Msg.Header.Set(headerDataSize, strconv.Itoa(len(m.Msg.Data)))
	m.Msg.Header.Set(headerDataDigest, info.Digest)
	m.Msg.Data = nil
	return nil
}

// sealClaim is [OutgoingMessage.Seal]'s claim check, for middleware that
// ends the chain without a context.
func (m *OutgoingMessage) sealClaim() error {
	ctx, cancel := context.WithTimeout(context.Background(), sealTimeout)
	defer cancel()
	return m.claimCheck(ctx)
}

// claimError is a reference that cannot be followed: the message goes to
// the error stream.
type claimError struct {
	ref, reason string
}

func (e *claimError) Error() string {
	return fmt.Sprintf("gobus: the body of this message was sent by claim check (ce-dataref %s), and %s", wire.Quote(e.ref), e.reason)
}

// claimed fetches the body of d, when it was sent by claim check, into b.
// It returns false if it settled d instead: moved to the error stream for
// a reference that cannot be followed, or left for a later delivery when
// the fetch failed.
func (ep *Endpoint) claimed(ctx context.Context, d *delivery, b *body) bool {
	ref := wire.Get(d.mc.headers, headerDataRef)
	if ref == "" {
		return true
	}
	data, name, err := ep.client.fetchClaim(ctx, ref, d.mc.headers.Get(headerDataSize), d.mc.headers.Get(headerDataDigest))
	var ce *claimError
	switch {
	case errors.As(err, &ce):
		ep.moveToErrors(ctx, d.msg, d.metadata(), Unrecoverable(err), d.mc.attempt)
		return false
	case err != nil:
		ep.retryLater(ctx, d, fmt.Errorf("gobus: fetching the body sent by claim check (ce-dataref %s): %w", wire.Quote(ref), err))
		return false
	}
	b.data = data
	d.mc.env.Data = data
	if d.reg.route.Kind != KindEvent {
		d.claim = name // one receiver: removed once handled
	}
	return true
}

// fetchClaim reads the body ref refers to and checks it against the size
// and digest the sender wrote.
func (c *Client) fetchClaim(ctx context.Context, ref, size, digest string) ([]byte, string, error) {
	bucket, name, ok := strings.Cut(ref, "/")
	switch {
	case !ok || name == "":
		return nil, "", &claimError{ref, "it is not <bucket>/<object>"}
	case bucket != c.names.ClaimsBucket():
		return nil, "", &claimError{ref, "it names a bucket other than this bus's claims bucket " + c.names.ClaimsBucket()}
	}
	obs, err := c.claimsBucket(ctx)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, "", &claimError{ref, "the claims bucket does not exist"}
	}
	if err != nil {
		return nil, "", err
	}
	r, err := obs.Get(ctx, name)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, "", &claimError{ref, "the object is gone: removed after the message was handled once, or expired with the bucket's max age"}
	}
	if err != nil {
		return nil, "", err
	}
	defer r.Close()
	info, err := r.Info()
	if err != nil {
		return nil, "", err
	}
	if digest != "" && info.Digest != digest || size != "" && size != strconv.FormatUint(info.Size, 10) {
		return nil, "", &claimError{ref, fmt.Sprintf("the object holds %d bytes with digest %s, and the message says %s bytes with digest %s: it was overwritten by another message with the same id", info.Size, info.Digest, size, digest)}
	}
	data, err := io.ReadAll(r)
	if errors.Is(err, jetstream.ErrDigestMismatch) {
		return nil, "", &claimError{ref, "the object is corrupt: its digest does not match its content"}
	}
	if err != nil {
		return nil, "", err
	}
	return data, name, nil
}

// ack acknowledges a handled d. A command whose body came by claim check
// is acknowledged with the server's confirmation, then its body removed;
// if the removal fails, the bucket's max age removes it.
func (ep *Endpoint) ack(ctx context.Context, d *delivery) error {
	if d.claim == "" {
		return d.msg.Ack()
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := d.msg.DoubleAck(ctx); err != nil {
		return err
	}
	obs, err := ep.client.claimsBucket(ctx)
	if err == nil {
		err = obs.Delete(ctx, d.claim)
	}
	if err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		ep.log.Warn("gobus: removing the body of a handled message from the claims bucket failed; the bucket's max age removes it", d.logAttrs("object", d.claim, "error", err)...)
	}
	return nil
}
