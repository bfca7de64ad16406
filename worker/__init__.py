"""The queue side: Celery app, OCR task, job records in Redis, core-group planning, settings."""
