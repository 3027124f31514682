package bench

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"github.com/irohconf/irohconf/iroh/udpgro"
)

// DatagramSize is the UDP payload the limits use: the largest QUIC packet quic-go and iroh's
// QUIC stack send over IPv4 once path MTU discovery has run on loopback (1500-byte Ethernet MTU
// minus IPv4 and UDP headers, as both cap it).
const DatagramSize = 1452

// Limit is one of the machine's limits, sampled in the rounds of the throughput measures beside
// the pairs: payload MB/s.
type Limit struct {
	Name    string  `json:"name"`
	Title   string  `json:"title"`
	MBps    float64 `json:"mb_per_s"` // the median of the samples
	Bytes   int     `json:"datagram_bytes"`
	Seconds float64 `json:"seconds"` // measured in all
	Error   string  `json:"error,omitempty"`
	// Samples in the order taken; Rounds, per throughput measure, the sample of each of its rounds.
	Samples []float64            `json:"samples,omitempty"`
	Rounds  map[string][]float64 `json:"rounds,omitempty"`
}

// Names of the limits.
const (
	LimitAESGo       = "aes128gcm_go"
	LimitAESFirmware = "aes128gcm_firmware"
	LimitUDP         = "udp_loopback"
	LimitUDPGSO      = "udp_loopback_gso"
)

// limitUnit is how one limit is sampled: for d, payload MB/s and the seconds it ran.
type limitUnit struct {
	name, title string
	take        func(ctx context.Context, d time.Duration) (mbps, seconds float64, err error)
}

// limitUnits are the limits of a run.
func limitUnits(aeadExample string) []limitUnit {
	return []limitUnit{
		{LimitAESGo, "AES-128-GCM seal+open, one core, Go crypto/aes + cipher.NewGCM",
			func(_ context.Context, d time.Duration) (float64, float64, error) {
				mbps, secs := goAESGCM(DatagramSize, d)
				return mbps, secs, nil
			}},
		{LimitAESFirmware, "AES-128-GCM seal+open, one core, the firmware's crypto provider (RustCrypto aes-gcm)",
			func(ctx context.Context, d time.Duration) (float64, float64, error) {
				return firmwareAESGCM(ctx, aeadExample, DatagramSize, d)
			}},
		{LimitUDP, fmt.Sprintf("UDP loopback, %d-byte datagrams, one sender and one receiver (sendmmsg/recvmmsg)", DatagramSize),
			func(_ context.Context, d time.Duration) (float64, float64, error) {
				return udpLoopback(DatagramSize, d)
			}},
		{LimitUDPGSO, fmt.Sprintf("UDP loopback, %d-byte datagrams, with segmentation offload (GSO and GRO, as QUIC stacks use where Linux has them)", DatagramSize),
			func(_ context.Context, d time.Duration) (float64, float64, error) {
				return udpLoopbackGSO(DatagramSize, d)
			}},
	}
}

// goAESGCM seals and opens size-byte payloads (with a 22-byte header as associated data, as a
// QUIC short header) on one goroutine for d; payload MB/s that went through both.
func goAESGCM(size int, d time.Duration) (mbps, seconds float64) {
	block, err := aes.NewCipher(make([]byte, 16))
	if err != nil {
		panic(err) // a 16-byte key is always valid
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	nonce := make([]byte, gcm.NonceSize())
	header := make([]byte, 22)
	plain := make([]byte, size)
	sealed := make([]byte, 0, size+gcm.Overhead())
	opened := make([]byte, 0, size)
	var packets int64
	start := time.Now()
	for time.Since(start) < d {
		for range 100 {
			nonce[len(nonce)-1]++
			sealed = gcm.Seal(sealed[:0], nonce, plain, header)
			opened, err = gcm.Open(opened[:0], nonce, sealed, header)
			if err != nil {
				panic(err)
			}
		}
		packets += 100
	}
	elapsed := time.Since(start).Seconds()
	return float64(packets) * float64(size) / elapsed / 1e6, elapsed
}

// firmwareAESGCM runs the firmware crypto crate's example (firmware/crypto/examples).
func firmwareAESGCM(ctx context.Context, binary string, size int, d time.Duration) (mbps, seconds float64, err error) {
	if binary == "" {
		return 0, 0, fmt.Errorf("no firmware AEAD example given (make bench-matrix builds it)")
	}
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, fmt.Sprint(size), fmt.Sprint(d.Seconds())).Output()
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", binary, err)
	}
	var r struct {
		MBps    float64 `json:"mb_per_s"`
		Seconds float64 `json:"seconds"`
	}
	if err := json.Unmarshal(out, &r); err != nil || r.MBps <= 0 {
		return 0, 0, fmt.Errorf("%s printed %q", binary, out)
	}
	return r.MBps, r.Seconds, nil
}

// udpLoopback sends size-byte datagrams from one socket to another on 127.0.0.1 for d, in
// batches of 64 (sendmmsg, recvmmsg, as QUIC stacks do), and counts what arrives.
func udpLoopback(size int, d time.Duration) (mbps, seconds float64, err error) {
	rc, sc, err := loopbackPair()
	if err != nil {
		return 0, 0, err
	}
	defer rc.Close()
	defer sc.Close()
	const batch = 64
	newBatch := func() []ipv4.Message {
		ms := make([]ipv4.Message, batch)
		for i := range ms {
			ms[i].Buffers = [][]byte{make([]byte, size)}
		}
		return ms
	}
	in, inBatch := ipv4.NewPacketConn(rc), newBatch()
	out, outBatch := ipv4.NewPacketConn(sc), newBatch()
	return pump(rc, d, func() error {
		_, err := out.WriteBatch(outBatch, 0)
		return err
	}, func() (int, error) {
		n, err := in.ReadBatch(inBatch, 0)
		got := 0
		for _, m := range inBatch[:max(n, 0)] { // n is -1 with an error
			got += m.N
		}
		return got, err
	})
}

// udpLoopbackGSO is udpLoopback with GSO on the sender (64 KB sends, cut into size-byte
// datagrams by the kernel) and GRO on the receiver: the fewest system calls per datagram.
func udpLoopbackGSO(size int, d time.Duration) (mbps, seconds float64, err error) {
	rc, sc, err := loopbackPair()
	if err != nil {
		return 0, 0, err
	}
	defer rc.Close()
	defer sc.Close()
	if err := udpgro.Enable(rc); err != nil {
		return 0, 0, fmt.Errorf("UDP_GRO: %w", err)
	}
	if err := setSegment(sc, size); err != nil {
		return 0, 0, fmt.Errorf("UDP_SEGMENT: %w", err)
	}
	send, buf := make([]byte, (65507/size)*size), make([]byte, 1<<16)
	return pump(rc, d, func() error {
		_, err := sc.Write(send)
		return err
	}, func() (int, error) { return rc.Read(buf) })
}

// loopbackPair is a receiving socket on 127.0.0.1 and a sending one connected to it, with the
// buffers QUIC stacks ask for.
func loopbackPair() (rc, sc *net.UDPConn, err error) {
	rc, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, nil, err
	}
	sc, err = net.DialUDP("udp4", nil, rc.LocalAddr().(*net.UDPAddr))
	if err != nil {
		rc.Close()
		return nil, nil, err
	}
	_ = rc.SetReadBuffer(8 << 20)
	_ = sc.SetWriteBuffer(8 << 20)
	return rc, sc, nil
}

// pump calls send for d while a goroutine calls receive, and returns what arrived while sending
// (the queue's tail is not counted) in MB/s. Closing rc ends the receiver.
func pump(rc *net.UDPConn, d time.Duration, send func() error, receive func() (int, error)) (mbps, seconds float64, err error) {
	var received atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			n, err := receive()
			received.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	start := time.Now()
	var writeErr error
	for time.Since(start) < d {
		if writeErr = send(); writeErr != nil {
			break
		}
	}
	elapsed := time.Since(start).Seconds()
	got := received.Load()
	rc.Close()
	<-done
	if writeErr != nil {
		return 0, 0, writeErr
	}
	return float64(got) / elapsed / 1e6, elapsed, nil
}

// setSegment makes every send on c a GSO send of size-byte datagrams (UDP_SEGMENT).
func setSegment(c *net.UDPConn, size int) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_SEGMENT, size) }); err != nil {
		return err
	}
	return serr
}
