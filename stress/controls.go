package stress

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
)

// naive runs a control: producers writing the way logfanin exists to
// replace. Its output must fail verification.
func (rd *round) naive(ctx context.Context) error {
	if rd.mode.naive != naivePipe {
		return rd.runProducers(ctx, "")
	}
	// One pipe shared by every producer, each writing 64 KiB at a time:
	// far above PIPE_BUF, so the kernel may split a write and let
	// another producer's data in between. The driver copies what it
	// reads to the file line by line, as a naive collector would.
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	f, err := os.Create(rd.out)
	if err != nil {
		pr.Close()
		pw.Close()
		return err
	}
	done := make(chan error, 1)
	go func() { done <- copyLines(f, pr) }()
	err = rd.runProducers(ctx, "", pw)
	pw.Close()
	err = errors.Join(err, <-done, f.Close())
	pr.Close()
	return err
}

// copyLines copies r to w one line at a time.
func copyLines(w io.Writer, r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	bw := bufio.NewWriterSize(w, 64<<10)
	for {
		line, err := br.ReadSlice('\n')
		if _, werr := bw.Write(line); werr != nil {
			return werr
		}
		if err == io.EOF {
			return bw.Flush()
		}
		if err != nil && err != bufio.ErrBufferFull {
			return err
		}
	}
}
