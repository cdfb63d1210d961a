package bootstrap

import (
	"strings"
	"testing"
	"time"

	"github.com/scoped-api/foundation/adapters/auth"
	appproject "github.com/scoped-api/foundation/application/project"
)

func TestDefaults(t *testing.T) {
	cfg, err := LoadConfig(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Env != EnvDevelopment || cfg.HTTP.Addr != "127.0.0.1:8000" || cfg.HTTP.MaxBodyBytes != 1<<20 ||
		cfg.Database.URL != "sqlite://var/api.db" || !cfg.Database.MigrateOnStart || cfg.Log.Format != "console" ||
		cfg.HTTP.ShutdownTimeout != 15*time.Second || len(cfg.CORS.AllowedOrigins) != 0 {
		t.Fatalf("defaults: %+v", cfg)
	}
	if cfg.Auth.Secret != auth.DevelopmentSecret || !cfg.Auth.UsingDevelopmentSecret {
		t.Fatal("development must fall back to the labelled development secret")
	}
}

func TestEveryProblemIsReportedAtOnce(t *testing.T) {
	_, err := LoadConfig(map[string]string{
		"APP_ENV":               "staging",
		"HTTP_ADDR":             "nope",
		"HTTP_SHUTDOWN_TIMEOUT": "soon",
		"HTTP_MAX_BODY_BYTES":   "0",
		"DATABASE_URL":          "mysql://x",
		"DB_MAX_OPEN_CONNS":     "many",
		"LOG_LEVEL":             "loud",
		"LOG_FORMAT":            "xml",
		"CORS_ALLOWED_ORIGINS":  "https://ok.example,ftp://bad",
		"DB_MIGRATE_ON_START":   "perhaps",
	})
	if err == nil {
		t.Fatal("invalid configuration accepted")
	}
	for _, name := range []string{"APP_ENV", "HTTP_ADDR", "HTTP_SHUTDOWN_TIMEOUT", "HTTP_MAX_BODY_BYTES", "DATABASE_URL",
		"DB_MAX_OPEN_CONNS", "LOG_LEVEL", "LOG_FORMAT", "CORS_ALLOWED_ORIGINS", "DB_MIGRATE_ON_START"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("the error does not mention %s:\n%v", name, err)
		}
	}
	if strings.Count(err.Error(), "HTTP_SHUTDOWN_TIMEOUT") != 1 {
		t.Errorf("a value that does not parse is reported once:\n%v", err)
	}
}

func TestProductionRefusesWeakSecrets(t *testing.T) {
	base := func(secret string) map[string]string {
		return map[string]string{"APP_ENV": "production", "AUTH_HS256_SECRET": secret, "PROJECT_KEY_SECRET": strings.Repeat("k", 32)}
	}
	for name, secret := range map[string]string{
		"unset":       "",
		"short":       strings.Repeat("x", auth.MinSecretBytes-1),
		"development": auth.DevelopmentSecret,
	} {
		_, err := LoadConfig(base(secret))
		if err == nil || !strings.Contains(err.Error(), "AUTH_HS256_SECRET") {
			t.Errorf("%s secret in production: %v", name, err)
		}
	}
	for name, secret := range map[string]string{
		"unset":       "",
		"short":       strings.Repeat("k", appproject.MinKeySecretBytes-1),
		"development": appproject.DevelopmentKeySecret,
	} {
		env := base(strings.Repeat("s", auth.MinSecretBytes))
		env["PROJECT_KEY_SECRET"] = secret
		_, err := LoadConfig(env)
		if err == nil || !strings.Contains(err.Error(), "PROJECT_KEY_SECRET") {
			t.Errorf("%s key secret in production: %v", name, err)
		}
	}
	if dev, err := LoadConfig(map[string]string{}); err != nil || !dev.Projects.UsingDevelopmentKeySecret || dev.Projects.KeySecret != appproject.DevelopmentKeySecret {
		t.Fatalf("development without a key secret: %+v, %v", dev.Projects, err)
	}
	cfg, err := LoadConfig(base(strings.Repeat("s", auth.MinSecretBytes)))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Log.Format != "json" || cfg.Auth.UsingDevelopmentSecret {
		t.Fatalf("production: %+v", cfg)
	}
}

func TestCORSOrigins(t *testing.T) {
	cfg, err := LoadConfig(map[string]string{"CORS_ALLOWED_ORIGINS": "https://a.example,http://localhost:3000"})
	if err != nil || len(cfg.CORS.AllowedOrigins) != 2 {
		t.Fatalf("%v %v", cfg.CORS, err)
	}
}

func TestRedactURL(t *testing.T) {
	if got := RedactURL("postgres://u:hunter2@h/db"); strings.Contains(got, "hunter2") {
		t.Fatal(got)
	}
}

func TestStreamAndRedisSettingsAreValidated(t *testing.T) {
	cfg, err := LoadConfig(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Streams
	if cfg.Redis.URL != "" || s.Keepalive != 30*time.Second || s.MaxDuration != 5*time.Minute || s.TicketTTL != time.Minute ||
		s.MaxStreamsPerSubject != 16 || s.SubscriberBuffer < s.RelayBatch || cfg.Projects.GateCacheTTL != time.Second {
		t.Fatalf("stream defaults: %+v %+v", cfg.Redis, s)
	}
	_, err = LoadConfig(map[string]string{ //nolint:gosec // a made-up password, to prove the error hides it
		"REDIS_URL":                   "http://user:hunter2@cache:6379",
		"REDIS_POOL_SIZE":             "0",
		"SSE_KEEPALIVE":               "0s",
		"SSE_MAX_DURATION":            "-1m",
		"SSE_MAX_STREAMS_PER_SUBJECT": "0",
		"SSE_SUBSCRIBER_BUFFER":       "10",
		"EVENTS_RELAY_BATCH":          "100",
		"EVENTS_RELAY_LINGER":         "5s",
		"PROJECT_GATE_CACHE_TTL":      "2h",
	})
	if err == nil {
		t.Fatal("invalid stream settings accepted")
	}
	for _, name := range []string{"REDIS_URL", "REDIS_POOL_SIZE", "SSE_KEEPALIVE", "SSE_MAX_DURATION", "SSE_MAX_STREAMS_PER_SUBJECT",
		"SSE_SUBSCRIBER_BUFFER (10) must be at least EVENTS_RELAY_BATCH (100)", "EVENTS_RELAY_LINGER", "PROJECT_GATE_CACHE_TTL"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("the error does not mention %s:\n%v", name, err)
		}
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("the error shows the Redis password:\n%v", err)
	}
}

func TestRedisModes(t *testing.T) {
	for _, c := range []struct{ mode, url string }{
		{"", "redis://127.0.0.1:6379/0"},
		{"single", "rediss://u:p@cache:6380"},
		{"sentinel", "redis://:sentpw@s1:26379/0?master_name=mymaster&addr=s2:26379&password=primarypw"},
		{"sentinel", "redis://s1:26379?master_name=mymaster"},
		{"cluster", "redis://u:p@n1:7000?addr=n2:7001&addr=n3:7002"},
	} {
		env := map[string]string{"REDIS_URL": c.url}
		if c.mode != "" {
			env["REDIS_MODE"] = c.mode
		}
		cfg, err := LoadConfig(env)
		if err != nil {
			t.Errorf("%s %s: %v", c.mode, RedactURL(c.url), err)
			continue
		}
		if want := map[string]string{"": "single"}[c.mode]; want != "" && cfg.Redis.Mode != want {
			t.Errorf("default mode = %q", cfg.Redis.Mode)
		}
	}
	for name, c := range map[string]struct{ mode, url, want string }{
		"unknown mode":          {"ring", "redis://127.0.0.1:6379", "REDIS_MODE must be single, sentinel or cluster"},
		"mode without url":      {"sentinel", "", "REDIS_MODE=sentinel needs REDIS_URL"},
		"no master name":        {"sentinel", "redis://:hunter2@s1:26379", "master_name"},
		"sentinel bad addr":     {"sentinel", "redis://s1:26379?master_name=m&password=hunter2&addr=s2", "addr"},
		"sentinel other scheme": {"sentinel", "redis-sentinel://:hunter2@s1:26379?master_name=m", "REDIS_URL must be redis://[sentinel-user"},
		"cluster unknown param": {"cluster", "redis://u:hunter2@n1:7000?colour=red", "colour"},
		"cluster bad db":        {"cluster", "redis://u:hunter2@n1:7000?addr=:x", "addr"},
	} {
		env := map[string]string{"REDIS_MODE": c.mode}
		if c.url != "" {
			env["REDIS_URL"] = c.url
		}
		_, err := LoadConfig(env)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: the error does not say %q:\n%v", name, c.want, err)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error shows the password:\n%v", name, err)
		}
	}
	if got := RedactURL("redis://:sentpw@s1:26379?master_name=m&password=primarypw"); strings.Contains(got, "sentpw") || strings.Contains(got, "primarypw") {
		t.Errorf("RedactURL shows a Sentinel URL's passwords: %s", got)
	}
}

func TestRequestTimeoutMustEndBeforeTheWriteTimeout(t *testing.T) {
	cfg, err := LoadConfig(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.RequestTimeout != 10*time.Second {
		t.Fatalf("HTTP_REQUEST_TIMEOUT default: %v", cfg.HTTP.RequestTimeout)
	}
	for env, want := range map[string]string{
		"30s": "HTTP_REQUEST_TIMEOUT (30s) must be shorter than HTTP_WRITE_TIMEOUT (30s)",
		"0s":  "HTTP_REQUEST_TIMEOUT must be a positive duration",
	} {
		_, err := LoadConfig(map[string]string{"HTTP_REQUEST_TIMEOUT": env})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("HTTP_REQUEST_TIMEOUT=%s: %v, want %q", env, err, want)
		}
	}
	if _, err := LoadConfig(map[string]string{"HTTP_REQUEST_TIMEOUT": "45s", "HTTP_WRITE_TIMEOUT": "1m"}); err != nil {
		t.Errorf("a request timeout under the write timeout is refused: %v", err)
	}
}

func TestRelayMaxLagMustLeaveRoomForAMeasurementAndAStep(t *testing.T) {
	cfg, err := LoadConfig(map[string]string{})
	if err != nil || cfg.Streams.RelayMaxLag != 30*time.Second {
		t.Fatalf("default EVENTS_RELAY_MAX_LAG: %v, %v", cfg.Streams.RelayMaxLag, err)
	}
	_, err = LoadConfig(map[string]string{"EVENTS_RELAY_INTERVAL": "1s", "EVENTS_RELAY_MAX_LAG": "2s"})
	if err == nil || !strings.Contains(err.Error(), "EVENTS_RELAY_MAX_LAG (2s) must be more than twice EVENTS_RELAY_INTERVAL (1s)") {
		t.Fatalf("a maximum lag of two intervals: %v", err)
	}
	if _, err := LoadConfig(map[string]string{"EVENTS_RELAY_MAX_LAG": "0s"}); err == nil || !strings.Contains(err.Error(), "EVENTS_RELAY_MAX_LAG must be a positive duration") {
		t.Fatalf("a zero maximum lag: %v", err)
	}
}

func TestStreamPassesMustOutliveAStreamAndItsReconnect(t *testing.T) {
	cfg, err := LoadConfig(map[string]string{})
	if err != nil || cfg.Streams.PassTTL != 15*time.Minute {
		t.Fatalf("default SSE_PASS_TTL: %v, %v", cfg.Streams.PassTTL, err)
	}
	_, err = LoadConfig(map[string]string{"SSE_PASS_TTL": "5m", "SSE_MAX_DURATION": "5m", "SSE_RETRY": "2s"})
	if err == nil || !strings.Contains(err.Error(), "SSE_PASS_TTL (5m0s) must be more than SSE_MAX_DURATION + SSE_RETRY (5m2s)") {
		t.Fatalf("a pass no longer than a stream: %v", err)
	}
	if _, err := LoadConfig(map[string]string{"SSE_PASS_TTL": "0s"}); err == nil || !strings.Contains(err.Error(), "SSE_PASS_TTL must be a positive duration") {
		t.Fatalf("a zero pass lifetime: %v", err)
	}
	if _, err := LoadConfig(map[string]string{"SSE_PASS_TTL": "6m", "SSE_MAX_DURATION": "5m"}); err != nil {
		t.Fatalf("a pass that outlives a stream and its reconnect: %v", err)
	}
}

func TestQueryExecModeIsASettingThatTheURLCannotContradict(t *testing.T) {
	cfg, err := LoadConfig(map[string]string{"DATABASE_URL": "postgres://db.example/app"})
	if err != nil || cfg.Database.QueryExecMode != "cache_describe" {
		t.Fatalf("default DB_QUERY_EXEC_MODE: %q, %v", cfg.Database.QueryExecMode, err)
	}
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"DATABASE_URL": "postgres://db.example/app", "DB_QUERY_EXEC_MODE": "prepared"},
			`DB_QUERY_EXEC_MODE must be one of cache_statement, cache_describe, describe_exec, exec, simple_protocol, not "prepared"`},
		{map[string]string{"DB_QUERY_EXEC_MODE": "fast"}, "DB_QUERY_EXEC_MODE must be one of"},
		{map[string]string{"DATABASE_URL": "postgres://db.example/app?default_query_exec_mode=simple_protocol"},
			"DATABASE_URL sets default_query_exec_mode=simple_protocol but DB_QUERY_EXEC_MODE is cache_describe"},
		{map[string]string{"DATABASE_URL": "postgres://db.example/app?default_query_exec_mode=exec", "DB_QUERY_EXEC_MODE": "cache_statement"},
			"DATABASE_URL sets default_query_exec_mode=exec but DB_QUERY_EXEC_MODE is cache_statement"},
	} {
		if _, err := LoadConfig(c.env); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.env, err, c.want)
		}
	}
	agreeing := map[string]string{"DATABASE_URL": "postgres://db.example/app?default_query_exec_mode=exec", "DB_QUERY_EXEC_MODE": "exec"}
	if _, err := LoadConfig(agreeing); err != nil {
		t.Errorf("a URL that agrees with the setting: %v", err)
	}
}

func TestShutdownDelayDependsOnTheEnvironmentUnlessGiven(t *testing.T) {
	secret := strings.Repeat("s", auth.MinSecretBytes)
	for _, c := range []struct {
		env  map[string]string
		want time.Duration
	}{
		{map[string]string{}, 0},
		{map[string]string{"APP_ENV": "test"}, 5 * time.Second},
		{map[string]string{"APP_ENV": "production", "AUTH_HS256_SECRET": secret, "PROJECT_KEY_SECRET": secret}, 5 * time.Second},
		{map[string]string{"APP_ENV": "production", "AUTH_HS256_SECRET": secret, "PROJECT_KEY_SECRET": secret, "HTTP_SHUTDOWN_DELAY": "0"}, 0},
		{map[string]string{"HTTP_SHUTDOWN_DELAY": "2s"}, 2 * time.Second},
	} {
		cfg, err := LoadConfig(c.env)
		if err != nil {
			t.Fatalf("%v: %v", c.env, err)
		}
		if cfg.HTTP.ShutdownDelay != c.want {
			t.Errorf("%v: HTTP_SHUTDOWN_DELAY resolved to %v, want %v", c.env, cfg.HTTP.ShutdownDelay, c.want)
		}
	}
	for value, want := range map[string]string{
		"-1s":  "HTTP_SHUTDOWN_DELAY must not be negative",
		"5m":   "HTTP_SHUTDOWN_DELAY (5m0s) + HTTP_SHUTDOWN_TIMEOUT (15s) is the longest a stop takes and must be at most 5m0s",
		"soon": "HTTP_SHUTDOWN_DELAY: ",
	} {
		_, err := LoadConfig(map[string]string{"HTTP_SHUTDOWN_DELAY": value})
		if err == nil || !strings.Contains(err.Error(), want) || strings.Count(err.Error(), "HTTP_SHUTDOWN_DELAY") != 1 {
			t.Errorf("HTTP_SHUTDOWN_DELAY=%s: %v; want one message with %q", value, err, want)
		}
	}
}

func TestIdentityProviderSettings(t *testing.T) {
	ok, err := LoadConfig(map[string]string{"AUTH_OIDC_ISSUER": "https://idp.example/", "AUTH_AUDIENCE": "api"})
	if err != nil || ok.Auth.Issuer != "https://idp.example/" {
		t.Fatalf("the OIDC issuer is the default AUTH_ISSUER: %v %q", err, ok.Auth.Issuer)
	}
	prod := map[string]string{"APP_ENV": "production", "PROJECT_KEY_SECRET": strings.Repeat("k", 32),
		"AUTH_JWKS_URL": "https://idp.example/keys", "AUTH_ISSUER": "https://idp.example/", "AUTH_AUDIENCE": "api"}
	if _, err := LoadConfig(prod); err != nil {
		t.Fatalf("production with only a provider (no HS256 secret): %v", err)
	}
	for name, c := range map[string]struct {
		env  map[string]string
		want string
	}{
		"both sources":       {map[string]string{"AUTH_JWKS_URL": "https://a/keys", "AUTH_OIDC_ISSUER": "https://a/", "AUTH_AUDIENCE": "api"}, "not both"},
		"no audience":        {map[string]string{"AUTH_OIDC_ISSUER": "https://a/"}, "AUTH_AUDIENCE"},
		"no issuer":          {map[string]string{"AUTH_JWKS_URL": "https://a/keys", "AUTH_AUDIENCE": "api"}, "AUTH_ISSUER"},
		"not a URL":          {map[string]string{"AUTH_JWKS_URL": "keys", "AUTH_ISSUER": "i", "AUTH_AUDIENCE": "api"}, "AUTH_JWKS_URL must be an http(s) URL"},
		"http in production": {map[string]string{"APP_ENV": "production", "PROJECT_KEY_SECRET": strings.Repeat("k", 32), "AUTH_OIDC_ISSUER": "http://a/", "AUTH_AUDIENCE": "api"}, "https in production"},
		"empty claim":        {map[string]string{"AUTH_OIDC_ISSUER": "https://a/", "AUTH_AUDIENCE": "api", "AUTH_SUBJECT_CLAIM": " "}, "AUTH_SUBJECT_CLAIM"},
		"refresh too often":  {map[string]string{"AUTH_OIDC_ISSUER": "https://a/", "AUTH_AUDIENCE": "api", "AUTH_JWKS_REFRESH": "1s"}, "AUTH_JWKS_REFRESH"},
	} {
		if _, err := LoadConfig(c.env); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %q", name, err, c.want)
		}
	}
}

func TestDebugAddr(t *testing.T) {
	for _, tc := range []struct {
		env, addr, want, fails string
	}{
		{"development", ":6060", "127.0.0.1:6060", ""},
		{"production", ":6060", "127.0.0.1:6060", ""},
		{"production", "[::1]:6060", "[::1]:6060", ""},
		{"development", "0.0.0.0:6060", "0.0.0.0:6060", ""},
		{"production", "0.0.0.0:6060", "", "DEBUG_ADDR \"0.0.0.0:6060\" is not a loopback address"},
		{"production", "10.0.0.5:6060", "", "is not a loopback address"},
		{"development", "6060", "", "DEBUG_ADDR must be host:port or :port"},
	} {
		env := map[string]string{"APP_ENV": tc.env, "DEBUG_ADDR": tc.addr}
		if tc.env == "production" {
			env["AUTH_HS256_SECRET"] = strings.Repeat("s", 40)
			env["PROJECT_KEY_SECRET"] = strings.Repeat("p", 40)
			env["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/x"
		}
		cfg, err := LoadConfig(env)
		switch {
		case tc.fails == "" && err != nil:
			t.Errorf("%s %s: %v", tc.env, tc.addr, err)
		case tc.fails == "" && cfg.HTTP.DebugAddr != tc.want:
			t.Errorf("%s %s: DEBUG_ADDR resolved to %q, want %q", tc.env, tc.addr, cfg.HTTP.DebugAddr, tc.want)
		case tc.fails != "" && (err == nil || !strings.Contains(err.Error(), tc.fails)):
			t.Errorf("%s %s: error %v, want one saying %q", tc.env, tc.addr, err, tc.fails)
		}
	}
}
