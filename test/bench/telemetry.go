package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/scoped-api/foundation/test/testkit"
)

func init() { register(suite{name: "telemetry", run: telemetry}) }

// telemetry measures what full instrumentation costs on GET
// /api/v1/projects/{id}: the same app with telemetry disabled is the
// baseline; against it, tracing at ratio 1.0 to a working OTLP receiver
// (every request and statement exported over http/protobuf, the default
// protocol, metrics on) and the same with a collector that accepts
// connections and never answers. The receiver accepts every export without
// decoding it, as a forwarding collector would: its work is not the
// service's. The three run interleaved on one database, each in its own
// process (the built binary): one app's garbage collection or exporter
// does not slow another's run, and the load generator and the receiver
// are not on the apps' heaps.
func telemetry(ctx context.Context, o options) (res []result, err error) {
	tb := &benchTB{}
	defer tb.close()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	dbURL := testkit.NewPostgresDatabase(tb)
	rcv := testkit.NewOTLPReceiver(tb, "http/protobuf")
	rcv.CountOnly()
	hanging := testkit.NewHangingListener(tb)

	env := func(extra ...string) map[string]string {
		e := benchEnv(dbURL)
		for i := 0; i+1 < len(extra); i += 2 {
			e[extra[i]] = extra[i+1]
		}
		return e
	}
	traced := func(endpoint string) map[string]string {
		return env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf",
			"OTEL_TRACES_SAMPLER", "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG", "1.0")
	}
	bin, removeBin, err := buildAPI(ctx)
	if err != nil {
		return nil, err
	}
	defer removeBin()
	apps := map[string]*child{}
	for name, e := range map[string]map[string]string{
		"disabled": env("OTEL_SDK_DISABLED", "true"),
		"receiver": traced(rcv.Endpoint),
		"hanging":  traced("http://" + hanging),
	} {
		a, err := startChild(ctx, bin, e)
		if err != nil {
			return nil, fmt.Errorf("start %s: %w", name, err)
		}
		defer a.stop()
		apps[name] = a
	}

	token := testkit.TokenWith(tb, testkit.TestSecret, "", "", "alice", time.Hour)
	r := testkit.Do(tb, "POST", apps["disabled"].url+"/api/v1/projects", token, `{"name":"traced","description":"a row to read"}`)
	if r.Status != http.StatusCreated {
		return nil, fmt.Errorf("create: %d %s", r.Status, r.Body)
	}
	var p struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(r.Body, &p); err != nil {
		return nil, err
	}

	runs := map[string][]stats{}
	costs := map[string]*cost{"disabled": {}, "receiver": {}, "hanging": {}}
	closed := func(mk request) stats { return load(ctx, o.concurrency, o.duration, 200, mk) }
	for round := range o.rounds {
		for _, name := range []string{"disabled", "receiver", "hanging"} {
			runs[name] = append(runs[name], costs[name].measure(apps[name], closed, get(apps[name].url+"/api/v1/projects/"+p.ID, token)))
		}
		d, r, h := runs["disabled"][round], runs["receiver"][round], runs["hanging"][round]
		warn("  telemetry round %d: disabled %.0f req/s p99 %v | receiver %.0f (%.2f) p99 %v | hanging %.0f (%.2f) p99 %v",
			round+1, d.rps, d.p99.Round(10*time.Microsecond), r.rps, r.rps/d.rps, r.p99.Round(10*time.Microsecond),
			h.rps, h.rps/d.rps, h.p99.Round(10*time.Microsecond))
	}
	// The batch processor exports every 5 s: give it time to deliver.
	if !testkit.Eventually(15*time.Second, func() bool { return rcv.Exports() > 0 }) {
		return nil, fmt.Errorf("the receiver got no span: the traced run measured nothing")
	}
	spans := 50_000
	if o.smoke {
		spans = 1_000
	}
	built, exported, err := spanFloor(spans)
	if err != nil {
		return nil, fmt.Errorf("span floor: %w", err)
	}
	base := median(runs["disabled"])
	baseP99 := medianP99(runs["disabled"])
	for _, name := range []string{"receiver", "hanging"} {
		m := median(runs[name])
		ratio := m.rps / base.rps
		label := map[string]string{"receiver": "traced, ratio 1.0, working receiver", "hanging": "traced, ratio 1.0, hanging collector"}[name]
		res = append(res, result{
			Name:     "GET /projects/{id} " + label,
			Measured: fmt.Sprintf("%.0f req/s (%d errors)", m.rps, m.errors),
			Baseline: fmt.Sprintf("%.0f req/s disabled", base.rps),
			Ratio:    ratio, Target: "≥ 0.85", Pass: ratio >= 0.85, Errors: m.errors,
			Note: fmt.Sprintf("server cost: %s; disabled %s. OpenTelemetry SDK alone, per server span: %s to build, %s built and exported over OTLP/HTTP",
				costs[name], costs["disabled"], built.Round(100*time.Nanosecond), exported.Round(100*time.Nanosecond)),
		})
		p99 := medianP99(runs[name])
		pr := float64(p99) / float64(baseP99)
		target, pass := "(reported)", true
		if name == "hanging" {
			target, pass = "≤ 1.20", pr <= 1.2
		}
		res = append(res, result{
			Name:     "GET /projects/{id} p99, " + label,
			Measured: p99.Round(10 * time.Microsecond).String(),
			Baseline: baseP99.Round(10*time.Microsecond).String() + " disabled",
			Ratio:    pr, Target: target, Pass: pass,
		})
	}
	return res, nil
}
