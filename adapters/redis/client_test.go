package redis

import (
	"strings"
	"testing"
	"time"
)

func TestOpenAppliesTheSettingsWithoutConnecting(t *testing.T) {
	// Nothing listens on port 1: Open must not notice.
	client, err := Open("redis://user:s3cret@127.0.0.1:1/2", Settings{PoolSize: 7, ConnectTimeout: 1500 * time.Millisecond, CommandTimeout: 700 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Close() }()
	o := client.Options()
	if o.Addr != "127.0.0.1:1" || o.DB != 2 || o.Username != "user" || o.Password != "s3cret" ||
		o.PoolSize != 7 || o.DialTimeout != 1500*time.Millisecond || o.ReadTimeout != 700*time.Millisecond ||
		o.WriteTimeout != 700*time.Millisecond || o.MaxRetries != 1 {
		t.Fatalf("options = addr %s db %d user %s pool %d dial %s read %s write %s retries %d",
			o.Addr, o.DB, o.Username, o.PoolSize, o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.MaxRetries)
	}
}

func TestOpenRefusesBadSettings(t *testing.T) {
	for name, c := range map[string]struct {
		url string
		s   Settings
	}{
		"bad scheme":         {"http://127.0.0.1:6379", Settings{1, time.Second, time.Second}},
		"bad port":           {"redis://user:s3cret@127.0.0.1:port", Settings{1, time.Second, time.Second}},
		"bad database":       {"redis://user:s3cret@127.0.0.1:6379/x", Settings{1, time.Second, time.Second}},
		"no pool":            {"redis://127.0.0.1:6379", Settings{0, time.Second, time.Second}},
		"no connect timeout": {"redis://127.0.0.1:6379", Settings{1, 0, time.Second}},
		"no command timeout": {"redis://127.0.0.1:6379", Settings{1, time.Second, 0}},
	} {
		if _, err := Open(c.url, c.s); err == nil {
			t.Errorf("%s: no error", name)
		} else if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: the error shows the password: %v", name, err)
		}
	}
}
