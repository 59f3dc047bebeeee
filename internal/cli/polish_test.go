package cli_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gobusdev/gobus/internal/cli"
)

// mainOut runs the command line as the binary would and returns its exit
// code, stdout and stderr.
func mainOut(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := cli.Main(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestVersion(t *testing.T) {
	t.Parallel()
	code, out, _ := mainOut("--version")
	if code != 0 || !strings.HasPrefix(out, "gobus 0.") {
		t.Errorf("gobus --version: exit %d, %q", code, out)
	}
}

// A missing id says what is missing, also as JSON with --json.
func TestMissingID(t *testing.T) {
	t.Parallel()
	code, _, errOut := mainOut("errors", "show")
	if code != 1 || !strings.Contains(errOut, "gobus: give the id of a failed message, as in gobus errors show 12") {
		t.Errorf("gobus errors show: exit %d, %q", code, errOut)
	}
	code, _, errOut = mainOut("errors", "show", "1", "2")
	if code != 1 || !strings.Contains(errOut, "takes one failed-message id, not 2") {
		t.Errorf("gobus errors show 1 2: exit %d, %q", code, errOut)
	}
	for _, args := range [][]string{{"--json", "errors", "show"}, {"errors", "show", "--json"}, {"errors", "list", "--json", "--no-such-flag"}} {
		code, _, errOut = mainOut(args...)
		var e struct{ Error string }
		if err := json.Unmarshal([]byte(errOut), &e); code != 1 || err != nil || e.Error == "" {
			t.Errorf("gobus %s: exit %d, stderr %q, want {\"error\": ...}", strings.Join(args, " "), code, errOut)
		}
	}
}

// The help says what the commands do.
func TestHelpMatchesBehaviour(t *testing.T) {
	t.Parallel()
	for _, sub := range []string{"retry", "delete"} {
		_, out, _ := mainOut("errors", sub, "--help")
		if strings.Contains(out, "filters above") || strings.Contains(out, "with --all and the filters") {
			t.Errorf("errors %s --help still says the filters need --all:\n%s", sub, out)
		}
		if !strings.Contains(out, "by --endpoint, --type and --contains") {
			t.Errorf("errors %s --help does not say the filters choose messages:\n%s", sub, out)
		}
	}
	_, out, _ := mainOut("errors", "show", "--help")
	if !strings.Contains(out, "linked into this") {
		t.Errorf("errors show --help does not say linked types decode:\n%s", out)
	}
	_, out, _ = mainOut("--help")
	if !strings.Contains(out, "init") || !strings.Contains(out, "GOBUS_PREFIX") {
		t.Errorf("gobus --help:\n%s", out)
	}
}
