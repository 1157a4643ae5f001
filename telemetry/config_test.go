package telemetry

import (
	"reflect"
	"strings"
	"testing"
)

func TestConfigFromEnv(t *testing.T) {
	def := Config{ServiceName: "tailor", SampleRatio: 1}
	with := func(f func(*Config)) Config { c := def; f(&c); return c }
	tests := []struct {
		name string
		env  map[string]string
		want Config
	}{
		{"empty", nil, def},
		{"service name", map[string]string{EnvServiceName: "tailor-eu"}, with(func(c *Config) { c.ServiceName = "tailor-eu" })},
		{"base endpoint feeds both signals", map[string]string{EnvEndpoint: "http://collector:4318/"}, with(func(c *Config) {
			c.OTLPEndpoint, c.OTLPMetricsEndpoint = "http://collector:4318/v1/traces", "http://collector:4318/v1/metrics"
		})},
		{"signal endpoints win and are used as they are", map[string]string{
			EnvEndpoint: "http://collector:4318", EnvTracesEndpoint: "https://t.example:443/x", EnvMetricsEndpoint: "http://m:9/y",
		}, with(func(c *Config) { c.OTLPEndpoint, c.OTLPMetricsEndpoint = "https://t.example:443/x", "http://m:9/y" })},
		{"traces endpoint alone", map[string]string{EnvTracesEndpoint: "http://t:4318/v1/traces"},
			with(func(c *Config) { c.OTLPEndpoint = "http://t:4318/v1/traces" })},
		{"metrics exporter none", map[string]string{EnvEndpoint: "http://c:4318", EnvMetricsExporter: "none"},
			with(func(c *Config) { c.OTLPEndpoint = "http://c:4318/v1/traces" })},
		{"metrics exporter prometheus", map[string]string{EnvEndpoint: "http://c:4318", EnvMetricsExporter: "prometheus"},
			with(func(c *Config) { c.OTLPEndpoint = "http://c:4318/v1/traces" })},
		{"traces exporter none", map[string]string{EnvEndpoint: "http://c:4318", EnvTracesExporter: "none"},
			with(func(c *Config) { c.OTLPMetricsEndpoint = "http://c:4318/v1/metrics" })},
		{"exporter list", map[string]string{EnvEndpoint: "http://c:4318", EnvMetricsExporter: "prometheus, otlp"},
			with(func(c *Config) {
				c.OTLPEndpoint, c.OTLPMetricsEndpoint = "http://c:4318/v1/traces", "http://c:4318/v1/metrics"
			})},
		{"headers", map[string]string{EnvHeaders: "api-key=abc%3D%3D, x-tenant = shop1 ,"},
			with(func(c *Config) { c.OTLPHeaders = map[string]string{"api-key": "abc==", "x-tenant": "shop1"} })},
		{"always_on", map[string]string{EnvSampler: "always_on"}, with(func(c *Config) { c.IgnoreParent = true })},
		{"always_off", map[string]string{EnvSampler: "always_off"}, with(func(c *Config) { c.SampleRatio, c.IgnoreParent = 0, true })},
		{"parentbased_always_on", map[string]string{EnvSampler: "parentbased_always_on"}, def},
		{"parentbased_always_off", map[string]string{EnvSampler: "parentbased_always_off"}, with(func(c *Config) { c.SampleRatio = 0 })},
		{"traceidratio", map[string]string{EnvSampler: "traceidratio", EnvSamplerArg: "0.25"},
			with(func(c *Config) { c.SampleRatio, c.IgnoreParent = 0.25, true })},
		{"parentbased_traceidratio", map[string]string{EnvSampler: "parentbased_traceidratio", EnvSamplerArg: "0.1"},
			with(func(c *Config) { c.SampleRatio = 0.1 })},
		{"ratio without arg", map[string]string{EnvSampler: "parentbased_traceidratio"}, def},
		{"arg ignored by always_on", map[string]string{EnvSampler: "always_on", EnvSamplerArg: "junk"},
			with(func(c *Config) { c.IgnoreParent = true })},
		{"disabled", map[string]string{EnvSDKDisabled: "TRUE"}, with(func(c *Config) { c.Disabled = true })},
		{"not disabled", map[string]string{EnvSDKDisabled: "false"}, def},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ConfigFromEnv(func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestConfigFromEnvErrorsNameTheVariable(t *testing.T) {
	tests := []struct {
		env     map[string]string
		varName string
	}{
		{map[string]string{EnvEndpoint: "collector:4318"}, EnvEndpoint},
		{map[string]string{EnvEndpoint: "ftp://collector"}, EnvEndpoint},
		{map[string]string{EnvTracesEndpoint: "http://"}, EnvTracesEndpoint},
		{map[string]string{EnvMetricsEndpoint: "::bad"}, EnvMetricsEndpoint},
		{map[string]string{EnvHeaders: "novalue"}, EnvHeaders},
		{map[string]string{EnvHeaders: "=v"}, EnvHeaders},
		{map[string]string{EnvHeaders: "k=%zz"}, EnvHeaders},
		{map[string]string{EnvTracesExporter: "zipkin"}, EnvTracesExporter},
		{map[string]string{EnvMetricsExporter: "console"}, EnvMetricsExporter},
		{map[string]string{EnvSampler: "jaeger_remote"}, EnvSampler},
		{map[string]string{EnvSampler: "traceidratio", EnvSamplerArg: "half"}, EnvSamplerArg},
		{map[string]string{EnvSampler: "parentbased_traceidratio", EnvSamplerArg: "1.5"}, EnvSamplerArg},
		{map[string]string{EnvSampler: "traceidratio", EnvSamplerArg: "-0.1"}, EnvSamplerArg},
		{map[string]string{EnvSampler: "traceidratio", EnvSamplerArg: "NaN"}, EnvSamplerArg},
		{map[string]string{EnvSDKDisabled: "yes"}, EnvSDKDisabled},
	}
	for _, tc := range tests {
		_, err := ConfigFromEnv(func(k string) string { return tc.env[k] })
		if err == nil || !strings.Contains(err.Error(), tc.varName) {
			t.Errorf("env %v: error %v, want one naming %s", tc.env, err, tc.varName)
		}
	}
}
