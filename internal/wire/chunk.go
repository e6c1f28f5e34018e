package wire

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Pipe chunk layout, all integers big-endian:
//
//	0  2  magic 0xFF 0x4C ("\xffL"; 0xFF never occurs in UTF-8 text)
//	2  1  version (1)
//	3  1  flags: bit 0 first chunk, bit 1 last chunk, others zero
//	4  2  payload length, 0 … MaxChunkPayload (a sender's chunk, header
//	      included, is at most its system's PipeBuf)
//	6  4  sender pid
//	10 4  record id
//	14 2  header check: CRC-32 (IEEE, as zlib computes it) of bytes 0…13,
//	      high half XOR low half
//	16 …  payload
const (
	ChunkHeaderSize = 16

	// MaxChunk is the largest chunk, header included, that a reader
	// takes: Linux's PIPE_BUF. A sender cuts chunks of its own system's
	// PipeBuf, which is never larger.
	MaxChunk        = 4096
	MaxChunkPayload = MaxChunk - ChunkHeaderSize

	chunkMagic0  = 0xFF
	chunkMagic1  = 0x4C
	ChunkVersion = 1

	FlagFirst = 0x01
	FlagLast  = 0x02
)

// ChunkHeader is the header of one pipe chunk.
type ChunkHeader struct {
	Flags uint8
	Len   int    // payload length
	PID   uint32 // sender's process id
	ID    uint32 // record id, unique per sender for a long time
}

// First reports whether the chunk starts a record.
func (h ChunkHeader) First() bool { return h.Flags&FlagFirst != 0 }

// Last reports whether the chunk ends a record.
func (h ChunkHeader) Last() bool { return h.Flags&FlagLast != 0 }

// PutChunkHeader writes h into b[:ChunkHeaderSize].
func PutChunkHeader(b []byte, h ChunkHeader) {
	_ = b[ChunkHeaderSize-1]
	b[0], b[1], b[2], b[3] = chunkMagic0, chunkMagic1, ChunkVersion, h.Flags
	binary.BigEndian.PutUint16(b[4:], uint16(h.Len))
	binary.BigEndian.PutUint32(b[6:], h.PID)
	binary.BigEndian.PutUint32(b[10:], h.ID)
	binary.BigEndian.PutUint16(b[14:], headerCheck(b))
}

func headerCheck(b []byte) uint16 {
	c := crc32.ChecksumIEEE(b[:14])
	return uint16(c>>16) ^ uint16(c)
}

// ParseChunkHeader decodes and validates the header at the start of b,
// which must hold at least ChunkHeaderSize bytes.
func ParseChunkHeader(b []byte) (ChunkHeader, error) {
	if len(b) < ChunkHeaderSize {
		return ChunkHeader{}, &ProtocolError{Reason: "short chunk header"}
	}
	if b[0] != chunkMagic0 || b[1] != chunkMagic1 {
		return ChunkHeader{}, &ProtocolError{Reason: "bad chunk magic"}
	}
	if b[2] != ChunkVersion {
		return ChunkHeader{}, &ProtocolError{Reason: fmt.Sprintf("chunk version %d, want %d", b[2], ChunkVersion)}
	}
	if binary.BigEndian.Uint16(b[14:]) != headerCheck(b) {
		return ChunkHeader{}, &ProtocolError{Reason: "chunk header check mismatch"}
	}
	h := ChunkHeader{
		Flags: b[3],
		Len:   int(binary.BigEndian.Uint16(b[4:])),
		PID:   binary.BigEndian.Uint32(b[6:]),
		ID:    binary.BigEndian.Uint32(b[10:]),
	}
	if h.Flags&^(FlagFirst|FlagLast) != 0 {
		return ChunkHeader{}, &ProtocolError{Reason: fmt.Sprintf("unknown chunk flags %#x", h.Flags)}
	}
	if h.Len > MaxChunkPayload {
		return ChunkHeader{}, &ProtocolError{Reason: fmt.Sprintf("chunk payload of %d bytes exceeds %d", h.Len, MaxChunkPayload)}
	}
	return h, nil
}

// ChunkCount is the number of chunks a record of n bytes is cut into by
// WriteChunks with chunks of size bytes.
func ChunkCount(n, size int) int {
	payload := size - ChunkHeaderSize
	if n == 0 {
		return 1
	}
	return (n + payload - 1) / payload
}

// WriteChunks cuts rec into chunks of at most size bytes, header included
// (normally PipeBuf; ChunkHeaderSize < size <= MaxChunk), and passes each
// to write, which must send it with a single write(2) (at most PipeBuf
// bytes, so the kernel keeps it whole). scratch is reused when it holds
// size bytes. All chunks of one record must be written before the same
// sender starts another record.
func WriteChunks(scratch []byte, size int, pid, id uint32, rec []byte, write func(chunk []byte) error) error {
	if size <= ChunkHeaderSize || size > MaxChunk {
		return fmt.Errorf("chunk size %d out of range (%d, %d]", size, ChunkHeaderSize, MaxChunk)
	}
	if cap(scratch) < size {
		scratch = make([]byte, size)
	}
	scratch = scratch[:size]
	payload := size - ChunkHeaderSize
	flags := uint8(FlagFirst)
	for {
		n := min(len(rec), payload)
		if n == len(rec) {
			flags |= FlagLast
		}
		PutChunkHeader(scratch, ChunkHeader{Flags: flags, Len: n, PID: pid, ID: id})
		copy(scratch[ChunkHeaderSize:], rec[:n])
		if err := write(scratch[:ChunkHeaderSize+n]); err != nil {
			return err
		}
		rec = rec[n:]
		if flags&FlagLast != 0 {
			return nil
		}
		flags = 0
	}
}
