package writer

// peerCredFrom asks LOCAL_PEERCRED: uid and gid, no pid.
func peerCredFrom(fd int) (*cred, error) { return localPeerCred(fd) }
