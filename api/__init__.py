"""The composition root: settings, the FastAPI app, persistence, services and the CLI."""
