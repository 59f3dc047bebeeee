package ui

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/gobusdev/gobus/internal/errorstream"
	"github.com/gobusdev/gobus/internal/wire"
)

// header is one header line of the message detail.
type header struct{ Key, Value string }

func (s *Server) messagePage(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		http.Error(w, "gobus ui: not a failed-message id: "+r.PathValue("id"), http.StatusNotFound)
		return
	}
	es, err := s.errorStream(r.Context())
	if err == nil && es == nil {
		http.Error(w, "gobus ui: there is no error stream", http.StatusNotFound)
		return
	}
	var found []*errorstream.Message
	if err == nil {
		found, err = es.Find(r.Context(), errorstream.Selector{IDs: []uint64{id}})
	}
	var unknown *errorstream.UnknownIDError
	switch {
	case errorsAs(err, &unknown):
		http.Error(w, "gobus ui: no failed message "+strconv.FormatUint(id, 10)+": it was retried or deleted", http.StatusNotFound)
		return
	case err != nil:
		http.Error(w, "gobus ui: "+err.Error(), http.StatusBadGateway)
		return
	}
	m := found[0]
	d := map[string]any{"Message": m, "GroupID": groupID(m), "Back": "/failed/group/" + groupID(m)}
	d["Body"], d["Decoded"], d["DecodedBy"], d["Why"] = s.decode(r, m)
	d["Failure"], d["Headers"] = splitHeaders(m.Headers)
	s.render(w, r, "message", page{Title: "Failed message " + strconv.FormatUint(id, 10), Nav: "failed", Data: d})
}

// decode returns m's body as indented JSON and what decoded it, or as a
// hex dump and why it is one.
func (s *Server) decode(r *http.Request, m *errorstream.Message) (body string, decoded bool, by, why string) {
	contentType, data := "", m.Body
	if env, err := wire.Parse(m.Headers, m.Body); err == nil {
		contentType, data = env.ContentType, env.Data
	}
	why = "no schema of " + m.Type + " is known (start its endpoints with the schema registry on)"
	if s.cfg.Schemas != nil {
		js, err := s.cfg.Schemas.ToJSON(r.Context(), m.Type, contentType, data)
		if err == nil {
			var out bytes.Buffer
			if json.Indent(&out, js, "", "  ") == nil {
				return out.String(), true, "schema registry", ""
			}
		}
		why = err.Error()
	}
	if mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(m.Type)); err == nil {
		msg := mt.New().Interface()
		var uerr error
		if strings.HasPrefix(contentType, wire.ContentTypeJSON) {
			uerr = protojson.Unmarshal(data, msg)
		} else {
			uerr = proto.Unmarshal(data, msg)
		}
		if uerr == nil {
			return protojson.MarshalOptions{Multiline: true, Indent: "  "}.Format(msg), true, "types linked into gobus", ""
		}
	}
	return hex.Dump(m.Body), false, "", why
}

// splitHeaders returns the failure headers and the message's own, each
// sorted by name.
func splitHeaders(h map[string][]string) (failure, own []header) {
	for k, vs := range h {
		for _, v := range vs {
			if k == wire.HeaderErrorStack || k == wire.HeaderErrorMessage {
				v = wire.UnescapeHeaderValue(v)
			}
			if k == wire.HeaderErrorStack {
				v = "(the stack above)"
			}
			if errorstream.IsFailureHeader(k) {
				failure = append(failure, header{k, v})
			} else {
				own = append(own, header{k, v})
			}
		}
	}
	byKey := func(hs []header) {
		sort.SliceStable(hs, func(i, j int) bool { return hs[i].Key < hs[j].Key })
	}
	byKey(failure)
	byKey(own)
	return failure, own
}
