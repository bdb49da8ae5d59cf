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
