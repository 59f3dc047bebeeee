package gobus

import "fmt"

// lookupRoute returns the route of message type typ from the process-wide
// routing table.
func lookupRoute(typ string) (Route, bool) {
	routeTable.Lock()
	defer routeTable.Unlock()
	r, ok := routeTable.routes[typ]
	return r, ok
}

// checkSubject refuses a message whose ce-type does not belong on the
// subject it arrived on: a command of another endpoint, an event on a
// command's subject, one type dressed as another. Operators' retries
// arrive on the endpoint's retry subject and may carry any type. A type
// the routing table does not know is left to the handler lookup.
func (ep *Endpoint) checkSubject(typ, subject string) error {
	if subject == ep.retrySubject || ep.keyedArrival(typ, subject) {
		return nil
	}
	// The usual case, without the routing table's lock: the type's
	// subject is known and is this one.
	if want, ok := ep.client.subjects.Load(typ); ok && want.(string) == subject {
		return nil
	}
	r, ok := lookupRoute(typ)
	if !ok {
		return nil
	}
	want, err := ep.client.subjectFor(r)
	if err != nil || subject == want || filteredOn(r, want, subject) {
		return nil
	}
	return fmt.Errorf("%w: the %s %s arrived on subject %s, but its subject is %s", errWrongSubject, r.Kind, r.Type, subject, want)
}
