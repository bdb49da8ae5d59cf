package failpoint

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// EnvVar names the environment variable a cohort process reads its
// failpoints from: how a test arms a node that runs as a process of its
// own (clustertest.Procs). Production never sets it.
const EnvVar = "COHORT_FAILPOINTS"

// Parse reads failpoints written as text, for a process:
//
//	NAME[@MATCH]:ACTION[,NAME[@MATCH]:ACTION...]
//
// NAME is one of this package's constants; MATCH, if given, must equal one
// of the event's stage, command, step, dataset or (as a number) partition;
// ACTION is exit (the process ends at once with status 3, like a crash,
// without closing anything), error (the code that hit it fails there), or
// sleep=DURATION. Each armed point acts every time it matches.
func Parse(spec string) (*Set, error) {
	s := &Set{}
	// Items of one name act in the order given, until one returns an error.
	byName := map[string][]Action{}
	var names []string
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		point, action, ok := strings.Cut(item, ":")
		if !ok {
			return nil, fmt.Errorf("failpoint %q: want NAME[@MATCH]:ACTION", item)
		}
		name, match, _ := strings.Cut(point, "@")
		if !known(name) {
			return nil, fmt.Errorf("failpoint %q: unknown place %q", item, name)
		}
		act, err := parseAction(action)
		if err != nil {
			return nil, fmt.Errorf("failpoint %q: %w", item, err)
		}
		if byName[name] == nil {
			names = append(names, name)
		}
		byName[name] = append(byName[name], func(ev Event) error {
			if match != "" && !ev.matches(match) {
				return nil
			}
			return act(ev)
		})
	}
	for _, name := range names {
		acts := byName[name]
		s.Arm(name, func(ev Event) error {
			for _, a := range acts {
				if err := a(ev); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return s, nil
}

// FromEnv is Parse of EnvVar, nil when it is unset.
func FromEnv() (*Set, error) {
	spec := os.Getenv(EnvVar)
	if spec == "" {
		return nil, nil
	}
	s, err := Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvVar, err)
	}
	return s, nil
}

func known(name string) bool {
	switch name {
	case StageStart, StageDone, BeforeApply, BeforeMap, AfterMap, MidShuffle:
		return true
	}
	return false
}

// matches says whether m names the event's stage, command, step or
// dataset, or its partition: only a step's events have one.
func (ev Event) matches(m string) bool {
	return m == ev.Stage || m == ev.Command || m == ev.Step || m == ev.Dataset || ev.Step != "" && m == strconv.Itoa(ev.Partition)
}

func parseAction(a string) (Action, error) {
	switch {
	case a == "exit":
		return func(ev Event) error {
			fmt.Fprintf(os.Stderr, "failpoint: %s exits at %+v\n", ev.Node, ev)
			os.Exit(3)
			return nil
		}, nil
	case a == "error":
		return func(ev Event) error { return fmt.Errorf("failpoint at %+v", ev) }, nil
	case strings.HasPrefix(a, "sleep="):
		d, err := time.ParseDuration(strings.TrimPrefix(a, "sleep="))
		if err != nil {
			return nil, err
		}
		return func(Event) error { time.Sleep(d); return nil }, nil
	}
	return nil, fmt.Errorf("unknown action %q (exit, error or sleep=DURATION)", a)
}
