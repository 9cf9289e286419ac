"""Fictional women, cases, consents, meetings and 管理記録 for the demo council."""

import random

from models import Agency


def load_case_data(agencies: list[Agency], rng: random.Random) -> None:
    """Filled in with the case entities; the foundation has agencies, members and users only."""
