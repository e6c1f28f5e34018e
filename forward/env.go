package forward

import (
	"fmt"
	"net/url"
	"strings"
)

// Environment variables of the OpenTelemetry specification that
// FromEnvironment reads, each logs-specific one before its general one.
const (
	EnvHeaders     = "OTEL_EXPORTER_OTLP_LOGS_HEADERS"
	EnvCA          = "OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE"
	EnvClientCert  = "OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE"
	EnvClientKey   = "OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY"
	EnvServiceName = "OTEL_SERVICE_NAME"
	EnvResource    = "OTEL_RESOURCE_ATTRIBUTES"
)

// general returns the OTEL_EXPORTER_OTLP_ variable a logs one falls back to.
func general(name string) string { return strings.Replace(name, "_LOGS_", "_", 1) }

// FromEnvironment fills the fields of c that are empty from the
// standard OpenTelemetry variables, read with getenv (os.Getenv):
// headers, TLS files, OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES
// (service.name from OTEL_SERVICE_NAME wins, as the specification says).
// Resource attributes already in c win over the environment's.
func (c *Config) FromEnvironment(getenv func(string) string) error {
	get := func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return getenv(general(name))
	}
	if len(c.Headers) == 0 {
		h, err := ParseKeyValues(get(EnvHeaders))
		if err != nil {
			return fmt.Errorf("%s: %w", EnvHeaders, err)
		}
		c.Headers = h
	}
	if c.TLS.CAFile == "" {
		c.TLS.CAFile = get(EnvCA)
	}
	if c.TLS.CertFile == "" && c.TLS.KeyFile == "" {
		c.TLS.CertFile, c.TLS.KeyFile = get(EnvClientCert), get(EnvClientKey)
	}
	res, err := ParseKeyValues(getenv(EnvResource))
	if err != nil {
		return fmt.Errorf("%s: %w", EnvResource, err)
	}
	if n := getenv(EnvServiceName); n != "" {
		res["service.name"] = n
	}
	for k, v := range c.Resource {
		res[k] = v
	}
	c.Resource = res
	return nil
}

// ParseKeyValues parses the W3C Baggage-like lists of the OpenTelemetry
// variables: key1=value1,key2=value2 with URL-encoded values.
func ParseKeyValues(s string) (map[string]string, error) {
	m := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if strings.TrimSpace(kv) == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("want key=value, got %q", kv)
		}
		dv, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("value of %s: %w", k, err)
		}
		m[k] = dv
	}
	return m, nil
}
