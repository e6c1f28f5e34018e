// Package pyrecord turns the records of logfanin's Python client, sent as
// marshal's encoding of their fields, into the JSON objects the client
// writes itself when it formats a record in Python.
//
// The Python client spends most of what a record costs it, beyond the
// logging module's own work, building JSON text out of the record's fields
// with bytecode. marshal (format version 2) writes the same fields from C,
// copying strings rather than scanning them, so that a record's cost to
// the worker no longer grows with their length; the writer then does the
// formatting, which costs it less than it saves a worker. A client asks for this with the hello flag
// wire.HelloPyRecords; docs/PROTOCOL.md specifies the encoding.
//
// AppendJSON writes, byte for byte, what the client's JSON formatting
// writes for the same fields: strings escaped as Python's json module does
// with ensure_ascii (the output is ASCII), floats as Python's repr, the
// time to the microsecond. Anything else, from a client that lies or is
// broken, is an error, and the writer writes the record as it writes any
// record that is not a JSON object.
package pyrecord
