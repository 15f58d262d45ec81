// Peer: Go golang.org/x/oauth2, sequential signed GETs over one kept-alive
// connection. Usage: oauth2_seq URL TOKEN N
// Prints requests=<n> seconds=<wall> cpu=<user+sys seconds>.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/oauth2"
)

func cpu() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

func main() {
	url, token := os.Args[1], os.Args[2]
	n, _ := strconv.Atoi(os.Args[3])
	src := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token, TokenType: "Bearer"})
	client := oauth2.NewClient(context.Background(), src)
	c0, t0 := cpu(), time.Now()
	for i := 0; i < n; i++ {
		resp, err := client.Get(url)
		if err != nil || resp.StatusCode != 200 {
			fmt.Fprintln(os.Stderr, "request failed", err)
			os.Exit(1)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	fmt.Printf("requests=%d seconds=%.6f cpu=%.6f\n", n, time.Since(t0).Seconds(), cpu()-c0)
}
