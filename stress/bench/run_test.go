package bench

import "testing"

func TestProducerProcs(t *testing.T) {
	for _, tc := range []struct {
		name      string
		contender string
		procs     int
		producers []int
		want      int
	}{
		{"default, one producer", "naive", 0, []int{3}, 1},
		{"default, fanin", "fanin", 0, []int{3}, 1},
		{"in-process zap, one producer", "zap", 0, []int{0}, 0},
		{"in-process zap, goroutines", "zap-buffered", 0, []int{0, 1, 2, 3}, 0},
		{"runtime default", "naive", -1, []int{3}, 0},
		{"two", "raw", 2, []int{3}, 2},
		{"memory job", "clients", 0, nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Dir: t.TempDir(), ProducerProcs: tc.procs}
			if err := cfg.fill(); err != nil {
				t.Fatal(err)
			}
			if got := cfg.withProcs(job{Contender: tc.contender, Producers: tc.producers}).MaxProcs; got != tc.want {
				t.Fatalf("MaxProcs = %d, want %d", got, tc.want)
			}
		})
	}
}
