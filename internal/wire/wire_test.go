package wire_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nats-io/nats.go"

	"github.com/gobusdev/gobus/internal/wire"
)

// binaryHeaders are the required attributes of a binary-mode message.
func binaryHeaders() nats.Header {
	return nats.Header{
		"ce-specversion": {"1.0"},
		"ce-id":          {"id-1"},
		"ce-type":        {"gobustest.v1.Work"},
		"ce-source":      {"another-language"},
	}
}

// The binding's section 3.1.3.2: space, '"', '%' and everything outside
// printable ASCII are percent-encoded, in upper-case hex, byte by byte of
// the UTF-8 encoding; nothing else is.
func TestEncodeAttribute(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Euro € 😀", "Euro%20%E2%82%AC%20%F0%9F%98%80"}, // the binding's own example
		{"gobustest.v1.Work", "gobustest.v1.Work"},
		{"2025-06-01T10:00:00Z", "2025-06-01T10:00:00Z"},
		{"50% off", "50%25%20off"},
		{`say "hi"`, "say%20%22hi%22"},
		{"tab\there\r\n", "tab%09here%0D%0A"},
		{"del\x7f nbsp\u00a0", "del%7F%20nbsp%C2%A0"},
		{"/mycontext/sub?x=1&y=~'!", "/mycontext/sub?x=1&y=~'!"},
		{"", ""},
	} {
		if got := wire.EncodeAttribute(tc.in); got != tc.want {
			t.Errorf("EncodeAttribute(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Decoding unquotes an RFC 7230 quoted string, then percent-decodes once,
// accepting lower-case and needless escapes, and rejects invalid UTF-8.
func TestDecodeAttribute(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"Euro%20%E2%82%AC%20%F0%9F%98%80", "Euro € 😀", true},
		{"z%c3%bcrich", "zürich", true},                     // lower-case hex
		{"%41%42C", "ABC", true},                            // needlessly encoded
		{"%2541", "%41", true},                              // one round only
		{`"a b \"quoted\" \\ c"`, `a b "quoted" \ c`, true}, // an older sender's quoted string
		{`"unterminated`, `"unterminated`, true},
		{"50%", "50%", true}, // a '%' that starts no escape is kept
		{"%zz%4", "%zz%4", true},
		{"raw ünicode", "raw ünicode", true}, // a sender that does not encode
		{"%C0%A0", "", false},                // overlong U+0020: the binding says reject
		{"%FF", "", false},
		{"%ED%A0%80", "", false}, // a UTF-16 surrogate
	} {
		got, ok := wire.DecodeAttribute(tc.in)
		if ok != tc.ok || (ok && got != tc.want) {
			t.Errorf("DecodeAttribute(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// FuzzAttribute checks that decoding undoes encoding, and that encoding
// writes printable ASCII without spaces or double quotes.
func FuzzAttribute(f *testing.F) {
	for _, s := range []string{"", "plain", "Euro € 😀", "%41", `"q"`, "\x00\x7f\u00a0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc := wire.EncodeAttribute(s)
		if i := strings.IndexFunc(enc, func(r rune) bool { return r <= ' ' || r > '~' || r == '"' }); i >= 0 {
			t.Fatalf("EncodeAttribute(%q) = %q holds %q", s, enc, enc[i])
		}
		dec, ok := wire.DecodeAttribute(enc)
		if ok != utf8.ValidString(s) || (ok && dec != s) {
			t.Fatalf("DecodeAttribute(EncodeAttribute(%q)) = %q, %v", s, dec, ok)
		}
	})
}

// gobus writes the content type as ce-datacontenttype, not content-type,
// and encodes its attributes; it reads back what it wrote.
func TestMessageWritesDataContentTypeAndEncodes(t *testing.T) {
	e := &wire.Envelope{ID: "id 1", Type: "gobustest.v1.Work", Source: "Zürich office", ContentType: wire.ContentTypeProtobuf,
		CorrelationID: "c%1", Intent: wire.IntentSend, Data: []byte("body")}
	m := e.Message("gobus.cmd.worker.gobustest.v1.Work")
	want := map[string]string{
		"ce-datacontenttype": "application/protobuf",
		"content-type":       "",
		"ce-source":          "Z%C3%BCrich%20office",
		"ce-id":              "id%201",
		"Nats-Msg-Id":        "id%201",
		"ce-correlationid":   "c%251",
	}
	for k, v := range want {
		if got := m.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	back, err := wire.Parse(m.Header, m.Data)
	if err != nil {
		t.Fatal(err)
	}
	if back.ID != e.ID || back.Source != e.Source || back.CorrelationID != e.CorrelationID || back.ContentType != e.ContentType {
		t.Errorf("read back %+v, want %+v", back, e)
	}
	if back.ContentTypeFrom != wire.ContentTypeFromAttribute {
		t.Errorf("content type from %v, want ce-datacontenttype", back.ContentTypeFrom)
	}
}

// ce-datacontenttype is read first, content-type as a fallback; with
// neither, the body is protobuf; the envelope says which.
func TestParseContentTypeSources(t *testing.T) {
	for _, tc := range []struct {
		name            string
		dct, ct         string
		want            string
		from            wire.ContentTypeSource
		reasonSubstring string
	}{
		{"ce-datacontenttype", "application/json", "", "application/json", wire.ContentTypeFromAttribute, "as ce-datacontenttype says"},
		{"both: ce-datacontenttype wins", "application/json", "application/protobuf", "application/json", wire.ContentTypeFromAttribute, "as ce-datacontenttype says"},
		{"content-type only", "", "Application/JSON; charset=utf-8", "application/json", wire.ContentTypeFromHeader, "no ce-datacontenttype was given"},
		{"neither", "", "", "application/protobuf", wire.ContentTypeDefault, "because no ce-datacontenttype was given"},
		{"encoded ce-datacontenttype", "application/json;%20charset=utf-8", "", "application/json", wire.ContentTypeFromAttribute, "ce-datacontenttype"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := binaryHeaders()
			if tc.dct != "" {
				h.Set("ce-datacontenttype", tc.dct)
			}
			if tc.ct != "" {
				h.Set("content-type", tc.ct)
			}
			e, err := wire.Parse(h, nil)
			if err != nil {
				t.Fatal(err)
			}
			if e.ContentType != tc.want || e.ContentTypeFrom != tc.from || !strings.Contains(e.ContentTypeReason(), tc.reasonSubstring) {
				t.Errorf("content type %q from %v (%s), want %q from %v (%s)", e.ContentType, e.ContentTypeFrom, e.ContentTypeReason(), tc.want, tc.from, tc.reasonSubstring)
			}
		})
	}
}

// Received attributes are percent-decoded; one that decodes to invalid
// UTF-8 makes the message malformed.
func TestParseDecodesAttributes(t *testing.T) {
	h := binaryHeaders()
	h.Set("Ce-Source", "Z%C3%BCrich%20office") // names in any case, as before
	delete(h, "ce-source")
	h.Set("ce-id", `"quoted id"`)
	h.Set("ce-time", "2025-06-01T10%3A00%3A00Z")
	e, err := wire.Parse(h, nil)
	if err != nil {
		t.Fatal(err)
	}
	if e.Source != "Zürich office" || e.ID != "quoted id" || e.Time.IsZero() {
		t.Errorf("decoded %+v", e)
	}
	h.Set("ce-type", "gobustest.v1.%C0%A0Work")
	if _, err := wire.Parse(h, nil); !errors.Is(err, wire.ErrMalformed) || !strings.Contains(err.Error(), "ce-type") || !strings.Contains(err.Error(), "not valid UTF-8") {
		t.Errorf("an overlong encoding in ce-type: %v, want a malformed message naming ce-type", err)
	}
}

// structured builds a structured-mode message's headers.
func structured() nats.Header {
	return nats.Header{"content-type": {"application/cloudevents+json; charset=utf-8"}}
}

// Structured mode: content-type application/cloudevents+json, the JSON
// event format in the body; data as JSON, or data_base64 for protobuf.
func TestParseStructured(t *testing.T) {
	pb := []byte{0x0a, 0x01, 'x'}
	for _, tc := range []struct {
		name, body string
		wantData   string
		wantCT     string
		from       wire.ContentTypeSource
	}{
		{"JSON data with datacontenttype",
			`{"specversion":"1.0","id":"s-1","type":"gobustest.v1.Work","source":"sdk","datacontenttype":"application/json","data":{"id":"s"}}`,
			`{"id":"s"}`, "application/json", wire.ContentTypeFromEvent},
		{"JSON data without datacontenttype",
			`{"specversion":"1.0","id":"s-1","type":"gobustest.v1.Work","source":"sdk","data":{"id":"s"}}`,
			`{"id":"s"}`, "application/json", wire.ContentTypeJSONData},
		{"protobuf in data_base64",
			`{"specversion":"1.0","id":"s-1","type":"gobustest.v1.Work","source":"sdk","datacontenttype":"application/protobuf","data_base64":"` + base64.StdEncoding.EncodeToString(pb) + `"}`,
			string(pb), "application/protobuf", wire.ContentTypeFromEvent},
		{"data_base64 without datacontenttype",
			`{"specversion":"1.0","id":"s-1","type":"gobustest.v1.Work","source":"sdk","data_base64":"` + base64.RawStdEncoding.EncodeToString(pb) + `"}`,
			string(pb), "application/protobuf", wire.ContentTypeEventDefault},
		{"no data",
			`{"specversion":"1.0","id":"s-1","type":"gobustest.v1.Work","source":"sdk","data":null}`,
			"", "application/protobuf", wire.ContentTypeEventDefault},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := wire.Parse(structured(), []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if string(e.Data) != tc.wantData || e.ContentType != tc.wantCT || e.ContentTypeFrom != tc.from || !e.Structured {
				t.Errorf("data %q as %q from %v (structured %v), want %q as %q from %v", e.Data, e.ContentType, e.ContentTypeFrom, e.Structured, tc.wantData, tc.wantCT, tc.from)
			}
			if e.ID != "s-1" || e.Type != "gobustest.v1.Work" || e.Source != "sdk" || e.CorrelationID != "s-1" {
				t.Errorf("envelope %+v", e)
			}
		})
	}
}

// The attributes of a structured event map to the same envelope as the
// headers of a binary one.
func TestParseStructuredAttributes(t *testing.T) {
	body := `{"specversion":"1.0","id":"s-2","type":"gobustest.v1.Work","source":"sdk","time":"2025-06-01T12:00:00+02:00",
		"correlationid":"conv-1","causationid":"cause-1","gobusintent":"send","gobusreplyto":"r","traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"unknownext":42,"data":{}}`
	h := structured()
	h.Set("tracestate", "ignored=1") // the event's own trace context wins
	e, err := wire.Parse(h, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := wire.Envelope{ID: "s-2", Type: "gobustest.v1.Work", Source: "sdk", CorrelationID: "conv-1", CausationID: "cause-1",
		Intent: wire.IntentSend, ReplyTo: "r", TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
	if e.ID != want.ID || e.Type != want.Type || e.Source != want.Source || e.CorrelationID != want.CorrelationID ||
		e.CausationID != want.CausationID || e.Intent != want.Intent || e.ReplyTo != want.ReplyTo || e.TraceParent != want.TraceParent || e.TraceState != "" {
		t.Errorf("envelope %+v, want %+v", e, want)
	}
	if e.Time.UTC().Format("15:04") != "10:00" {
		t.Errorf("time %v", e.Time)
	}
}

// A malformed structured event is malformed, and the error says why.
func TestParseStructuredMalformed(t *testing.T) {
	const head = `"specversion":"1.0","id":"s-1","type":"gobustest.v1.Work","source":"sdk"`
	for _, tc := range []struct{ name, contentType, body, reason string }{
		{"not JSON", "", "\x0a\x01x", "the body is not a JSON event"},
		{"a JSON array", "", `[1]`, "the body is not a JSON event"},
		{"JSON null", "", `null`, "the body is not a JSON event"},
		{"missing attributes", "", `{"specversion":"1.0","type":"t"}`, "missing structured-event attribute id, source"},
		{"no specversion", "", `{"id":"i","type":"t","source":"s"}`, "missing structured-event attribute specversion"},
		{"specversion 0.3", "", `{"specversion":"0.3","id":"i","type":"t","source":"s"}`, `specversion is "0.3", gobus reads CloudEvents 1.0`},
		{"id not a string", "", `{"specversion":"1.0","id":7,"type":"t","source":"s"}`, `attribute id is "7", not a JSON string`},
		{"bad time", "", `{` + head + `,"time":"yesterday"}`, `time "yesterday" is not an RFC 3339 time`},
		{"data and data_base64", "", `{` + head + `,"data":{},"data_base64":"AA=="}`, "both data and data_base64"},
		{"bad base64", "", `{` + head + `,"data_base64":"!!"}`, "data_base64 is not base64"},
		{"protobuf as a JSON object", "", `{` + head + `,"datacontenttype":"application/protobuf","data":{"id":"x"}}`, "goes in data_base64"},
		{"another event format", "application/cloudevents+avro", `{}`, "event format gobus does not read"},
		{"batch format", "application/cloudevents-batch+json", `[]`, "event format gobus does not read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := structured()
			if tc.contentType != "" {
				h.Set("content-type", tc.contentType)
			}
			_, err := wire.Parse(h, []byte(tc.body))
			if !errors.Is(err, wire.ErrMalformed) || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("Parse: %v, want a malformed message saying %q", err, tc.reason)
			}
		})
	}
}

// content-type application/cloudevents+json marks structured mode even on
// a message that also has ce- headers, as the binding says.
func TestParseContentTypeCloudEventsIsStructured(t *testing.T) {
	h := binaryHeaders()
	h.Set("Content-Type", "Application/CloudEvents+JSON")
	_, err := wire.Parse(h, []byte{0x0a, 0x01, 'x'})
	if !errors.Is(err, wire.ErrMalformed) || !strings.Contains(err.Error(), "structured mode") {
		t.Errorf("Parse: %v, want a malformed structured event", err)
	}
}

// Failure header values are printable ASCII: a decode error with a U+00A0
// in it, a tab in a stack, a '%' in a message are percent-encoded, and
// UnescapeHeaderValue gives the text back.
func TestHeaderValueIsASCII(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"invalid value for string field id: \u00a0", "invalid value for string field id: %C2%A0"},
		{"50% done, \"quoted\"", "50%25 done, \"quoted\""},
		{"line\n\tat f.go:3\r\n", `line\n%09at f.go:3\r\n`},
		{`C:\dir`, `C:\\dir`},
		{"plain text", "plain text"},
	} {
		got := wire.HeaderValue(tc.in, 1<<10)
		if got != tc.want {
			t.Errorf("HeaderValue(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if back := wire.UnescapeHeaderValue(got); back != tc.in {
			t.Errorf("UnescapeHeaderValue(%q) = %q, want %q", got, back, tc.in)
		}
	}
	if got := wire.HeaderValue(strings.Repeat("é", 20), 20); got != "%C3%A9...[truncated]" {
		t.Errorf("cut value %q, want one whole character and the ASCII marker", got)
	}
}

// A message with neither ce-specversion nor content-type whose body is a
// JSON event is structured, as in version 1.0.2 of the binding and as the
// CloudEvents Go SDK writes structured mode; other bodies without headers
// are malformed as before.
func TestParseHeaderlessJSONEventIsStructured(t *testing.T) {
	body := ` {"specversion":"1.0","id":"s-3","type":"gobustest.v1.Work","source":"sdk","data":{"id":"x"}}`
	e, err := wire.Parse(nats.Header{"trace-id": {"1"}}, []byte(body))
	if err != nil || !e.Structured || e.ID != "s-3" || string(e.Data) != `{"id":"x"}` {
		t.Errorf("Parse = %+v, %v; want the structured event", e, err)
	}
	for _, data := range []string{"\x0a\x01x", `{"id":"x"}`} {
		if _, err := wire.Parse(nil, []byte(data)); err == nil || !strings.Contains(err.Error(), "missing CloudEvents header ce-specversion") {
			t.Errorf("Parse of %q without headers: %v, want the missing headers named", data, err)
		}
	}
}
