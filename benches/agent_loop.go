// The real agent's output loop for one port session, on this machine, as a yardstick for
// the emulator's pace (docs/PERFORMANCE.md, "Port forwarding"). Not part of the build.
//
// amazon-ssm-agent, agent/session/plugins/port: BasicPortSession.WritePump and
// MuxPortSession.transferDataToMgs both loop: Read at most StreamDataPayloadSize (1024)
// bytes, SendStreamDataMessage (a SHA-256 of the payload, a 120-byte header, one websocket
// write), then time.Sleep(time.Millisecond). Here the destination always has data, and the
// websocket is a loopback TCP connection drained as fast as it comes.
//
// Run: go run benches/agent_loop.go   (prints MiB/s of payload and ms per loop, 3 rounds)
package main

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"time"
)

func pair() (net.Conn, net.Conn) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer listener.Close()
	accepted := make(chan net.Conn)
	go func() {
		conn, err := listener.Accept()
		if err != nil {
			panic(err)
		}
		accepted <- conn
	}()
	dialed, err := net.Dial("tcp", listener.Addr().String())
	if err != nil {
		panic(err)
	}
	return dialed, <-accepted
}

func main() {
	destination, agentSide := pair()
	go func() { // the destination: always more to read
		chunk := make([]byte, 64<<10)
		for {
			if _, err := destination.Write(chunk); err != nil {
				return
			}
		}
	}()
	websocket, service := pair()
	go io.Copy(io.Discard, service)
	packet := make([]byte, 1024)
	message := make([]byte, 120+1024)
	for round := 0; round < 3; round++ {
		var bytes, loops int
		start := time.Now()
		for time.Since(start) < 4*time.Second {
			n, err := agentSide.Read(packet)
			if err != nil {
				panic(err)
			}
			digest := sha256.Sum256(packet[:n])
			copy(message[88:120], digest[:])
			copy(message[120:], packet[:n])
			if _, err := websocket.Write(message[:120+n]); err != nil {
				panic(err)
			}
			bytes += n
			loops++
			time.Sleep(time.Millisecond)
		}
		elapsed := time.Since(start).Seconds()
		fmt.Printf("round %d: %.3f MiB/s, %.3f ms per loop, %.0f bytes per read\n",
			round+1, float64(bytes)/(1<<20)/elapsed, elapsed*1000/float64(loops), float64(bytes)/float64(loops))
	}
}
