// Package redis connects the application to Redis, which carries events
// between instances; its subpackages implement the ports that need it.
package redis

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Modes name the three deployments Open can reach; each reads its URL with
// go-redis's own parser for that client, so the URL forms are go-redis's.
const (
	// ModeSingle is one server: redis://[user:password@]host:port[/db].
	ModeSingle = "single"
	// ModeSentinel finds the primary through Sentinel:
	// redis://[sentinel-user:sentinel-password@]sentinel:26379[/db]?master_name=NAME[&addr=sentinel2:26379][&password=...].
	ModeSentinel = "sentinel"
	// ModeCluster is a Redis Cluster:
	// redis://[user:password@]node:6379[?addr=node2:6379...].
	ModeCluster = "cluster"
)

// Settings size the client's pool and bound its waits.
type Settings struct {
	// Mode is ModeSingle (also when empty), ModeSentinel or ModeCluster.
	Mode           string
	PoolSize       int
	ConnectTimeout time.Duration
	// CommandTimeout bounds one command's write and read. A command that
	// times out is tried once more, so a Redis that accepts connections and
	// never answers fails a command after about twice this, not after the
	// client's default of four tries of three seconds.
	CommandTimeout time.Duration
}

// apply sets the pool and timeouts on any of go-redis's option types.
func (s Settings) apply(pool *int, dial, read, write *time.Duration, retries *int) {
	*pool, *dial, *read, *write, *retries = s.PoolSize, s.ConnectTimeout, s.CommandTimeout, s.CommandTimeout, 1
}

// Open builds a client for url in s.Mode's form. It never connects:
// connections are made on first use, so a Redis that is down at start-up
// shows in readiness, not as a crash.
func Open(url string, s Settings) (goredis.UniversalClient, error) {
	if s.PoolSize < 1 {
		return nil, fmt.Errorf("redis: pool size must be at least 1, not %d", s.PoolSize)
	}
	if s.ConnectTimeout <= 0 || s.CommandTimeout <= 0 {
		return nil, fmt.Errorf("redis: connect and command timeouts must be positive, not %s and %s", s.ConnectTimeout, s.CommandTimeout)
	}
	switch s.Mode {
	case "", ModeSingle:
		opt, err := goredis.ParseURL(url)
		if err != nil {
			return nil, fmt.Errorf("redis: invalid URL: %w", withoutURL(err))
		}
		s.apply(&opt.PoolSize, &opt.DialTimeout, &opt.ReadTimeout, &opt.WriteTimeout, &opt.MaxRetries)
		return goredis.NewClient(opt), nil
	case ModeSentinel:
		opt, err := parseFailover(url)
		if err != nil {
			return nil, err
		}
		s.apply(&opt.PoolSize, &opt.DialTimeout, &opt.ReadTimeout, &opt.WriteTimeout, &opt.MaxRetries)
		return goredis.NewFailoverClient(opt), nil
	case ModeCluster:
		opt, err := goredis.ParseClusterURL(url)
		if err != nil {
			return nil, fmt.Errorf("redis: invalid cluster URL: %w", withoutURL(err))
		}
		s.apply(&opt.PoolSize, &opt.DialTimeout, &opt.ReadTimeout, &opt.WriteTimeout, &opt.MaxRetries)
		return goredis.NewClusterClient(opt), nil
	default:
		return nil, fmt.Errorf("redis: mode must be %s, %s or %s, not %q", ModeSingle, ModeSentinel, ModeCluster, s.Mode)
	}
}

// ValidateURL reports whether url is well formed for mode without
// building a client; its errors never repeat the URL.
func ValidateURL(mode, url string) error {
	c, err := Open(url, Settings{Mode: mode, PoolSize: 1, ConnectTimeout: time.Second, CommandTimeout: time.Second})
	if err != nil {
		return err
	}
	return c.Close()
}

func parseFailover(url string) (*goredis.FailoverOptions, error) {
	opt, err := goredis.ParseFailoverURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis: invalid sentinel URL: %w", withoutURL(err))
	}
	// go-redis accepts an empty name and then fails on every command.
	if opt.MasterName == "" {
		return nil, errors.New("redis: a sentinel URL needs ?master_name=NAME, the name the sentinels monitor")
	}
	return opt, nil
}

// withoutURL keeps a parse error from repeating the URL, which may carry a
// password.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
