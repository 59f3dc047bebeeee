package schedule

import (
	"fmt"
	"strconv"
	"strings"
)

// MinServer is the oldest nats-server that schedules messages.
const MinServer = "2.12.0"

// CheckServer fails, saying the version found, when version (as the
// server announces it, such as "2.11.4" or "2.12.0-RC.1") is older than
// [MinServer]. A server that does not know schedules would store a
// scheduled message as an ordinary one on its schedule subject, or
// refuse the stream setting, so gobus stops before that.
func CheckServer(version string) error {
	major, minor, ok := majorMinor(version)
	if !ok {
		return fmt.Errorf("gobus schedules messages on the NATS server and needs nats-server %s or later, but the server announces version %q, which gobus cannot read", MinServer, version)
	}
	if major < 2 || major == 2 && minor < 12 {
		return fmt.Errorf("gobus schedules messages on the NATS server and needs nats-server %s or later, but the server is version %s: upgrade the server", MinServer, version)
	}
	return nil
}

func majorMinor(version string) (major, minor int, ok bool) {
	parts := strings.SplitN(strings.TrimPrefix(version, "v"), ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(strings.SplitN(parts[1], "-", 2)[0])
	return major, minor, err1 == nil && err2 == nil
}
