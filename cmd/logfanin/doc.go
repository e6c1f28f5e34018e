// Command logfanin is the fan-in writer as a sidecar: many processes send
// it records, it alone writes, rotates and reopens the output.
//
// Listen mode serves the given addresses until SIGTERM or SIGINT:
//
//	logfanin -listen unix:///run/app.sock -out /var/log/app.log -max-size 100
//
// Supervise mode starts a command, hands it the writer's address in
// LOGFANIN_ADDR and an inherited pipe in LOGFANIN_PIPE, captures its stdout
// and stderr lines as records, forwards SIGTERM, SIGINT and SIGHUP to it,
// and exits with its exit status once every record is written:
//
//	logfanin -out app.log -- ./server --workers 8
//
// Signals: SIGTERM and SIGINT stop accepting, drain every connection and
// pipe, flush and exit (0 in listen mode); SIGHUP reopens the output for
// logrotate; SIGUSR1 prints the counters to standard error.
//
// Under systemd socket activation the sockets come from LISTEN_FDS
// (-listen systemd, the default when LISTEN_PID names the process); see
// examples/systemd in the repository. -metrics HOST:PORT (or
// unix:///PATH) serves the counters in the Prometheus text format at
// /metrics. -allow-uid refuses senders of other uids, -socket-mode and
// -socket-group set who may connect.
//
// Run logfanin -h for every flag and its default.
package main
