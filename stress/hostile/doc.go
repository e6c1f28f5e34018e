// Package hostile measures what cheap, hostile client work costs the
// writer: for each pattern a co-tenant could run (wake-up floods, tiny or
// empty frames, 1-byte datagrams, pipe garbage, hellos and connections in
// a loop), one attacker process runs it against the real logfanin sidecar
// for a while, and the kernel's CPU accounting of both processes gives the
// amplification: the writer's CPU time per CPU time of the client.
//
// Run measures one pattern; the command stress/cmd/hostile prints the
// table the README shows. The tests of this package run every pattern
// briefly and check what the writer does (cuts the client off, or keeps
// serving), never a timing.
package hostile
