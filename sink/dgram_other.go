//go:build unix && !linux

package sink

import "golang.org/x/sys/unix"

// datagramLimit is the largest record a datagram can carry: macOS and
// FreeBSD cap Unix datagrams at net.local.dgram.maxdgram (2048 bytes by
// default), whatever the send buffer.
func datagramLimit(maxRecord int) int {
	v, err := unix.SysctlUint32("net.local.dgram.maxdgram")
	if err != nil || v == 0 {
		return maxRecord
	}
	return min(maxRecord, int(v))
}
