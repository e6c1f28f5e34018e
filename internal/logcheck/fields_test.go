package logcheck

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

// A line of other encoders' making, carrying NewFields among fields of its
// own, checks as the record Make would have written.
func TestNewFieldsCheckLikeMake(t *testing.T) {
	var lines []string
	for seq, size := range []int{1, MinSize, 500, PipeBuf + 1} {
		f := NewFields(3, seq, size, rand.New(rand.NewPCG(1, uint64(seq))))
		line, err := json.Marshal(map[string]any{
			"level": "info", "msg": "request handled",
			"p": f.Producer, "s": f.Seq, "n": f.N, "c": f.C, "b": f.B,
		})
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(line))
	}
	lines = append(lines, `{"level":"info","msg":"pool finished"}`)
	c := NewChecker(map[int]int{3: 4})
	if err := c.Scan(strings.NewReader(strings.Join(lines, "\n") + "\n")); err != nil {
		t.Fatal(err)
	}
	if rep := c.Report(); !rep.OK() || rep.Other != 1 {
		t.Fatalf("%v (other %d)\n%s", rep, rep.Other, strings.Join(rep.Examples, "\n"))
	}
}
