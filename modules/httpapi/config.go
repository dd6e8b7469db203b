package httpapi

import "time"

// Config is the HTTP listener (koanf section "http"; joyride-python's FLASK_HOST and FLASK_PORT).
type Config struct {
	Host string `koanf:"host" validate:"required,ip|hostname"`
	// Port 0 picks a free port (tests read it back).
	Port int `koanf:"port" validate:"min=0,max=65535"`
	// Token, when set, is the bearer token every write endpoint (POST /dns/sync) requires; without one, write
	// endpoints answer loopback clients only.
	Token string `koanf:"token"`
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout bound a slow or idle client. The write
	// timeout does not apply to the dashboard's event stream, which is long-lived by design.
	ReadHeaderTimeout time.Duration `koanf:"read_header_timeout" validate:"min=100ms"`
	ReadTimeout       time.Duration `koanf:"read_timeout" validate:"min=100ms"`
	WriteTimeout      time.Duration `koanf:"write_timeout" validate:"min=100ms"`
	IdleTimeout       time.Duration `koanf:"idle_timeout" validate:"min=100ms"`
	// MaxBodyBytes bounds a request body; a larger one is answered 413.
	MaxBodyBytes int64 `koanf:"max_body_bytes" validate:"min=1"`
}

// DefaultConfig listens where joyride-python did, 0.0.0.0:5000, with timeouts that keep a slow client from
// holding a connection for long.
func DefaultConfig() Config {
	return Config{
		Host: "0.0.0.0", Port: 5000,
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second,
		MaxBodyBytes: 64 << 10,
	}
}
