package writer

import (
	"bytes"
	"strconv"
	"time"

	"github.com/logfanin/logfanin/internal/jsonline"
)

// Syslog datagrams
//
// A datagram that starts with a syslog priority "<PRI>" is parsed as one of
//
//	<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD [MSG]   RFC 5424
//	<PRI>Mmm dd hh:mm:ss [HOST] TAG[PID]: MSG        RFC 3164, and the local form of syslog(3) and logger(1)
//	<PRI>MSG                                         bare, as Python's SysLogHandler sends
//
// and written as
//
//	{"time":…,"level":…,"facility":…,"host":…,"app":…,"procid":…,"msgid":…,"sd":…,"msg":…}
//
// with absent parts left out. "time" is the sender's timestamp, or the time
// the writer received the datagram when there is none; "level" is the
// syslog severity name (emerg, alert, crit, error, warn, notice, info,
// debug) and "facility" the facility name. No well-kept Go syslog library
// accepts the bare form, so the parser is our own (fuzzed: it never fails,
// whatever follows the priority is at worst the message).

// syslogMsg holds the parts of a syslog message; the slices alias the
// datagram.
type syslogMsg struct {
	pri                          int
	time                         []byte // RFC 5424 timestamp as sent
	stamp                        []byte // RFC 3164 "Mmm dd hh:mm:ss"
	host, app, procid, msgid, sd []byte
	msg                          []byte
}

var severityNames = [8]string{"emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"}

var facilityNames = [24]string{
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "authpriv", "ftp", "ntp", "security", "console", "clock",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
}

// parsePRI reads "<PRI>" at the start of b: 1 to 3 digits, at most 191,
// without leading zeros except "<0>".
func parsePRI(b []byte) (pri, n int, ok bool) {
	if len(b) < 3 || b[0] != '<' {
		return 0, 0, false
	}
	i := 1
	for i < len(b) && i <= 4 && b[i] >= '0' && b[i] <= '9' {
		pri = pri*10 + int(b[i]-'0')
		i++
	}
	digits := i - 1
	if digits == 0 || digits > 3 || i >= len(b) || b[i] != '>' || pri > 191 || (digits > 1 && b[1] == '0') {
		return 0, 0, false
	}
	return pri, i + 1, true
}

// parseSyslog parses b if it starts with a syslog priority.
func parseSyslog(b []byte) (syslogMsg, bool) {
	pri, n, ok := parsePRI(b)
	if !ok {
		return syslogMsg{}, false
	}
	m := syslogMsg{pri: pri}
	rest := b[n:]
	if parse5424(&m, rest) {
		return m, true
	}
	m = syslogMsg{pri: pri}
	parse3164(&m, rest)
	return m, true
}

// field cuts the next space-terminated field; "-" is nil.
func field(b []byte) (f, rest []byte, ok bool) {
	i := bytes.IndexByte(b, ' ')
	if i <= 0 {
		return nil, nil, false
	}
	f, rest = b[:i], b[i+1:]
	if len(f) == 1 && f[0] == '-' {
		f = nil
	}
	return f, rest, true
}

func parse5424(m *syslogMsg, b []byte) bool {
	if len(b) < 2 || b[0] < '1' || b[0] > '9' {
		return false
	}
	i := 1
	for i < len(b) && i < 3 && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	if i >= len(b) || b[i] != ' ' {
		return false
	}
	b = b[i+1:]
	var ok bool
	for _, p := range []*[]byte{&m.time, &m.host, &m.app, &m.procid, &m.msgid} {
		if *p, b, ok = field(b); !ok {
			return false
		}
	}
	// Structured data: "-" or one or more [id param="value"…] elements.
	switch {
	case len(b) > 0 && b[0] == '-':
		b = b[1:]
	case len(b) > 0 && b[0] == '[':
		end := sdEnd(b)
		if end < 0 {
			return false
		}
		m.sd, b = b[:end], b[end:]
	default:
		return false
	}
	if len(b) > 0 {
		if b[0] != ' ' {
			return false
		}
		b = b[1:]
	}
	m.msg = bytes.TrimPrefix(b, []byte("\xEF\xBB\xBF"))
	return true
}

// sdEnd returns the length of the structured data elements at the start of
// b, or -1 if they are malformed.
func sdEnd(b []byte) int {
	i := 0
	for i < len(b) && b[i] == '[' {
		quoted := false
		i++
		for ; i < len(b); i++ {
			c := b[i]
			if quoted {
				if c == '\\' {
					i++
				} else if c == '"' {
					quoted = false
				}
				continue
			}
			if c == '"' {
				quoted = true
			} else if c == ']' {
				break
			}
		}
		if i >= len(b) {
			return -1
		}
		i++ // past ']'
	}
	return i
}

// isStamp reports whether b starts with "Mmm dd hh:mm:ss".
func isStamp(b []byte) bool {
	if len(b) < len(time.Stamp) {
		return false
	}
	for _, mo := range [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"} {
		if string(b[:3]) == mo {
			d := func(c byte) bool { return c >= '0' && c <= '9' }
			return b[3] == ' ' && (b[4] == ' ' || d(b[4])) && d(b[5]) && b[6] == ' ' &&
				d(b[7]) && d(b[8]) && b[9] == ':' && d(b[10]) && d(b[11]) && b[12] == ':' && d(b[13]) && d(b[14])
		}
	}
	return false
}

func parse3164(m *syslogMsg, b []byte) {
	if !isStamp(b) {
		m.msg = b // bare <PRI>MSG
		return
	}
	m.stamp = b[:len(time.Stamp)]
	b = b[len(time.Stamp):]
	if len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	tok1, rest1 := cutSpace(b)
	if app, pid, ok := parseTag(tok1); ok {
		m.app, m.procid, m.msg = app, pid, rest1
		return
	}
	tok2, rest2 := cutSpace(rest1)
	if app, pid, ok := parseTag(tok2); ok && len(tok1) > 0 {
		m.host, m.app, m.procid, m.msg = tok1, app, pid, rest2
		return
	}
	m.msg = b
}

func cutSpace(b []byte) (tok, rest []byte) {
	if i := bytes.IndexByte(b, ' '); i >= 0 {
		return b[:i], b[i+1:]
	}
	return b, nil
}

// parseTag parses "app:" or "app[pid]:".
func parseTag(t []byte) (app, pid []byte, ok bool) {
	if len(t) < 2 || t[len(t)-1] != ':' {
		return nil, nil, false
	}
	t = t[:len(t)-1]
	if t[len(t)-1] == ']' {
		i := bytes.IndexByte(t, '[')
		if i <= 0 || i+1 >= len(t)-1 {
			return nil, nil, false
		}
		app, pid = t[:i], t[i+1:len(t)-1]
	} else {
		app = t
	}
	if len(app) > 128 || bytes.ContainsAny(app, "[]:") {
		return nil, nil, false
	}
	return app, pid, true
}

// appendSyslogFields appends the fields of m, each followed by ',', ready
// to go before "msg". now is the time of receipt.
func appendSyslogFields(dst []byte, m *syslogMsg, now time.Time) []byte {
	start := len(dst)
	dst = appendSyslogHeader(dst, m, now, 0)
	// The header's fields each come after a ','; here they go before one.
	copy(dst[start:], dst[start+1:])
	dst[len(dst)-1] = ','
	return dst
}

// syslogJSON returns the JSON object a syslog message's text is, with or
// without rsyslog's "@cee:" cookie (the Common Event Expression's mark of
// a structured message), and its scan for the formatter, or false.
func syslogJSON(msg []byte) ([]byte, jsonline.Scan, bool) {
	obj, scan := jsonline.ScanRecord(msg)
	if c, ok := bytes.CutPrefix(obj, []byte("@cee:")); ok {
		obj, scan = jsonline.ScanRecord(c)
	}
	return obj, scan, scan.Valid()
}

// syslogFieldNames are the fields a syslog header becomes, in the order
// they are written: bit i of appendSyslogHeader's skip is the i-th.
var syslogFieldNames = []string{"time", "level", "facility", "host", "app", "procid", "msgid", "sd"}

// appendSyslogTail appends, each preceded by ',', the fields of m's
// header that the object obj, the message's text, does not have, so that
// a JSON message sent through syslog keeps its own fields and gains the
// header's others (its "level" or "time" win over the header's).
func appendSyslogTail(dst []byte, m *syslogMsg, now time.Time, obj []byte) []byte {
	return appendSyslogHeader(dst, m, now, jsonline.HasFields(obj, syslogFieldNames))
}

// appendSyslogHeader appends, each preceded by ',', the fields of m's
// header (syslogFieldNames) but those whose bit is set in skip; "time",
// "level" and "facility" always, the others when the header has them.
func appendSyslogHeader(dst []byte, m *syslogMsg, now time.Time, skip uint64) []byte {
	if skip&1 == 0 {
		dst = append(dst, `,"time":"`...)
		dst = appendSyslogTime(dst, m, now)
		dst = append(dst, '"')
	}
	if skip&2 == 0 {
		dst = append(dst, `,"level":"`...)
		dst = append(dst, severityNames[m.pri&7]...)
		dst = append(dst, '"')
	}
	if skip&4 == 0 {
		dst = append(dst, `,"facility":"`...)
		dst = append(dst, facilityNames[m.pri>>3]...)
		dst = append(dst, '"')
	}
	for i, v := range [...][]byte{m.host, m.app, m.procid, m.msgid, m.sd} {
		if len(v) > 0 && skip&(8<<i) == 0 {
			dst = jsonline.AppendStringField(dst, syslogFieldNames[3+i], v)
		}
	}
	return dst
}

// appendSyslogTime appends the time of m, escaped for a JSON string: the
// sender's timestamp, or now, the time of receipt, if it has none.
func appendSyslogTime(dst []byte, m *syslogMsg, now time.Time) []byte {
	switch {
	case m.time != nil:
		return jsonline.AppendString(dst, m.time)
	case m.stamp != nil:
		if t, err := time.ParseInLocation(time.Stamp, string(m.stamp), now.Location()); err == nil {
			t = t.AddDate(now.Year(), 0, 0)
			if t.After(now.Add(7 * 24 * time.Hour)) {
				t = t.AddDate(-1, 0, 0) // December's message read in January
			}
			return t.AppendFormat(dst, time.RFC3339)
		}
		return jsonline.AppendString(dst, m.stamp)
	}
	return now.UTC().AppendFormat(dst, time.RFC3339Nano)
}

// appendUintField appends ,"name":v.
func appendUintField(dst []byte, name string, v uint64) []byte {
	dst = append(dst, ',', '"')
	dst = append(dst, name...)
	dst = append(dst, '"', ':')
	return strconv.AppendUint(dst, v, 10)
}
