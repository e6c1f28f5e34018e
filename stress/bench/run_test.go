package bench

import "testing"

func TestProducerProcs(t *testing.T) {
	for _, tc := range []struct {
		name      string
		procs     int
		producers []int
		want      int
	}{
		{"default, one producer", 0, []int{3}, 1},
		{"default, goroutines of one process", 0, []int{0, 1, 2, 3}, 0},
		{"runtime default", -1, []int{3}, 0},
		{"two", 2, []int{3}, 2},
		{"memory job", 0, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Dir: t.TempDir(), ProducerProcs: tc.procs}
			if err := cfg.fill(); err != nil {
				t.Fatal(err)
			}
			if got := cfg.withProcs(job{Producers: tc.producers}).MaxProcs; got != tc.want {
				t.Fatalf("MaxProcs = %d, want %d", got, tc.want)
			}
		})
	}
}
