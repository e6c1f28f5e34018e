//go:build darwin || freebsd

package writer

import "golang.org/x/sys/unix"

// credOfXucred takes the uid and gid of LOCAL_PEERCRED's answer; the
// effective gid comes first among its groups.
func credOfXucred(x *unix.Xucred) *cred {
	c := &cred{uid: x.Uid}
	if x.Ngroups > 0 {
		c.gid = x.Groups[0]
	}
	return c
}
