// node-fixture registers thousands of nodes through headscale itself, for bench/modules.py.
//
// The CLI makes one process and one gRPC connection per command, and headscale answers each
// node write only when its NodeStore batch is applied (100 writes or 500 ms by default), so
// registering one node at a time cannot reach 5,000. This does what `headscale debug
// create-node`, `headscale auth register` and `headscale nodes tag` do, through the same gRPC
// API on headscale's unix socket, with many calls in flight on one connection. The database is
// never written directly. The API is headscale's own (its gen/go package, pinned in go.mod at
// the version the bench runs; scripts/build-binaries.sh refuses a go.mod that names another).
//
// Prints one JSON line on stdout: {"nodes": N, "failed": F, "seconds": S}; exits 1 when any failed.
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/juanfont/headscale/gen/go/headscale/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// authID is a fresh registration id in headscale 0.29's format (hskey-authreq- and 24 letters).
func authID() string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return "hskey-authreq-" + string(b)
}

func main() {
	socket := flag.String("socket", "", "headscale's unix socket (unix_socket in its config)")
	nodes := flag.Int("nodes", 10, "nodes to register, named node-00000 and on")
	users := flag.Int("users", 50, "users to create (bench-u00 and on); node i belongs to user i mod users")
	tag := flag.String("tag", "tag:server", "the tag of every second node (even i)")
	inFlight := flag.Int("in-flight", 1000, "calls in flight: each waits for headscale's next NodeStore batch")
	timeout := flag.Duration("timeout", 10*time.Minute, "deadline of one call")
	flag.Parse()
	if *socket == "" || *nodes < 0 || *users < 1 || *inFlight < 1 {
		fmt.Fprintln(os.Stderr, "usage: node-fixture -socket PATH [-nodes N] [-users U] [-tag TAG] [-in-flight K]")
		os.Exit(2)
	}

	conn, err := grpc.NewClient("unix://"+*socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "node-fixture:", err)
		os.Exit(1)
	}
	defer conn.Close()
	client := v1.NewHeadscaleServiceClient(conn)
	call := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.Background(), *timeout)
	}

	start := time.Now()
	for u := 0; u < *users; u++ {
		ctx, cancel := call()
		_, err := client.CreateUser(ctx, &v1.CreateUserRequest{Name: fmt.Sprintf("bench-u%02d", u)})
		cancel()
		if err != nil && status.Code(err) != codes.AlreadyExists {
			fmt.Fprintln(os.Stderr, "node-fixture: create user:", err)
			os.Exit(1)
		}
	}

	// One node: a pending registration, approved for its user, then tagged when i is even.
	// A registration that fails before it is approved is tried again with a new auth id;
	// the caller counts the nodes afterwards, so a duplicate cannot go unseen.
	register := func(i int) error {
		user, name := fmt.Sprintf("bench-u%02d", i%*users), fmt.Sprintf("node-%05d", i)
		var lastErr error
		for attempt := 0; attempt < 4; attempt++ {
			id := authID()
			ctx, cancel := call()
			_, lastErr = client.DebugCreateNode(ctx, &v1.DebugCreateNodeRequest{User: user, Key: id, Name: name})
			cancel()
			if lastErr != nil {
				continue
			}
			ctx, cancel = call()
			reply, err := client.AuthRegister(ctx, &v1.AuthRegisterRequest{User: user, AuthId: id})
			cancel()
			if lastErr = err; err != nil {
				continue
			}
			if i%2 == 0 {
				ctx, cancel = call()
				_, lastErr = client.SetTags(ctx, &v1.SetTagsRequest{NodeId: reply.GetNode().GetId(), Tags: []string{*tag}})
				cancel()
			}
			return lastErr
		}
		return lastErr
	}

	var done, failed atomic.Int64
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < *inFlight; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := register(i); err != nil {
					failed.Add(1)
					fmt.Fprintf(os.Stderr, "node-%05d: %v\n", i, err)
				}
				if d := done.Add(1); d%500 == 0 {
					fmt.Fprintf(os.Stderr, "node-fixture: %d of %d nodes, %.0f s\n", d, *nodes, time.Since(start).Seconds())
				}
			}
		}()
	}
	for i := 0; i < *nodes; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	out, _ := json.Marshal(map[string]any{"nodes": *nodes, "failed": failed.Load(), "seconds": time.Since(start).Seconds()})
	fmt.Println(string(out))
	if failed.Load() > 0 {
		os.Exit(1)
	}
}
