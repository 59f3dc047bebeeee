package errorstream

import (
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/gobusdev/gobus/internal/wire"
)

// Message is one message in the error stream: its failure headers read
// out, and its original headers and body.
type Message struct {
	ID            uint64              `json:"id"`
	Endpoint      string              `json:"endpoint"`
	Type          string              `json:"type"`
	MessageID     string              `json:"message_id"`
	Source        string              `json:"source,omitempty"`
	CorrelationID string              `json:"correlation_id,omitempty"`
	FailedAt      time.Time           `json:"failed_at"`
	Attempts      int                 `json:"attempts"`
	Kind          string              `json:"kind"`
	ErrorType     string              `json:"error_type,omitempty"`
	Error         string              `json:"error"`
	Stack         string              `json:"stack,omitempty"`
	Subject       string              `json:"original_subject"`
	Stream        string              `json:"original_stream"`
	Sequence      uint64              `json:"original_sequence"`
	Headers       map[string][]string `json:"headers,omitempty"`
	Body          []byte              `json:"-"`
}

// NewMessage reads the message with error-stream sequence id, headers h
// and body.
func NewMessage(id uint64, h nats.Header, body []byte) *Message {
	get := func(k string) string { return wire.Get(h, k) }
	m := &Message{
		ID:            id,
		Endpoint:      get(wire.HeaderFailedEndpoint),
		Type:          get(wire.HeaderType),
		MessageID:     get(wire.HeaderID),
		Source:        get(wire.HeaderSource),
		CorrelationID: get(wire.HeaderCorrelationID),
		Kind:          get(wire.HeaderErrorKind),
		ErrorType:     get(wire.HeaderErrorType),
		Error:         wire.UnescapeHeaderValue(get(wire.HeaderErrorMessage)),
		Stack:         wire.UnescapeHeaderValue(get(wire.HeaderErrorStack)),
		Subject:       get(wire.HeaderFailedSubject),
		Stream:        get(wire.HeaderFailedStream),
		Headers:       h,
		Body:          body,
	}
	m.FailedAt, _ = time.Parse(time.RFC3339, get(wire.HeaderFailedAt))
	m.Attempts, _ = strconv.Atoi(get(wire.HeaderAttempts))
	m.Sequence, _ = strconv.ParseUint(get(wire.HeaderFailedSequence), 10, 64)
	return m
}

// IsFailureHeader reports whether k is one of the headers the runtime adds
// when it moves a message to the error stream.
func IsFailureHeader(k string) bool {
	for _, h := range wire.FailureHeaders {
		if strings.EqualFold(k, h) {
			return true
		}
	}
	return false
}
