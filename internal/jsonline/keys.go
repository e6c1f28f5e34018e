package jsonline

// The top-level keys of an object that is already known to be valid JSON,
// read without a parser and without allocating: the writer's field names
// are found this way (claimOwned). Every index is checked all the same, so
// that a validator that was wrong costs a missed key, never a panic.

// nextKey returns the first top-level key of the object obj at or after
// position i (1 for the first key), as written between its quotes (escapes
// not decoded), and the position after its value. ok is false when the
// object has no more keys.
func nextKey(obj []byte, i int) (key []byte, next int, ok bool) {
	i = skipSpace(obj, i)
	if i < len(obj) && obj[i] == ',' {
		i = skipSpace(obj, i+1)
	}
	if i >= len(obj) || obj[i] != '"' {
		return nil, i, false
	}
	end := stringEnd(obj, i)
	if end >= len(obj) {
		return nil, end, false
	}
	key = obj[i+1 : end]
	i = skipSpace(obj, end+1)
	if i >= len(obj) || obj[i] != ':' {
		return nil, i, false
	}
	return key, skipValue(obj, skipSpace(obj, i+1)), true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && isJSONSpace(b[i]) {
		i++
	}
	return i
}

// stringEnd returns the index of the quote that closes the string whose
// opening quote is at b[i], or len(b).
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return len(b)
}

// skipValue returns the position after the value that starts at b[i].
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i) + 1
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = stringEnd(b, i)
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && !isJSONSpace(b[i]) {
		i++
	}
	return i
}

// keyIs reports whether the key key, as written between its quotes,
// decodes to name, which is ASCII.
func keyIs(key []byte, name string) bool {
	n := 0
	for i := 0; i < len(key); {
		c := key[i]
		i++
		if c == '\\' {
			if i >= len(key) {
				return false
			}
			e := key[i]
			i++
			switch e {
			case '"', '\\', '/':
				c = e
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'u':
				if i+4 > len(key) {
					return false
				}
				r := 0
				for _, h := range key[i : i+4] {
					r <<= 4
					switch {
					case '0' <= h && h <= '9':
						r |= int(h - '0')
					case 'a' <= h && h <= 'f':
						r |= int(h - 'a' + 10)
					case 'A' <= h && h <= 'F':
						r |= int(h - 'A' + 10)
					default:
						return false
					}
				}
				i += 4
				if r >= 0x80 {
					return false // name is ASCII
				}
				c = byte(r)
			default:
				return false
			}
		}
		if n >= len(name) || name[n] != c {
			return false
		}
		n++
	}
	return n == len(name)
}

// HasFields reports which of names (ASCII, at most 64 of them) the object
// obj, valid JSON, has at its top level: bit i of the result is set when
// it has a field named names[i]. The object is read once, whatever the
// number of names.
func HasFields(obj []byte, names []string) uint64 {
	var has uint64
	for key, i, ok := nextKey(obj, 1); ok; key, i, ok = nextKey(obj, i) {
		for n, name := range names {
			if keyIs(key, name) {
				has |= 1 << n
			}
		}
	}
	return has
}
