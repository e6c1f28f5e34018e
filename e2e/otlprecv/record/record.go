// Package record is the line otlprecv prints for each log record it
// receives and each event, shared with the tests that read it.
package record

// Record is one received log record, or an event, as printed.
type Record struct {
	Event    string         `json:"event,omitempty"`
	N        int            `json:"n,omitempty"`
	Time     int64          `json:"time,omitempty"`
	Observed int64          `json:"observed,omitempty"`
	Sev      string         `json:"sev,omitempty"`
	SevNum   int32          `json:"sevnum,omitempty"`
	Body     any            `json:"body,omitempty"`
	Attrs    map[string]any `json:"attrs,omitempty"`
	Resource map[string]any `json:"resource,omitempty"`
	Scope    string         `json:"scope,omitempty"`
}
