package wire

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// Structured content mode: the whole event, attributes and data, is the
// body, in an event format; the content-type header names the format.
// gobus reads the JSON event format, which the binding requires every
// implementation to support, and writes binary mode only.

// parseStructured reads the envelope of a structured-mode message from its
// body. r holds the headers, of which only content-type and the W3C trace
// context count here.
func parseStructured(r headerValues, body []byte) (*Envelope, error) {
	if mt := strings.ToLower(MediaType(r.contentType)); mt != "" && mt != ContentTypeCloudEventsJSON && mt != "application/cloudevents" {
		return nil, fmt.Errorf("%w: content-type %s is a structured-mode event format gobus does not read: send the JSON event format (%s) or binary mode (ce- headers)",
			ErrMalformed, Quote(r.contentType), ContentTypeCloudEventsJSON)
	}
	var attrs map[string]json.RawMessage
	if err := json.Unmarshal(body, &attrs); err != nil || attrs == nil {
		return nil, fmt.Errorf("%w: content-type is %s (structured mode), but the body is not a JSON event: %v", ErrMalformed, ContentTypeCloudEventsJSON, jsonProblem(err))
	}
	ev := eventReader{attrs: attrs}
	e, specVersion, sentAt := ev.envelope()
	if e.TraceParent == "" {
		e.TraceParent, e.TraceState = r.traceParent, r.traceState
	}
	e.Data, e.ContentType, e.ContentTypeFrom = ev.data()
	if ev.err != nil {
		return nil, ev.err
	}
	if err := checkRequired(specVersion, e, "structured-event attribute ", "specversion", "id", "type", "source"); err != nil {
		return nil, err
	}
	if err := e.setTime("time", sentAt); err != nil {
		return nil, err
	}
	e.setDefaults()
	return e, nil
}

func jsonProblem(err error) string {
	if err == nil {
		return "it is null"
	}
	return err.Error()
}

// eventReader reads the attributes of a JSON event, keeping the first
// error.
type eventReader struct {
	attrs map[string]json.RawMessage
	err   error
}

// envelope reads the context attributes, and returns the spec version and
// time for checking.
func (ev *eventReader) envelope() (e *Envelope, specVersion, sentAt string) {
	e = &Envelope{
		ID:            ev.str("id"),
		Type:          ev.str("type"),
		Source:        ev.str("source"),
		CorrelationID: ev.str("correlationid"),
		CausationID:   ev.str("causationid"),
		Intent:        Intent(ev.str("gobusintent")),
		ReplyTo:       ev.str("gobusreplyto"),
		TraceParent:   ev.str("traceparent"),
		TraceState:    ev.str("tracestate"),
		Structured:    true,
	}
	return e, ev.str("specversion"), ev.str("time")
}

// str returns a string attribute, "" when it is absent or null.
func (ev *eventReader) str(name string) string {
	raw, ok := ev.value(name)
	if !ok {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		ev.fail(fmt.Errorf("%w: structured-event attribute %s is %s, not a JSON string", ErrMalformed, name, Quote(string(raw))))
	}
	return s
}

// value returns an attribute's JSON value, unless it is absent or null,
// which the JSON event format treats alike.
func (ev *eventReader) value(name string) (json.RawMessage, bool) {
	raw, ok := ev.attrs[name]
	if !ok || string(raw) == "null" {
		return nil, false
	}
	return raw, true
}

func (ev *eventReader) fail(err error) {
	if ev.err == nil {
		ev.err = err
	}
}

// data returns the event's data as the body, with its content type and
// where that came from. The JSON event format puts binary data, such as
// protobuf, in data_base64; JSON data in data as a JSON value; other text
// in data as a JSON string.
func (ev *eventReader) data() ([]byte, string, ContentTypeSource) {
	dct := ev.str("datacontenttype")
	mt, from := MediaType(dct), ContentTypeFromEvent
	if dct == "" {
		mt, from = ContentTypeProtobuf, ContentTypeEventDefault
	}
	raw, hasData := ev.value("data")
	b64, hasBase64 := ev.value("data_base64")
	switch {
	case hasData && hasBase64:
		ev.fail(fmt.Errorf("%w: the structured event has both data and data_base64", ErrMalformed))
		return nil, mt, from
	case hasBase64:
		return ev.base64Data(b64), mt, from
	case !hasData:
		return nil, mt, from
	case dct == "":
		return raw, ContentTypeJSON, ContentTypeJSONData
	case isJSONMediaType(mt):
		return raw, mt, from
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		ev.fail(fmt.Errorf("%w: the structured event's datacontenttype is %s, so its data must be a JSON string (binary data such as protobuf goes in data_base64)",
			ErrMalformed, Quote(dct)))
	}
	return []byte(s), mt, from
}

// base64Data decodes data_base64, with or without padding.
func (ev *eventReader) base64Data(raw json.RawMessage) []byte {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		ev.fail(fmt.Errorf("%w: structured-event data_base64 is %s, not a JSON string", ErrMalformed, Quote(string(raw))))
		return nil
	}
	data, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		if data, err = base64.RawStdEncoding.DecodeString(s); err != nil {
			ev.fail(fmt.Errorf("%w: structured-event data_base64 is not base64: %v", ErrMalformed, err))
		}
	}
	return data
}

// isJSONMediaType reports whether data of media type mt is JSON, which the
// JSON event format carries as a JSON value.
func isJSONMediaType(mt string) bool {
	mt = strings.ToLower(mt)
	return mt == ContentTypeJSON || mt == "text/json" || strings.HasSuffix(mt, "+json")
}
