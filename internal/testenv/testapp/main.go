// Command testapp is the program in Gantry's integration-test image
// (testenv.AppImage, entrypoint /app). Its arguments choose what it does:
//
//	app serve [-port 8080]            serve HTTP (the default mode): "/" answers
//	                                  JSON {hostname, pid, env}; "/health" answers
//	                                  200, or 503 when HEALTHY=false or
//	                                  /tmp/unhealthy exists
//	app exit [-code 0] [-after 0s]    exit with code, after a while
//	app sleep                         run until stopped
//	app check -url URL                exit 0 if GET URL answers 200, else 1 (a
//	                                  health check command)
//	app fetch -url URL                print the body of GET URL; exit 0 if it
//	                                  answered 200, else 1
//	app write -file PATH -text TEXT   write TEXT to PATH, then run until stopped
//
// Every mode takes -ignore-sigterm: SIGTERM is then ignored, so only
// SIGKILL stops the program. Otherwise SIGTERM or SIGINT ends it at once
// with exit code 0, as a well-behaved server does.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	mode, args := "serve", os.Args[1:]
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		mode, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	ignoreTerm := fs.Bool("ignore-sigterm", false, "ignore SIGTERM: only SIGKILL stops the program")
	port := fs.Int("port", 8080, "serve: the port to listen on")
	code := fs.Int("code", 0, "exit: the exit code")
	after := fs.Duration("after", 0, "exit: how long to run first")
	url := fs.String("url", "", "check, fetch: the URL to GET")
	file := fs.String("file", "", "write: the file to write")
	text := fs.String("text", "", "write: what to write")
	_ = fs.Parse(args) // exits with code 2 on bad flags

	handleSignals(*ignoreTerm)
	switch mode {
	case "serve":
		serve(*port)
	case "exit":
		time.Sleep(*after)
		fmt.Printf("exiting with code %d\n", *code)
		os.Exit(*code)
	case "sleep":
		sleepForever()
	case "check":
		if _, err := get(*url); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	case "fetch":
		body, err := get(*url)
		os.Stdout.Write(body)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	case "write":
		if err := os.WriteFile(*file, []byte(*text), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		sleepForever()
	default:
		fmt.Fprintf(os.Stderr, "unknown mode %q: want serve, exit, sleep, check, fetch or write\n", mode)
		os.Exit(2)
	}
}

// handleSignals makes SIGTERM and SIGINT end the program with code 0, or
// ignores SIGTERM. Without a handler, a container's PID 1 would ignore them.
func handleSignals(ignoreTerm bool) {
	if ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
		return
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		sig := <-ch
		fmt.Printf("exiting on %v\n", sig)
		os.Exit(0)
	}()
}

func serve(port int) {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		hostname, _ := os.Hostname()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"hostname": hostname, "pid": os.Getpid(), "env": environment()})
	})
	http.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		if _, err := os.Stat("/tmp/unhealthy"); err == nil || os.Getenv("HEALTHY") == "false" {
			http.Error(w, "unhealthy", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	addr := fmt.Sprintf(":%d", port)
	fmt.Printf("serving on %s\n", addr)
	fmt.Fprintln(os.Stderr, http.ListenAndServe(addr, nil))
	os.Exit(1)
}

// environment is the environment without the variables every container has.
func environment() map[string]string {
	env := make(map[string]string)
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "PATH", "HOME", "HOSTNAME":
		default:
			env[k] = v
		}
	}
	return env
}

// get fetches url, failing unless it answers 200 OK.
func get(url string) ([]byte, error) {
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return body, err
}

// sleepForever blocks without tripping the runtime's deadlock detector,
// which a bare select{} does when no other goroutine exists.
func sleepForever() {
	for {
		time.Sleep(time.Hour)
	}
}
