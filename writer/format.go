package writer

import (
	"github.com/tidwall/gjson"

	"github.com/logfanin/logfanin/internal/jsonline"
)

// The output format, every record exactly one line of JSON, is package
// jsonline's; the sink writes its fallback file with the same code.

// formatter is the writer's jsonline.Formatter: it validates JSON with
// gjson, which agrees with encoding/json.Valid (FuzzIsObject checks every
// verdict) at a third of its cost, which is most of the writer's own time
// per record. Each reader owns one; its zero value is ready.
type formatter struct {
	jsonline.Formatter
}

// maxScratch is the largest scratch a formatter keeps between records.
const maxScratch = jsonline.MaxScratch

// validJSON is the writer's validator.
func validJSON(b []byte) bool { return gjson.ValidBytes(b) }

// isObject reports whether b, trimmed, is one valid JSON object in valid
// UTF-8, as the writer decides it.
func isObject(b []byte) bool { return jsonline.IsObject(b, validJSON) }

// prepare is jsonline.Formatter.Prepare with the writer's validator.
func (f *formatter) prepare(rec, wrap, tail []byte, forceWrap bool) int {
	if f.Valid == nil {
		f.Valid = validJSON
	}
	return f.Prepare(rec, wrap, tail, forceWrap)
}
