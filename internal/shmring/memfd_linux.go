package shmring

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// NewProducer creates a ring with a data area of size bytes (a power of
// two between MinSize and MaxSize) in a sealed memfd. The caller passes the
// returned file to the writer and then closes it; the mapping stays.
func NewProducer(size int) (*Producer, *os.File, error) {
	if !ValidSize(size) {
		return nil, nil, fmt.Errorf("shmring: size %d is not a power of two between %d and %d", size, MinSize, MaxSize)
	}
	f, err := Memfd("logfanin-ring", HeaderSize+int64(size), unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_SEAL)
	if err != nil {
		return nil, nil, err
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, HeaderSize+size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("shmring: mmap: %w", err)
	}
	return &Producer{shared: newShared(mem)}, f, nil
}

// Memfd creates a memfd called name of size bytes and adds seals (0 for
// none). NewProducer makes its ring with it; the writer's tests make the
// rings a client should not pass.
func Memfd(name string, size int64, seals int) (*os.File, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("shmring: memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), name)
	if err := unix.Ftruncate(fd, size); err != nil {
		f.Close()
		return nil, fmt.Errorf("shmring: ftruncate: %w", err)
	}
	if seals != 0 {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
			f.Close()
			return nil, fmt.Errorf("shmring: seal: %w", err)
		}
	}
	return f, nil
}

// checkSeals refuses a descriptor that is not a memfd sealed against
// shrinking: a client could otherwise shrink it under the writer's
// mapping and fault the writer.
func checkSeals(fd int) error {
	seals, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0)
	if err != nil {
		return fmt.Errorf("shmring: descriptor is not a sealable memfd: %w", err)
	}
	if seals&unix.F_SEAL_SHRINK == 0 {
		return errors.New("shmring: memfd is not sealed against shrinking")
	}
	return nil
}

// releasePages punches b, part of a shared mapping of a memfd, out of the
// memfd (see Consumer.Close).
func releasePages(b []byte) { unix.Madvise(b, unix.MADV_REMOVE) }
