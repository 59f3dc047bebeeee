package cli

import (
	"runtime/debug"

	gobus "github.com/gobusdev/gobus/runtime"
)

// version is what gobus --version prints: the module version the binary
// was built from (go install …@v0.2.0), or the runtime's version and the
// commit for a build from a checkout.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return gobus.Version
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	v := gobus.Version + " (devel"
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v + ")"
}
