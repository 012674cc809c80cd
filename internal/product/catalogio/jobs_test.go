package catalogio_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/vitrine-dev/vitrine/internal/platform/errs"
	"github.com/vitrine-dev/vitrine/internal/platform/testwait"
	"github.com/vitrine-dev/vitrine/internal/product/catalogio"
)

// TestImportJob: a job runs in the background and its status, read back
// from the store, ends with the summary and the first 1,000 problems (the
// rest counted). A second import while one runs is refused for now.
func TestImportJob(t *testing.T) {
	c := openCatalog(t, "sqlite")
	jobs := catalogio.NewJobs(c.svc, c.store, t.TempDir(), slog.New(slog.DiscardHandler))
	t.Cleanup(func() { jobs.Close() })
	var file strings.Builder
	file.WriteString(`{"slug":"ok","name":"OK","variants":[{"sku":"OK-1","price":{"amount":1,"currency":"EUR"},"stock":1}]}` + "\n")
	for i := range 1005 {
		fmt.Fprintf(&file, `{"slug":"bad-%d","name":"","variants":[{"sku":"B-%d","price":{"amount":1,"currency":"EUR"},"stock":1}]}`+"\n", i, i)
	}

	// The body arrives slowly: the job is received whole before it runs,
	// and holds the only slot until it is done.
	body, send := io.Pipe()
	started := make(chan *catalogio.Job, 1)
	go func() {
		job, err := jobs.Start(context.Background(), body, catalogio.NDJSON)
		if err != nil {
			t.Error(err)
		}
		started <- job
	}()
	time.Sleep(50 * time.Millisecond)
	if _, err := jobs.Start(context.Background(), strings.NewReader("{}\n"), catalogio.NDJSON); !errs.Is(err, errs.KindUnavailable) {
		t.Errorf("a second import while one is received: %v, want unavailable", err)
	}
	go func() { _, _ = io.Copy(send, strings.NewReader(file.String())); send.Close() }()
	job := <-started
	if job == nil || job.State != catalogio.JobRunning {
		t.Fatalf("started %+v", job)
	}
	testwait.Until(t, 10*time.Second, "the job ends", func() bool {
		got, err := jobs.Job(context.Background(), job.ID)
		if err != nil {
			t.Fatal(err)
		}
		job = got
		return job.State != catalogio.JobRunning
	})
	if job.State != catalogio.JobDone || job.Summary.Created != 1 || job.Summary.Failed != 1005 ||
		len(job.Problems) != catalogio.MaxJobProblems || job.ProblemsOmitted != 5 || job.Problems[0].Line != 2 {
		t.Fatalf("job %+v (%d problems)", job.Summary, len(job.Problems))
	}
	if _, err := jobs.Job(context.Background(), "no-such-job"); !errs.Is(err, errs.KindNotFound) {
		t.Errorf("an unknown job: %v", err)
	}
	if _, err := jobs.Start(context.Background(), strings.NewReader(""), "xml"); !errs.Is(err, errs.KindInvalid) {
		t.Errorf("an unknown format: %v", err)
	}
}
