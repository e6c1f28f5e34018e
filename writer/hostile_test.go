//go:build linux

package writer

import (
	"strings"
	"testing"

	"github.com/logfanin/logfanin/internal/wire"
)

// TestRingWakeFlood: a client with a shared ring that writes wake-ups far
// beyond the writer's sleeps, each of which would cost the writer a system
// call, is cut off with an error frame and counted; what its ring held is
// written.
func TestRingWakeFlood(t *testing.T) {
	f := newFixture(t)
	path := f.sock("s.sock")
	f.listen("unix://" + path)
	ring, _, c := dialRing(t, path, shmHello)
	sendOK(ring, c, 3)
	waitFor(t, "the first records", func() bool { return f.s.Stats().Records == 3 })
	flood := make([]byte, 64<<10)
	go func() {
		for range 16 {
			if _, err := c.Write(flood); err != nil {
				return
			}
		}
		c.CloseWrite() // a writer that takes the flood ends the connection as usual
	}()
	// The writer closes with the flood unread: the end may be a reset.
	ef := lastErrorFrame(t, c)
	if ef == nil || ef.Code != wire.CodeFlood || !strings.Contains(ef.Message, "wake-ups") {
		t.Errorf("error frame %+v, want code %d", ef, wire.CodeFlood)
	}
	waitFor(t, "connection to end", func() bool { return f.s.Stats().ClientsNow == 0 })
	if st := f.s.Stats(); st.CutOff != 1 || st.Records != 3 {
		t.Errorf("stats: %v", st)
	}
}
