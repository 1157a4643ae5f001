package telemetry

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Config is the telemetry part of Tailor's configuration. cmd/serve fills it
// once, usually with ConfigFromEnv, and passes it to New. The package itself
// never reads the environment.
type Config struct {
	// ServiceName and ServiceVersion become the resource attributes
	// service.name and service.version of every span and metric.
	ServiceName, ServiceVersion string

	// OTLPEndpoint is the full URL that spans are POSTed to over OTLP/HTTP
	// (protobuf), for example http://collector:4318/v1/traces. Empty: no span
	// is exported, though spans are still created and propagated.
	// ConfigFromEnv takes OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as it is, or
	// OTEL_EXPORTER_OTLP_ENDPOINT with /v1/traces appended.
	OTLPEndpoint string

	// OTLPMetricsEndpoint is the full URL that metrics are pushed to over
	// OTLP/HTTP, in addition to the Prometheus /metrics endpoint, which is
	// always served. Empty: no push. ConfigFromEnv takes
	// OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT with
	// /v1/metrics appended.
	OTLPMetricsEndpoint string

	// OTLPHeaders are sent with every OTLP request (OTEL_EXPORTER_OTLP_HEADERS).
	OTLPHeaders map[string]string

	// SampleRatio is the share of new traces that are sampled, in [0, 1].
	// ConfigFromEnv defaults it to 1. Beware: the zero Config samples nothing.
	SampleRatio float64

	// IgnoreParent makes the sampler decide by SampleRatio alone, even when the
	// caller's traceparent says whether it sampled (OTEL_TRACES_SAMPLER
	// always_on, always_off, traceidratio). By default (false, the parentbased_*
	// samplers) a request follows its caller's decision.
	IgnoreParent bool

	// Disabled turns tracing into a no-op and stops every OTLP export
	// (OTEL_SDK_DISABLED=true). The Prometheus /metrics endpoint still works:
	// it is part of Tailor's API, not an export.
	Disabled bool
}

// The environment variables that ConfigFromEnv reads.
const (
	EnvServiceName     = "OTEL_SERVICE_NAME"
	EnvEndpoint        = "OTEL_EXPORTER_OTLP_ENDPOINT"
	EnvTracesEndpoint  = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	EnvMetricsEndpoint = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"
	EnvHeaders         = "OTEL_EXPORTER_OTLP_HEADERS"
	EnvTracesExporter  = "OTEL_TRACES_EXPORTER"
	EnvMetricsExporter = "OTEL_METRICS_EXPORTER"
	EnvSampler         = "OTEL_TRACES_SAMPLER"
	EnvSamplerArg      = "OTEL_TRACES_SAMPLER_ARG"
	EnvSDKDisabled     = "OTEL_SDK_DISABLED"
	DefaultServiceName = "tailor"
)

const defaultSamplerRatio = 1.0

// ConfigFromEnv builds a Config from the standard OTEL_* variables, read
// through getenv (cmd/serve passes its injected getenv; an empty string means
// unset). Every error names the variable at fault.
//
//	OTEL_SERVICE_NAME                     default "tailor"
//	OTEL_EXPORTER_OTLP_ENDPOINT           base URL; /v1/traces and /v1/metrics are appended
//	OTEL_EXPORTER_OTLP_TRACES_ENDPOINT    full URL for spans, wins over the base
//	OTEL_EXPORTER_OTLP_METRICS_ENDPOINT   full URL for metrics, wins over the base
//	OTEL_EXPORTER_OTLP_HEADERS            k=v,k2=v2 (values may be percent-encoded)
//	OTEL_TRACES_EXPORTER                  otlp (default) or none
//	OTEL_METRICS_EXPORTER                 otlp (default), prometheus or none; only otlp pushes
//	OTEL_TRACES_SAMPLER                   always_on, always_off, traceidratio,
//	                                      parentbased_always_on (default),
//	                                      parentbased_always_off, parentbased_traceidratio
//	OTEL_TRACES_SAMPLER_ARG               ratio in [0, 1] for the *traceidratio samplers, default 1
//	OTEL_SDK_DISABLED                     true or false
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	cfg := Config{ServiceName: get(EnvServiceName), SampleRatio: defaultSamplerRatio}
	if cfg.ServiceName == "" {
		cfg.ServiceName = DefaultServiceName
	}

	var err error
	if cfg.Disabled, err = parseBool(EnvSDKDisabled, get(EnvSDKDisabled)); err != nil {
		return Config{}, err
	}

	base := get(EnvEndpoint)
	if base != "" {
		if err := checkURL(EnvEndpoint, base); err != nil {
			return Config{}, err
		}
		base = strings.TrimRight(base, "/")
	}
	traces, metrics := get(EnvTracesEndpoint), get(EnvMetricsEndpoint)
	for _, kv := range [][2]string{{EnvTracesEndpoint, traces}, {EnvMetricsEndpoint, metrics}} {
		if kv[1] != "" {
			if err := checkURL(kv[0], kv[1]); err != nil {
				return Config{}, err
			}
		}
	}
	if traces == "" && base != "" {
		traces = base + "/v1/traces"
	}
	if metrics == "" && base != "" {
		metrics = base + "/v1/metrics"
	}
	pushTraces, err := exporterWanted(EnvTracesExporter, get(EnvTracesExporter), "otlp", "none")
	if err != nil {
		return Config{}, err
	}
	pushMetrics, err := exporterWanted(EnvMetricsExporter, get(EnvMetricsExporter), "otlp", "prometheus", "none")
	if err != nil {
		return Config{}, err
	}
	if pushTraces {
		cfg.OTLPEndpoint = traces
	}
	if pushMetrics {
		cfg.OTLPMetricsEndpoint = metrics
	}

	if cfg.OTLPHeaders, err = parseHeaders(get(EnvHeaders)); err != nil {
		return Config{}, err
	}

	arg := get(EnvSamplerArg)
	ratio := func() (float64, error) {
		if arg == "" {
			return defaultSamplerRatio, nil
		}
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || r < 0 || r > 1 || r != r {
			return 0, fmt.Errorf("%s: %q is not a ratio in [0, 1]", EnvSamplerArg, arg)
		}
		return r, nil
	}
	switch s := strings.ToLower(get(EnvSampler)); s {
	case "", "parentbased_always_on":
	case "always_on":
		cfg.IgnoreParent = true
	case "always_off":
		cfg.SampleRatio, cfg.IgnoreParent = 0, true
	case "parentbased_always_off":
		cfg.SampleRatio = 0
	case "traceidratio", "parentbased_traceidratio":
		if cfg.SampleRatio, err = ratio(); err != nil {
			return Config{}, err
		}
		cfg.IgnoreParent = s == "traceidratio"
	default:
		return Config{}, fmt.Errorf("%s: unsupported sampler %q (want always_on, always_off, traceidratio, "+
			"parentbased_always_on, parentbased_always_off or parentbased_traceidratio)", EnvSampler, s)
	}
	return cfg, nil
}

func parseBool(name, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	}
	return false, fmt.Errorf("%s: %q is neither true nor false", name, v)
}

func checkURL(name, v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s: %q is not an http or https URL", name, v)
	}
	return nil
}

// exporterWanted reports whether the comma-separated exporter list v asks for
// an OTLP push; each entry must be one of allowed.
func exporterWanted(name, v string, allowed ...string) (bool, error) {
	if v == "" {
		return true, nil
	}
	otlp := false
	for _, e := range strings.Split(v, ",") {
		e = strings.ToLower(strings.TrimSpace(e))
		ok := false
		for _, a := range allowed {
			ok = ok || e == a
		}
		if !ok {
			return false, fmt.Errorf("%s: unsupported exporter %q (want one of %s)", name, e, strings.Join(allowed, ", "))
		}
		otlp = otlp || e == "otlp"
	}
	return otlp, nil
}

// parseHeaders parses "k=v,k2=v2" as the OTLP exporter specification says:
// keys and values are trimmed and values are percent-decoded.
func parseHeaders(v string) (map[string]string, error) {
	if v == "" {
		return nil, nil
	}
	h := map[string]string{}
	for _, pair := range strings.Split(v, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		k, val, ok := strings.Cut(pair, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("%s: %q is not key=value", EnvHeaders, strings.TrimSpace(pair))
		}
		dec, err := url.PathUnescape(strings.TrimSpace(val))
		if err != nil {
			return nil, fmt.Errorf("%s: value of %q: %v", EnvHeaders, k, err)
		}
		h[k] = dec
	}
	return h, nil
}
