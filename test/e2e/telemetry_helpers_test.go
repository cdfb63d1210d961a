package e2e

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

// readiness is the body of /health/ready.
type readiness struct {
	Status string `json:"status"`
	Checks map[string]struct {
		Status   string     `json:"status"`
		Required bool       `json:"required"`
		Error    string     `json:"error"`
		Since    *time.Time `json:"since"`
	} `json:"checks"`
}

func ready(t *testing.T, app *testkit.App) (int, readiness) {
	t.Helper()
	res := app.Do("GET", "/health/ready", "", nil)
	var r readiness
	res.JSON(t, &r)
	return res.Status, r
}

// traceparent returns a sampled (or not) W3C traceparent with fresh ids.
func traceparent(sampled bool) (header, traceID, spanID string) {
	tid, sid := make([]byte, 16), make([]byte, 8)
	_, _ = rand.Read(tid)
	_, _ = rand.Read(sid)
	traceID, spanID = hex.EncodeToString(tid), hex.EncodeToString(sid)
	flags := "00"
	if sampled {
		flags = "01"
	}
	return "00-" + traceID + "-" + spanID + "-" + flags, traceID, spanID
}

// metricSum adds up the samples of the Prometheus text exposition whose
// name is name and whose labels include every label (name="value"); found
// tells whether any sample matched.
func metricSum(text, name string, labels ...string) (sum float64, found bool) {
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		series, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		metric, lbls, _ := strings.Cut(series, "{")
		if metric != name {
			continue
		}
		match := true
		for _, l := range labels {
			if !strings.Contains(lbls, l) {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		v, err := strconv.ParseFloat(strings.Fields(value)[0], 64)
		if err != nil {
			continue
		}
		sum += v
		found = true
	}
	return sum, found
}
