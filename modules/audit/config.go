package audit

// Config is the audit log's configuration (koanf section "audit").
type Config struct {
	// Path is the audit log file; empty switches the audit log off. Its directory is created when the path is
	// first opened (see doc.go for why a directory that disappears later is waited for instead).
	Path string `koanf:"path"`
	// MaxSize is the size in bytes past which the file is rotated: Path becomes Path.1 (Path.1 becomes Path.2, and
	// so on) and a new Path is started. A line is never split across two files.
	MaxSize int64 `koanf:"max_size" validate:"min=1024"`
	// MaxFiles is how many files the log keeps, the current one included: its disk use is at most MaxSize ×
	// MaxFiles. 1 keeps no rotated file.
	MaxFiles int `koanf:"max_files" validate:"min=1,max=1000"`
	// QueueSize bounds the lines waiting for the writer: what a slow or failing disk may hold in memory. Lines
	// past it are dropped and counted, never waited for.
	QueueSize int `koanf:"queue_size" validate:"min=1"`
	// Node names this node in the lines about its own sources and configuration. Empty: Joyride's configuration
	// derives it from cluster.node_id when that is set; else the host's name.
	Node string `koanf:"node" validate:"omitempty,max=128,printascii"`
}

// DefaultConfig is off (no path); once a path is set, files of 100 MiB, ten of them, and room for two
// replacements of a 100,000-line hosts file in the queue.
func DefaultConfig() Config {
	return Config{MaxSize: 100 << 20, MaxFiles: 10, QueueSize: 250_000}
}
