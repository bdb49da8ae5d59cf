package failpoint

import (
	"errors"
	"testing"
)

func TestArmedPointsRunAndNilSetsDoNothing(t *testing.T) {
	var none *Set
	if err := none.Hit(StageStart, Event{}); err != nil {
		t.Fatal(err)
	}
	s := &Set{}
	if err := s.Hit(StageStart, Event{}); err != nil || s.Hits(StageStart) != 0 {
		t.Fatalf("unarmed: %v, %d hits", err, s.Hits(StageStart))
	}
	boom := errors.New("boom")
	s.Arm(StageStart, func(ev Event) error {
		if ev.Stage == "prepare" {
			return boom
		}
		return nil
	})
	if err := s.Hit(StageStart, Event{Stage: "plan"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Hit(StageStart, Event{Stage: "prepare"}); !errors.Is(err, boom) || s.Hits(StageStart) != 2 {
		t.Fatalf("armed: %v, %d hits", err, s.Hits(StageStart))
	}
	s.Disarm(StageStart)
	if err := s.Hit(StageStart, Event{Stage: "prepare"}); err != nil {
		t.Fatal(err)
	}
}

func TestParseArmsMatchingPoints(t *testing.T) {
	s, err := Parse("stage/done@prepare:error, step/before-map@3:sleep=1ms")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Hit(StageDone, Event{Stage: "plan"}); err != nil {
		t.Fatalf("a stage it does not match: %v", err)
	}
	if err := s.Hit(StageDone, Event{Stage: "prepare"}); err == nil {
		t.Fatal("the matching stage did not fail")
	}
	if err := s.Hit(BeforeMap, Event{Partition: 3}); err != nil {
		t.Fatal(err)
	}
	// Two items of one name both act; a partition matches a step's events
	// only.
	s, err = Parse("stage/start@plan:error,stage/start@cluster:error,stage/done@0:error")
	if err != nil {
		t.Fatal(err)
	}
	if s.Hit(StageStart, Event{Stage: "plan"}) == nil || s.Hit(StageStart, Event{Stage: "cluster"}) == nil || s.Hit(StageStart, Event{Stage: "prepare"}) != nil {
		t.Fatal("both items of stage/start must act, and only on their stages")
	}
	if s.Hit(StageDone, Event{Stage: "plan"}) != nil {
		t.Fatal("@0 matched an event without a partition")
	}
	for _, bad := range []string{"stage/done", "nowhere:error", "stage/done:explode", "stage/done:sleep=x"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
