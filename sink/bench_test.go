package sink

import (
	"io"
	"os"
	"strconv"
	"testing"
	"time"
)

func benchWrite(b *testing.B, s *Sink) {
	rec := makeRecord(0, 0, 200)
	b.ReportAllocs()
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		if _, err := s.Write(rec); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Sync(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkWrite writes 200-byte records to servers that read and discard
// them (acknowledging them when asked).
func BenchmarkWrite(b *testing.B) {
	stream := func(opts ...Option) func(b *testing.B) {
		return func(b *testing.B) {
			srv := newStreamServer(b, 1)
			srv.configure(func(srv *streamServer) { srv.discard = true })
			s, err := New(srv.addr(), opts...)
			if err != nil {
				b.Fatal(err)
			}
			benchWrite(b, s)
		}
	}
	b.Run("stream", stream())
	b.Run("stream-noack", stream(WithAck(false)))
	b.Run("stream-batch", stream(WithBatch(time.Millisecond)))
	b.Run("unixgram", func(b *testing.B) {
		srv := newDgramServer(b, false)
		s, err := New(srv.addr())
		if err != nil {
			b.Fatal(err)
		}
		benchWrite(b, s)
	})
	b.Run("pipe", func(b *testing.B) {
		r, w, err := os.Pipe()
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			io.Copy(io.Discard, r)
			close(done)
		}()
		s, err := New("fd:" + strconv.Itoa(int(w.Fd())))
		if err != nil {
			b.Fatal(err)
		}
		benchWrite(b, s)
		w.Close()
		<-done
		r.Close()
	})
}

// BenchmarkWriteParallel writes from many goroutines to one Sink.
func BenchmarkWriteParallel(b *testing.B) {
	srv := newStreamServer(b, 1)
	srv.configure(func(srv *streamServer) { srv.discard = true })
	s, err := New(srv.addr())
	if err != nil {
		b.Fatal(err)
	}
	rec := makeRecord(0, 0, 200)
	b.ReportAllocs()
	b.SetBytes(int64(len(rec)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Write(rec); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if err := s.Sync(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	s.Close()
}
