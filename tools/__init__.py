"""Developer tools run from the repository root (`make docs`); never packaged with the app."""
