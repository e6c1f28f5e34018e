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

// claimOwned makes f.tail end with "name":null for every owned field that
// the object f.obj has at its top level and the tail does not set.
// Prepare calls it only for an object that scanObject says may have one.
func (f *Formatter) claimOwned() {
	f.owned = f.owned[:0]
	// The object is valid JSON (scanObject said so).
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
