// The OpenID provider of the OIDC molecule scenario: zitadel's OIDC library and its example
// OpenID provider (github.com/zitadel/oidc/v3/example/server: login form, static users,
// signed tokens, PKCE), with what its own main fixes made settable: the issuer URL, TLS on the
// provider itself (certificate of the lab CA), and the one client headscale uses, whose secret
// is read from a file. Dex, the usual choice, is refused by the Go module proxy here.
//
//	ISSUER=https://oidc.lab.test:9443/ LISTEN=127.0.0.1:9443 TLS_CERT=.. TLS_KEY=.. \
//	CLIENT_ID=headscale CLIENT_SECRET_FILE=.. REDIRECT_URI=http://127.0.0.1:8080/oidc/callback \
//	USERS_FILE=users.json tailnet-oidc-provider
package main

import (
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
)

func need(name string) string {
	value := os.Getenv(name)
	if value == "" {
		slog.Error("missing environment variable", "name", name)
		os.Exit(2)
	}
	return value
}

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	secret, err := os.ReadFile(need("CLIENT_SECRET_FILE"))
	if err != nil {
		logger.Error("cannot read the client secret", "error", err)
		os.Exit(1)
	}
	storage.RegisterClients(storage.WebClient(need("CLIENT_ID"), strings.TrimSpace(string(secret)),
		strings.Split(need("REDIRECT_URI"), ",")...))
	// Users as the example's storage.User, by id: {"id1": {"ID": "id1", "Username": ..., "Password": ...,
	// "Email": ..., "EmailVerified": true, ...}}.
	users, err := storage.StoreFromFile(need("USERS_FILE"))
	if err != nil {
		logger.Error("cannot read the users", "error", err)
		os.Exit(1)
	}
	router := exampleop.SetupServer(need("ISSUER"), storage.NewStorage(users), logger, false)
	server := &http.Server{Addr: need("LISTEN"), Handler: router}
	logger.Info("serving", "issuer", need("ISSUER"), "listen", server.Addr)
	if err := server.ListenAndServeTLS(need("TLS_CERT"), need("TLS_KEY")); err != http.ErrServerClosed {
		logger.Error("server stopped", "error", err)
		os.Exit(1)
	}
}
