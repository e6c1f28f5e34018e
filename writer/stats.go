package writer

import (
	"strconv"
	"sync/atomic"
)

// Stats counts what a Server has done since New. Every field only grows,
// except the two gauges, ClientsNow and FrameBuffers, which say what is
// held now.
type Stats struct {
	Records     uint64 // records written to the output
	Bytes       uint64 // bytes written to the output
	Writes      uint64 // successful Write calls on the output: one per batch, plus one for each remainder the output took after a short write
	ClientsNow  int64  // stream connections open now
	Connections uint64 // stream connections accepted in all
	SharedRings uint64 // stream connections whose data came through a shared ring
	Datagrams   uint64 // datagrams received
	PipeRecords uint64 // records reassembled from pipes
	Lines       uint64 // lines read by AddLines sources

	ProtocolErrors uint64 // connections closed for bad framing or control frames
	TooLarge       uint64 // records over the limit (stream, datagram and pipe)
	Partial        uint64 // half records discarded: truncated frames, unfinished pipe records
	GarbageBytes   uint64 // pipe bytes skipped while resynchronising
	IdleClosed     uint64 // connections closed for stalling inside a frame
	Refused        uint64 // connections and datagrams refused by WithAllowUIDs
	FrameBuffers   int64  // bytes of large-frame buffers held now (WithMaxFrameMemory)

	Wrapped   uint64 // records that were not a JSON object and were wrapped as {"msg":…}
	Compacted uint64 // multi-line JSON objects compacted onto one line
	PyRecords uint64 // Python records (wire.HelloPyRecords) turned into JSON; a malformed one is wrapped instead

	Acks       uint64 // ack frames sent
	Duplicates uint64 // replayed records skipped because they were already written

	SessionsRefused uint64 // hellos refused: the session belongs to another process
	CutOff          uint64 // connections closed for sending far more than a correct client can (wake-ups)

	WriteErrors uint64 // failed Write calls on the output (each retried)
	Reopens     uint64 // successful reopens of the output (asked for, or a FileOutput whose file moved away)
	Rotations   uint64 // rotations of a FileOutput
	Lost        uint64 // records dropped: the output still failed when Shutdown's context expired, or they were read after the output stopped (a line source Shutdown could not interrupt)
}

type counters struct {
	records, bytes, writes               atomic.Uint64
	clientsNow                           atomic.Int64
	connections, datagrams, pipeRecords  atomic.Uint64
	sharedRings                          atomic.Uint64
	lines                                atomic.Uint64
	protocolErrors, tooLarge, partial    atomic.Uint64
	garbageBytes, idleClosed, refused    atomic.Uint64
	wrapped, compacted, acks, duplicates atomic.Uint64
	pyRecords                            atomic.Uint64
	writeErrors, reopens, lost           atomic.Uint64
	sessionsRefused, cutOff              atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Records:         c.records.Load(),
		Bytes:           c.bytes.Load(),
		Writes:          c.writes.Load(),
		ClientsNow:      c.clientsNow.Load(),
		Connections:     c.connections.Load(),
		SharedRings:     c.sharedRings.Load(),
		Datagrams:       c.datagrams.Load(),
		PipeRecords:     c.pipeRecords.Load(),
		Lines:           c.lines.Load(),
		ProtocolErrors:  c.protocolErrors.Load(),
		TooLarge:        c.tooLarge.Load(),
		Partial:         c.partial.Load(),
		GarbageBytes:    c.garbageBytes.Load(),
		IdleClosed:      c.idleClosed.Load(),
		Refused:         c.refused.Load(),
		Wrapped:         c.wrapped.Load(),
		Compacted:       c.compacted.Load(),
		PyRecords:       c.pyRecords.Load(),
		Acks:            c.acks.Load(),
		Duplicates:      c.duplicates.Load(),
		SessionsRefused: c.sessionsRefused.Load(),
		CutOff:          c.cutOff.Load(),
		WriteErrors:     c.writeErrors.Load(),
		Reopens:         c.reopens.Load(),
		Lost:            c.lost.Load(),
	}
}

// StatField is one counter or gauge of Stats, under the names the
// summary line and a metrics endpoint use.
type StatField struct {
	Name   string // in String's line, e.g. "partial"
	Metric string // Prometheus name without the "logfanin_" prefix
	Help   string
	Gauge  bool // a level now, not a running total
	Value  int64
}

// Fields lists every counter and gauge of s, in String's order. It is the
// one list of them: String and the sidecar's metrics endpoint both use it.
func (s Stats) Fields() StatFields {
	c := func(name, metric, help string, v uint64) StatField {
		return StatField{Name: name, Metric: metric, Help: help, Value: int64(v)}
	}
	g := func(name, metric, help string, v int64) StatField {
		return StatField{Name: name, Metric: metric, Help: help, Gauge: true, Value: v}
	}
	return StatFields{
		c("records", "records_total", "Records written to the output.", s.Records),
		c("bytes", "bytes_total", "Bytes written to the output.", s.Bytes),
		c("writes", "writes_total", "Successful writes to the output: one per batch, plus one per remainder after a short write.", s.Writes),
		g("clients", "clients", "Stream connections open now.", s.ClientsNow),
		c("connections", "connections_total", "Stream connections accepted.", s.Connections),
		c("shared_rings", "shared_rings_total", "Stream connections whose data came through a shared ring.", s.SharedRings),
		c("datagrams", "datagrams_total", "Datagrams received.", s.Datagrams),
		c("pipe_records", "pipe_records_total", "Records reassembled from pipes.", s.PipeRecords),
		c("lines", "lines_total", "Lines read from captured output.", s.Lines),
		c("protocol_errors", "protocol_errors_total", "Connections closed for bad framing or control frames.", s.ProtocolErrors),
		c("too_large", "too_large_total", "Records over the size limit, discarded.", s.TooLarge),
		c("partial", "partial_records_total", "Half records discarded: truncated frames, unfinished pipe records.", s.Partial),
		c("garbage_bytes", "garbage_bytes_total", "Pipe bytes skipped while resynchronising.", s.GarbageBytes),
		c("idle_closed", "idle_closed_total", "Connections closed for stalling inside a frame.", s.IdleClosed),
		c("refused", "refused_total", "Connections and datagrams refused by the uid allowlist.", s.Refused),
		g("frame_buffers", "frame_buffer_bytes", "Bytes of large-frame buffers held now.", s.FrameBuffers),
		c("wrapped", "wrapped_total", "Records that were not a JSON object, wrapped as {\"msg\":…}.", s.Wrapped),
		c("compacted", "compacted_total", "Multi-line JSON objects compacted onto one line.", s.Compacted),
		c("py_records", "py_records_total", "Python records turned into JSON.", s.PyRecords),
		c("acks", "acks_total", "Ack frames sent.", s.Acks),
		c("duplicates", "duplicates_total", "Replayed records skipped as already written.", s.Duplicates),
		c("sessions_refused", "sessions_refused_total", "Hellos refused because their session belongs to another process.", s.SessionsRefused),
		c("cut_off", "cut_off_total", "Connections closed for sending far more than a correct client can.", s.CutOff),
		c("write_errors", "write_errors_total", "Failed writes to the output, each retried.", s.WriteErrors),
		c("reopens", "reopens_total", "Reopens of the output.", s.Reopens),
		c("rotations", "rotations_total", "Rotations of the output file.", s.Rotations),
		c("lost", "lost_total", "Records dropped at shutdown: the output kept failing, or their source could not be stopped.", s.Lost),
	}
}

// String returns a one-line summary, name=value for every field.
func (s Stats) String() string { return s.Fields().String() }

// StatFields is a list of counters and gauges, such as Stats.Fields.
type StatFields []StatField

// String returns name=value for every field, separated by spaces: the
// sidecar's summary line.
func (fs StatFields) String() string {
	var b []byte
	for i, f := range fs {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, f.Name...)
		b = append(b, '=')
		b = strconv.AppendInt(b, f.Value, 10)
	}
	return string(b)
}
