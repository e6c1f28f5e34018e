package writer

import (
	"errors"
	"net"
	"strconv"
	"syscall"
)

// cred is the kernel's word on the process at the other end of a socket.
type cred struct {
	pid      int32 // 0 where the platform does not tell (FreeBSD)
	uid, gid uint32
}

// peerCred returns the credentials of the peer of a stream connection,
// as the platform tells them (peerCredFrom).
func peerCred(nc net.Conn) (*cred, error) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil, errors.New("not a socket")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil, err
	}
	var c *cred
	var cerr error
	err = rc.Control(func(fd uintptr) { c, cerr = peerCredFrom(int(fd)) })
	if err == nil {
		err = cerr
	}
	return c, err
}

// appendCred appends the peer fields the platform vouches for: a pid of
// 0 (unknown) is left out, and the null rule of the output format then
// covers a sender's own "peer_pid".
func appendCred(dst []byte, c *cred) []byte {
	if c.pid != 0 {
		dst = appendUintField(dst, "peer_pid", uint64(c.pid))
	}
	dst = appendUintField(dst, "peer_uid", uint64(c.uid))
	return appendUintField(dst, "peer_gid", uint64(c.gid))
}

// refuses reports whether WithAllowUIDs refuses the peer c (nil: the
// platform did not tell), counting it in Refused, and names its uid for
// the diagnostics.
func (s *Server) refuses(c *cred) (uid string, refused bool) {
	if s.cfg.allowUIDs == nil || (c != nil && s.cfg.allowUIDs[c.uid]) {
		return "", false
	}
	s.c.refused.Add(1)
	if c == nil {
		return "unknown", true
	}
	return strconv.FormatUint(uint64(c.uid), 10), true
}
