"""The job contract between the gateway and the workers.

Both sides import this package; it imports neither the Celery worker's configuration nor
the OCR engine. What crosses the process boundary is declared here once:

- `settings`: the one typed settings object (OCR_* variables);
- `model`: the typed job (`Status`, `FileMeta`, `JobOptions`, `Job`) and job ids;
- `errors`: every error code with its HTTP status;
- `store`: the job records in Redis, every status change a compare-and-set;
- `producer`: the task name and enqueueing;
- `events`, `metrics`, `logs`: what a job's life tells the logs and Prometheus.

Data flows one way: web -> jobs <- worker -> ocrcore.
"""
