package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/pkg/dnsname"
	"github.com/joyride-dns/joyride/pkg/dnsstore"
	"github.com/joyride-dns/joyride/pkg/reload"
	"github.com/joyride-dns/joyride/pkg/validation"
)

// LiveKeys are the keys a running node applies (Apply). The others (the addresses and ports, node_id, data_dir,
// discovery, the seeds, the timings, and turning encryption on or off) need a restart: they are memberlist's
// configuration, which it reads once.
var LiveKeys = []string{
	"cluster.policy", "cluster.priority", "cluster.key", "cluster.keyring_file", "cluster.allowed_domains",
	"cluster.share",
}

// ReloadTarget is the node as the configuration watcher sees it (pkg/reload).
func ReloadTarget(c *Cluster) reload.Target {
	return reload.Target{Module: moduleName, Keys: LiveKeys, Apply: c.Apply}
}

// errEncryptionToggle refuses a reload that would turn encryption on or off: memberlist decides at its creation
// whether it encrypts.
var errEncryptionToggle = errors.New("cluster.key, cluster.keyring_file: turning encryption on or off needs a restart")

// Apply makes the live keys of section, a Config, the node's:
//   - policy and priority: the store's policy at once; the priority in the metadata, which every peer re-files
//     this node's records with (reconcile);
//   - allowed_domains: every peer's records are filed again under the new domains;
//   - share: the sources of a kind no longer shared are withdrawn from the peers, those of a newly shared kind
//     sent;
//   - key, keyring_file: the new keys are held at once, the new primary is used once every live member holds
//     it, and a key no longer configured is kept while a live member sends with it (planKeys, docs/cluster.md).
//
// An invalid section, or one that turns encryption on or off, changes nothing. Apply does not wait for the
// network: peers learn of the change by gossip.
func (c *Cluster) Apply(_ context.Context, section any) error {
	cfg, ok := section.(Config)
	if !ok {
		return fmt.Errorf("cluster: a reload takes a cluster.Config, not %T", section)
	}
	if err := validation.Section(moduleName, cfg); err != nil {
		return err
	}
	domains, err := dnsname.ParseDomains("cluster.allowed_domains", cfg.AllowedDomains)
	if err != nil {
		return err
	}
	policy, err := dnsstore.ParsePolicy(cfg.Policy)
	if err != nil {
		return fmt.Errorf("cluster.policy: %w", err)
	}
	keys, err := cfg.keys()
	if err != nil {
		return err
	}
	var keyring []byte
	if cfg.KeyringFile != "" {
		// What checkKeyring compares the file with; a change since keys() read it is applied at its next read.
		keyring, _ = os.ReadFile(cfg.KeyringFile)
	}
	running := c.running.Load() != nil

	c.mu.Lock()
	if (len(keys) > 0) != (len(c.keys) > 0) {
		c.mu.Unlock()
		return errEncryptionToggle
	}
	filing := policy != c.policy || cfg.Priority != c.priority
	c.policy, c.priority = policy, cfg.Priority
	if running && c.self.priority != cfg.Priority {
		c.self.priority, c.metaDirty = cfg.Priority, true
	}
	if !slices.Equal(domains, c.domains) {
		c.domains = domains
		for owner, sources := range c.published {
			for s := range sources {
				sources[s] = filed{}
			}
			c.dirty[owner] = struct{}{}
		}
	}
	if share := sharePrefixes(cfg.Share); !slices.Equal(share, c.share) {
		c.share = share
		if running {
			// Every source shared so far, and every source of a kind shared now, is read again (readLocal).
			for s := range c.self.sources {
				c.local[s] = struct{}{}
			}
			for _, s := range c.store.Snapshot().Sources() {
				if c.sharedLocked(s) {
					c.local[s] = struct{}{}
				}
			}
		}
	}
	if cfg.KeyringFile != c.keyringFile || !slices.EqualFunc(keys, c.keys, slices.Equal) {
		c.keys, c.keyringFile = keys, cfg.KeyringFile
		c.keyring, c.keyringCheck = string(keyring), time.Now()
	}
	id := c.id
	c.mu.Unlock()

	c.log.Debug("configuration applied", zap.Stringer("policy", policy), zap.Int("priority", cfg.Priority),
		zap.Strings("allowed_domains", cfg.AllowedDomains), zap.Strings("share", cfg.Share),
		zap.Int("keys", len(keys)))
	if !running {
		return nil // Start takes them
	}
	if filing {
		c.store.SetPolicy(policy, dnsstore.Origin{Node: id, Priority: cfg.Priority})
	}
	c.syncKeys()
	c.poke()
	return nil
}
