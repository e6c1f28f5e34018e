package jsonline

import "bytes"

// ownedFields are the names of the fields the writer adds. Every one is
// the writer's on every input (see claimOwned), and DESIGN and the README
// say so: a sender can't use them for fields of its own.
var ownedFields = [...]string{
	"peer_pid", "peer_uid", "peer_gid",
	"pipe_pid",
	"logfanin_sid", "logfanin_seq",
	"stream",
}

// mayNameOwned reports whether obj might have a top-level field named in
// ownedFields. It is a quick filter over the bytes, a superset of the
// records that have one: every owned name written plainly as a key is
// "stream" or has '_' followed by pid, uid, gid, sid or seq and the key's
// closing quote, and a name spelled with escapes (\u0070eer_uid) contains
// `\u`, the only way to escape a letter or '_'. It looks only at the
// occurrences of three bytes that are rare in records, found with
// IndexByte: the common record pays a few vector scans, not a parse.
func mayNameOwned(obj []byte) bool {
	for i := 0; ; i++ {
		j := bytes.IndexByte(obj[i:], '_')
		if j < 0 {
			break
		}
		i += j
		if r := obj[i+1:]; len(r) >= 4 && r[3] == '"' &&
			(r[1] == 'i' && r[2] == 'd' && (r[0] == 'p' || r[0] == 'u' || r[0] == 'g' || r[0] == 's') ||
				r[0] == 's' && r[1] == 'e' && r[2] == 'q') {
			return true
		}
	}
	for i := 0; ; i++ {
		j := bytes.IndexByte(obj[i:], 'm')
		if j < 0 {
			break
		}
		i += j
		if i >= 5 && i+1 < len(obj) && obj[i+1] == '"' && string(obj[i-5:i]) == "strea" {
			return true
		}
	}
	for i := 0; ; i++ {
		j := bytes.IndexByte(obj[i:], '\\')
		if j < 0 {
			return false
		}
		i += j
		if i+1 < len(obj) && obj[i+1] == 'u' {
			return true
		}
	}
}

// claimOwned makes f.tail end with "name":null for every owned field that
// the object f.obj has at its top level and the tail does not set.
func (f *Formatter) claimOwned() {
	if !mayNameOwned(f.obj) {
		return
	}
	f.owned = f.owned[:0]
	// The object is valid JSON (IsObject or json.Compact said so).
	for key, i, ok := nextKey(f.obj, 1); ok; key, i, ok = nextKey(f.obj, i) {
		for _, o := range ownedFields {
			if keyIs(key, o) && !setsField(f.tail, o) && !setsField(f.owned, o) {
				f.owned = append(f.owned, ',', '"')
				f.owned = append(f.owned, o...)
				f.owned = append(f.owned, `":null`...)
			}
		}
	}
	if len(f.owned) > 0 {
		f.owned = append(f.owned, f.tail...)
		f.tail = f.owned
	}
}

// setsField reports whether the fields in tail set name.
func setsField(tail []byte, name string) bool {
	for i := 0; ; {
		j := bytes.Index(tail[i:], []byte(name))
		if j < 0 {
			return false
		}
		i += j
		if i >= 2 && tail[i-2] == ',' && tail[i-1] == '"' && len(tail) > i+len(name)+1 &&
			tail[i+len(name)] == '"' && tail[i+len(name)+1] == ':' {
			return true
		}
		i++
	}
}
