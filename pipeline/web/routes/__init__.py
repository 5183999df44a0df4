"""One router per area of the API; pipeline/web/app.py includes them all."""
