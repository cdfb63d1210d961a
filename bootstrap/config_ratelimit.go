package bootstrap

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/scoped-api/foundation/ports/shared"
)

// RateLimitConfig is the request budgets (README, "Rate limits"): per
// caller for writes and for reads, per client address on routes that need
// no token. Budgets are per minute with a burst; with REDIS_URL they are
// shared by every instance, without it each instance counts its own.
type RateLimitConfig struct {
	Enabled            bool `env:"RATE_LIMIT_ENABLED" envDefault:"true"`
	WritesPerMinute    int  `env:"RATE_LIMIT_WRITES_PER_MINUTE" envDefault:"60"`
	WritesBurst        int  `env:"RATE_LIMIT_WRITES_BURST" envDefault:"20"`
	ReadsPerMinute     int  `env:"RATE_LIMIT_READS_PER_MINUTE" envDefault:"600"`
	ReadsBurst         int  `env:"RATE_LIMIT_READS_BURST" envDefault:"100"`
	AnonymousPerMinute int  `env:"RATE_LIMIT_ANONYMOUS_PER_MINUTE" envDefault:"60"`
	AnonymousBurst     int  `env:"RATE_LIMIT_ANONYMOUS_BURST" envDefault:"20"`
	// TrustedProxies are the addresses or CIDR ranges of the proxies whose
	// X-Forwarded-For names the client; empty believes no one's.
	TrustedProxies []string `env:"RATE_LIMIT_TRUSTED_PROXIES" envSeparator:","`

	// Parsed by validate.
	Proxies []netip.Prefix `env:"-"`
}

// maxPerMinute keeps the emission interval of a budget above a microsecond.
const maxPerMinute = 60_000_000

func (r *RateLimitConfig) validate() []error {
	var errs []error
	for _, b := range []struct {
		name  string
		value int
	}{
		{"RATE_LIMIT_WRITES_PER_MINUTE", r.WritesPerMinute},
		{"RATE_LIMIT_WRITES_BURST", r.WritesBurst},
		{"RATE_LIMIT_READS_PER_MINUTE", r.ReadsPerMinute},
		{"RATE_LIMIT_READS_BURST", r.ReadsBurst},
		{"RATE_LIMIT_ANONYMOUS_PER_MINUTE", r.AnonymousPerMinute},
		{"RATE_LIMIT_ANONYMOUS_BURST", r.AnonymousBurst},
	} {
		if b.value < 1 || b.value > maxPerMinute {
			errs = append(errs, fmt.Errorf("%s must be between 1 and %d (RATE_LIMIT_ENABLED=false turns limiting off)", b.name, maxPerMinute))
		}
	}
	r.Proxies = nil
	for _, raw := range r.TrustedProxies {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		p, err := netip.ParsePrefix(raw)
		if err != nil {
			a, aerr := netip.ParseAddr(raw)
			if aerr != nil {
				errs = append(errs, fmt.Errorf("RATE_LIMIT_TRUSTED_PROXIES entry %q must be an address or a CIDR range such as 10.0.0.0/8", raw))
				continue
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		r.Proxies = append(r.Proxies, p.Masked())
	}
	return errs
}

// Policies are the three budgets as the limiter sees them.
func (r RateLimitConfig) Policies() (writes, reads, anonymous shared.RateLimitPolicy) {
	return shared.RateLimitPolicy{Name: "writes", Rate: r.WritesPerMinute, Period: time.Minute, Burst: r.WritesBurst},
		shared.RateLimitPolicy{Name: "reads", Rate: r.ReadsPerMinute, Period: time.Minute, Burst: r.ReadsBurst},
		shared.RateLimitPolicy{Name: "anonymous", Rate: r.AnonymousPerMinute, Period: time.Minute, Burst: r.AnonymousBurst}
}
