// Package config builds Joyride's one configuration value from layered sources, validates it in one pass, and
// remembers where every key came from.
//
// # Layers
//
// Load merges, lowest precedence first:
//
//  1. defaults: every module's DefaultConfig and the joyride-python defaults (Default);
//  2. a profile: an embedded YAML file from profiles/ that mainly decides which modules run;
//  3. a configuration file: YAML (.yaml, .yml) or JSON (.json);
//  4. the environment;
//  5. --set key=value flags, in order.
//
// Keys are koanf keys, "section.key" in snake_case (dns.port, hosts.directories, modules.docker). Lists are
// replaced, never appended to, by a higher layer. The static records are the top-level list `records:`.
//
// The profile is --profile, else JOYRIDE_PROFILE, else "standalone"; the file is --config, else JOYRIDE_CONFIG,
// else none. Profiles: standalone (dns, docker, hosts, records, logging, system), cluster (standalone plus the
// cluster module), hosts-only (standalone without docker) and dev (standalone with debug console logs, DNS on
// 127.0.0.1 and hosts files from ./hosts). The http section is accepted now so that joyride-python's variables
// are; its module comes later.
//
// # Environment
//
// JOYRIDE_<SECTION>_<KEY> sets section.key: the first "_" after the section ends it, so JOYRIDE_DNS_NEGATIVE_TTL
// is dns.negative_ttl and JOYRIDE_MODULES_DOCKER is modules.docker. A list is one comma-separated value
// (JOYRIDE_DNS_ZONES=lab.test,home.arpa; empty means an empty list). joyride-python's variables keep their
// meaning: HOSTIP, HOSTS_DIRECTORY (one directory, never split), DNS_PORT, DNS_BIND_ADDRESS, FLASK_HOST,
// FLASK_PORT, ENABLE_DNS_SYNC, NODE_ID, SWIM_PORT (cluster.port), DISCOVERY_PORT, SERVICE_NAME, ENVIRONMENT,
// SEMANTIC_VERSION, and FLASK_DEBUG=true, which sets log.level to debug; HOSTIP6 (docker.host_ip6) joins them.
// NODE_ID's default is no longer joyride-python's "joyride-<pid>", which changed at every restart: empty lets the
// cluster module choose a stable name (the one kept in cluster.data_dir, else the host name). A JOYRIDE_ variable
// for the same key wins over its alias. A test scans README.md and docs/*.md and fails for a variable they use
// that is not read.
//
// A JOYRIDE_ variable that names no key is a warning, not an error, because containers inherit variables they do
// not own; the ones Kubernetes injects for a Service called joyride (JOYRIDE_SERVICE_HOST, JOYRIDE_PORT_53_UDP,
// …) are skipped silently. The section keys are chosen so that none of those collide with a real key. An unknown
// key in a file, a profile or a --set flag, and an unknown module name, are errors.
//
// The environment is passed in (Options.Env) rather than read, so tests need no process state.
//
// # Decoding and validation
//
// The merged layers are decoded with koanf's UnmarshalWithConf (mapstructure, unknown keys rejected) and a decode
// hook that reads values the way a user writes them and refuses what weak typing would bend (70000 into a
// uint16, 1 as true, a bare 5 as a duration). The schema (the koanf tags as a tree) does only what koanf cannot:
// resolve an environment variable or flag to its key, say which keys a section has, give every key its source and
// line, and print. The value is then validated in one pass with pkg/validation, the validator modules and events
// use too: each module's `validate` tags, plus what no tag can say (static records must be records the store
// accepts; the cluster's two UDP ports must differ, and its key is the base64 of an AES key, never set with a
// keyring file). Every problem is reported, each on its own line naming the
// key, the value, the rule and the source:
//
//	config: dns.port = 70000 (env JOYRIDE_DNS_PORT): must be at most 65535
//	config: dns.prot = 53 (file joyride.yaml:3): unknown key; dns has bind_address, …
//
// # Runtime configuration
//
// Result.Config is the runtime configuration: the user's, validated, with the settings that follow from others
// filled in by derive (docker's, traefikfile's and the cluster's allowed domains from dns.zones, traefikfile's
// host address from docker's). Their source is
// "derived from dns.zones". cmd/joyride hands each module its section as it is.
//
// # Adding a key
//
// Add a field with a `koanf` tag (and a `validate` tag when it has a rule) to the module's Config and its value
// to DefaultConfig. Nothing in this package changes: the key is decoded, validated, settable from files,
// JOYRIDE_<SECTION>_<KEY> and --set, and printed with its source. A new section is a field of Config; a setting
// computed from others belongs in derive, with a case in its table test.
//
// # Provenance and secrets
//
// Result.Sources maps every key to the layer that set it (default, profile NAME, file PATH:LINE, env NAME, flag
// --set); Result.Write prints the effective configuration with it. A key is secret when a whole "_"-separated
// word of its last segment is secret, password, passwd, token or key (api_key, client_secret): its value is
// shown as ****** in output and errors (validation.Secret decides, so a module's own validation errors mask the
// same keys). Plurals are deliberately not secret words: "keys" or "label_keys" name lists of names. An empty
// secret is shown as empty, so that an unset one is visible.
package config
