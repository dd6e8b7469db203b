package audit

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/joyride-dns/joyride/pkg/status"
)

var (
	writtenDesc = prometheus.NewDesc("joyride_audit_lines_written_total", "Lines written to the audit log.", nil, nil)
	droppedDesc = prometheus.NewDesc("joyride_audit_lines_dropped_total",
		"Audit lines dropped: past audit.queue_size while the file could not keep up or was failing, or left at stop.", nil, nil)
	errorsDesc = prometheus.NewDesc("joyride_audit_write_errors_total",
		"Failed opens, writes and rotations of the audit log, each retry included.", nil, nil)
	rotationsDesc = prometheus.NewDesc("joyride_audit_rotations_total", "Audit log files rotated.", nil, nil)
	queuedDesc    = prometheus.NewDesc("joyride_audit_queued_lines", "Audit lines waiting for the file.", nil, nil)
	writingDesc   = prometheus.NewDesc("joyride_audit_writing",
		"1 while the audit log is written; 0 while it is off, not opened yet, or failing.", nil, nil)
)

// newCollector exports the handler's Status to Prometheus when scraped (status.CollectorGroup), and the circuit
// breaker of the path (retry.Metrics, source "audit") while the log is on.
func newCollector(h *Handler) prometheus.Collector {
	return status.NewCollector(func(ch chan<- prometheus.Metric) {
		st := h.Status()
		writing := 0.0
		if st.State == stateWriting {
			writing = 1
		}
		ch <- prometheus.MustNewConstMetric(writtenDesc, prometheus.CounterValue, float64(st.LinesWritten))
		ch <- prometheus.MustNewConstMetric(droppedDesc, prometheus.CounterValue, float64(st.LinesDropped))
		ch <- prometheus.MustNewConstMetric(errorsDesc, prometheus.CounterValue, float64(st.WriteErrors))
		ch <- prometheus.MustNewConstMetric(rotationsDesc, prometheus.CounterValue, float64(st.Rotations))
		ch <- prometheus.MustNewConstMetric(queuedDesc, prometheus.GaugeValue, float64(st.Queued))
		ch <- prometheus.MustNewConstMetric(writingDesc, prometheus.GaugeValue, writing)
		h.w.retries.Collect(ch)
	}, append([]*prometheus.Desc{writtenDesc, droppedDesc, errorsDesc, rotationsDesc, queuedDesc, writingDesc},
		h.w.retries.Descs()...)...)
}
