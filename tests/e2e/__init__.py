"""End-to-end journeys in a real (headless, system) Chromium against a live server."""
