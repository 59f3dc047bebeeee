package gobus

// Step is what an endpoint does with a message once its handling ended.
type Step int

const (
	// StepAck acknowledges the handled message.
	StepAck Step = iota + 1
	// StepRetryNow calls the handler again at once (an immediate retry).
	StepRetryNow
	// StepRetryLater leaves the message for a delayed delivery.
	StepRetryLater
	// StepErrorStream moves the message to the error stream.
	StepErrorStream
	// StepHandBack returns the message unhandled because the endpoint is
	// stopping; it is delivered again, to another instance or the next
	// start.
	StepHandBack
)

// String returns the step's name, such as "retry-later".
func (s Step) String() string {
	switch s {
	case StepAck:
		return "ack"
	case StepRetryNow:
		return "retry-now"
	case StepRetryLater:
		return "retry-later"
	case StepErrorStream:
		return "error-stream"
	case StepHandBack:
		return "hand-back"
	}
	return "unknown"
}

// NextStep tells what the endpoint will do with the message if its
// handling ends with err, under the message's retry policy: for
// middleware that logs, counts or traces retries and failures.
func (mc *MessageContext) NextStep(err error) Step {
	switch {
	case err == nil:
		return StepAck
	case mc.stopping != nil && mc.stopping.Err() != nil:
		return StepHandBack
	case isUnrecoverable(err):
		return StepErrorStream
	case mc.delivery == 1 && mc.attempt-1 < mc.policy.Immediate:
		return StepRetryNow
	case mc.delivery <= mc.policy.Delayed:
		return StepRetryLater
	}
	return StepErrorStream
}
