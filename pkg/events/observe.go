package events

import (
	"context"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Observer is told about every accepted event and every delivery; the metrics module implements it.
type Observer interface {
	Published(e Event)
	Delivered(subscriber string, e Event, took time.Duration, err error)
}

// Observe returns the middleware pair that reports to o. Install both with Use and UseDelivery.
func Observe(o Observer) (PublishMiddleware, DeliverMiddleware) {
	pub := func(next PublishFunc) PublishFunc {
		return func(ctx context.Context, e Event) error {
			err := next(ctx, e)
			if err == nil {
				o.Published(e)
			}
			return err
		}
	}
	del := func(sub string, next Handler) Handler {
		return func(ctx context.Context, e Event) error {
			start := time.Now()
			err := next(ctx, e)
			o.Delivered(sub, e, time.Since(start), err)
			return err
		}
	}
	return pub, del
}

// Logging returns delivery middleware that traces every handler call at debug level (subscriber, event, duration,
// outcome), so a correlation ID can be followed through each consumer. zap's level check keeps it free when debug
// logging is off. Install it with UseDelivery only when asked to: at debug level it writes more lines than
// everything else together.
func Logging(log *zap.Logger) DeliverMiddleware {
	return func(sub string, next Handler) Handler {
		return func(ctx context.Context, e Event) error {
			start := time.Now()
			err := next(ctx, e)
			if ce := log.Check(zapcore.DebugLevel, "delivered"); ce != nil {
				m := e.Meta()
				ce.Write(zap.String("subscriber", sub), zap.String("event", string(e.Family())+"/"+string(e.EventKind())),
					zap.String("event_id", m.ID), zap.String("correlation_id", m.CorrelationID),
					zap.Duration("took", time.Since(start)), zap.Error(err))
			}
			return err
		}
	}
}
