package cluster

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Files kept in Config.DataDir.
const (
	nodeIDFile = "node-id"
	epochFile  = "epoch"
)

// nodeID returns the configured node ID, or the stable default: the ID kept in dataDir (created on first use
// from the host's name and a random suffix, so that two hosts with the same name still differ), else the host's
// name. Neither changes from one process to the next, unlike joyride-python's "joyride-<pid>" — every container
// is PID 1, so every node would have been "joyride-1".
func nodeID(configured, dataDir string) (string, error) {
	if configured != "" {
		return configured, checkNodeID(configured)
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		return "", fmt.Errorf("cluster.node_id is empty and the host name is unknown (%v): set cluster.node_id (NODE_ID)", err)
	}
	host = strings.ReplaceAll(host, "/", "-")
	if dataDir == "" {
		return host, checkNodeID(host)
	}
	path := filepath.Join(dataDir, nodeIDFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		id := strings.TrimSpace(string(b))
		if err := checkNodeID(id); err != nil {
			return "", fmt.Errorf("%s: %w", path, err)
		}
		return id, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("cluster.data_dir: %w", err)
	}
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix) // crypto/rand.Read never fails (Go 1.24)
	id := fmt.Sprintf("%.*s-%s", maxNodeID-7, host, hex.EncodeToString(suffix))
	if err := writeFile(path, id); err != nil {
		return "", err
	}
	return id, checkNodeID(id)
}

// bootEpoch returns this boot's epoch, which orders the node's states across restarts: the clock in nanoseconds,
// or one more than the last epoch kept in dataDir if the clock is behind it (a host whose clock was set back).
// It is kept there before it is used, so no later boot can reuse it.
func bootEpoch(dataDir string, now time.Time) (uint64, error) {
	epoch := uint64(now.UnixNano())
	if dataDir == "" {
		return epoch, nil
	}
	path := filepath.Join(dataDir, epochFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		last, perr := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if perr != nil {
			return 0, fmt.Errorf("%s: not an epoch: %w", path, perr)
		}
		epoch = max(epoch, last+1)
	case !errors.Is(err, fs.ErrNotExist):
		return 0, fmt.Errorf("cluster.data_dir: %w", err)
	}
	return epoch, writeFile(path, strconv.FormatUint(epoch, 10))
}

// writeFile replaces path atomically, so that a crash never leaves a half-written ID or epoch.
func writeFile(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("cluster.data_dir: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content+"\n"), 0o644); err != nil {
		return fmt.Errorf("cluster.data_dir: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("cluster.data_dir: %w", err)
	}
	return nil
}
