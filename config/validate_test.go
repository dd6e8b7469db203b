package config

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/joyride-dns/joyride/modules/dnsserver"
	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/validation"
)

// The configuration's zone rule and the DNS server's are one function (dnsname.Zone): a zone `config validate`
// accepts is one the server starts with, and one it refuses the server refuses too.
func TestZoneRuleAgreesWithTheServer(t *testing.T) {
	for _, zone := range []string{"lab.test", "Home.Arpa.", "1.168.192.in-addr.arpa", "*.lab.test", "10.0.0.1",
		"bad zone", "a..b", "-x.test", ""} {
		t.Run(zone, func(t *testing.T) {
			cfg := dnsserver.DefaultConfig()
			cfg.Zones = []string{zone}
			_, serverErr := dnsserver.NewServer(cfg, dnsstore.New(), nil, nil)
			configErr := validation.Section("dns", cfg)
			assert.Equal(t, serverErr == nil, configErr == nil, "server: %v; config: %v", serverErr, configErr)
		})
	}
}
