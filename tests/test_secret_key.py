"""Several gunicorn workers starting at once generate the instance secret key exactly once."""

import multiprocessing
import secrets
import time

from kyogikai.config import _secret_key


def _start(instance_dir, barrier, keys):
    barrier.wait()
    try:
        keys.put(_secret_key(instance_dir))
    except Exception as error:  # a crash is what the test looks for
        keys.put(f"error: {error!r}")


def test_workers_starting_together_share_one_key(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    # A slow key generation widens the window in which every worker finds no key yet.
    token_hex = secrets.token_hex
    monkeypatch.setattr(secrets, "token_hex", lambda n: time.sleep(0.05) or token_hex(n))
    context = multiprocessing.get_context("fork")
    barrier, keys = context.Barrier(8), context.Queue()
    workers = [context.Process(target=_start, args=(tmp_path, barrier, keys)) for _ in range(8)]
    for worker in workers:
        worker.start()
    results = [keys.get(timeout=30) for _ in workers]
    for worker in workers:
        worker.join()
    assert len(set(results)) == 1 and len(results[0]) == 64, results
    assert (tmp_path / "secret_key").read_text() == results[0]
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]
