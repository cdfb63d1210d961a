// Package ftp is an adapter of a technology the rules do not know.
package ftp

// Client talks FTP.
type Client struct{}
