"""`ertui serve`: the gate, the server process, the console in a real headless Chromium."""
