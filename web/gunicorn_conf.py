"""gunicorn settings for the gateway: `gunicorn -c web/gunicorn_conf.py 'web:create_app()'`.

gevent workers (OCR_WEB_WORKER_CLASS): every connection is a greenlet, so a request waiting on
BLPOP for a synchronous result, or a client sending its request a byte at a time, costs a
few kilobytes and holds nothing others need. With gthread (the fallback) each of them holds
one of OCR_WEB_THREADS threads, and 200 slow clients stop the gateway (docs/RELIABILITY.md).
Values come from the same OCR_* settings as everything else.
"""
import os
import tempfile
from pathlib import Path

from jobs import logs
from jobs.settings import get_settings
from ocrcore import limits

_settings = get_settings()

# Prometheus multi-process mode (web/metrics.py): each gunicorn worker writes its samples to
# files here and GET /metrics merges them. Set in the arbiter, before any worker imports
# prometheus_client (it picks its mode at import). Our own directory unless one is given.
_METRICS_PREFIX = "ocr-gateway-metrics-"
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix=_METRICS_PREFIX)

bind = f"{_settings.host}:{_settings.port}"
worker_class = _settings.web_worker_class
workers = _settings.web_workers
threads = _settings.web_threads  # gthread only
worker_connections = _settings.web_connections  # gevent only
# The arbiter heartbeat is independent of request length; this only catches stuck workers.
timeout = 30
graceful_timeout = int(_settings.sync_timeout) + 5
keepalive = 5
loglevel = _settings.log_level.lower()
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(L)ss'
# gunicorn's lines and the app's through one formatter: JSON or text (jobs/logs.py).
logconfig_dict = logs.gunicorn_logconfig("web", _settings.log_level, _settings.log_format)
# No runtime-management socket: one less thing listening, and several gateways can share a host.
control_socket_disable = True
# Request line and headers (ocrcore/limits.py): over them gunicorn answers 414/431 itself, as
# JSON errors with the security headers (web/gunicorn_errors.py, installed in post_worker_init).
limit_request_line = limits.MAX_REQUEST_LINE
limit_request_fields = limits.MAX_HEADER_FIELDS
limit_request_field_size = limits.MAX_HEADER_FIELD_BYTES


def post_worker_init(worker):
    from web.gunicorn_errors import install

    install()


def on_starting(server):
    """Start with no metrics files: a previous run's would be merged into this one's."""
    metrics_dir = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    metrics_dir.mkdir(parents=True, exist_ok=True)
    for stale in metrics_dir.glob("*.db"):
        stale.unlink()


def child_exit(server, worker):
    """A gunicorn worker is gone: its live gauges stop counting (its counters stay summed in)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    metrics_dir = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    if metrics_dir.name.startswith(_METRICS_PREFIX) and metrics_dir.parent == Path(tempfile.gettempdir()):
        for path in metrics_dir.glob("*.db"):
            path.unlink()
        metrics_dir.rmdir()
