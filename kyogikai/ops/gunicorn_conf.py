"""gunicorn settings for an intranet server (README, 本番運用):

    gunicorn -c python:kyogikai.ops.gunicorn_conf 'kyogikai:create_app()'

Each setting can be changed by an environment variable below, or by gunicorn's own
GUNICORN_CMD_ARGS / command-line options, which take precedence.
"""

import os

# nginx in front terminates TLS; gunicorn listens on the loopback only.
bind = os.environ.get("KYOGIKAI_BIND", "127.0.0.1:8000")
# Sync workers: the panel's requests are short and database-bound. About 2 × cores + 1.
workers = int(os.environ.get("KYOGIKAI_WORKERS", "3"))
timeout = int(os.environ.get("KYOGIKAI_TIMEOUT", "60"))  # a large export may take a while
graceful_timeout = 30
# The proxy on this host may say the request came over https (SESSION_COOKIE_SECURE).
forwarded_allow_ips = "127.0.0.1"
# Files written by the panel (exports in flight, logs) are for its own user only.
umask = 0o077
accesslog = os.environ.get("KYOGIKAI_ACCESS_LOG", "-")
errorlog = os.environ.get("KYOGIKAI_ERROR_LOG", "-")
loglevel = os.environ.get("KYOGIKAI_LOG_LEVEL", "info")
# Path only, never the query string: a search term can be a woman's name. %(p)s is the worker.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms pid=%(p)s'
