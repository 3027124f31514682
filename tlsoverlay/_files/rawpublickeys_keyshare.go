// Added to crypto/tls by the irohconf build overlay (tlsoverlay): X25519 key
// shares generated ahead of the handshake for RawPublicKeys servers.

package tls

import (
	"crypto/ecdh"
	"crypto/rand"
	"sync/atomic"
	"time"
)

// A TLS 1.3 server answers a ClientHello with a fresh X25519 key share.
// Generating it is a scalar multiplication (about 50 µs here) between the
// ClientHello and the server's first flight, where it adds to every
// handshake's latency. A RawPublicKeys server that uses the default
// randomness (Config.Rand nil) takes a key generated ahead of time instead,
// and a goroutine makes the next one meanwhile.
//
// Security: a pooled key is exactly what GenerateKey would return during the
// handshake (32 bytes from crypto/rand). Each key is handed to one handshake
// only (a channel receive), is used for one ECDH and is then dropped, like a
// key generated in place; Go does not zero either. What changes is that a key
// exists before its handshake, for at most serverKeyShareMaxAge: a reader of
// the process's memory in that window learns that handshake's secrets, but
// such a reader also holds the endpoint's long-term key and the secrets of the
// connections alive at that moment. Forward secrecy is unchanged: once used,
// the key is gone. Keys older than serverKeyShareMaxAge are discarded unused.
// Configs with their own Rand (tests, deterministic transcripts) never use the
// pool.

// serverKeySharePoolSize is how many keys wait at most: enough for handshakes
// one after another and a short burst; a handshake that finds the pool empty
// generates its key in place, as crypto/tls does.
const serverKeySharePoolSize = 4

// serverKeyShareMaxAge bounds how long a pooled key may wait for a handshake.
const serverKeyShareMaxAge = 30 * time.Second

type pooledKeyShare struct {
	key  *ecdh.PrivateKey
	made time.Time
}

type keySharePool struct {
	keys      chan pooledKeyShare
	refilling atomic.Bool // a fill goroutine runs
	generate  func() (*ecdh.PrivateKey, error)
}

var x25519ServerKeyShares = &keySharePool{
	keys:     make(chan pooledKeyShare, serverKeySharePoolSize),
	generate: func() (*ecdh.PrivateKey, error) { return ecdh.X25519().GenerateKey(rand.Reader) },
}

// take returns a fresh pooled key, or nil when none is ready; either way it
// has the pool filled up again. The refill runs while this handshake goes on:
// on a server with an idle core it costs the handshake nothing.
func (p *keySharePool) take() *ecdh.PrivateKey {
	defer p.askRefill()
	for {
		select {
		case k := <-p.keys:
			if time.Since(k.made) > serverKeyShareMaxAge {
				continue // too old: dropped unused
			}
			return k.key
		default:
			return nil
		}
	}
}

// askRefill starts a fill goroutine unless one runs. The goroutine ends once
// the pool is full, so that an idle process keeps none.
func (p *keySharePool) askRefill() {
	if len(p.keys) < cap(p.keys) && p.refilling.CompareAndSwap(false, true) {
		go p.fill()
	}
}

func (p *keySharePool) fill() {
	for {
		for len(p.keys) < cap(p.keys) {
			key, err := p.generate()
			if err != nil {
				// Handshakes generate their own keys and fail there if they must.
				p.refilling.Store(false)
				return
			}
			select {
			case p.keys <- pooledKeyShare{key: key, made: time.Now()}:
			default: // full
			}
		}
		p.refilling.Store(false)
		// A take between the last check and the Store found a fill running.
		if len(p.keys) == cap(p.keys) || !p.refilling.CompareAndSwap(false, true) {
			return
		}
	}
}

// serverSharedSecret is ke.serverSharedSecret, with a pooled X25519 key on a
// RawPublicKeys server that uses the default randomness.
func (c *Conn) serverSharedSecret(ke keyExchange, clientKeyShare []byte) ([]byte, keyShare, error) {
	if c.config.RawPublicKeys && c.config.Rand == nil {
		if e, ok := ke.(*ecdhKeyExchange); ok && e.id == X25519 {
			if key := x25519ServerKeyShares.take(); key != nil {
				return e.sharedSecretWith(key, clientKeyShare)
			}
		}
	}
	return ke.serverSharedSecret(c.config.rand(), clientKeyShare)
}

// sharedSecretWith is the rest of ecdhKeyExchange.serverSharedSecret, once
// the server's key exists.
func (ke *ecdhKeyExchange) sharedSecretWith(key *ecdh.PrivateKey, clientKeyShare []byte) ([]byte, keyShare, error) {
	peerKey, err := ke.curve.NewPublicKey(clientKeyShare)
	if err != nil {
		return nil, keyShare{}, err
	}
	sharedKey, err := key.ECDH(peerKey)
	if err != nil {
		return nil, keyShare{}, err
	}
	return sharedKey, keyShare{ke.id, key.PublicKey().Bytes()}, nil
}
