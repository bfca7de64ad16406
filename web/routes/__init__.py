"""Blueprints, one per area: OCR, jobs, health and metadata, the UI's static files."""
