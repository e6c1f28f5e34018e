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
//	4  2  payload length, 0 … MaxChunkPayload
//	6  4  sender pid
//	10 4  record id
//	14 2  header check: CRC-32 (IEEE, as zlib computes it) of bytes 0…13,
//	      high half XOR low half
//	16 …  payload
const (
	ChunkHeaderSize = 16
	MaxChunkPayload = PipeBuf - ChunkHeaderSize

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

// ChunkCount is the number of chunks a record of n bytes is cut into.
func ChunkCount(n int) int {
	if n == 0 {
		return 1
	}
	return (n + MaxChunkPayload - 1) / MaxChunkPayload
}

// WriteChunks cuts rec into chunks and passes each, header included, to
// write, which must send it with a single write(2) (at most PipeBuf bytes,
// so the kernel keeps it whole). scratch is reused when it holds PipeBuf
// bytes. All chunks of one record must be written before the same sender
// starts another record.
func WriteChunks(scratch []byte, pid, id uint32, rec []byte, write func(chunk []byte) error) error {
	if cap(scratch) < PipeBuf {
		scratch = make([]byte, PipeBuf)
	}
	scratch = scratch[:PipeBuf]
	flags := uint8(FlagFirst)
	for {
		n := min(len(rec), MaxChunkPayload)
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
