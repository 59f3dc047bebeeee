package gobus

import (
	"os"
	"path/filepath"
)

// EnvURL is the environment variable [Connect] reads for the NATS server
// or cluster when no option names one.
const EnvURL = "GOBUS_URL"

// DefaultStoreDir is where the embedded server that [Connect] starts by
// default keeps its streams, relative to the working directory, as a
// development transport keeps its queues beside the project.
const DefaultStoreDir = ".gobus/jetstream"

// serverDefault fills in the server when no option named one: GOBUS_URL
// if set, else an embedded server storing under [DefaultStoreDir]. It
// reports whether it chose the embedded server, so Connect can say so.
func (c *clientConfig) serverDefault() (embedded bool, err error) {
	if c.url != "" || c.conn != nil || c.embedded != nil || c.edge != nil {
		return false, nil
	}
	if url := os.Getenv(EnvURL); url != "" {
		c.url = url
		return false, nil
	}
	dir, err := filepath.Abs(DefaultStoreDir)
	if err != nil {
		return false, invalidf("no NATS server configured and no default store directory: %v", err)
	}
	c.embedded = &EmbeddedServer{StoreDir: dir}
	return true, nil
}
