package main

import (
	"context"
	"fmt"
	"io"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/joyride-dns/joyride/config"
	"github.com/joyride-dns/joyride/pkg/reload"
)

// newLogger writes JSON lines (or, for format console, the human-readable form) at cfg.Level to w. No caller
// and no stack traces: an error is one line, and the failure that ends the process is reported once, on stderr,
// by serve. The level it returns changes the logger's level while it runs.
func newLogger(cfg config.Log, w io.Writer) (*zap.Logger, zap.AtomicLevel, error) {
	level, err := zap.ParseAtomicLevel(cfg.Level)
	if err != nil {
		return nil, level, err
	}
	var enc zapcore.Encoder
	if cfg.Format == "console" {
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05.000")
		enc = zapcore.NewConsoleEncoder(ec)
	} else {
		ec := zap.NewProductionEncoderConfig()
		ec.TimeKey = "time"
		ec.EncodeTime = zapcore.RFC3339NanoTimeEncoder
		ec.EncodeDuration = zapcore.StringDurationEncoder
		enc = zapcore.NewJSONEncoder(ec)
	}
	out := zapcore.Lock(zapcore.AddSync(w))
	return zap.New(zapcore.NewCore(enc, out, level), zap.ErrorOutput(out)), level, nil
}

// levelTarget makes log.level live: the configuration watcher hands it the new log section. log.format needs a
// restart.
func levelTarget(level zap.AtomicLevel) reload.Target {
	return reload.Target{Module: "log", Keys: []string{"log.level"}, Apply: func(_ context.Context, section any) error {
		l, ok := section.(config.Log)
		if !ok {
			return fmt.Errorf("log: section of type %T, want config.Log", section)
		}
		parsed, err := zapcore.ParseLevel(l.Level)
		if err != nil {
			return err
		}
		level.SetLevel(parsed)
		return nil
	}}
}
