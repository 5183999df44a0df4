"""The web UI and HTTP API: app.py builds the app from the routers in routes/ (one per
area), deps.py holds what routes depend on (settings, client, auth), errors.py maps
newsmon's errors to HTTP answers, static/ is the single-page UI."""
