// Package bootstrap is the composition root.
package bootstrap

// Config is every setting.
type Config struct{ Addr string }
