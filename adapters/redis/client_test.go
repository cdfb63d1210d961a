package redis

import (
	"strings"
	"testing"
	"time"
)

func TestOpenAppliesTheSettingsWithoutConnecting(t *testing.T) {
	// Nothing listens on port 1: Open must not notice.
	client, err := Open("redis://user:s3cret@127.0.0.1:1/2", 7, 1500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Close() }()
	o := client.Options()
	if o.Addr != "127.0.0.1:1" || o.DB != 2 || o.Username != "user" || o.Password != "s3cret" ||
		o.PoolSize != 7 || o.DialTimeout != 1500*time.Millisecond {
		t.Fatalf("options = addr %s db %d user %s pool %d dial %s", o.Addr, o.DB, o.Username, o.PoolSize, o.DialTimeout)
	}
}

func TestOpenRefusesBadSettings(t *testing.T) {
	for name, c := range map[string]struct {
		url  string
		pool int
		dial time.Duration
	}{
		"bad scheme":   {"http://127.0.0.1:6379", 1, time.Second},
		"bad port":     {"redis://user:s3cret@127.0.0.1:port", 1, time.Second},
		"bad database": {"redis://user:s3cret@127.0.0.1:6379/x", 1, time.Second},
		"no pool":      {"redis://127.0.0.1:6379", 0, time.Second},
		"no timeout":   {"redis://127.0.0.1:6379", 1, 0},
	} {
		if _, err := Open(c.url, c.pool, c.dial); err == nil {
			t.Errorf("%s: no error", name)
		} else if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: the error shows the password: %v", name, err)
		}
	}
}
