"""Running the panel: health check, backup and restore, the gunicorn settings."""
