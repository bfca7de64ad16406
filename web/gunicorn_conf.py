"""gunicorn settings for the gateway: `gunicorn -c web/gunicorn_conf.py 'web:create_app()'`.

gthread: a request waiting on BLPOP for a synchronous result holds one cheap thread,
not a whole process. Values come from the same OCR_* settings as everything else.
"""
import logging

from worker.settings import get_settings

_settings = get_settings()

bind = f"{_settings.host}:{_settings.port}"
worker_class = "gthread"
workers = _settings.web_workers
threads = _settings.web_threads
# The gthread arbiter heartbeat is independent of request length; this only catches stuck workers.
timeout = 30
graceful_timeout = int(_settings.sync_timeout) + 5
keepalive = 5
loglevel = _settings.log_level.lower()
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(L)ss'
# No runtime-management socket: one less thing listening, and several gateways can share a host.
control_socket_disable = True


def post_worker_init(worker):
    """Our own loggers (job queued, errors) next to gunicorn's, in the same shape."""
    logging.basicConfig(
        level=_settings.log_level.upper(),
        format="[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s",
    )
