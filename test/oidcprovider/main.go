// Command oidcprovider is the OpenID Connect provider the end-to-end tests
// run: the example server of github.com/zitadel/oidc, unchanged except for
// its signing keys, which rotate on SIGHUP as a production provider's do
// (the new key signs, the old ones stay published so their tokens verify).
//
// It is its own module so that the provider's dependencies stay out of the
// API's go.mod.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/example/server/config"
	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/op"
)

func main() {
	cfg := config.FromEnvVars(&config.Config{Port: "9998"})
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	issuer := fmt.Sprintf("http://localhost:%s/", cfg.Port)
	storage.RegisterClients(storage.WebClient("web", "secret", cfg.RedirectURI...))

	keys := &rotatingStorage{Storage: storage.NewStorage(storage.NewUserStore(issuer))}
	keys.rotate(jose.RS256)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		// The first rotation switches to ES256, the next back to RS256:
		// every rotation changes both the key and its algorithm.
		algs := []jose.SignatureAlgorithm{jose.ES256, jose.RS256}
		for i := 0; ; i++ {
			<-hup
			id := keys.rotate(algs[i%len(algs)])
			logger.Info("signing key rotated", "kid", id)
		}
	}()

	server := &http.Server{Addr: "127.0.0.1:" + cfg.Port, Handler: exampleop.SetupServer(issuer, keys, logger, false)}
	logger.Info("listening", "issuer", issuer)
	if err := server.ListenAndServe(); err != http.ErrServerClosed {
		logger.Error("server terminated", "error", err)
		os.Exit(1)
	}
}

// rotatingStorage is the example storage with a key set that grows on
// every rotation; the newest key signs.
type rotatingStorage struct {
	*storage.Storage
	mu   sync.Mutex
	keys []signingKey // newest first
}

type signingKey struct {
	id  string
	alg jose.SignatureAlgorithm
	key any // *rsa.PrivateKey or *ecdsa.PrivateKey
}

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return k.alg }
func (k signingKey) Key() any                                    { return k.key }
func (k signingKey) ID() string                                  { return k.id }

type publicKey struct{ signingKey }

func (k publicKey) Algorithm() jose.SignatureAlgorithm { return k.alg }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any {
	switch key := k.key.(type) {
	case *rsa.PrivateKey:
		return &key.PublicKey
	case *ecdsa.PrivateKey:
		return &key.PublicKey
	}
	return nil
}

func (s *rotatingStorage) rotate(alg jose.SignatureAlgorithm) string {
	var key any
	var err error
	if alg == jose.ES256 {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	} else {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		panic(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := fmt.Sprintf("key-%d", len(s.keys)+1)
	s.keys = append([]signingKey{{id: id, alg: alg, key: key}}, s.keys...)
	return id
}

func (s *rotatingStorage) SigningKey(context.Context) (op.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[0], nil
}

func (s *rotatingStorage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256, jose.ES256}, nil
}

func (s *rotatingStorage) KeySet(context.Context) ([]op.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	set := make([]op.Key, 0, len(s.keys))
	for _, k := range s.keys {
		set = append(set, publicKey{k})
	}
	return set, nil
}
