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

// Open builds a client for url (redis://[user:password@]host:port[/db] or
// rediss://). It never connects: connections are made on first use, so a
// Redis that is down at start-up shows in readiness, not as a crash.
func Open(url string, poolSize int, connectTimeout time.Duration) (*goredis.Client, error) {
	if poolSize < 1 {
		return nil, fmt.Errorf("redis: pool size must be at least 1, not %d", poolSize)
	}
	if connectTimeout <= 0 {
		return nil, fmt.Errorf("redis: connect timeout must be positive, not %s", connectTimeout)
	}
	opt, err := goredis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis: invalid URL: %w", withoutURL(err))
	}
	opt.PoolSize = poolSize
	opt.DialTimeout = connectTimeout
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
