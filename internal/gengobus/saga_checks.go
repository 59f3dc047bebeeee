package gengobus

import "google.golang.org/protobuf/reflect/protoreflect"

// checkSagas reports what no single saga option shows: two sagas of one
// Go package with one name, and timeouts that some command names as a
// reply. A saga with such a mistake is dropped from its file, so that its
// Go names are not reported as clashes too.
func checkSagas(files []*contractFile, ms *mistakes) {
	replies := map[protoreflect.FullName]string{}
	for _, f := range files {
		for _, c := range f.messages {
			for _, m := range c.replyMsgs {
				replies[m.Desc.FullName()] = string(c.msg.Desc.FullName())
			}
		}
	}
	type key struct{ pkg, stem string }
	seen := map[key]*saga{}
	for _, f := range files {
		kept := f.sagas[:0]
		for _, s := range f.sagas {
			ok := true
			for _, t := range s.timeouts {
				if cmd, isReply := replies[t.msg.Desc.FullName()]; isReply {
					ms.add(optionPos(f.file, s.state, sagaExt(), sagaTimeoutsField), "saga %s names timeout %s, which command %s names as a reply: a timeout goes only to the saga's own endpoint, so it must be a plain message of its own; declare a message of its own for the timeout", s.state.Desc.FullName(), t.msg.Desc.FullName(), cmd)
					ok = false
				}
			}
			k := key{string(f.file.GoImportPath), s.stem}
			if first := seen[k]; first != nil {
				ms.add(s.at, "saga %s is named %s, as saga %s of the same Go package is, so both would declare %s: give one of them a name of its own, as in option (gobus.v1.saga) = { name: \"Express%s\" }", s.state.Desc.FullName(), s.stem, first.state.Desc.FullName(), s.names.Interface, s.stem)
				ok = false
			} else {
				seen[k] = s
			}
			if ok {
				kept = append(kept, s)
			}
		}
		f.sagas = kept
	}
}
