package redis

import (
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

func TestOpenAppliesTheSettingsWithoutConnecting(t *testing.T) {
	// Nothing listens on port 1: Open must not notice.
	client, err := Open("redis://user:s3cret@127.0.0.1:1/2", Settings{PoolSize: 7, ConnectTimeout: 1500 * time.Millisecond, CommandTimeout: 700 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Close() }()
	o := client.(*goredis.Client).Options()
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
		"bad scheme":                   {"http://127.0.0.1:6379", Settings{"", 1, time.Second, time.Second}},
		"bad port":                     {"redis://user:s3cret@127.0.0.1:port", Settings{"", 1, time.Second, time.Second}},
		"bad database":                 {"redis://user:s3cret@127.0.0.1:6379/x", Settings{"", 1, time.Second, time.Second}},
		"no pool":                      {"redis://127.0.0.1:6379", Settings{"", 0, time.Second, time.Second}},
		"no connect timeout":           {"redis://127.0.0.1:6379", Settings{"", 1, 0, time.Second}},
		"no command timeout":           {"redis://127.0.0.1:6379", Settings{"", 1, time.Second, 0}},
		"unknown mode":                 {"redis://127.0.0.1:6379", Settings{"ring", 1, time.Second, time.Second}},
		"sentinel without master name": {"redis://:s3cret@127.0.0.1:26379", Settings{ModeSentinel, 1, time.Second, time.Second}},
		"sentinel bad addr":            {"redis://:s3cret@127.0.0.1:26379?master_name=m&addr=nope", Settings{ModeSentinel, 1, time.Second, time.Second}},
		"sentinel unknown option":      {"redis://127.0.0.1:26379?master_name=m&password=s3cret&colour=red", Settings{ModeSentinel, 1, time.Second, time.Second}},
		"sentinel bad scheme":          {"redis-sentinel://:s3cret@127.0.0.1:26379?master_name=m", Settings{ModeSentinel, 1, time.Second, time.Second}},
		"cluster bad scheme":           {"http://u:s3cret@127.0.0.1:7000", Settings{ModeCluster, 1, time.Second, time.Second}},
		"cluster unknown option":       {"redis://u:s3cret@127.0.0.1:7000?colour=red", Settings{ModeCluster, 1, time.Second, time.Second}},
	} {
		if _, err := Open(c.url, c.s); err == nil {
			t.Errorf("%s: no error", name)
		} else if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: the error shows the password: %v", name, err)
		}
	}
}

func TestOpenSentinelAppliesTheSettings(t *testing.T) {
	client, err := Open("redis://sentuser:sent1nel@127.0.0.1:1/3?master_name=mymaster&addr=127.0.0.1:2&password=s3cret",
		Settings{Mode: ModeSentinel, PoolSize: 7, ConnectTimeout: 1500 * time.Millisecond, CommandTimeout: 700 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Close() }()
	// A failover client is a *Client whose dialer asks the sentinels.
	o := client.(*goredis.Client).Options()
	if o.DB != 3 || o.Password != "s3cret" || o.PoolSize != 7 || o.DialTimeout != 1500*time.Millisecond ||
		o.ReadTimeout != 700*time.Millisecond || o.WriteTimeout != 700*time.Millisecond || o.MaxRetries != 1 {
		t.Fatalf("options = db %d pool %d dial %s read %s write %s retries %d", o.DB, o.PoolSize, o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.MaxRetries)
	}
}

func TestOpenClusterAppliesTheSettings(t *testing.T) {
	client, err := Open("redis://user:s3cret@127.0.0.1:1?addr=127.0.0.1:2&addr=127.0.0.1:3",
		Settings{Mode: ModeCluster, PoolSize: 7, ConnectTimeout: 1500 * time.Millisecond, CommandTimeout: 700 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Close() }()
	o := client.(*goredis.ClusterClient).Options()
	if strings.Join(o.Addrs, ",") != "127.0.0.1:1,127.0.0.1:2,127.0.0.1:3" || o.Username != "user" || o.Password != "s3cret" ||
		o.PoolSize != 7 || o.DialTimeout != 1500*time.Millisecond || o.ReadTimeout != 700*time.Millisecond ||
		o.WriteTimeout != 700*time.Millisecond || o.MaxRetries != 1 {
		t.Fatalf("options = addrs %v user %s pool %d dial %s read %s write %s retries %d",
			o.Addrs, o.Username, o.PoolSize, o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.MaxRetries)
	}
}
