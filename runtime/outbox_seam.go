package gobus

// Seal makes m what the innermost link of the dispatch chain hands to
// JetStream, without handing it over: a message held back with [After] or
// [At] becomes its schedule (m.Msg's subject and headers change, and
// [ScheduledID] learns its id), and a message larger than the server takes
// fails with [ErrTooLarge]. Dispatch middleware that ends the chain itself,
// storing messages to publish them later as the outbox
// (github.com/gobusdev/gobus/runtime/outbox) does, calls Seal instead of next;
// m.Msg is then ready to be published as it is, any number of times.
// Middleware that calls next must not call Seal.
func (m *OutgoingMessage) Seal() error {
	if len(m.Msg.Data) > m.client.claims.limit {
		if err := m.sealClaim(); err != nil {
			return err
		}
	}
	if !m.deliverAt.IsZero() {
		if err := m.client.hold(m.Outgoing, m.ID, m.Msg); err != nil {
			return err
		}
	}
	return m.client.checkSize(m.Msg, m.Route)
}
