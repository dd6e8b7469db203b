package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/joyride-dns/joyride/config"
)

// cli is what main hands the commands, so that tests run them in-process with their own environment, output and
// signals.
type cli struct {
	env     []string
	stdout  io.Writer
	stderr  io.Writer
	signals <-chan os.Signal
	// hangups delivers SIGHUP to the configuration watcher of `joyride run`.
	hangups <-chan os.Signal
}

// exitCode ends a command that has already written its own message.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// execute runs the command line args and returns the process exit code.
func execute(c *cli, args []string) int {
	root := c.command()
	root.SetArgs(args)
	err := root.Execute()
	var code exitCode
	var f *failure
	switch {
	case err == nil:
		return 0
	case errors.As(err, &code):
		return int(code)
	case errors.As(err, &f):
		fmt.Fprintf(c.stderr, "joyride: %s\n", f.msg)
		return f.code
	}
	fmt.Fprintf(c.stderr, "joyride: %s (see joyride --help)\n", err)
	return 2
}

// sources are the flags that choose the configuration layers.
type sources struct {
	profile string
	file    string
	set     []string
}

func (s *sources) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&s.profile, "profile", "", "embedded profile: "+strings.Join(config.Profiles(), ", ")+" (default $JOYRIDE_PROFILE, else "+config.DefaultProfile+")")
	f.StringVar(&s.file, "config", "", "configuration file, .yaml, .yml or .json (default $JOYRIDE_CONFIG)")
	f.StringArrayVar(&s.set, "set", nil, "set a key, overriding every other source: --set dns.port=53 (repeatable; lists are comma-separated)")
}

func (c *cli) command() *cobra.Command {
	root := &cobra.Command{
		Use:           "joyride",
		Short:         "Joyride serves DNS for Docker containers, hosts files and static records",
		SilenceErrors: true,
		SilenceUsage:  true,
		// cobra's generated completion command would be one more interface to keep stable.
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	root.AddCommand(c.runCommand(), c.versionCommand(), c.configCommand(), c.clusterCommand(),
		c.statusCommand(), c.readyCommand(), c.recordsCommand(), c.explainCommand(), c.setupCommand(), c.checkCommand())
	return root
}

func (c *cli) runCommand() *cobra.Command {
	var src sources
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the DNS server with the modules the configuration enables",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			res, err := c.load(src, c.env)
			if err != nil {
				return err
			}
			if code := c.run(res, c.options(src, c.env)); code != 0 {
				return exitCode(code)
			}
			return nil
		},
	}
	src.register(cmd)
	return cmd
}

// run builds the application res describes and serves it, with the configuration watcher, which reloads from
// opts.
func (c *cli) run(res *config.Result, opts config.Options) int {
	cfg := res.Config
	log, level, err := newLogger(cfg.Log, c.stdout)
	if err != nil {
		fmt.Fprintf(c.stderr, "joyride: %s\n", err)
		return 2
	}
	defer func() { _ = log.Sync() }() // stdout may not support fsync; nothing to do about it at exit
	for _, w := range res.Warnings {
		log.Warn(w)
	}
	code := serve(fx.New(Options(cfg, log), watched(res, opts, level, c.hangups)), c.signals, c.stderr, func() {
		log.Info("started", zap.String("profile", res.Profile), zap.Strings("modules", enabled(cfg)),
			zap.String("version", cfg.Service.Version))
	})
	log.Info("stopped", zap.Int("exit_code", code))
	return code
}

func enabled(cfg config.Config) []string {
	var out []string
	for _, m := range config.KnownModules() {
		if cfg.Enabled(m) {
			out = append(out, m)
		}
	}
	return out
}

// options are the configuration sources src and env name.
func (c *cli) options(src sources, env []string) config.Options {
	v, _ := buildInfo()
	return config.Options{Profile: src.profile, File: src.file, Env: env, Set: src.set, Version: v}
}

// load reads the configuration; on failure it prints every problem, one per line, and returns exit code 2.
func (c *cli) load(src sources, env []string) (*config.Result, error) {
	res, err := config.Load(c.options(src, env))
	if err != nil {
		fmt.Fprintln(c.stderr, err)
		return nil, exitCode(2)
	}
	return res, nil
}

func (c *cli) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and commit this binary was built from",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			v, rev := buildInfo()
			if v == "" {
				v = "dev"
			}
			if rev == "" {
				rev = "unknown"
			}
			fmt.Fprintf(c.stdout, "joyride %s (commit %s, %s, %s/%s)\n", v, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}

// buildInfo returns the version and commit set with -ldflags, else what the Go toolchain recorded (a module
// version when installed with go install, the VCS revision when built in a checkout); empty when unknown.
func buildInfo() (ver, rev string) {
	ver, rev = version, commit
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ver, rev
	}
	if ver == "" && info.Main.Version != "(devel)" {
		ver = info.Main.Version
	}
	if rev == "" {
		var modified bool
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if rev != "" && modified {
			rev += "-dirty"
		}
	}
	return ver, rev
}

func (c *cli) configCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Show or check the configuration"}
	cmd.AddCommand(c.printCommand(), c.validateCommand())
	return cmd
}

func (c *cli) printCommand() *cobra.Command {
	var src sources
	var format string
	formats := []string{"yaml", "json"}
	cmd := &cobra.Command{
		Use:   "print",
		Short: "Print the effective configuration and the source of every value",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if !slices.Contains(formats, format) {
				return fmt.Errorf("--format %q: want yaml or json", format)
			}
			res, err := c.load(src, c.env)
			if err != nil {
				return err
			}
			for _, w := range res.Warnings {
				fmt.Fprintln(c.stderr, w)
			}
			return res.Write(c.stdout, format)
		},
	}
	src.register(cmd)
	cmd.Flags().StringVar(&format, "format", "yaml", "output format: yaml (a configuration file commented with sources) or json")
	return cmd
}

func (c *cli) validateCommand() *cobra.Command {
	var src sources
	cmd := &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a configuration file on top of a profile, ignoring the environment",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			src.file = args[0]
			res, err := c.load(src, nil)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%s: valid (profile %s)\n", args[0], res.Profile)
			return nil
		},
	}
	cmd.Flags().StringVar(&src.profile, "profile", "", "embedded profile: "+strings.Join(config.Profiles(), ", ")+" (default "+config.DefaultProfile+")")
	return cmd
}

func (c *cli) clusterCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "cluster", Short: "Tools for running nodes as a cluster"}
	cmd.AddCommand(c.keygenCommand())
	return cmd
}

// keySize is AES-256's: the largest key memberlist takes, and the one keygen makes.
const keySize = 32

func (c *cli) keygenCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "keygen",
		Short: "Print a new random cluster key (base64) for cluster.key, JOYRIDE_CLUSTER_KEY or a keyring file line",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			key := make([]byte, keySize)
			_, _ = rand.Read(key) // crypto/rand.Read never fails (Go 1.24)
			fmt.Fprintln(c.stdout, base64.StdEncoding.EncodeToString(key))
			return nil
		},
	}
}
