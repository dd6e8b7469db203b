package main

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// owner is the process that holds a socket.
type owner struct {
	pid  int
	name string // /proc/<pid>/comm
}

func (o owner) String() string { return fmt.Sprintf("%s (pid %d)", o.name, o.pid) }

// portOwner finds the process holding network ("udp" or "tcp") port at addr, as the kernel lists it: the sockets
// of /proc/net/<network>{,6} that bind the port at addr or at a wildcard (either side's), a TCP one listening,
// then the process with one of their inodes among its file descriptors. It reads what it may: another user's
// descriptors are closed to all but root, and then the owner is unknown (ok false).
func portOwner(proc, network string, addr netip.AddrPort) (owner, bool) {
	inodes := map[string]bool{}
	for _, file := range []string{network, network + "6"} {
		for _, inode := range socketInodes(filepath.Join(proc, "net", file), network == "tcp", addr) {
			inodes[inode] = true
		}
	}
	if len(inodes) == 0 {
		return owner{}, false
	}
	pids, _ := filepath.Glob(filepath.Join(proc, "[0-9]*"))
	for _, dir := range pids {
		fds, _ := os.ReadDir(filepath.Join(dir, "fd"))
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(dir, "fd", fd.Name()))
			inode, ok := strings.CutPrefix(link, "socket:[")
			if err != nil || !ok || !inodes[strings.TrimSuffix(inode, "]")] {
				continue
			}
			pid, _ := strconv.Atoi(filepath.Base(dir))
			comm, _ := os.ReadFile(filepath.Join(dir, "comm"))
			return owner{pid: pid, name: strings.TrimSpace(string(comm))}, true
		}
	}
	return owner{}, false
}

// tcpListen is the state of a listening socket in /proc/net/tcp.
const tcpListen = "0A"

// socketInodes returns the inodes of the sockets in a /proc/net table that bind addr's port where addr is.
func socketInodes(table string, listening bool, addr netip.AddrPort) []string {
	f, err := os.Open(table)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || (listening && fields[3] != tcpListen) {
			continue
		}
		local, ok := parseProcAddr(fields[1])
		if !ok || local.Port() != addr.Port() {
			continue
		}
		a, l := addr.Addr().Unmap(), local.Addr().Unmap()
		if a == l || a.IsUnspecified() || l.IsUnspecified() {
			out = append(out, fields[9])
		}
	}
	return out
}

// parseProcAddr parses a /proc/net address, "0100007F:14E9": the address in hex as the kernel stores it (each
// 32-bit word in host order, little-endian here) and the port in hex.
func parseProcAddr(s string) (netip.AddrPort, bool) {
	hexAddr, hexPort, ok := strings.Cut(s, ":")
	raw, err := hex.DecodeString(hexAddr)
	port, perr := strconv.ParseUint(hexPort, 16, 16)
	if !ok || err != nil || perr != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, false
	}
	for i := 0; i < len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	a, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(a, uint16(port)), true
}
