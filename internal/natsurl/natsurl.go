// Package natsurl handles NATS server URLs for messages meant for people.
package natsurl

import "strings"

// Redact hides the credentials in a comma-separated list of NATS URLs, so
// that the list can be logged or put in an error.
func Redact(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		at := strings.LastIndex(p, "@")
		if at < 0 {
			continue
		}
		if scheme := strings.Index(p, "://"); scheme >= 0 && scheme < at {
			parts[i] = p[:scheme+3] + "[REDACTED]" + p[at:]
		} else {
			parts[i] = "[REDACTED]" + p[at:]
		}
	}
	return strings.Join(parts, ",")
}
