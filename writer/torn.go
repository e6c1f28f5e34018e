package writer

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// tornTailLimit bounds how far back from the end repairTornTail looks for
// the last newline: a batch of the writer, or one record larger than a
// batch, is never longer. A file whose last line is longer was not left
// by a writer that died mid-batch, and is not truncated.
const tornTailLimit = DefaultBatchSize + 2<<20

// repairTornTail removes what follows the last newline of the output file
// at path, if the file does not end with one. The writer writes whole
// lines only, so such a tail is the start of a batch whose write(2) a
// SIGKILL cut short: left in place, the next record would be glued to it.
// The records in it were never acknowledged, so clients with
// acknowledgements send them again. It returns how many bytes it removed.
func repairTornTail(path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 {
		return 0, err
	}
	size := fi.Size()
	n := min(size, tornTailLimit)
	tail := make([]byte, n)
	if _, err := f.ReadAt(tail, size-n); err != nil && err != io.EOF {
		return 0, err
	}
	if tail[n-1] == '\n' {
		return 0, nil
	}
	i := bytes.LastIndexByte(tail, '\n')
	if i < 0 && n < size {
		return 0, nil // a line longer than any batch: not ours to cut
	}
	keep := size - n + int64(i) + 1
	if err := f.Truncate(keep); err != nil {
		return 0, fmt.Errorf("truncate the torn tail: %w", err)
	}
	return size - keep, nil
}
