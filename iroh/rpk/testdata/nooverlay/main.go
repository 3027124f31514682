// Command nooverlay is built by TestWithoutOverlay with the stock crypto/tls:
// every constructor must refuse with ErrNoOverlay. Exit status 0 means they did.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/irohconf/irohconf/iroh/key"
	"github.com/irohconf/irohconf/iroh/rpk"
)

func main() {
	sk, err := key.SecretKeyFromSeed(make([]byte, 32))
	if err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	_, serverErr := rpk.ServerConfig(rpk.NewIdentity(sk), []string{"a"})
	_, clientErr := rpk.ClientConfig(rpk.NewIdentity(sk), sk.Public(), []string{"a"}, rpk.ClientOptions{})
	for _, err := range []error{rpk.Available(), serverErr, clientErr} {
		if !errors.Is(err, rpk.ErrNoOverlay) {
			fmt.Printf("got %v, want ErrNoOverlay\n", err)
			os.Exit(1)
		}
	}
	fmt.Println(rpk.Available())
}
