package gobus

import "time"

// DefaultCompletedSagaTTL is how long the record of a completed saga
// instance stays unless [WithCompletedSagaTTL] says otherwise.
const DefaultCompletedSagaTTL = time.Hour

// WithCompletedSagaTTL sets how long the record of a completed saga
// instance stays in its bucket (rounded up to whole seconds, at least
// one): long enough for a message of the instance whose acknowledgement
// was lost to be redelivered and recognised, rather than start the saga
// anew. The record holds no state, only the ids of the last messages
// applied; the server removes it when the time is up. The default is
// [DefaultCompletedSagaTTL].
func WithCompletedSagaTTL(d time.Duration) EndpointOption {
	return endpointOptionFunc(func(c *endpointConfig) { c.completedSagaTTL = d })
}
