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

// Settings size the client's pool and bound its waits.
type Settings struct {
	PoolSize       int
	ConnectTimeout time.Duration
	// CommandTimeout bounds one command's write and read. A command that
	// times out is tried once more, so a Redis that accepts connections and
	// never answers fails a command after about twice this, not after the
	// client's default of four tries of three seconds.
	CommandTimeout time.Duration
}

// Open builds a client for url (redis://[user:password@]host:port[/db] or
// rediss://). It never connects: connections are made on first use, so a
// Redis that is down at start-up shows in readiness, not as a crash.
func Open(url string, s Settings) (*goredis.Client, error) {
	if s.PoolSize < 1 {
		return nil, fmt.Errorf("redis: pool size must be at least 1, not %d", s.PoolSize)
	}
	if s.ConnectTimeout <= 0 || s.CommandTimeout <= 0 {
		return nil, fmt.Errorf("redis: connect and command timeouts must be positive, not %s and %s", s.ConnectTimeout, s.CommandTimeout)
	}
	opt, err := goredis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis: invalid URL: %w", withoutURL(err))
	}
	opt.PoolSize = s.PoolSize
	opt.DialTimeout = s.ConnectTimeout
	opt.ReadTimeout = s.CommandTimeout
	opt.WriteTimeout = s.CommandTimeout
	opt.MaxRetries = 1
	return goredis.NewClient(opt), nil
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
