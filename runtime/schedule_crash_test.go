package gobus_test

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A schedule outlives the process that made it: the scheduler
// (internal/crashtest/scheduler) holds ticks back for 2 s, says so, and is
// killed with SIGKILL; every tick arrives on time anyway.
func TestScheduleSurvivesKilledScheduler(t *testing.T) {
	const n = 20
	bin := buildProgram(t, "github.com/gobusdev/gobus/internal/crashtest/scheduler")
	url := newServerURL(t)
	c := connect(t, url)
	tk := newTicks()
	startTicker(t, c, tk)

	start := time.Now()
	p := startWorker(t, bin, "-url", url, "-n", fmt.Sprint(n), "-after", "2s")
	waitFor(t, "the scheduler to schedule its ticks", func() bool {
		p.checkRunning(t)
		return strings.Contains(p.output.String(), "scheduled")
	})
	p.kill(t)
	if got := len(tk.arrived); got > 0 {
		t.Fatalf("%d ticks arrived before their time", got)
	}
	for i := range n {
		waitTick(t, tk, fmt.Sprintf("crash-%d", i))
	}
	if early := 2*time.Second - time.Since(start); early > 0 {
		t.Fatalf("the ticks arrived %v early", early)
	}
}

// buildProgram builds the command pkg, with the race detector if this test
// runs with it, and returns its path.
func buildProgram(t *testing.T, pkg string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("building %s needs the go command: %v", pkg, err)
	}
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	args := []string{"build", "-o", bin}
	if raceEnabled() {
		args = append(args, "-race")
	}
	args = append(args, pkg)
	if out, err := exec.Command(goTool, args...).CombinedOutput(); err != nil {
		t.Fatalf("go %v: %v\n%s", args, err, out)
	}
	return bin
}
