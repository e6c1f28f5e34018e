package sink

import (
	"os"

	"github.com/logfanin/logfanin/internal/shmring"
)

const shmSupported = true

func newRingProducer(size int) (ringProducer, *os.File, error) {
	return shmring.NewProducer(size)
}

func passRights(f *os.File) []byte { return shmring.PassFD(f) }
