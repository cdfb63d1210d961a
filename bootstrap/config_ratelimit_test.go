package bootstrap

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestRateLimitDefaultsAreOnAndGenerous(t *testing.T) {
	cfg, err := LoadConfig(map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.RateLimit
	if !r.Enabled || len(r.Proxies) != 0 {
		t.Errorf("defaults: %+v", r)
	}
	w, rd, anon := r.Policies()
	if w.Name != "writes" || w.Rate != 60 || w.Burst != 20 || w.Period != time.Minute {
		t.Errorf("writes: %+v", w)
	}
	if rd.Name != "reads" || rd.Rate != 600 || rd.Burst != 100 {
		t.Errorf("reads: %+v", rd)
	}
	if anon.Name != "anonymous" || anon.Rate != 60 || anon.Burst != 20 {
		t.Errorf("anonymous: %+v", anon)
	}
}

func TestRateLimitTrustedProxiesAreAddressesOrRanges(t *testing.T) {
	cfg, err := LoadConfig(map[string]string{"RATE_LIMIT_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7,::1,2001:db8::/32"})
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"),
		netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("2001:db8::/32"),
	}
	if len(cfg.RateLimit.Proxies) != len(want) {
		t.Fatalf("proxies %v, want %v", cfg.RateLimit.Proxies, want)
	}
	for i := range want {
		if cfg.RateLimit.Proxies[i] != want[i] {
			t.Errorf("proxy %d = %s, want %s", i, cfg.RateLimit.Proxies[i], want[i])
		}
	}
}

func TestRateLimitRefusesWhatCannotBeABudget(t *testing.T) {
	_, err := LoadConfig(map[string]string{
		"RATE_LIMIT_WRITES_PER_MINUTE": "0",
		"RATE_LIMIT_READS_BURST":       "-1",
		"RATE_LIMIT_TRUSTED_PROXIES":   "10.0.0.0/8,proxy.internal",
	})
	if err == nil {
		t.Fatal("invalid rate limits were accepted")
	}
	for _, want := range []string{"RATE_LIMIT_WRITES_PER_MINUTE must be between 1", "RATE_LIMIT_READS_BURST must be between 1", `RATE_LIMIT_TRUSTED_PROXIES entry "proxy.internal"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if _, err := LoadConfig(map[string]string{"RATE_LIMIT_ENABLED": "maybe"}); err == nil || !strings.Contains(err.Error(), "RATE_LIMIT_ENABLED") {
		t.Errorf("RATE_LIMIT_ENABLED=maybe: %v", err)
	}
}
