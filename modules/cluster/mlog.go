package cluster

import (
	"bytes"
	"log"

	"go.uber.org/zap"
)

// newMemberlistLogger routes memberlist's log lines ("[WARN] memberlist: …") to zap at the level each names.
func newMemberlistLogger(z *zap.Logger) *log.Logger { return log.New(levelWriter{z}, "", 0) }

type levelWriter struct{ log *zap.Logger }

func (w levelWriter) Write(p []byte) (int, error) {
	line := bytes.TrimSpace(p)
	level := "INFO"
	if len(line) > 0 && line[0] == '[' {
		if end := bytes.IndexByte(line, ']'); end > 0 {
			level, line = string(line[1:end]), bytes.TrimSpace(line[end+1:])
		}
	}
	line = bytes.TrimPrefix(line, []byte("memberlist: "))
	msg := string(line)
	switch level {
	case "DEBUG":
		w.log.Debug(msg)
	case "WARN":
		w.log.Warn(msg)
	case "ERR", "ERROR":
		w.log.Error(msg)
	default:
		w.log.Info(msg)
	}
	return len(p), nil
}
