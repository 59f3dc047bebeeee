package natsurl

import "testing"

func TestRedact(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"nats://127.0.0.1:4222":               "nats://127.0.0.1:4222",
		"nats://alice:s3cret@host:4222":       "nats://[REDACTED]@host:4222",
		"nats://token@a:1,nats://b:2":         "nats://[REDACTED]@a:1,nats://b:2",
		"user:pa@ss@host:4222":                "[REDACTED]@host:4222",
		"tls://u:p@h1:4222,tls://u:p@h2:4222": "tls://[REDACTED]@h1:4222,tls://[REDACTED]@h2:4222",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
