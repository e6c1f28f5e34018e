package writer

import (
	"fmt"
	"strconv"
	"sync/atomic"
)

// Stats counts what a Server has done since New. Every field only grows,
// except ClientsNow.
type Stats struct {
	Records     uint64 // records written to the output
	Bytes       uint64 // bytes written to the output
	Writes      uint64 // successful Write calls on the output (one per batch)
	ClientsNow  int64  // stream connections open now
	Connections uint64 // stream connections accepted in all
	Datagrams   uint64 // datagrams received
	PipeRecords uint64 // records reassembled from pipes
	Lines       uint64 // lines read by AddLines sources

	ProtocolErrors uint64 // connections closed for bad framing or control frames
	TooLarge       uint64 // records over the limit (stream, datagram and pipe)
	Partial        uint64 // half records discarded: truncated frames, unfinished pipe records
	GarbageBytes   uint64 // pipe bytes skipped while resynchronising
	IdleClosed     uint64 // connections closed for stalling inside a frame
	Refused        uint64 // connections and datagrams refused by WithAllowUIDs
	FrameBuffers   int64  // bytes of large-frame buffers held now (WithMaxBuffered)

	Wrapped   uint64 // records that were not a JSON object and were wrapped as {"msg":…}
	Compacted uint64 // multi-line JSON objects compacted onto one line

	Acks       uint64 // ack frames sent
	Duplicates uint64 // replayed records skipped because they were already written

	WriteErrors uint64 // failed Write calls on the output (each retried)
	Reopens     uint64 // successful reopens of the output (asked for, or a FileOutput whose file moved away)
	Rotations   uint64 // rotations of a FileOutput
	Lost        uint64 // records dropped because Shutdown's context expired while the output failed
}

type counters struct {
	records, bytes, writes               atomic.Uint64
	clientsNow                           atomic.Int64
	connections, datagrams, pipeRecords  atomic.Uint64
	lines                                atomic.Uint64
	protocolErrors, tooLarge, partial    atomic.Uint64
	garbageBytes, idleClosed, refused    atomic.Uint64
	wrapped, compacted, acks, duplicates atomic.Uint64
	writeErrors, reopens, lost           atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Records:        c.records.Load(),
		Bytes:          c.bytes.Load(),
		Writes:         c.writes.Load(),
		ClientsNow:     c.clientsNow.Load(),
		Connections:    c.connections.Load(),
		Datagrams:      c.datagrams.Load(),
		PipeRecords:    c.pipeRecords.Load(),
		Lines:          c.lines.Load(),
		ProtocolErrors: c.protocolErrors.Load(),
		TooLarge:       c.tooLarge.Load(),
		Partial:        c.partial.Load(),
		GarbageBytes:   c.garbageBytes.Load(),
		IdleClosed:     c.idleClosed.Load(),
		Refused:        c.refused.Load(),
		Wrapped:        c.wrapped.Load(),
		Compacted:      c.compacted.Load(),
		Acks:           c.acks.Load(),
		Duplicates:     c.duplicates.Load(),
		WriteErrors:    c.writeErrors.Load(),
		Reopens:        c.reopens.Load(),
		Lost:           c.lost.Load(),
	}
}

// String returns a one-line summary.
func (s Stats) String() string {
	return fmt.Sprintf("records=%d bytes=%d writes=%d clients=%d connections=%d datagrams=%d pipe_records=%d lines=%d "+
		"protocol_errors=%d too_large=%d partial=%d garbage_bytes=%d idle_closed=%d refused=%d frame_buffers=%d wrapped=%d compacted=%d "+
		"acks=%d duplicates=%d write_errors=%d reopens=%d rotations=%d lost=%d",
		s.Records, s.Bytes, s.Writes, s.ClientsNow, s.Connections, s.Datagrams, s.PipeRecords, s.Lines,
		s.ProtocolErrors, s.TooLarge, s.Partial, s.GarbageBytes, s.IdleClosed, s.Refused, s.FrameBuffers, s.Wrapped, s.Compacted,
		s.Acks, s.Duplicates, s.WriteErrors, s.Reopens, s.Rotations, s.Lost)
}

// AppendStatsRecord appends s to dst as one JSON object line, suitable for
// the writer to log about itself:
//
//	{"msg":"logfanin stats","records":10,"bytes":1234,…}
//
// The field names are those of String.
func AppendStatsRecord(dst []byte, s Stats) []byte {
	dst = append(dst, `{"msg":"logfanin stats"`...)
	u := func(name string, v uint64) {
		dst = append(dst, `,"`...)
		dst = append(dst, name...)
		dst = append(dst, `":`...)
		dst = strconv.AppendUint(dst, v, 10)
	}
	u("records", s.Records)
	u("bytes", s.Bytes)
	u("writes", s.Writes)
	dst = append(dst, `,"clients":`...)
	dst = strconv.AppendInt(dst, s.ClientsNow, 10)
	u("connections", s.Connections)
	u("datagrams", s.Datagrams)
	u("pipe_records", s.PipeRecords)
	u("lines", s.Lines)
	u("protocol_errors", s.ProtocolErrors)
	u("too_large", s.TooLarge)
	u("partial", s.Partial)
	u("garbage_bytes", s.GarbageBytes)
	u("idle_closed", s.IdleClosed)
	u("refused", s.Refused)
	dst = append(dst, `,"frame_buffers":`...)
	dst = strconv.AppendInt(dst, s.FrameBuffers, 10)
	u("wrapped", s.Wrapped)
	u("compacted", s.Compacted)
	u("acks", s.Acks)
	u("duplicates", s.Duplicates)
	u("write_errors", s.WriteErrors)
	u("reopens", s.Reopens)
	u("rotations", s.Rotations)
	u("lost", s.Lost)
	return append(dst, "}\n"...)
}
