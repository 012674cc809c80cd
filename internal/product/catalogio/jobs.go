package catalogio

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
)

// States of an import job.
const (
	JobRunning     = "running"
	JobDone        = "done"   // every line was read; some may have failed
	JobFailed      = "failed" // the import stopped (see error)
	JobInterrupted = "interrupted"
)

// Limits of import jobs.
const (
	// MaxImportBytes bounds an uploaded file, which is kept on disk
	// while it is imported.
	MaxImportBytes = 4 << 30
	// MaxJobProblems is how many problems a job keeps to show; the rest
	// are counted.
	MaxJobProblems = 1000
	// jobHeartbeat is how often a running job saves its progress; one
	// not saved for staleJob has lost its process.
	jobHeartbeat = time.Second
	staleJob     = time.Minute
)

// Job is the status of an import as the API shows it.
type Job struct {
	ID              string    `json:"id"`
	State           string    `json:"state"`
	Format          string    `json:"format"`
	Summary         Summary   `json:"summary"`
	Problems        []Problem `json:"problems"`
	ProblemsOmitted int       `json:"problems_omitted"`
	Error           string    `json:"error,omitempty"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// JobStore keeps the status of jobs where every instance reads it
// (productdb.Store).
type JobStore interface {
	SaveImportJob(ctx context.Context, id string, doc []byte, at time.Time) error
	ImportJob(ctx context.Context, id string) ([]byte, time.Time, error)
}

// Jobs runs imports in the background: a file is received whole onto
// disk (never into memory), then imported while its status can be read.
type Jobs struct {
	svc    Upserter
	store  JobStore
	dir    string // where received files wait; "" is the system's
	logger *slog.Logger
	slot   chan struct{} // imports running at once on this instance
	wg     sync.WaitGroup
	life   context.Context // of the jobs, ended by Close
	stop   context.CancelFunc
}

// NewJobs returns a runner of imports through svc, keeping their status in
// store and the received files in dir.
func NewJobs(svc Upserter, store JobStore, dir string, logger *slog.Logger) *Jobs {
	life, stop := context.WithCancel(context.Background())
	return &Jobs{svc: svc, store: store, dir: dir, logger: logger, slot: make(chan struct{}, 1), life: life, stop: stop}
}

// Start receives body (at most MaxImportBytes) and starts importing it.
// The job it returns is running; Job tells how it goes. One import runs
// at a time on an instance: another is refused as unavailable for now.
func (j *Jobs) Start(ctx context.Context, body io.Reader, format string) (*Job, error) {
	if format != NDJSON && format != CSV {
		return nil, &errs.Error{Kind: errs.KindInvalid, Msg: "unknown format",
			Fields: []errs.FieldError{{Field: "format", Detail: "must be ndjson or csv"}}}
	}
	select {
	case j.slot <- struct{}{}:
	default:
		return nil, errs.Unavailable(nil, "an import is already running on this instance; try again when it is done", 30*time.Second)
	}
	file, err := j.receive(body)
	if err != nil {
		<-j.slot
		return nil, err
	}
	now := time.Now().UTC()
	job := &Job{ID: uuid.Must(uuid.NewV7()).String(), State: JobRunning, Format: format, Problems: []Problem{}, CreatedAt: now, UpdatedAt: now}
	if err := j.save(ctx, job); err != nil {
		os.Remove(file)
		<-j.slot
		return nil, err
	}
	snapshot := *job
	j.wg.Add(1)
	go func() {
		defer j.wg.Done()
		defer func() { <-j.slot }()
		defer os.Remove(file)
		j.run(j.life, job, file)
	}()
	return &snapshot, nil
}

// receive copies body to a file of its own.
func (j *Jobs) receive(body io.Reader) (string, error) {
	f, err := os.CreateTemp(j.dir, "vitrine-import-*")
	if err != nil {
		return "", err
	}
	n, err := io.Copy(f, io.LimitReader(body, MaxImportBytes+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > MaxImportBytes {
		err = errs.New(errs.KindTooLarge, "the file is larger than %d bytes", int64(MaxImportBytes))
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

func (j *Jobs) run(ctx context.Context, job *Job, file string) {
	f, err := os.Open(file)
	if err != nil {
		j.finish(ctx, job, err)
		return
	}
	defer f.Close()
	var mu sync.Mutex // Problem and Progress come from the import's goroutine; saves from this one
	last := time.Now()
	sum, err := Import(ctx, j.svc, f, Options{Format: job.Format,
		Problem: func(p Problem) {
			mu.Lock()
			defer mu.Unlock()
			if len(job.Problems) < MaxJobProblems {
				job.Problems = append(job.Problems, p)
			} else {
				job.ProblemsOmitted++
			}
		},
		Progress: func(s Summary) {
			mu.Lock()
			defer mu.Unlock()
			job.Summary = s
			if time.Since(last) >= jobHeartbeat {
				last = time.Now()
				if err := j.save(ctx, job); err != nil {
					j.logger.Warn("import job: progress not saved", "job", job.ID, "err", err)
				}
			}
		}})
	mu.Lock()
	defer mu.Unlock()
	job.Summary = sum
	j.finish(ctx, job, err)
}

func (j *Jobs) finish(ctx context.Context, job *Job, err error) {
	job.State = JobDone
	if err != nil {
		job.State, job.Error = JobFailed, err.Error()
		j.logger.Error("import job failed", "job", job.ID, "err", err)
	}
	if err := j.save(context.WithoutCancel(ctx), job); err != nil {
		j.logger.Error("import job: status not saved", "job", job.ID, "err", err)
	}
}

func (j *Jobs) save(ctx context.Context, job *Job) error {
	job.UpdatedAt = time.Now().UTC()
	doc, err := json.Marshal(job)
	if err != nil {
		return err
	}
	return j.store.SaveImportJob(ctx, job.ID, doc, job.UpdatedAt)
}

// Job returns the status of a job. A running job whose instance stopped
// saving its progress is reported interrupted.
func (j *Jobs) Job(ctx context.Context, id string) (*Job, error) {
	doc, updated, err := j.store.ImportJob(ctx, id)
	if err != nil {
		return nil, err
	}
	var job Job
	if err := json.Unmarshal(doc, &job); err != nil {
		return nil, fmt.Errorf("import job %s: %w", id, err)
	}
	if job.State == JobRunning && time.Since(updated) > staleJob {
		job.State, job.Error = JobInterrupted, "the instance running the import stopped; import the file again (lines already written are left unchanged)"
	}
	return &job, nil
}

// Wait waits for the running jobs to end.
func (j *Jobs) Wait() { j.wg.Wait() }

// Close stops the running jobs (they end as failed, having written whole
// batches only) and waits for them.
func (j *Jobs) Close() error {
	j.stop()
	j.wg.Wait()
	return nil
}
