"""The listing sync engine: where a listing gets pushed (engine.py), what it should look like (content.py),
its state machine (states.py), and the services the API and the tasks call (services.py)."""
