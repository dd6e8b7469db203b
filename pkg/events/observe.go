package events

import (
	"context"
	"time"
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
