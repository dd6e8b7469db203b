package cluster

import (
	"bytes"
	"log"
	"strings"

	"go.uber.org/zap"
)

// newMemberlistLogger routes memberlist's log lines ("[WARN] memberlist: …") to zap at the level each names.
// suspect, when not nil, is told of the node this node's probe has just found unresponsive: memberlist reports
// suspicion to its user in no other way (its EventDelegate has join, leave and update only), and this line
// ("Suspect <node> has failed, no acks received") is written right before it suspects the node. A test
// (TestSuspectedEvent) fails if a memberlist upgrade rewords it.
func newMemberlistLogger(z *zap.Logger, suspect func(node string)) *log.Logger {
	return log.New(levelWriter{z, suspect}, "", 0)
}

type levelWriter struct {
	log     *zap.Logger
	suspect func(string)
}

const (
	suspectPrefix = "Suspect "
	suspectSuffix = " has failed, no acks received"
)

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
	if w.suspect != nil && strings.HasPrefix(msg, suspectPrefix) && strings.HasSuffix(msg, suspectSuffix) {
		w.suspect(strings.TrimSuffix(strings.TrimPrefix(msg, suspectPrefix), suspectSuffix))
	}
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
