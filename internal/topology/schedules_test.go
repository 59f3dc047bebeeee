package topology

import (
	"strings"
	"testing"
)

// The subjects of one prefix's streams never overlap, with the reply and
// schedule subjects too, whatever the endpoints are called: a server
// refuses a stream whose subjects overlap another's.
func TestStreamSubjectsAreDisjoint(t *testing.T) {
	endpoints := []string{"sales", "evt", "cmd", "sched", "reply", "retry", "err", "audit", "x"}
	in := &Installer{Names: Names{Prefix: DefaultPrefix}}
	type owned struct{ subject, stream string }
	var all []owned
	add := func(stream string, subjects []string) {
		for _, s := range subjects {
			all = append(all, owned{s, stream})
		}
	}
	add("events", in.EventsStreamConfig().Subjects)
	add("errors", in.ErrorsStreamConfig().Subjects)
	add("audit", in.AuditStreamConfig(0).Subjects)
	for _, e := range endpoints {
		add("queue "+e, in.QueueStreamConfig(e).Subjects)
	}
	for i, a := range all {
		for _, b := range all[i+1:] {
			if a.stream != b.stream && collide(a.subject, b.subject) {
				t.Errorf("%s (%s) overlaps %s (%s)", a.subject, a.stream, b.subject, b.stream)
			}
		}
	}
	for _, e := range endpoints {
		cfg := in.QueueStreamConfig(e)
		if !cfg.AllowMsgSchedules {
			t.Errorf("queue %s does not allow schedules", e)
		}
		for _, s := range in.QueueSubjects(e) {
			if collide(s, in.Names.ScheduleSubjects(e)) {
				t.Errorf("queue consumer filter %s takes the schedules %s", s, in.Names.ScheduleSubjects(e))
			}
		}
	}
}

// collide reports whether some subject matches both filters.
func collide(a, b string) bool {
	x, y := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(x) && i < len(y); i++ {
		switch {
		case x[i] == ">" || y[i] == ">":
			return true
		case x[i] == "*" || y[i] == "*" || x[i] == y[i]:
			continue
		default:
			return false
		}
	}
	return len(x) == len(y)
}
