package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
)

// profilePathFile is the file in the server's store directory that names
// where its next CPU profile goes.
const profilePathFile = "profile-path"

// profileOnSignal makes a server child start a CPU profile on SIGUSR2,
// into the file that store/profile-path names, and stop it on the next;
// it answers each with a line (see benchServer.profile).
func profileOnSignal(store string) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR2)
	go func() {
		var f *os.File
		for range sig {
			if f != nil {
				pprof.StopCPUProfile()
				f.Close()
				f = nil
				fmt.Println("profiled")
				continue
			}
			path, err := os.ReadFile(filepath.Join(store, profilePathFile))
			if err == nil {
				f, err = os.Create(strings.TrimSpace(string(path)))
			}
			if err == nil {
				if err = pprof.StartCPUProfile(f); err != nil {
					f.Close()
					f = nil
				}
			}
			if err != nil {
				fmt.Println("not profiling:", err)
				continue
			}
			fmt.Println("profiling")
		}
	}()
}

// profile runs f with the server's CPU profiled into path; with path ""
// it only runs f.
func (s *benchServer) profile(path string, f func() error) error {
	if path == "" {
		return f()
	}
	if err := s.toggleProfile(path, "profiling"); err != nil {
		return err
	}
	err := f()
	if perr := s.toggleProfile(path, "profiled"); err == nil {
		err = perr
	}
	return err
}

// toggleProfile starts or stops the server's CPU profile and waits for
// the child's answer, want.
func (s *benchServer) toggleProfile(path, want string) error {
	if err := os.WriteFile(filepath.Join(s.store, profilePathFile), []byte(path), 0o600); err != nil {
		return err
	}
	if err := s.cmd.Process.Signal(syscall.SIGUSR2); err != nil {
		return err
	}
	line, err := s.stdout.ReadString('\n')
	if err != nil {
		return fmt.Errorf("the server did not answer its profile signal: %w", err)
	}
	if line = strings.TrimSpace(line); line != want {
		return fmt.Errorf("server profile %s: %s", path, line)
	}
	return nil
}
