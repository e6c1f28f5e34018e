package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sidecarArgs are the flags of a sidecar forwarding log to url. At its
// shutdown it ships until it has shipped everything (or extra says
// otherwise), so that its exit tells that the receiver has it all.
func sidecarArgs(log, url string, extra ...string) []string {
	return append([]string{"-out", log, "-forward", url, "-forward-max-backoff", "100ms", "-forward-batch", "256", "-forward-in-flight", "4", "-forward-drain-timeout", "10m"}, extra...)
}

// scrape reads the sidecar's /metrics, at the address it printed.
func scrape(t *testing.T, stderr string) string {
	t.Helper()
	m := regexp.MustCompile(`metrics on (http://\S+/metrics)`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no metrics address in:\n%s", stderr)
	}
	resp, err := http.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The receiver is down when the sidecar starts: it retries until the
// receiver comes up, then ships everything.
func TestReceiverDownAtStart(t *testing.T) {
	for _, scheme := range []string{"otlp", "otlp+http"} {
		t.Run(scheme, func(t *testing.T) {
			log := filepath.Join(t.TempDir(), "app.log")
			r := newReceiver(t)
			addr := r.grpc
			if scheme == "otlp+http" {
				addr = r.http
			}
			s := startSidecar(t, sidecarArgs(log, scheme+"://"+addr, "-metrics", "127.0.0.1:0"), 0, 2000, true)
			if !s.stderr.waitFor("retrying", s.done) {
				t.Fatalf("sidecar exited:\n%s", s.stderr)
			}
			// The lag shows on SIGUSR1 and at /metrics while it is down.
			s.cmd.Process.Signal(syscall.SIGUSR1)
			if !s.stderr.waitFor("forward_lag_bytes=", s.done) {
				t.Fatalf("sidecar exited:\n%s", s.stderr)
			}
			if lag := counter(t, s.stderr.String(), "forward_lag_bytes"); lag == 0 {
				t.Errorf("forward_lag_bytes=0 with nothing shipped:\n%s", s.stderr)
			}
			metrics := scrape(t, s.stderr.String())
			if !regexp.MustCompile(`(?m)^logfanin_forward_lag_bytes [1-9]`).MatchString(metrics) ||
				!regexp.MustCompile(`(?m)^logfanin_forward_retries_total [1-9]`).MatchString(metrics) {
				t.Errorf("metrics:\n%s", metrics)
			}
			r.start("accept")
			s.wait(t)
			verify(t, r.records(), written(t, log))
			out := s.stderr.String()
			if counter(t, out, "forward_retries") == 0 || counter(t, out, "forwarded") != 2000 ||
				counter(t, out, "forward_lag_bytes") != 0 || counter(t, out, "forward_rejected") != 0 {
				t.Fatalf("summary:\n%s", out)
			}
		})
	}
}

// A receiver that refuses (retryable) is retried until it accepts; one
// that rejects (permanent) is not retried: the rejected records are
// counted and skipped.
func TestRefusedAndRejected(t *testing.T) {
	log := filepath.Join(t.TempDir(), "app.log")
	r := newReceiver(t)
	r.start("refuse")
	s := startSidecar(t, sidecarArgs(log, "otlp+http://"+r.http), 0, 1000, true)
	r.waitEvent("refused", 3)
	r.signal(syscall.SIGUSR1)
	s.wait(t)
	verify(t, r.records(), written(t, log))

	// A full queue (ResourceExhausted over gRPC) is retried too.
	r.kill()
	r.start("exhausted")
	s = startSidecar(t, sidecarArgs(log, "otlp://"+r.grpc), 2000, 500, true)
	r.waitEvent("refused", r.count("refused")+3)
	r.signal(syscall.SIGUSR1)
	s.wait(t)
	if !strings.Contains(s.stderr.String(), "ResourceExhausted") {
		t.Errorf("no ResourceExhausted retried:\n%s", s.stderr)
	}
	verify(t, r.records(), written(t, log))

	// Now rejecting: the next 500 records are rejected once each.
	r.kill()
	r.start("reject")
	s = startSidecar(t, sidecarArgs(log, "otlp://"+r.grpc), 1000, 500, true)
	r.waitEvent("rejected records", 500)
	r.signal(syscall.SIGUSR1)
	s.wait(t)
	if n := counter(t, s.stderr.String(), "forward_rejected"); n != 500 {
		t.Fatalf("forward_rejected=%d, want 500:\n%s", n, s.stderr)
	}
	// Then accepting again: only the new records arrive.
	s = startSidecar(t, sidecarArgs(log, "otlp://"+r.grpc), 1500, 500, true)
	s.wait(t)
	want := written(t, log)
	if len(want) != 2500 {
		t.Fatalf("%d records written, want 2500", len(want))
	}
	for i := 1000; i < 1500; i++ {
		delete(want, i)
	}
	verify(t, r.records(), want)
}

// shipping starts an accepting receiver and a sidecar that writes records
// 0 to n-1 to a new log and ships them to it over gRPC.
func shipping(t *testing.T, n int) (log string, r *receiver, s *sidecar) {
	log = filepath.Join(t.TempDir(), "app.log")
	r = newReceiver(t)
	r.start("accept")
	return log, r, startSidecar(t, sidecarArgs(log, "otlp://"+r.grpc), 0, n, true)
}

// The receiver is SIGKILLed while records flow and restarted: nothing is
// lost.
func TestReceiverKilled(t *testing.T) {
	log, r, s := shipping(t, 5000)
	r.waitCount(1000)
	r.kill()
	r.start("accept")
	s.wait(t)
	verify(t, r.records(), written(t, log))
}

// The sidecar is SIGKILLed while it ships and restarted: it resumes from
// its checkpoint; only the batches in flight (4 batches of 256 records) may
// arrive twice.
func TestSidecarKilled(t *testing.T) {
	log, r, s := shipping(t, 20000)
	r.waitCount(2000)
	s.cmd.Process.Kill()
	<-s.done
	s = startSidecar(t, sidecarArgs(log, "otlp://"+r.grpc), 100000, 1000, true)
	s.wait(t)
	want := written(t, log)
	if dups := verify(t, r.records(), want); dups > 4*256 {
		t.Fatalf("%d records received twice, more than the batches in flight", dups)
	}
}

// Rotation with compression while the receiver is down: the forwarder
// follows the rotations and reads the compressed backups when it comes
// up. A backup removed (-max-backups) before it was shipped is counted.
func TestRotationDuringOutage(t *testing.T) {
	for _, prune := range []bool{false, true} {
		name := "compress"
		if prune {
			name = "pruned"
		}
		t.Run(name, func(t *testing.T) {
			log := filepath.Join(t.TempDir(), "app.log")
			r := newReceiver(t)
			extra := []string{"-max-size", "1", "-compress"}
			if prune {
				extra = append(extra, "-max-backups", "1")
			}
			// 15000 records of about 220 bytes: three rotations, with the
			// receiver down (and no waiting for it at the exit).
			down := append(sidecarArgs(log, "otlp://"+r.grpc, extra...), "-forward-drain-timeout", "100ms")
			s := startSidecar(t, down, 0, 15000, false)
			s.wait(t)
			if n := counter(t, s.stderr.String(), "rotations"); n < 3 {
				t.Fatalf("rotations=%d:\n%s", n, s.stderr)
			}
			r.start("accept")
			s = startSidecar(t, sidecarArgs(log, "otlp://"+r.grpc, extra...), 20000, 10, true)
			s.wait(t)
			verify(t, r.records(), written(t, log))
			gz, _ := filepath.Glob(strings.TrimSuffix(log, ".log") + "-*.log.gz")
			if len(gz) == 0 {
				t.Fatal("no compressed backup")
			}
			pruned := counter(t, s.stderr.String(), "forward_pruned_files")
			if prune && (pruned == 0 || counter(t, s.stderr.String(), "forward_pruned_bytes") == 0 ||
				!strings.Contains(s.stderr.String(), "removed before it was shipped")) {
				t.Fatalf("no pruned backup counted:\n%s", s.stderr)
			}
			if !prune && pruned != 0 {
				t.Fatalf("forward_pruned_files=%d without pruning", pruned)
			}
		})
	}
}

// TLS with a certificate made here, over gRPC and HTTP.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key, ca := makeCert(t, dir)
	r := newReceiver(t, "-cert", cert, "-key", key)
	r.start("accept")
	log := filepath.Join(dir, "app.log")
	s := startSidecar(t, sidecarArgs(log, "otlps://"+r.grpc, "-forward-ca", ca), 0, 500, true)
	s.wait(t)
	s = startSidecar(t, sidecarArgs(log, "otlp+https://"+r.http, "-forward-ca", ca), 500, 500, true)
	s.wait(t)
	verify(t, r.records(), written(t, log))

	// Without the CA the receiver is not trusted: retried, never shipped.
	before := len(r.records())
	log2 := filepath.Join(dir, "other.log")
	s = startSidecar(t, sidecarArgs(log2, "otlps://"+r.grpc, "-forward-drain-timeout", "100ms"), 0, 10, true)
	if !s.stderr.waitFor("certificate", s.done) {
		t.Fatalf("no certificate error:\n%s", s.stderr)
	}
	s.wait(t)
	if n := len(r.records()); n != before {
		t.Fatalf("%d records shipped to an untrusted receiver", n-before)
	}
	if n := counter(t, s.stderr.String(), "forwarded"); n != 0 {
		t.Fatalf("forwarded=%d to an untrusted receiver", n)
	}
}

// Mutual TLS: a receiver that asks for a client certificate gets the
// one -forward-cert and -forward-key give, over gRPC and HTTP; without
// it nothing is shipped.
func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key, ca := makeCert(t, dir)
	clientCert, clientKey, clientCA := makeCertFor(t, dir, "client", x509.ExtKeyUsageClientAuth)
	r := newReceiver(t, "-cert", cert, "-key", key, "-client-ca", clientCA)
	r.start("accept")
	log := filepath.Join(dir, "app.log")
	mtls := []string{"-forward-ca", ca, "-forward-cert", clientCert, "-forward-key", clientKey}
	s := startSidecar(t, sidecarArgs(log, "otlps://"+r.grpc, mtls...), 0, 500, true)
	s.wait(t)
	s = startSidecar(t, sidecarArgs(log, "otlp+https://"+r.http, mtls...), 500, 500, true)
	s.wait(t)
	verify(t, r.records(), written(t, log))

	// Without a client certificate the receiver refuses the connection:
	// retried, never shipped.
	for _, url := range []string{"otlps://" + r.grpc, "otlp+https://" + r.http} {
		before := len(r.records())
		log2 := filepath.Join(t.TempDir(), "other.log")
		s = startSidecar(t, sidecarArgs(log2, url, "-forward-ca", ca, "-forward-drain-timeout", "100ms"), 0, 10, true)
		if !s.stderr.waitFor("certificate required", s.done) {
			t.Fatalf("%s: no certificate error:\n%s", url, s.stderr)
		}
		s.wait(t)
		if n := len(r.records()); n != before {
			t.Fatalf("%s: %d records shipped without a client certificate", url, n-before)
		}
		if n := counter(t, s.stderr.String(), "forwarded"); n != 0 {
			t.Fatalf("%s: forwarded=%d without a client certificate", url, n)
		}
	}
}

func keys(m map[int]map[string]any) map[int]bool {
	k := map[int]bool{}
	for n := range m {
		k[n] = true
	}
	return k
}

// makeCert writes a self-signed certificate for 127.0.0.1 and its key;
// the certificate is its own CA.
func makeCert(t *testing.T, dir string) (cert, key, ca string) {
	t.Helper()
	return makeCertFor(t, dir, "server", x509.ExtKeyUsageServerAuth)
}

// makeCertFor writes a self-signed certificate for 127.0.0.1 with the
// usage given, as NAME-cert.pem, and its key as NAME-key.pem; the
// certificate is its own CA.
func makeCertFor(t *testing.T, dir, name string, usage x509.ExtKeyUsage) (cert, key, ca string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "logfanin e2e " + name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{usage},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, name+"-cert.pem"), filepath.Join(dir, name+"-key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key, cert
}
