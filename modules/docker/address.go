package docker

import (
	"os"
	"path/filepath"
	"strconv"
)

// podmanSockets are tried, in order, when neither Config.Host, DOCKER_HOST nor Config.Socket names an engine
// that exists: Podman's rootful socket, then the rootless one of the current user.
func podmanSockets(getenv func(string) string) []string {
	socks := []string{"/run/podman/podman.sock"}
	if d := getenv("XDG_RUNTIME_DIR"); d != "" {
		socks = append(socks, filepath.Join(d, "podman", "podman.sock"))
	}
	return append(socks, filepath.Join("/run/user", strconv.Itoa(os.Getuid()), "podman", "podman.sock"))
}

// endpoint picks the engine address: Config.Host, then DOCKER_HOST, then Config.Socket if it exists, then the
// first Podman socket that exists, and Config.Socket when none does (the loop retries until it appears).
func endpoint(cfg Config, getenv func(string) string, exists func(string) bool) string {
	if cfg.Host != "" {
		return cfg.Host
	}
	if h := getenv("DOCKER_HOST"); h != "" {
		return h
	}
	if exists(cfg.Socket) {
		return "unix://" + cfg.Socket
	}
	for _, s := range podmanSockets(getenv) {
		if exists(s) {
			return "unix://" + s
		}
	}
	return "unix://" + cfg.Socket
}

// Endpoint is the engine address the producer uses: Config.Host, then DOCKER_HOST (from getenv), then Config.Socket if
// it exists, then the first Podman socket that exists, and Config.Socket when none does. `joyride check` asks the
// same engine.
func Endpoint(cfg Config, getenv func(string) string) string {
	return endpoint(cfg, getenv, socketExists)
}

func socketExists(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().Type() == os.ModeSocket
}
