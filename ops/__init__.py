"""Running the service without Docker and probing it: `make run`'s supervisor (run_local), the
command table the Dockerfiles, `make run` and the tests share (commands), health probes
(healthcheck). Imports the worker only where a probe of the worker needs it."""
