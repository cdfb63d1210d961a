package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// stats is one load run's outcome.
type stats struct {
	requests int
	errors   int
	rps      float64
	p50, p99 time.Duration
}

// request builds the i-th request of a worker; it may vary the body.
type request func(worker, i int) (*http.Request, error)

// load runs a closed loop of c workers for d after a short warm-up and
// reports throughput and latency percentiles. A response with an
// unexpected status counts as an error. Each observe function, if any,
// hears the outcome of every request sent, warm-up included, from the
// worker's goroutine (status 0 when err is set).
func load(ctx context.Context, c int, d time.Duration, wantStatus int, mk request, observe ...func(worker, i, status int, err error)) stats {
	tr := &http.Transport{MaxIdleConns: c * 2, MaxIdleConnsPerHost: c * 2, IdleConnTimeout: time.Minute}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	defer tr.CloseIdleConnections()

	var measuring atomic.Bool
	var stop atomic.Bool
	var mu sync.Mutex
	var lat []time.Duration
	var errs int
	var wg sync.WaitGroup
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			localErrs := 0
			for i := 0; !stop.Load() && ctx.Err() == nil; i++ {
				req, err := mk(w, i)
				if err != nil {
					localErrs++
					continue
				}
				start := time.Now()
				res, err := client.Do(req)
				ok := err == nil && res.StatusCode == wantStatus
				if err == nil {
					_, _ = io.Copy(io.Discard, res.Body)
					_ = res.Body.Close()
				}
				for _, f := range observe {
					status := 0
					if err == nil {
						status = res.StatusCode
					}
					f(w, i, status, err)
				}
				if measuring.Load() {
					if ok {
						local = append(local, time.Since(start))
					} else {
						localErrs++
					}
				}
			}
			mu.Lock()
			lat = append(lat, local...)
			errs += localErrs
			mu.Unlock()
		}()
	}
	time.Sleep(d / 4) // warm-up: connections, caches, prepared statements
	measuring.Store(true)
	begin := time.Now()
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
	measuring.Store(false)
	elapsed := time.Since(begin)
	stop.Store(true)
	wg.Wait()

	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	s := stats{requests: len(lat), errors: errs, rps: float64(len(lat)) / elapsed.Seconds()}
	if len(lat) > 0 {
		s.p50 = lat[len(lat)/2]
		s.p99 = lat[min(len(lat)-1, len(lat)*99/100)]
	}
	return s
}

func get(url, token string) request {
	return func(int, int) (*http.Request, error) {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
		if err == nil && token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return req, err
	}
}

func post(url, token string, body func(worker, i int) []byte) request {
	return withBody(http.MethodPost, url, token, body)
}

func patch(url, token string, body func(worker, i int) []byte) request {
	return withBody(http.MethodPatch, url, token, body)
}

func withBody(method, url, token string, body func(worker, i int) []byte) request {
	return func(w, i int) (*http.Request, error) {
		req, err := http.NewRequestWithContext(context.Background(), method, url, bytes.NewReader(body(w, i)))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
		}
		return req, err
	}
}

// median returns the run with the median throughput.
func median(runs []stats) stats {
	sorted := append([]stats(nil), runs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].rps < sorted[j].rps })
	return sorted[len(sorted)/2]
}

// medianP99 returns the median of the runs' p99 latencies.
func medianP99(runs []stats) time.Duration {
	return medianOf(runs, func(s stats) time.Duration { return s.p99 })
}

// medianP50 returns the median of the runs' median latencies.
func medianP50(runs []stats) time.Duration {
	return medianOf(runs, func(s stats) time.Duration { return s.p50 })
}

func medianOf(runs []stats, f func(stats) time.Duration) time.Duration {
	p := make([]time.Duration, len(runs))
	for i, r := range runs {
		p[i] = f(r)
	}
	sort.Slice(p, func(i, j int) bool { return p[i] < p[j] })
	return p[len(p)/2]
}

// paced offers requests at a constant total rate for d (open loop) from c
// workers, each with its own connection and its own share of the schedule,
// and reports latency percentiles. Comparing two paths at the same offered
// rate is the fair way to compare their latency: under a closed loop,
// latency is just the inverse of throughput. Latency runs from the moment
// a request is sent: the client's own timer lateness (tens of µs to a
// millisecond on a busy machine) would otherwise be added to both paths
// and flatten their ratio. A worker that falls behind its schedule sends
// at once, so at a rate the server cannot sustain the latency still grows.
func paced(ctx context.Context, c int, rps float64, d time.Duration, wantStatus int, mk request) stats {
	tr := &http.Transport{MaxIdleConns: c, MaxIdleConnsPerHost: c, IdleConnTimeout: time.Minute}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	defer tr.CloseIdleConnections()

	interval := time.Duration(float64(time.Second) * float64(c) / rps) // per worker
	warm := d / 4
	start := time.Now().Add(10 * time.Millisecond)
	end := start.Add(warm + d)
	var mu sync.Mutex
	var lat []time.Duration
	errs := 0
	var wg sync.WaitGroup
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 1024)
			localErrs := 0
			// Workers are staggered so that sends spread over the interval.
			at := start.Add(interval * time.Duration(w) / time.Duration(c))
			for i := 0; at.Before(end) && ctx.Err() == nil; i++ {
				if wait := time.Until(at); wait > 0 {
					time.Sleep(wait)
				}
				ok := false
				sent := time.Now()
				req, err := mk(w, i)
				if err == nil {
					var res *http.Response
					res, err = client.Do(req)
					if err == nil {
						_, _ = io.Copy(io.Discard, res.Body)
						_ = res.Body.Close()
						ok = res.StatusCode == wantStatus
					}
				}
				if at.Sub(start) >= warm {
					if ok {
						local = append(local, time.Since(sent))
					} else {
						localErrs++
					}
				}
				at = at.Add(interval)
			}
			mu.Lock()
			lat = append(lat, local...)
			errs += localErrs
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	s := stats{requests: len(lat), errors: errs, rps: rps}
	if len(lat) > 0 {
		s.p50 = lat[len(lat)/2]
		s.p99 = lat[min(len(lat)-1, len(lat)*99/100)]
	}
	return s
}
