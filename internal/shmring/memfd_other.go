//go:build !linux

package shmring

import (
	"errors"
	"fmt"
	"os"
)

// errNoMemfd: outside Linux there is no sealed memfd, and without a seal
// against shrinking a client could fault the writer through a ring.
var errNoMemfd = fmt.Errorf("shmring: shared rings need Linux's sealed memfd: %w", errors.ErrUnsupported)

// NewProducer fails outside Linux: the stream goes through the socket.
func NewProducer(size int) (*Producer, *os.File, error) { return nil, nil, errNoMemfd }

// Memfd fails outside Linux.
func Memfd(name string, size int64, seals int) (*os.File, error) { return nil, errNoMemfd }

func checkSeals(fd int) error { return errNoMemfd }

func releasePages(b []byte) {}
