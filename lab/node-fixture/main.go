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
// With -expire-all it registers nothing and expires every node headscale lists that can expire
// (what `headscale nodes expire` does), for the bench's "all keys expired" case.
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

type fixture struct {
	client  v1.HeadscaleServiceClient
	timeout time.Duration
	users   int
	tag     string
}

func (f *fixture) call() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), f.timeout)
}

// register makes node i: a pending registration, approved for its user, then tagged when i is
// even. A registration that fails before it is approved is tried again with a new auth id; the
// caller counts the nodes afterwards, so a duplicate cannot go unseen.
func (f *fixture) register(i int) error {
	user, name := fmt.Sprintf("bench-u%02d", i%f.users), fmt.Sprintf("node-%05d", i)
	var lastErr error
	for attempt := 0; attempt < 4; attempt++ {
		id := authID()
		ctx, cancel := f.call()
		_, lastErr = f.client.DebugCreateNode(ctx, &v1.DebugCreateNodeRequest{User: user, Key: id, Name: name})
		cancel()
		if lastErr != nil {
			continue
		}
		ctx, cancel = f.call()
		reply, err := f.client.AuthRegister(ctx, &v1.AuthRegisterRequest{User: user, AuthId: id})
		cancel()
		if lastErr = err; err != nil {
			continue
		}
		if i%2 == 0 {
			ctx, cancel = f.call()
			_, lastErr = f.client.SetTags(ctx, &v1.SetTagsRequest{NodeId: reply.GetNode().GetId(), Tags: []string{f.tag}})
			cancel()
		}
		return lastErr
	}
	return lastErr
}

func (f *fixture) createUsers() error {
	for u := 0; u < f.users; u++ {
		ctx, cancel := f.call()
		_, err := f.client.CreateUser(ctx, &v1.CreateUserRequest{Name: fmt.Sprintf("bench-u%02d", u)})
		cancel()
		if err != nil && status.Code(err) != codes.AlreadyExists {
			return err
		}
	}
	return nil
}

// expirable lists the nodes that can expire: tagged nodes never do in headscale 0.29.
func (f *fixture) expirable() ([]*v1.Node, error) {
	ctx, cancel := f.call()
	defer cancel()
	listed, err := f.client.ListNodes(ctx, &v1.ListNodesRequest{})
	if err != nil {
		return nil, err
	}
	var owned []*v1.Node
	for _, node := range listed.GetNodes() {
		if len(node.GetTags()) == 0 {
			owned = append(owned, node)
		}
	}
	return owned, nil
}

// inParallel runs job(0..count-1), inFlight at a time; returns how many failed (each is logged).
func inParallel(count, inFlight int, label func(int) string, job func(int) error) int64 {
	start := time.Now()
	var done, failed atomic.Int64
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < inFlight; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := job(i); err != nil {
					failed.Add(1)
					fmt.Fprintf(os.Stderr, "%s: %v\n", label(i), err)
				}
				if d := done.Add(1); d%500 == 0 {
					fmt.Fprintf(os.Stderr, "node-fixture: %d of %d nodes, %.0f s\n", d, count, time.Since(start).Seconds())
				}
			}
		}()
	}
	for i := 0; i < count; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return failed.Load()
}

func main() {
	socket := flag.String("socket", "", "headscale's unix socket (unix_socket in its config)")
	nodes := flag.Int("nodes", 10, "nodes to register, named node-00000 and on")
	users := flag.Int("users", 50, "users to create (bench-u00 and on); node i belongs to user i mod users")
	tag := flag.String("tag", "tag:server", "the tag of every second node (even i)")
	inFlight := flag.Int("in-flight", 1000, "calls in flight: each waits for headscale's next NodeStore batch")
	timeout := flag.Duration("timeout", 10*time.Minute, "deadline of one call")
	expireAll := flag.Bool("expire-all", false, "register nothing: expire every node that can expire")
	flag.Parse()
	if *socket == "" || *nodes < 0 || *users < 1 || *inFlight < 1 {
		fmt.Fprintln(os.Stderr, "usage: node-fixture -socket PATH [-nodes N] [-users U] [-tag TAG] [-in-flight K] [-expire-all]")
		os.Exit(2)
	}
	conn, err := grpc.NewClient("unix://"+*socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "node-fixture:", err)
		os.Exit(1)
	}
	defer conn.Close()
	f := &fixture{client: v1.NewHeadscaleServiceClient(conn), timeout: *timeout, users: *users, tag: *tag}

	start := time.Now()
	var count int
	var failed int64
	if *expireAll {
		owned, err := f.expirable()
		if err != nil {
			fmt.Fprintln(os.Stderr, "node-fixture: list nodes:", err)
			os.Exit(1)
		}
		count = len(owned)
		failed = inParallel(count, *inFlight, func(i int) string { return owned[i].GetGivenName() }, func(i int) error {
			ctx, cancel := f.call()
			defer cancel()
			_, err := f.client.ExpireNode(ctx, &v1.ExpireNodeRequest{NodeId: owned[i].GetId()})
			return err
		})
	} else {
		if err := f.createUsers(); err != nil {
			fmt.Fprintln(os.Stderr, "node-fixture: create user:", err)
			os.Exit(1)
		}
		count = *nodes
		failed = inParallel(count, *inFlight, func(i int) string { return fmt.Sprintf("node-%05d", i) }, f.register)
	}

	out, _ := json.Marshal(map[string]any{"nodes": count, "failed": failed, "seconds": time.Since(start).Seconds()})
	fmt.Println(string(out))
	if failed > 0 {
		os.Exit(1)
	}
}
