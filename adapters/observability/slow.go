package observability

import (
	"sort"
	"sync"
	"time"

	"github.com/scoped-api/foundation/domain/kernel"
	"github.com/scoped-api/foundation/ports/diagnostics"
)

// Bounds of the per-project slow-statement records: memory stays bounded
// whatever the traffic.
const (
	SlowStatementWindow     = time.Hour
	maxSlowPerProject       = 100
	maxProjectsWithSlowLogs = 10000
)

type slowRecord struct {
	subject kernel.Subject
	st      diagnostics.SlowStatement
}

// SlowStatements keeps, per project, the slow statements of the last hour
// (at most 100 per project, for at most 10,000 projects; the project whose
// newest record is oldest is forgotten first). It lives in this process:
// each instance knows the statements it ran.
type SlowStatements struct {
	now func() time.Time

	mu        sync.Mutex
	byProject map[kernel.ProjectID][]slowRecord
}

var _ diagnostics.SlowStatementLog = (*SlowStatements)(nil)

// NewSlowStatements returns an empty log reading time from now.
func NewSlowStatements(now func() time.Time) *SlowStatements {
	return &SlowStatements{now: now, byProject: map[kernel.ProjectID][]slowRecord{}}
}

// Add records st for project, run on behalf of subject.
func (s *SlowStatements) Add(project kernel.ProjectID, subject kernel.Subject, st diagnostics.SlowStatement) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cutoff := s.now().Add(-SlowStatementWindow)
	recs := prune(s.byProject[project], cutoff)
	recs = append(recs, slowRecord{subject: subject, st: st})
	if len(recs) > maxSlowPerProject {
		recs = recs[len(recs)-maxSlowPerProject:]
	}
	s.byProject[project] = recs
	if len(s.byProject) > maxProjectsWithSlowLogs {
		s.evict(cutoff)
	}
}

// evict drops expired projects, then the stalest one if still too many.
func (s *SlowStatements) evict(cutoff time.Time) {
	var stalest kernel.ProjectID
	var stalestAt time.Time
	for p, recs := range s.byProject {
		recs = prune(recs, cutoff)
		if len(recs) == 0 {
			delete(s.byProject, p)
			continue
		}
		s.byProject[p] = recs
		if at := recs[len(recs)-1].st.At; stalestAt.IsZero() || at.Before(stalestAt) {
			stalest, stalestAt = p, at
		}
	}
	if len(s.byProject) > maxProjectsWithSlowLogs {
		delete(s.byProject, stalest)
	}
}

func prune(recs []slowRecord, cutoff time.Time) []slowRecord {
	i := 0
	for i < len(recs) && recs[i].st.At.Before(cutoff) {
		i++
	}
	if i == 0 {
		return recs
	}
	return append([]slowRecord(nil), recs[i:]...)
}

// Recent returns the statements run in the access's project by its
// subject since the given time (and within the window), newest first.
func (s *SlowStatements) Recent(access kernel.ProjectAccess, since time.Time) []diagnostics.SlowStatement {
	project, subject := access.Project(), access.Subject()
	s.mu.Lock()
	defer s.mu.Unlock()
	if cutoff := s.now().Add(-SlowStatementWindow); since.Before(cutoff) {
		since = cutoff
	}
	out := []diagnostics.SlowStatement{}
	for _, r := range s.byProject[project] {
		if r.subject == subject && !r.st.At.Before(since) {
			out = append(out, r.st)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	return out
}
