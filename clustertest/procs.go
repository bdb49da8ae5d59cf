package clustertest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/cohort/cohort/client"
	"github.com/cohort/cohort/failpoint"
)

// Procs is a cluster of real cohort processes on loopback ports, each
// coordinator with its own data directory (real TCP Raft, Bolt stores):
// what a user runs, for the tests that must see a process die. Nodes are
// stopped at cleanup, and a failed test gets each node's log.
type Procs struct {
	t      testing.TB
	bin    string
	Coords []*Proc
	Work   []*Proc
}

// Proc is one node process.
type Proc struct {
	Name string
	API  string // a coordinator's client API address
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// ProcOptions shape a cluster of processes.
type ProcOptions struct {
	Coordinators, Workers int
	// Failpoints are armed in every node (failpoint.Parse's form, through
	// failpoint.EnvVar): "stage/done@prepare:exit" makes whichever
	// coordinator leads end, like a crash, once the preparation is
	// committed.
	Failpoints string
}

// StartProcs starts coordinators (the first bootstraps, the others join
// it) and workers from the cohort binary bin, and waits until the cluster
// has a leader and every worker.
func StartProcs(t testing.TB, bin string, opts ProcOptions) *Procs {
	t.Helper()
	p := &Procs{t: t, bin: bin}
	for i := range max(opts.Coordinators, 1) {
		api := FreeAddr(t)
		args := []string{"coordinator", "--id", fmt.Sprintf("c%d", i), "--data-dir", filepath.Join(t.TempDir(), "raft"),
			"--grpc-addr", api, "--raft-addr", FreeAddr(t), "--gossip-addr", FreeAddr(t)}
		if i > 0 {
			args = append(args, "--join", p.Coords[0].API)
		}
		c := p.start(fmt.Sprintf("c%d", i), opts.Failpoints, args...)
		c.API = api
		p.Coords = append(p.Coords, c)
		if i == 0 {
			p.await(api, 0)
		}
	}
	for i := range opts.Workers {
		p.Work = append(p.Work, p.start(fmt.Sprintf("w%d", i+1), opts.Failpoints, "worker", "--coordinator", p.Coords[0].API, "--name", fmt.Sprintf("w%d", i+1)))
	}
	p.await(p.Coords[0].API, opts.Workers)
	return p
}

// start runs one node, stopped (interrupt, then kill) at cleanup.
func (p *Procs) start(name, failpoints string, args ...string) *Proc {
	p.t.Helper()
	cmd := exec.Command(p.bin, args...)
	cmd.Env = append(os.Environ(), failpoint.EnvVar+"="+failpoints)
	log := filepath.Join(p.t.TempDir(), name+".log")
	f, err := os.Create(log)
	if err != nil {
		p.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	n := &Proc{Name: name, cmd: cmd, log: log, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); f.Close(); close(n.done) }()
	p.t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-n.done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-n.done
		}
		if p.t.Failed() {
			b, _ := os.ReadFile(log)
			p.t.Logf("%s log:\n%s", name, b)
		}
	})
	return n
}

// Exited says whether the process has ended.
func (n *Proc) Exited() bool {
	select {
	case <-n.done:
		return true
	default:
		return false
	}
}

// ExitCode is the process's exit status once it has ended, -1 before.
func (n *Proc) ExitCode() int {
	if !n.Exited() {
		return -1
	}
	return n.cmd.ProcessState.ExitCode()
}

// Log is what the process has written so far.
func (n *Proc) Log() string {
	b, _ := os.ReadFile(n.log)
	return string(b)
}

// await waits until the coordinator at api has a leader and workers workers.
func (p *Procs) await(api string, workers int) {
	p.t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := client.Dial(ctx, api)
		if err == nil {
			st, err := c.Status(ctx)
			c.Close()
			if err == nil && st.LeaderId != "" && len(st.Workers) == workers {
				return
			}
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("the cluster at %s did not come up with a leader and %d workers", api, workers)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// FreeAddr is a loopback address with a port free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
